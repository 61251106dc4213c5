"""The generated design's arithmetic blocks (<top>_update, <top>_readout), proved from their
printed Verilog as Yosys reads it, for every input in the IR's ranges.

Each block is a linear part (an adder graph: v_i, the requantization's sum, or y_o, the
readout) followed by a tail of one variable per element (shift, relu, clamp). The proof:

1. Coefficients: Yosys evaluates the printed block (`eval`) at 0, at every unit vector of
   its inputs and, for tokens, at every id the port can carry; the differences are the
   coefficients of the linear part, compared exactly with the IR's (the requantization's
   divided by the power of two 2^t every term shares; its constant is floor(c / 2^t)).
2. No overflow: every wire the block declares is at least as wide as the interval of the
   netlist node it holds needs, so no adder wraps and the linear part *is* an affine map,
   which its values at 0 and the unit vectors determine.
3. The tail: the block with its linear outputs cut (`expose -cut`) against the IR's tail,
   `sat -prove` for every value in the linear part's interval.

Together: the block equals the spec's block (the IR's definition) on every input the
structure can feed it (hadamhw/prove/structure.py composes the blocks with the rest).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_range
from hadamhw.netlist.nodes import Netlist
from hadamhw.netlist.plan import requant_plan
from hadamhw.netlist.shells import block_ports, block_wire_nodes
from hadamhw.prove.blocks import Finding, compare_widths
from hadamhw.prove.spec import lit
from hadamhw.prove.yosys import eval_results, run_yosys, wire_widths


@dataclass(frozen=True)
class Block:
    """One printed block: its module, its linear outputs (wire names and nodes), the
    wires it declares (name -> node)."""

    kind: str
    module: str
    sums: tuple[tuple[str, int], ...]
    wires: dict[str, int]


def design_blocks(ir: IntegerRNN, nl: Netlist, top: str) -> dict[str, Block]:
    wires = block_wire_nodes(ir, nl, top)
    v = tuple((f"v_{e}", i) for e, i in enumerate(nl.tags["requant_sum"]))
    y = tuple((f"y_{o}", i) for o, i in enumerate(nl.tags["output_acc"]))
    return {"update": Block("update", f"{top}_update", v, wires["update"]),
            "readout": Block("readout", f"{top}_readout", y, wires["readout"])}


def _hex(value: int, width: int) -> str:
    return f"{width}'h{value:x}"


def _signed(bits: str) -> int:
    value = int(bits, 2)
    return value - (1 << len(bits)) if bits[0] == "1" else value


# -- 1. coefficients -------------------------------------------------------------------------
def update_points(ir: IntegerRNN) -> list[tuple[str, dict[str, str]]]:
    """(label, the Yosys `-set`s) of every evaluation point of the update block."""
    ports = block_ports(ir)
    n, wr, bits = ir.hidden_size, ports["r"], ir.input.bits
    zero = {"x": _hex(0, ports["x"]), "r": _hex(0, n * wr)}
    points = [("0", zero)]
    if ir.input.kind == "token":
        points += [(f"token{v}", {**zero, "x": _hex(v, ports["x"])})
                   for v in range(1, 1 << bits)]
    else:
        points += [(f"x{k}", {**zero, "x": _hex(1 << (k * bits), ports["x"])})
                   for k in range(ir.input.size)]
    points += [(f"r{j}", {**zero, "r": _hex(1 << (j * wr), n * wr)}) for j in range(n)]
    return points


def update_expected(ir: IntegerRNN, label: str, i: int, t: int) -> tuple[int, int]:
    """(the IR's value of v_i at point `label` (its coefficient, for a unit vector), the
    scale 2^t the design's value is multiplied by before comparing, 1 at a constant)."""
    rq = ir.requant
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    b = int(ir.input_bias[i])
    if label == "0" or label.startswith("token"):  # absolute values: x = 0 or a token id
        v = 0 if label == "0" else int(label[5:])
        token = ir.input.kind == "token" and v < ir.input.size
        a = b + (int(ir.input_weight[i][v]) if token else 0)
        return (a * rq.input_mult + half) >> t, 1
    if label.startswith("x"):
        return int(ir.input_weight[i][int(label[1:])]) * rq.input_mult, 1 << t
    return (rq.rotate_mult if int(label[1:]) == i else 0), 1 << t


def readout_points(ir: IntegerRNN) -> list[tuple[str, dict[str, str]]]:
    wz, n = block_ports(ir)["z"], ir.hidden_size
    return [("0", {"z": _hex(0, n * wz)})] + [
        (f"z{i}", {"z": _hex(1 << (i * wz), n * wz)}) for i in range(n)]


def readout_expected(ir: IntegerRNN, label: str, o: int) -> int:
    if label == "0":
        return int(ir.output_bias[o])
    return int(ir.output_weight[o][int(label[1:])])


def _evaluate(block: Block, points: list[tuple[str, dict[str, str]]], files: list[Path],
              work: Path) -> dict[str, dict[str, int]]:
    """label -> linear output wire -> its value, by Yosys `eval` of the printed block."""
    shows = " ".join(f"-show {name}" for name, _ in block.sums)
    script = [f"read_verilog -sv {' '.join(f.name for f in files)}",
              f"hierarchy -top {block.module}", "proc -norom", "flatten"]
    script += [f"eval {' '.join(f'-set {k} {v}' for k, v in sets.items())} {shows}"
               for _, sets in points]
    results = eval_results(run_yosys(script, work, files, f"eval of {block.module}"))
    if len(results) != len(points) * len(block.sums):
        raise HadamhwError(f"eval of {block.module}: {len(results)} results, expected "
                           f"{len(points) * len(block.sums)}")
    k = len(block.sums)
    return {label: {name: _signed(bits) for name, bits in results[p * k:(p + 1) * k]}
            for p, (label, _) in enumerate(points)}


def check_coefficients(ir: IntegerRNN, block: Block, files: list[Path], work: Path) -> str:
    """'' when every coefficient and constant of the printed block is the IR's."""
    t = requant_plan(ir).common
    points = update_points(ir) if block.kind == "update" else readout_points(ir)
    values = _evaluate(block, points, files, work)
    base = values["0"]
    for label, _ in points:
        absolute = label == "0" or label.startswith("token")
        for e, (name, _) in enumerate(block.sums):
            have = values[label][name] - (0 if absolute else base[name])
            want, scale = (update_expected(ir, label, e, t) if block.kind == "update"
                           else (readout_expected(ir, label, e), 1))
            if have * scale != want:
                return (f"{block.module}: {name} at {label} is {have} (x {scale}), "
                        f"the IR's {want}")
    return ""


# -- 2. widths -------------------------------------------------------------------------------
def check_widths(nl: Netlist, block: Block, files: list[Path], work: Path) -> str:
    need = {name: nl[i].width for name, i in block.wires.items()}
    found = compare_widths(need, wire_widths(files, block.module, work), block.module)
    return "" if found.ok else found.message


# -- 3. the tail -----------------------------------------------------------------------------
def _clamp(name: str, value: str, lo: int, hi: int, width: int) -> list[str]:
    return [f"  wire signed [{width - 1}:0] {name} = ({value} > {lit(hi)}) ? {lit(hi)} : "
            f"({value} < {lit(lo)}) ? {lit(lo)} : {value};"]


def update_tail(ir: IntegerRNN, nl: Netlist, block: Block) -> tuple[list[str], str]:
    """(the wrapper's per-element lines, the block's outputs): hn_i = sat(relu?(v_i >>> (S-t)))."""
    ports = block_ports(ir)
    shift = ir.requant.shift - requant_plan(ir).common
    lo, hi = signed_range(ir.widths.state)
    lines = []
    for e, (_, i) in enumerate(block.sums):
        w = nl[i].width + 1
        lines.append(f"  wire signed [{w - 1}:0] q_{e} = $signed(vt_{e}) >>> {shift};")
        q = f"q_{e}"
        if ir.mode == "vanilla":
            lines.append(f"  wire signed [{w - 1}:0] p_{e} = (q_{e} < 0) ? {lit(0)} : q_{e};")
            q = f"p_{e}"
        lines += _clamp(f"want_{e}", q, lo, hi, w)
        sl = f"out[{e * ports['hn'] + ports['hn'] - 1}:{e * ports['hn']}]"
        lines.append(f"  wire ok_{e} = ~in_{e} | ($signed({sl}) == want_{e});")
    return lines, "hn"


def readout_tail(ir: IntegerRNN, nl: Netlist, block: Block) -> tuple[list[str], str]:
    """out_o = sat((y_o * mult + half) >>> shift) (or y_o without output requantization)."""
    wo = block_ports(ir)["out"]
    orq = ir.output_requant
    lines = []
    for o, (_, i) in enumerate(block.sums):
        sl = f"out[{o * wo + wo - 1}:{o * wo}]"
        if orq is None:
            lines.append(f"  wire ok_{o} = ~in_{o} | ($signed({sl}) == $signed(vt_{o}));")
            continue
        w = nl[i].width + orq.mult.bit_length() + 2
        half = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
        lines.append(f"  wire signed [{w - 1}:0] p_{o} = ($signed(vt_{o}) * {lit(orq.mult)} "
                     f"+ {lit(half)}) >>> {orq.shift};")
        lo, hi = signed_range(orq.bits)
        lines += _clamp(f"want_{o}", f"p_{o}", lo, hi, w)
        lines.append(f"  wire ok_{o} = ~in_{o} | ($signed({sl}) == want_{o});")
    return lines, "out"


def tail_wrapper(ir: IntegerRNN, nl: Netlist, block: Block) -> str:
    """The block with its linear outputs cut and driven by free inputs vt_<e> in their
    intervals; ok: every output is the IR's tail of them."""
    ports = block_ports(ir)
    lines, out = (update_tail if block.kind == "update" else readout_tail)(ir, nl, block)
    n_out = ir.hidden_size if block.kind == "update" else ir.output_size
    width = ports["hn"] if block.kind == "update" else ports["out"]
    inputs = ({"x": ports["x"], "r": ir.hidden_size * ports["r"]} if block.kind == "update"
              else {"z": ir.hidden_size * ports["z"]})
    head = [f"module {block.module}_tail ("]
    head += [f"  input wire [{nl[i].width - 1}:0] vt_{e}," for e, (_, i) in enumerate(block.sums)]
    head += ["  output wire ok", ");", f"  wire [{n_out * width - 1}:0] out;"]
    conns = [f".{k}({lit_zero(w)})" for k, w in inputs.items()] + [f".{out}(out)"]
    conns += [f".\\{name}.i (vt_{e})" for e, (name, _) in enumerate(block.sums)]
    head.append(f"  {block.module} u_block ({', '.join(conns)});")
    for e, (_, i) in enumerate(block.sums):
        head.append(f"  wire in_{e} = ($signed(vt_{e}) >= {lit(nl[i].lo)}) & "
                    f"($signed(vt_{e}) <= {lit(nl[i].hi)});")
    oks = " & ".join(f"ok_{e}" for e in range(len(block.sums)))
    return "\n".join(head + lines + [f"  assign ok = {oks};", "endmodule", ""])


def lit_zero(width: int) -> str:
    return f"{width}'d0"


def check_tail(ir: IntegerRNN, nl: Netlist, block: Block, files: list[Path],
               work: Path) -> str:
    wrapper = work / f"{block.module}_tail.v"
    work.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(tail_wrapper(ir, nl, block))
    cut = " ".join(f"w:{name}" for name, _ in block.sums)
    script = [f"read_verilog -sv {' '.join(f.name for f in files)}",
              f"hierarchy -top {block.module}", "proc -norom", f"expose -cut {cut}",
              f"read_verilog -sv {wrapper.name}", f"hierarchy -top {block.module}_tail",
              "proc", "flatten", "opt_clean", "sat -prove ok 1 -verify"]
    try:
        run_yosys(script, work, files, f"the tail of {block.module}")
    except HadamhwError as exc:
        return f"{exc} (shift, relu or clamp differs from the IR's)"
    return ""


def prove_block(ir: IntegerRNN, nl: Netlist, block: Block, files: list[Path],
                work: Path) -> tuple[Finding, float]:
    """The three checks of one block; the first difference, or ok."""
    start = time.monotonic()
    msg = ""
    for check in (lambda: check_widths(nl, block, files, work / "widths"),
                  lambda: check_coefficients(ir, block, files, work / "eval"),
                  lambda: check_tail(ir, nl, block, files, work / "tail")):
        try:
            msg = check()
        except HadamhwError as exc:
            msg = str(exc)
        if msg:
            break
    found = Finding(not msg, msg or f"{len(block.sums)} outputs: the IR's coefficients, "
                                     f"{len(block.wires)} wires wide enough, the IR's tail")
    return found, time.monotonic() - start
