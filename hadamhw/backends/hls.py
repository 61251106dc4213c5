"""HLS C++ backend: the integer IR as one Vitis HLS top function over `ap_int` types.

The top function computes one time step per call (static hidden state, a `last` flag that
marks the final step of a sequence and resets the state afterwards), so a Vitis HLS user can
pipeline it, wrap it in an AXI4-Stream adapter or call it from a dataflow region. Every type
is sized from the IR's declared widths; every constant comes from the IR. The templates in
templates/hls/ hold the C++ structure; this module only turns the IR into a context dict.

Folds:
  parallel  the whole step in one pipelined call (PIPELINE II=1 on the function, every loop
            UNROLLed, state and work arrays partitioned into registers); the k butterfly
            stages are emitted one after another, radix-2 exactly as golden.fwht_stage, each
            in its own declared width.
  stage     one butterfly stage per iteration of a pipelined stage loop (n/2 butterflies
            UNROLLed, the stage loop not unrolled). The stages use the constant-geometry
            (Pease) ordering of the same transform, so every iteration has identical wiring
            and the butterfly bank needs no per-stage multiplexers (DESIGN.md section 3);
            its work register has the widest stage width.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np

from hadamhw.backends import TARGET_MHZ, GenerateOptions, template_environment
from hadamhw.backends.fold import FoldPlan, resolve_fold
from hadamhw.backends.manifest import DESIGN_FORMAT
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import check_int64
from hadamhw.ir.schema import IntegerRNN, required_widths
from hadamhw.ir.stimulus import make_stimulus, write_vectors
from hadamhw.resources import templates_dir

DESIGN_VERSION = 1
IR_FILE = "model.ir.json"
VECTORS_FILE = "tb_vectors.txt"
TCL_FILE = "run_hls.tcl"
# The default test vectors shipped with the design (for run_hls.tcl's csim and cosim).
TB_SEQUENCES = 8
TB_SEED = 0
TB_MAX_STEPS = 12
_LINE = 96  # wrap constant tables at this many characters
# Names the top function cannot take: C++ keywords, and what the generated files define.
_RESERVED_TOPS = frozenset((
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char16_t", "char32_t", "char8_t", "class", "compl", "concept",
    "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "co_await",
    "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
    "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq", "main", "report",
    "bad_file", "std", "Tally", "MAX_REPORTED", "HIDDEN_SIZE", "BLOCK_SIZE", "FWHT_STAGES",
    "INPUT_SIZE", "INPUT_WORDS", "OUTPUT_SIZE",
))


def hls_templates_dir() -> Path:
    return templates_dir() / "hls"


def file_names(top: str) -> dict[str, str]:
    """The generated files by role."""
    return {
        "header": f"{top}.h",
        "source": f"{top}.cpp",
        "testbench": f"{top}_tb.cpp",
        "script": TCL_FILE,
        "vectors": VECTORS_FILE,
        "readme": "README.md",
        "ir": IR_FILE,
    }


def _signed_type(bits: int) -> str:
    return f"ap_int<{bits}>"


def _unsigned_type(bits: int) -> str:
    return f"ap_uint<{bits}>"


def _const_bits(value: int) -> int:
    """Width of a non-negative constant as ap_uint (at least one bit)."""
    return max(1, int(value).bit_length())


def _round_half(shift: int) -> int:
    return (1 << (shift - 1)) if shift > 0 else 0


def c_rows(values: np.ndarray, indent: int) -> str:
    """A C initializer body for a 1-D or 2-D integer array, wrapped at _LINE characters."""
    pad = " " * indent
    arr = np.asarray(values, dtype=np.int64)
    if arr.ndim == 1:
        return _wrap([str(int(v)) for v in arr], pad)
    rows = []
    for row in arr:
        items = [str(int(v)) for v in row]
        one_line = f"{pad}{{{', '.join(items)}}}"
        if len(one_line) + 1 <= _LINE:
            rows.append(one_line)
        else:
            rows.append(f"{pad}{{\n{_wrap(items, pad + '    ')}\n{pad}}}")
    return ",\n".join(rows)


def _wrap(items: list[str], pad: str) -> str:
    """Comma-separated items, as many per line as fit in _LINE characters."""
    lines: list[str] = []
    current: list[str] = []
    for item in items:
        if current and len(pad) + len(", ".join([*current, item])) + 1 > _LINE:
            lines.append(pad + ", ".join(current) + ",")
            current = []
        current.append(item)
    lines.append(pad + ", ".join(current))
    return "\n".join(lines)


def cycles_per_step(ir: IntegerRNN, fold: str | int) -> int:
    """Target initiation interval per time step implied by the directives (an estimate)."""
    if fold == "parallel":
        return 1
    if isinstance(fold, int):  # the Verilog deep fold's schedule: k stages of S + gap cycles
        return FoldPlan(ir.hidden_size, ir.block_size, fold).step_cycles
    # One pipelined stage-loop iteration per butterfly stage, plus one cycle for the input
    # product, the requantization and the readout around it.
    return ir.k + 1


def build_context(ir: IntegerRNN, options: GenerateOptions) -> dict:
    """Everything the templates need, taken from the IR: types, constants, loop geometry."""
    options = resolve_fold(ir, options)
    if (options.top in _RESERVED_TOPS or options.top.startswith(("ap_", "hls_"))
            or options.top.endswith("_t")):
        raise HadamhwError(f"--top {options.top!r} clashes with a C++ keyword or a name the "
                           "HLS sources use; choose another name")
    if options.readout_lanes is not None:
        raise HadamhwError("--readout-lanes applies to the Verilog target (the HLS top function "
                           "computes the readout in the call of the last step)")
    if options.recurrent != "fwht":
        raise HadamhwError(f"--recurrent {options.recurrent}: the HLS target implements the "
                           "Walsh-Hadamard butterflies only (use --recurrent fwht)")
    if options.streams == "auto":
        raise HadamhwError("--streams auto: the HLS target needs a number of streams (the "
                           "HLS tool, not hadamhw, decides its pipeline depth); give "
                           "--streams P")
    if isinstance(options.pipeline, int):
        raise HadamhwError(f"--pipeline {options.pipeline}: the HLS target leaves register "
                           "placement to the HLS tool; use --pipeline none or auto and set "
                           "the clock with --target-mhz")
    check_int64(ir)
    streams = int(options.streams)
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    rq = ir.requant
    inp = ir.input
    token = inp.kind == "token"
    names = file_names(options.top)
    state_lo, state_hi = ir.state_range
    types = {
        "input_t": (_unsigned_type(inp.bits) if token or not inp.signed
                    else _signed_type(inp.bits)),
        "input_weight_t": _signed_type(w.input_weight),
        "input_acc_t": _signed_type(w.input_acc),
        "state_t": _signed_type(w.state),
        "fwht_work_t": _signed_type(max(w.fwht)),
        "rotated_t": _signed_type(w.rotated),
        "requant_sum_t": _signed_type(w.requant_sum),
        "shifted_t": _signed_type(w.shifted),
        "readout_in_t": _unsigned_type(w.readout_in),
        "output_weight_t": _signed_type(w.output_weight),
        "output_acc_t": _signed_type(w.output_acc),
        "output_t": _signed_type(w.output),
        "argmax_t": _unsigned_type(_const_bits(ir.output_size - 1)),
    }
    if streams > 1:
        types["stream_t"] = _unsigned_type(max(1, (streams - 1).bit_length()))
    stages = []
    half = 1
    for j in range(1, k + 1):
        stages.append({"index": j, "half": half, "group": 2 * half, "type": f"fwht_s{j}_t",
                       "ctype": _signed_type(w.fwht[j - 1]),
                       "source": ("state" if streams == 1 else "h") if j == 1
                       else f"fwht_s{j - 1}",
                       "target": f"fwht_s{j}"})
        half *= 2
    orq = ir.output_requant
    output_requant = None
    if orq is not None:
        parts = {
            "input": inp, "state_bits": w.state, "block_size": m,
            "input_weight": ir.input_weight, "input_bias": ir.input_bias,
            "output_weight": ir.output_weight, "output_bias": ir.output_bias,
            "requant": rq, "output_requant": orq,
        }
        product_bits = required_widths(parts)["output_product"]
        out_lo, out_hi = -(1 << (orq.bits - 1)), (1 << (orq.bits - 1)) - 1
        output_requant = {
            "mult": orq.mult, "mult_type": _unsigned_type(_const_bits(orq.mult)),
            "shift": orq.shift, "round_half": _round_half(orq.shift),
            "round_half_type": _unsigned_type(_const_bits(_round_half(orq.shift))),
            "product_type": _signed_type(product_bits), "bits": orq.bits,
            "min": out_lo, "max": out_hi,
        }
    ir_dict = ir.to_dict()
    fold_plan = None
    if isinstance(options.fold, int):
        plan = FoldPlan(n, m, options.fold)
        fold_plan = {"units": plan.units, "slots": plan.banks, "words": plan.words,
                     "skew": plan.skew, "block_cycles": plan.block_cycles,
                     "cc_bits": plan.cc_bits, "gap": plan.gap}
    return {
        "top": options.top,
        "fold_plan": fold_plan,
        "guard": f"{options.top.upper()}_H",
        "files": names,
        "fold": options.fold,
        "model_name": str(ir.meta.get("name", "")) if isinstance(ir.meta, dict) else "",
        "hidden_size": n,
        "block_size": m,
        "stages_count": k,
        "output_size": ir.output_size,
        "mode": ir.mode,
        "readout": ir.readout,
        "input_kind": inp.kind,
        "input_size": inp.size,
        "input_words": 1 if token else inp.size,
        "input_bits": inp.bits,
        "input_signed": bool(inp.signed) and not token,
        "widths": ir_dict["widths"],
        "types": types,
        "stages": stages,
        "half_block": m // 2,
        "fwht_result": f"fwht_s{k}" if options.fold == "parallel" else "work",
        # interleaved streams: the state is indexed by the call's stream id
        "streams": streams,
        "stream_bits": max(1, (streams - 1).bit_length()),
        "state_source": "state" if streams == 1 else "h",
        "clock_ns": _clock_ns(options.target_mhz),
        "input_weight": c_rows(ir.input_weight, 8),
        "input_bias": c_rows(ir.input_bias, 8),
        "output_weight": c_rows(ir.output_weight, 8),
        "output_bias": c_rows(ir.output_bias, 8),
        "sign_table": c_rows(np.asarray([int(s < 0) for s in ir.signs]), 8),
        "rotate_mult": rq.rotate_mult,
        "rotate_mult_type": _unsigned_type(_const_bits(rq.rotate_mult)),
        "input_mult": rq.input_mult,
        "input_mult_type": _unsigned_type(_const_bits(rq.input_mult)),
        "shift": rq.shift,
        "round_half": _round_half(rq.shift),
        "round_half_type": _unsigned_type(_const_bits(_round_half(rq.shift))),
        "state_min": state_lo,
        "state_max": state_hi,
        "output_requant": output_requant,
        "cycles_per_step": cycles_per_step(ir, options.fold),
        "tb_sequences": TB_SEQUENCES,
        "tb_seed": TB_SEED,
    }



def _clock_ns(target_mhz: float) -> str:
    """The default clock period of run_hls.tcl, from --target-mhz (10 ns at 100 MHz)."""
    return f"{1000.0 / float(target_mhz):.6g}"


def interface_description(ctx: dict) -> dict:
    top = ctx["top"]
    stream_arg = "stream_t stream, " if ctx["streams"] > 1 else ""
    out = {
        "kind": "one call per time step",
        "signature": (f"bool {top}(const input_t x[{ctx['input_words']}], {stream_arg}bool last, "
                      f"output_t y[{ctx['output_size']}], argmax_t *argmax)"),
        "x": (f"token id ({ctx['types']['input_t']}; ids >= {ctx['input_size']} drive the "
              "bias only)"
              if ctx["input_kind"] == "token"
              else f"{ctx['input_size']} x {ctx['types']['input_t']}"),
        "last": "true on the final step of a sequence; the state resets to 0 after that step",
        "y": f"{ctx['output_size']} x {ctx['types']['output_t']}, written on readout steps",
        "argmax": f"{ctx['types']['argmax_t']}, lowest index of the largest y",
        "return": ("true when y and argmax hold a readout (every step)"
                   if ctx["readout"] == "every" else
                   "true when y and argmax hold a readout (the step with last = true)"),
        "state": "static, zero at start-up and after every step with last = true",
        "ports": "x and y: ARRAY_RESHAPE complete + ap_vld; argmax: ap_vld; "
                 "return: ap_return; block protocol ap_ctrl_hs",
    }
    if ctx["streams"] > 1:
        out["stream"] = (f"stream id 0..{ctx['streams'] - 1} ({ctx['types']['stream_t']}): "
                         "each stream has its own state; calls of different streams "
                         "interleave freely")
        out["state"] = ("static, one entry per stream; zero at start-up and after every step "
                        "with last = true of that stream")
        out["pipelining"] = (f"the state's inter-call dependence is declared at a distance of "
                             f"{ctx['streams']} calls: a stream's consecutive steps must be "
                             f"{ctx['streams']} calls apart in the synthesized pipeline (csim "
                             "takes any order)")
    return out


def render(ir: IntegerRNN, out_dir: str | Path, options: GenerateOptions | None = None,
           template_dir: str | Path | None = None) -> dict:
    """Write the HLS design into out_dir from the templates in template_dir (default: the
    shipped templates/hls); returns the manifest."""
    options = options or GenerateOptions()
    if options.token_table != "rom":
        raise HadamhwError("--token-table external: Verilog target only (the HLS target "
                           "keeps the table in the design)")
    ctx = build_context(ir, options)
    tdir = Path(template_dir) if template_dir is not None else hls_templates_dir()
    if not tdir.is_dir():
        raise HadamhwError(f"{tdir}: HLS template folder not found")
    env = template_environment(tdir)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise HadamhwError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    names = ctx["files"]
    manifest = {
        "format": DESIGN_FORMAT,
        "version": DESIGN_VERSION,
        "target": "hls",
        "top": options.top,
        "files": sorted(v for v in names.values()),
        "sources": [names["header"], names["source"]],
        "testbench": names["testbench"],
        "script": names["script"],
        "test_vectors": names["vectors"],
        "ir": IR_FILE,
        "fold": ctx["fold"],
        "fold_plan": ctx["fold_plan"],
        "recurrent": options.recurrent,
        "hidden_size": ir.hidden_size,
        "block_size": ir.block_size,
        "output_size": ir.output_size,
        "mode": ir.mode,
        "readout": ir.readout,
        "widths": ctx["widths"],
        "types": ctx["types"],
        "cycles_per_step": ctx["cycles_per_step"],
        "cycles_per_step_note": "target initiation interval from the directives; "
                                "csynth_design's report is authoritative",
        "interface": interface_description(ctx),
    }
    if ctx["streams"] > 1:
        manifest["streams"] = ctx["streams"]
        manifest["tid_bits"] = (ctx["streams"] - 1).bit_length()
    if float(options.target_mhz) != TARGET_MHZ:
        manifest["target_mhz"] = float(options.target_mhz)
    ctx["manifest"] = manifest
    outputs = {
        names["header"]: "top.h.j2",
        names["source"]: "fold/top.cpp.j2" if ctx["fold_plan"] else "top.cpp.j2",
        names["testbench"]: "tb.cpp.j2",
        names["script"]: "run_hls.tcl.j2",
        names["readme"]: "README.md.j2",
    }
    for filename, template in outputs.items():
        try:
            text = env.get_template(template).render(**ctx)
        except jinja2.TemplateError as exc:
            raise HadamhwError(f"{tdir / template}: {exc}") from None
        (out / filename).write_text(text)
    (out / IR_FILE).write_text(ir.to_json())
    stim = make_stimulus(ir, sequences=TB_SEQUENCES, seed=TB_SEED, max_steps=TB_MAX_STEPS)
    write_vectors(ir, stim, out / names["vectors"])
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
