"""Verilog backend: the integer IR as a synthesizable AXI4-Stream core.

The generator grows by section: each datapath section has its own small context builder
in hadamhw.backends.verilog_sections and its own template part in templates/verilog/parts/
(top.v.j2 includes them in order). Constant products are adder graphs
(hadamhw.backends.adder_graph: da4ml's shared graph or CSD trees) whose every node is sized
from its exact interval.

Sections of one time step (the semantics of hadamhw.ir.schema, rewritten by RequantPlan
without the power of two that both requantization products share):

- input (`input_section`, parts/input.v.j2): the drive d = (U x + b) M_a' + round, from a
  ROM over tokens (no adders; ids without a column read the bias-only drive) or as a
  constant matrix-vector product of the input words;
- rotation (`bank_section`, parts/rotation.v.j2): r = s * FWHT_m(h). fold "parallel"
  computes all k = log2(m) butterfly stages in one cycle in module <top>_rotate; fold
  "stage" reuses one bank of n/2 butterflies for k cycles in the constant-geometry (Pease)
  order, whose wiring is the same every stage, and folds the sign flip into the
  requantization's add/subtract;
- requantization (`requant_section`, parts/requant.v.j2): v = r M_r' + d (one adder when
  M_r' is a power of two), q = v >>> S', h' = clamp(q) (after max(q, 0) in vanilla mode);
- readout (`readout_section` / `serial_readout_section`, parts/readout.v.j2): y =
  V relu(h) + c from the state register, all outputs at once or serially in lanes, then
  the optional output requantization and the argmax comparison tree (ties to the lowest
  index);
- interface (`interface_section`, parts/control.v.j2 and parts/interface.v.j2): the
  handshake, the state registers and a 4-entry output FIFO; s_axis_tready is a registered
  function of the beats in flight (and, with a serial readout, of s_axis_tlast), so there
  is no combinational path from m_axis_tready to s_axis_tready.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from hadamhw.backends import GenerateOptions, render_template, template_environment
from hadamhw.backends.fold import resolve_fold
from hadamhw.backends.verilog_blocks import render_blocks
from hadamhw.backends.verilog_manifest import integration_files, manifest, step_timing
from hadamhw.backends.verilog_sections import (
    argmax_section,
    bank_section,
    golden_butterflies,
    has_serial_readout,
    input_section,
    interface_section,
    readout_section,
    requant_section,
    serial_readout_section,
    unread_wires,
)
from hadamhw.backends.verilog_text import bit_slice, lit, resize
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist.plan import requant_plan
from hadamhw.netlist.shells import single_cycle_context
from hadamhw.netlist.shells_dense import dense_context
from hadamhw.netlist.shells_stage import stage_context
from hadamhw.resources import templates_dir


def _top_context(ir: IntegerRNN, options: GenerateOptions) -> tuple[dict, dict]:
    """Context of the top module (one sub-dict per section) and the analytical costs."""
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    stage_fold = options.fold == "stage"
    single_stage = stage_fold and k == 1
    plan = requant_plan(ir)
    x_src = "x_q" if stage_fold and not single_stage else "s_axis_tdata"
    inp = input_section(ir, options, plan, x_src)
    req = requant_section(ir, options, plan, inp["drive"])
    if has_serial_readout(ir, options):
        rd = serial_readout_section(ir, options)
    else:
        rd = readout_section(ir, options)
    am = argmax_section(ir)
    iface = interface_section(ir, options)
    sections = [inp, req, rd]
    readers = [*req["h_next_reads"], *iface["beat_reads"], *rd.get("readers", [])]
    readers += [wire for a in am["nodes"] for wire in (a["left_val"], a["right_val"])]
    unused = [u for sec in (inp, req, rd, am) for u in sec["unused"]]
    unused += unread_wires(sections, readers)
    ctx = {
        "top": options.top,
        "n": n, "m": m, "k": k,
        "fold": options.fold, "recurrent": options.recurrent, "cmvm": options.cmvm,
        "mode": ir.mode, "readout": ir.readout,
        "input_kind": ir.input.kind,
        "state_msb": n * w.state - 1,
        "state_zero": lit(0, n * w.state),
        "rotated_msb": n * w.rotated - 1,
        "stage_fold": stage_fold,
        "single_stage": single_stage,
        "every": ir.readout == "every",
        "input": inp,
        "requant": req,
        "readout_part": rd,
        "argmax": am,
        "bank": bank_section(ir) if stage_fold else None,
        "plan": plan,
        **iface,
        "unused": sorted(set(unused), key=unused.index),
        "streamed": False,
        "tid_bits": 0,
    }
    costs = {"adders": {"input": inp["adders"], "requant": req["adders"],
                        "readout": rd["adders"]},
             "adder_bits": {"input": inp["adder_bits"], "requant": req["adder_bits"],
                            "readout": rd["adder_bits"]},
             "readout_cycles": rd["cycles"]}
    return ctx, costs


def rotate_fwht_context(ir: IntegerRNN, top: str, registered: frozenset[int] | None = None
                         ) -> dict:
    """Golden-order butterfly stages; the last stage writes r = s * f with the sign folded in.

    registered (the pipelined core): the stages j < k whose outputs pass a pipeline register
    before stage j + 1 (the module then has a clock); every element is then its own wire
    (`f<j>_<i>`), which simulators evaluate much faster than slices of one wide vector.
    None: the single-cycle core's module, packed vectors.
    """
    if registered is not None:
        return _rotate_elements_context(ir, top, registered)
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    stages = []
    prev, prev_w = "h", w.state
    for j, bfs in enumerate(golden_butterflies(n, m), start=1):
        last = j == k
        name = "r" if last else f"f{j}"
        width = w.rotated if last else w.fwht[j - 1]
        assigns = []
        for a, b, s, d in bfs:
            ea = resize(bit_slice(prev, a * prev_w, prev_w),
                        bit_slice(prev, a * prev_w + prev_w - 1, 1), prev_w, width)
            eb = resize(bit_slice(prev, b * prev_w, prev_w),
                        bit_slice(prev, b * prev_w + prev_w - 1, 1), prev_w, width)
            if last and int(ir.signs[s]) < 0:
                sum_text = f"{lit(0, width)} - {ea} - {eb}"
            else:
                sum_text = f"{ea} + {eb}"
            diff_text = f"{eb} - {ea}" if last and int(ir.signs[d]) < 0 else f"{ea} - {eb}"
            assigns.append({"elem": s, "lhs": bit_slice(name, s * width, width),
                            "expr": sum_text})
            assigns.append({"elem": d, "lhs": bit_slice(name, d * width, width),
                            "expr": diff_text})
        assigns.sort(key=lambda x: x["elem"])
        stages.append({"name": name, "msb": n * width - 1, "assigns": assigns,
                       "is_output": last, "width": width})
        prev, prev_w = name, width
    return {"top": top, "n": n, "m": m, "k": k, "state_msb": n * w.state - 1,
            "rotated_msb": n * w.rotated - 1, "stages": stages,
            "state_bits": w.state, "rotated_bits": w.rotated, "elements": None,
            "clocked": False}


def _rotate_elements_context(ir: IntegerRNN, top: str, registered: frozenset[int]) -> dict:
    """The pipelined core's rotation: one wire per element and stage, registers after the
    stages in `registered`."""
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    stages = []
    prev = [f"h_{i}" for i in range(n)]
    prev_w = w.state
    for j, bfs in enumerate(golden_butterflies(n, m), start=1):
        last = j == k
        name = "r" if last else f"f{j}"
        width = w.rotated if last else w.fwht[j - 1]
        elems: list[dict] = [{}] * n
        for a, b, s_, d in bfs:
            ea = resize(prev[a], bit_slice(prev[a], prev_w - 1, 1), prev_w, width)
            eb = resize(prev[b], bit_slice(prev[b], prev_w - 1, 1), prev_w, width)
            if last and int(ir.signs[s_]) < 0:
                sum_text = f"{lit(0, width)} - {ea} - {eb}"
            else:
                sum_text = f"{ea} + {eb}"
            diff_text = f"{eb} - {ea}" if last and int(ir.signs[d]) < 0 else f"{ea} - {eb}"
            elems[s_] = {"name": f"{name}_{s_}", "expr": sum_text}
            elems[d] = {"name": f"{name}_{d}", "expr": diff_text}
        reg = j in registered and not last
        stages.append({"name": name, "width": width, "elements": elems, "registered": reg,
                       "is_output": last})
        prev = [f"{e['name']}_q" if reg else e["name"] for e in elems]
        prev_w = width
    return {"top": top, "n": n, "m": m, "k": k, "state_msb": n * w.state - 1,
            "rotated_msb": n * w.rotated - 1, "stages": stages,
            "state_bits": w.state, "rotated_bits": w.rotated,
            "inputs": [{"name": f"h_{i}", "expr": bit_slice("h", i * w.state, w.state)}
                       for i in range(n)],
            "output": "{" + ", ".join(prev[i] for i in reversed(range(n))) + "}",
            "elements": True, "clocked": any(st["registered"] for st in stages)}


# -- rendering -------------------------------------------------------------------------------

def check_supported(ir: IntegerRNN, options: GenerateOptions) -> None:
    options.validate()
    if options.recurrent == "dense" and options.fold == "stage":
        raise HadamhwError("--recurrent dense supports --fold parallel only (the stage fold "
                           "reuses the butterflies of the Walsh-Hadamard transform)")
    if options.readout_lanes is not None:
        if ir.readout != "last":
            raise HadamhwError("--readout-lanes: a serial readout needs an IR with readout "
                               f"'last' (this one reads out '{ir.readout}', every step)")
        if options.readout_lanes > ir.output_size:
            raise HadamhwError(f"--readout-lanes {options.readout_lanes} is more than the "
                               f"{ir.output_size} outputs of the model")
    w = ir.widths
    for name in ("input_acc", "requant_sum", "output_acc"):
        if getattr(w, name) > 64:
            raise HadamhwError(f"IR width '{name}' = {getattr(w, name)} is over 64 bits")


def render(ir: IntegerRNN, options: GenerateOptions | None = None,
           template_dir: Path | None = None) -> dict[str, str | bytes]:
    """Every file of the design: file name -> text (Verilog, README.md, manifest, IR; an
    external token table's image as bytes)."""
    options = resolve_fold(ir, options or GenerateOptions())
    if options.token_table == "external":
        from hadamhw.backends import verilog_token_axi  # the AXI4 read master's generator

        return verilog_token_axi.render(ir, options, template_dir)
    if isinstance(options.fold, int):
        from hadamhw.backends import verilog_fold  # the deep fold's own generator

        return verilog_fold.render(ir, options, template_dir)
    check_supported(ir, options)
    tdir = Path(template_dir) if template_dir is not None else templates_dir() / "verilog"
    if not tdir.is_dir():
        raise HadamhwError(f"{tdir}: template folder not found")
    env = template_environment(tdir)
    top = options.top
    stream = None
    rot_ctx = None
    rotate_registered: frozenset[int] | None = None
    dense_nl = None
    if options.streamed:
        from hadamhw.backends.verilog_stream import stream_context

        ctx, costs, sched = stream_context(ir, options)
        stream = sched["summary"]
        rotate_registered = sched["rotate_registered"]
        ctx["summary"] = stream
    elif options.fold == "parallel" and options.recurrent == "fwht" and not has_serial_readout(
            ir, options):  # the single-cycle core: its datapath printed from the netlist
        ctx, costs, rot_ctx = single_cycle_context(ir, options.cmvm, top, options.fold,
                                                   options.recurrent,
                                                   interface_section(ir, options))
    elif options.fold == "parallel" and options.recurrent == "dense" and not has_serial_readout(
            ir, options):  # the dense baseline: the same, with the dense rotate module
        ctx, costs, dense_nl = dense_context(ir, options.cmvm, top,
                                             interface_section(ir, options))
    elif options.fold == "stage" and not has_serial_readout(ir, options):
        ctx, costs, _ = stage_context(ir, options.cmvm, top, interface_section(ir, options))
    else:
        ctx, costs = _top_context(ir, options)
    files: dict[str, str] = {}
    hdl: list[str] = []
    if options.fold == "parallel":
        if options.recurrent == "dense":
            if importlib.util.find_spec("hadamhw.backends.verilog_dense") is None:
                raise HadamhwError("--recurrent dense: this hadamhw has no dense baseline "
                                   "(hadamhw.backends.verilog_dense)")
            from hadamhw.backends import verilog_dense  # the dense baseline's own module

            rot_ctx = verilog_dense.dense_rotate_context(ir, top, dense_nl)
            files[f"{top}_rotate.v"] = render_template(env, "rotate_dense.v.j2", rot_ctx)
        else:
            files[f"{top}_rotate.v"] = render_template(env, "rotate_fwht.v.j2", rot_ctx or
                                               rotate_fwht_context(ir, top, rotate_registered))
        hdl.append(f"{top}_rotate.v")
    blocks = render_blocks(env, ctx)  # the arithmetic blocks' modules
    files.update(blocks)
    hdl.extend(blocks)
    files[f"{top}.v"] = render_template(env, "top.v.j2", ctx)
    hdl.append(f"{top}.v")
    man = manifest(ir, options, hdl, costs, stream)
    files.update(integration_files(env, ir, man))
    files["README.md"] = render_template(env, "README.md.j2", {**ctx, "manifest": man,
                                                        "ports": man["ports"]})
    files["model.ir.json"] = ir.to_json()
    files["manifest.json"] = json.dumps(man, indent=2, sort_keys=True) + "\n"
    return files


def cycles_per_step(ir: IntegerRNN, fold: str | int) -> int:
    """Cycles from one input handshake to the next possible one for a fold."""
    options = resolve_fold(ir, GenerateOptions(fold=fold))
    if isinstance(options.fold, int):
        from hadamhw.backends.verilog_fold import plan_for

        return plan_for(ir, options.fold).cycles_per_step
    return step_timing(ir, options)[0]
