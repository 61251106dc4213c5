"""Verilog backend: the integer IR as a synthesizable AXI4-Stream core.

The generator grows by section: each datapath section has its own small context builder
here and its own template part in templates/verilog/parts/ (top.v.j2 includes them in
order). Constant products are adder graphs (hadamhw.backends.adder_graph: da4ml's shared
graph or CSD trees) whose every node is sized from its exact interval.

Sections of one time step (the semantics of hadamhw.ir.schema, rewritten by RequantPlan
without the power of two that both requantization products share):

- input (`_input_section`, parts/input.v.j2): the drive d = (U x + b) M_a' + round, from a
  ROM over tokens (no adders; ids without a column read the bias-only drive) or as a
  constant matrix-vector product of the input words;
- rotation (`_bank_section`, parts/rotation.v.j2): r = s * FWHT_m(h). fold "parallel"
  computes all k = log2(m) butterfly stages in one cycle in module <top>_rotate; fold
  "stage" reuses one bank of n/2 butterflies for k cycles in the constant-geometry (Pease)
  order, whose wiring is the same every stage, and folds the sign flip into the
  requantization's add/subtract;
- requantization (`_requant_section`, parts/requant.v.j2): v = r M_r' + d (one adder when
  M_r' is a power of two), q = v >>> S', h' = clamp(q) (after max(q, 0) in vanilla mode);
- readout (`_readout_section` / `_serial_readout_section`, parts/readout.v.j2): y =
  V relu(h) + c from the state register, all outputs at once or serially in lanes, then
  the optional output requantization and the argmax comparison tree (ties to the lowest
  index);
- interface (`_interface_section`, parts/control.v.j2 and parts/interface.v.j2): the
  handshake, the state registers and a 4-entry output FIFO; s_axis_tready is a registered
  function of the beats in flight (and, with a serial readout, of s_axis_tlast), so there
  is no combinational path from m_axis_tready to s_axis_tready.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from hadamhw.backends import GenerateOptions, render_template, template_environment
from hadamhw.backends.adder_graph import (
    AdderGraph,
    Signal,
    Term,
    arith_shift,
    check_rows,
    csd_rows,
    da4ml_rows,
    extend,
)
from hadamhw.backends.fold import resolve_fold
from hadamhw.backends.manifest import DESIGN_FORMAT
from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import csd_digits
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import matvec_interval, signed_bits
from hadamhw.netlist.shells import single_cycle_context
from hadamhw.resources import templates_dir

VERSION = 1
# Beats in flight (readout register + output FIFO) at which s_axis_tready drops; the FIFO has
# one more slot than needed so that a full FIFO never overwrites its head.
MAX_PENDING = 3


# -- Verilog text helpers ------------------------------------------------------------------
def lit(value: int, width: int) -> str:
    """A sized hexadecimal literal holding `value` in two's complement."""
    value = int(value)
    if not -(1 << (width - 1)) <= value < (1 << width):
        raise HadamhwError(f"internal: constant {value} does not fit {width} bits")
    digits = max(1, (width + 3) // 4)
    return f"{width}'h{value % (1 << width):0{digits}x}"


def bit_slice(vector: str, lsb: int, width: int) -> str:
    return f"{vector}[{lsb + width - 1}:{lsb}]" if width > 1 else f"{vector}[{lsb}]"


def resize(expr: str, sign_bit: str | None, from_w: int, to_w: int) -> str:
    """`expr` (from_w bits) extended or truncated to to_w bits.

    sign_bit is the expression of the top bit for signed values, None for unsigned ones;
    expr must be a plain name or a slice when truncating.
    """
    if to_w == from_w:
        return expr
    if to_w < from_w:
        return _slice_of(expr, 0, to_w)
    fill = "1'b0" if sign_bit is None else sign_bit
    return f"{{{{{to_w - from_w}{{{fill}}}}}, {expr}}}"


def _slice_of(expr: str, lsb: int, width: int) -> str:
    """Bits [lsb +: width] of a name or of a slice `name[msb:base]`."""
    if expr.endswith("]") and "[" in expr:
        name, sel = expr[:-1].split("[", 1)
        base = int(sel.split(":")[-1])
        return bit_slice(name, base + lsb, width)
    return bit_slice(expr, lsb, width)


def clog2(value: int) -> int:
    return max(0, (value - 1).bit_length())


# -- butterfly orderings ---------------------------------------------------------------------
def golden_butterflies(n: int, m: int) -> list[list[tuple[int, int, int, int]]]:
    """Per stage j = 1..k of golden.fwht_stage: (a, b, sum_out, diff_out) element indices."""
    stages = []
    half = 1
    while half < m:
        bfs = []
        for group in range(0, n, 2 * half):
            for i in range(half):
                a, b = group + i, group + i + half
                bfs.append((a, b, a, b))
        stages.append(bfs)
        half *= 2
    return stages


def pease_butterflies(n: int, m: int) -> list[tuple[int, int, int, int]]:
    """The one constant-geometry stage: inside each block, (i, i + m/2) -> (2i, 2i + 1).

    It applies H_2 to the top within-block index bit and rotates the index bits left by one;
    k = log2(m) applications give the blockwise Walsh-Hadamard transform in natural order.
    """
    bfs = []
    for base in range(0, n, m):
        for i in range(m // 2):
            bfs.append((base + i, base + i + m // 2, base + 2 * i, base + 2 * i + 1))
    return bfs


def pease_stage(x: np.ndarray, m: int) -> np.ndarray:
    """Apply the constant-geometry stage to the last axis (the model of the hardware bank)."""
    y = np.empty_like(x)
    for a, b, s, d in pease_butterflies(x.shape[-1], m):
        y[..., s] = x[..., a] + x[..., b]
        y[..., d] = x[..., a] - x[..., b]
    return y


def _input_words(ir: IntegerRNN) -> tuple[int, int]:
    """(words, word bits) of s_axis_tdata."""
    if ir.input.kind == "token":
        return 1, ir.input.bits
    return ir.input.size, ir.input.bits


def _saturate(q: str, q_w: int, out_w: int, relu: bool) -> str:
    """clamp(q, -2^(out_w-1), 2^(out_w-1)-1), after max(q, 0) when relu; q is q_w bits."""
    hi = lit((1 << (out_w - 1)) - 1, out_w)
    lo = lit(-(1 << (out_w - 1)), out_w)
    sign = bit_slice(q, q_w - 1, 1)
    if q_w <= out_w:
        body = resize(q, sign, q_w, out_w)
        return f"{sign} ? {lit(0, out_w)} : {body}" if relu else body
    top = bit_slice(q, out_w - 1, q_w - out_w)  # the bits that must equal the sign bit
    low = bit_slice(q, 0, out_w)
    over_hi = f"(~{sign} & (|{top}))"
    if relu:
        return f"{sign} ? {lit(0, out_w)} : {over_hi} ? {hi} : {low}"
    over_lo = f"({sign} & ~(&{top}))"
    return f"{over_hi} ? {hi} : {over_lo} ? {lo} : {low}"


def output_product_bits(ir: IntegerRNN) -> int:
    """Width of y * mult + 2^(shift-1) for the output requantization, from widths.output_acc."""
    orq = ir.output_requant
    assert orq is not None
    return max(ir.widths.output_acc + orq.mult.bit_length(), orq.shift) + 1


# -- context building: one small builder per datapath section ---------------------------------
# Each builder returns the section's template context: its wire declarations (name, msb,
# expression, keep), the adders it spends per time step and the wires it drops on purpose.
def _decl(name: str, width: int, expr: str, signed: bool = False, keep: bool = False) -> dict:
    return {"name": name, "msb": width - 1, "expr": expr, "signed": signed, "keep": keep}


def _graph_decls(graph: AdderGraph, tag: str | None = None) -> list[dict]:
    """Every adder node is a `(* keep *)` wire: see the module docstring of adder_graph and
    docs/hardware-cost.md (one carry-chain adder per node, not one multi-operand $macc).
    Each carries its adder level and the graph it belongs to (`tag`, default the graph's
    prefix): the pipeline planner places registers by level."""
    return [{**_decl(nd["name"], nd["width"], nd["expr"], keep=True),
             "level": nd.get("level", 0), "graph": tag or graph.prefix,
             "adder": nd.get("adder", True), "operands": nd.get("operands", [])}
            for nd in graph.nodes]


@dataclass(frozen=True)
class RequantPlan:
    """The IR's requantization without the power of two its products share.

    With t = min(trailing zeros of M_r, of M_a), floor((r M_r + a M_a + 2^(S-1)) / 2^S)
    equals floor((r (M_r >> t) + d) / 2^(S-t)) where d = a (M_a >> t) + floor(2^(S-1) / 2^t)
    is the drive: the input section delivers d with the rounding constant folded into its
    bias, and the requantization adds r (M_r >> t), a shift when M_r is a power of two.
    """

    common: int
    rotate: int
    input: int
    round_const: int
    shift: int

    @property
    def bias_only_drive(self) -> int:
        return self.round_const


def requant_plan(ir: IntegerRNN) -> RequantPlan:
    rq = ir.requant

    def zeros(v: int) -> int:
        return (v & -v).bit_length() - 1 if v else rq.shift

    t = min(zeros(rq.rotate_mult), zeros(rq.input_mult), rq.shift)
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    return RequantPlan(t, rq.rotate_mult >> t, rq.input_mult >> t, half >> t, rq.shift - t)


def _drive_table(ir: IntegerRNN, plan: RequantPlan) -> np.ndarray:
    """Token inputs: d[i, token] = (U[i, token] + b_i) M_a' + round; one more column for ids
    >= size (no input drive: the bias only, as if U's column were zero)."""
    u = np.asarray(ir.input_weight, dtype=object)
    b = np.asarray(ir.input_bias, dtype=object)[:, None]
    table = (np.concatenate([u, np.zeros((u.shape[0], 1), dtype=object)], axis=1) + b)
    return table * plan.input + plan.round_const


def _input_section(ir: IntegerRNN, options: GenerateOptions, plan: RequantPlan,
                   x_src: str) -> dict:
    """d = U x M_a' + b M_a' + round: a ROM over tokens (no adders), or a constant
    matrix-vector product of the input words (da4ml's shared graph or CSD trees)."""
    n = ir.hidden_size
    words, word_bits = _input_words(ir)
    decls: list[dict] = []
    unused: list[str] = []
    if ir.input.kind == "token":
        table = _drive_table(ir, plan)
        lo, hi = int(table.min()), int(table.max())
        wd = signed_bits(lo, hi)
        packed = []
        for col in range(table.shape[1]):
            value = 0
            for i in range(n):
                value |= (int(table[i, col]) % (1 << wd)) << (i * wd)
            packed.append(lit(value, n * wd))
        entries = [{"token": lit(tok, word_bits), "value": packed[tok]}
                   for tok in range(ir.input.size)]
        rom = {"select": x_src, "msb": n * wd - 1, "entries": entries,
               "complete": ir.input.size == 1 << word_bits, "default": packed[-1]}
        drive, aliases = [], []
        for i in range(n):
            aliases.append(_decl(f"d_{i}", wd, bit_slice("d_rom", i * wd, wd)))
            drive.append((f"d_{i}", int(table[i].min()), int(table[i].max()), wd))
        return {"rom": rom, "decls": decls, "adders": 0, "unused": unused, "drive": drive,
                "drive_decls": aliases, "adder_bits": 0}
    graph = AdderGraph("in_n")
    x_lo, x_hi = ir.input.range()
    inputs: list[Signal | None] = []
    for j in range(words):
        x = f"x_{j}"
        decls.append(_decl(x, word_bits, bit_slice(x_src, j * word_bits, word_bits)))
        if not np.any(ir.input_weight[:, j]):
            unused.append(x)
            inputs.append(None)
            continue
        if not ir.input.signed:  # a zero bit on top makes the word a signed operand
            decls.append(_decl(f"xe_{j}", word_bits + 1, f"{{1'b0, {x}}}"))
            x = f"xe_{j}"
        inputs.append(graph.input(x, x_lo, x_hi, word_bits + (0 if ir.input.signed else 1)))
    pow2 = plan.input & (plan.input - 1) == 0
    if pow2:  # M_a' = 2^e: a shift of the products, the rounding folded into the bias
        matrix = np.asarray(ir.input_weight, dtype=np.int64) * plan.input
        consts = [int(b) * plan.input + plan.round_const for b in ir.input_bias]
    else:  # a = U x + b first, then a M_a' + round as shift-adds of each a_i
        matrix = np.asarray(ir.input_weight, dtype=np.int64)
        consts = [int(b) for b in ir.input_bias]
    rows = _cmvm(options.cmvm)(graph, inputs, matrix, consts)
    check_rows(graph, inputs, rows, matrix, consts, "the input projection")
    if not pow2:
        scaled = []
        for sig in rows:
            if plan.input == 0:
                scaled.append(graph.constant(plan.round_const))
                continue
            term = Term(sig, 0, 1)
            terms = [Term(sig, dg.shift, dg.sign) for dg in csd_digits(plan.input)]
            scaled.append(graph.row(terms, plan.round_const) if len(terms) > 1 or
                          plan.round_const else graph.add_constant(term, 0))
        rows = scaled
    decls += _graph_decls(graph)
    unused += graph.partial
    drive, aliases = [], []
    for i, sig in enumerate(rows):
        aliases.append(_decl(f"d_{i}", sig.width, sig.name))
        lo, hi = graph.interval(sig.coef, sig.const)
        drive.append((f"d_{i}", lo, hi, sig.width))
    if ir.input.kind == "int" and not any(s is not None for s in inputs):
        unused.append(x_src)
    return {"rom": None, "decls": decls, "adders": graph.adders, "unused": unused,
            "drive": drive, "drive_decls": aliases,
            "adder_bits": sum(nd["width"] for nd in graph.nodes)}


def _cmvm(method: str):
    return {"da4ml": da4ml_rows, "csd": csd_rows}[method]


def _requant_section(ir: IntegerRNN, options: GenerateOptions, plan: RequantPlan,
                     drive: list[tuple[str, int, int, int]], r_src: str | None = None) -> dict:
    """v' = r M_r' + d (one adder per element when M_r' is a power of two), q = v' >>> S',
    h' = clamp(q) (after max(q, 0) in vanilla mode). r_src: the vector r (or, stage fold,
    the bank's f) is read from (default r, bank_out)."""
    w = ir.widths
    n, m = ir.hidden_size, ir.block_size
    stage_fold = options.fold == "stage"
    r_w, r_vec = (max(w.fwht), "bank_out") if stage_fold else (w.rotated, "r")
    r_vec = r_src or r_vec
    # r = s * f over [-m 2^(B-1), m 2^(B-1)]; f alone (stage fold) ends one below that
    r_lo, r_hi = -(m << (w.state - 1)), (m << (w.state - 1)) - (1 if stage_fold else 0)
    graph = AdderGraph("rq_n")
    decls: list[dict] = []
    unused: list[str] = []
    outputs = []
    for i in range(n):
        r_name = f"f_{i}" if stage_fold else f"r_{i}"
        decls.append(_decl(r_name, r_w, bit_slice(r_vec, i * r_w, r_w)))
        r = graph.input(r_name, r_lo, r_hi, r_w)
        d_name, d_lo, d_hi, d_w = drive[i]
        d = graph.input(d_name, d_lo, d_hi, d_w)
        # stage fold: r = s * f is never formed; the sign flips the add/subtract of f M_r'
        flip = -1 if stage_fold and int(ir.signs[i]) < 0 else 1
        if options.cmvm == "da4ml" and len(csd_digits(plan.rotate)) > 2:
            # a short CSD constant (log2 m odd): da4ml's graph for [M_r', 1] reuses partial
            # products of r (181 r + d: 4 adders, not 5)
            row = np.array([[flip * plan.rotate, 1]], dtype=np.int64)
            outputs.append(da4ml_rows(graph, [r, d], row, [0])[0])
            check_rows(graph, [r, d], outputs[-1:], row, [0], "the requantization")
            continue
        terms = [Term(r, dg.shift, dg.sign * flip) for dg in csd_digits(plan.rotate)]
        outputs.append(graph.row([*terms, Term(d, 0, 1)], 0))
    decls += _graph_decls(graph)
    unused += graph.partial
    elements = []
    for i, v in enumerate(outputs):
        v_sig = Signal(f"v_{i}", v.width, {})
        if plan.shift > 0 or w.shifted < v.width:
            unused.append(f"v_{i}")  # the bits below the rounding shift
        elements.append({
            "v": _decl(f"v_{i}", v.width, v.name),
            "q": _decl(f"q_{i}", w.shifted, arith_shift(v_sig, plan.shift, w.shifted)),
            "h": {**_decl(f"hn_{i}", w.state,
                          _saturate(f"q_{i}", w.shifted, w.state, ir.mode == "vanilla")),
                  "kind": "saturate"}})
    if r_w > ir.widths.rotated and not stage_fold:
        unused += [f"r_{i}" for i in range(n)]
    h_next = "{" + ", ".join(f"hn_{i}" for i in reversed(range(n))) + "}"
    return {"decls": decls, "elements": elements, "adders": graph.adders, "unused": unused,
            "h_next": h_next, "adder_bits": sum(nd["width"] for nd in graph.nodes)}


def _relu_decls(ir: IntegerRNN, src: str) -> tuple[list[dict], list[Signal | None], list[str],
                                                   AdderGraph]:
    """z = max(h, 0) of the state vector `src` (or of the elements `src.format(i=i)` when
    src holds "{i}"), and a graph whose inputs are the z that V reads, each with a zero bit
    on top (a signed operand)."""
    w = ir.widths
    n, Bh, Bz = ir.hidden_size, w.state, w.readout_in
    decls, unused = [], []
    graph = AdderGraph("ro_n")
    inputs: list[Signal | None] = []
    for i in range(n):
        vec, base = (src.format(i=i), 0) if "{i}" in src else (src, i * Bh)
        mag = bit_slice(vec, base, Bh - 1) if Bh > 1 else None
        sign = bit_slice(vec, base + Bh - 1, 1)
        body = resize(mag, None, Bh - 1, Bz) if mag is not None else lit(0, Bz)
        decls.append(_decl(f"z_{i}", Bz, f"{sign} ? {lit(0, Bz)} : {body}"))
        if not np.any(ir.output_weight[:, i]):
            unused.append(f"z_{i}")
            inputs.append(None)
            continue
        decls.append(_decl(f"ze_{i}", Bz + 1, f"{{1'b0, z_{i}}}"))
        inputs.append(graph.input(f"ze_{i}", 0, (1 << (Bh - 1)) - 1, Bz + 1))
    return decls, inputs, unused, graph


def _output_requant(ir: IntegerRNN, y: Signal, y_lo: int, y_hi: int, o: int,
                    graph: AdderGraph, decls: list[dict], unused: list[str]) -> None:
    """out_o = y (resized) or sat(round_shift(y * mult, shift)) as shift-adds."""
    w = ir.widths
    orq = ir.output_requant
    if orq is None:
        decls.append(_decl(f"out_{o}", w.output, extend(y, w.output), signed=True))
        return
    yin = graph.input(y.name, y_lo, y_hi, y.width)
    ohalf = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
    before = len(graph.nodes)
    p = graph.row([Term(yin, dg.shift, dg.sign) for dg in csd_digits(orq.mult)], ohalf)
    decls += _graph_decls(AdderGraph("", nodes=graph.nodes[before:]), graph.prefix)
    wpq = max(1, p.width - orq.shift)
    if orq.shift > 0:
        unused.append(p.name)
    decls.append(_decl(f"pq_{o}", wpq, arith_shift(p, orq.shift, wpq)))
    decls.append({**_decl(f"out_{o}", w.output,
                          _saturate(f"pq_{o}", wpq, w.output, relu=False), signed=True),
                  "kind": "saturate"})


def _readout_section(ir: IntegerRNN, options: GenerateOptions, src: str = "h_q") -> dict:
    """y = V relu(h) + c for every output at once, from the state vector `src` (the state
    register; with streams, the new state as it is written)."""
    decls, inputs, unused, graph = _relu_decls(ir, src)
    consts = [int(c) for c in ir.output_bias]
    rows = _cmvm(options.cmvm)(graph, inputs, ir.output_weight, consts)
    check_rows(graph, inputs, rows, ir.output_weight, consts, "the readout")
    decls += _graph_decls(graph)
    post: list[dict] = []
    rq_graph = AdderGraph("orq_n")
    for o, y in enumerate(rows):
        decls.append(_decl(f"y_{o}", y.width, y.name))
        lo, hi = graph.interval(y.coef, y.const)
        _output_requant(ir, Signal(f"y_{o}", y.width, {}), lo, hi, o, rq_graph, post, unused)
    adders = graph.adders + rq_graph.adders
    unused += graph.partial + rq_graph.partial
    bits = sum(nd["width"] for nd in graph.nodes) + sum(nd["width"] for nd in rq_graph.nodes)
    return {"decls": decls + post, "adders": adders, "unused": unused, "serial": None,
            "cycles": 0, "adder_bits": bits}


def _serial_readout(ir: IntegerRNN, options: GenerateOptions) -> bool:
    return options.readout_lanes is not None


def digit_planes(matrix: np.ndarray) -> int:
    """CSD digit positions V spans: the serial readout's cycles per output group."""
    top = 0
    for v in np.unique(np.asarray(matrix, dtype=np.int64)):
        digits = csd_digits(int(v))
        if digits:
            top = max(top, digits[-1].shift + 1)
    return max(1, top)


def serial_readout_cycles(ir: IntegerRNN, lanes: int) -> int:
    return -(-ir.output_size // lanes) * digit_planes(ir.output_weight)


def _serial_readout_section(ir: IntegerRNN, options: GenerateOptions) -> dict:
    """Readout 'last' computed serially: L lanes, each one adder tree over relu(h).

    Lane l computes outputs o = g L + l of group g = 0, 1, ... one CSD digit plane b of V
    per cycle, from the top plane down (Horner): acc = 2 acc + sum_i d_{o,i,b} z_i, where
    d = -1 enters as ~z (= -z - 1) and the plane's count of -1 digits, and c_o at plane 0,
    come in as one constant from a per-cycle table. Every sum is mod 2^widths.output_acc,
    which holds the final y, so the intermediate Horner values may wrap. The state read out
    is copied when the last step ends, so the next sequence's steps can run meanwhile.
    """
    w = ir.widths
    lanes = options.readout_lanes
    d_out, n = ir.output_size, ir.hidden_size
    V = np.asarray(ir.output_weight, dtype=np.int64)
    planes = digit_planes(V)
    groups = -(-d_out // lanes)
    steps = groups * planes
    step_bits = max(1, clog2(steps))
    wacc, Bz = w.output_acc, w.readout_in
    decls, inputs, unused, _ = _relu_decls(ir, "ro_h_q")
    used = [i for i in range(n) if inputs[i] is not None]
    digit = {}  # (o, i) -> {plane: +-1}
    for o in range(d_out):
        for i in used:
            digit[o, i] = {dg.shift: dg.sign for dg in csd_digits(int(V[o, i]))}
    y_lo, y_hi = matvec_interval(V, 0, (1 << (w.state - 1)) - 1, ir.output_bias)
    graph = AdderGraph("ro_n")
    orq_graph = AdderGraph("ro_orq_n")
    lane_ctx = []
    post: list[dict] = []
    for lane in range(lanes):
        pre = f"ro{lane}"
        table = []
        for s in range(steps):
            g, b = divmod(s, planes)
            b = planes - 1 - b  # top plane first
            o = g * lanes + lane
            sel = neg = 0
            konst = 0
            if o < d_out:
                for pos, i in enumerate(used):
                    dg = digit[o, i].get(b, 0)
                    if dg:
                        sel |= 1 << pos
                        if dg < 0:
                            neg |= 1 << pos
                            konst += 1
                if b == 0:
                    konst += int(ir.output_bias[o])
            table.append({"step": lit(s, step_bits), "sel": lit(sel, max(1, len(used))),
                          "neg": lit(neg, max(1, len(used))), "k": lit(konst, wacc)})
        leaves = []
        for pos, i in enumerate(used):
            name = f"{pre}_g_{i}"
            mask = f"{{{Bz + 1}{{{pre}_sel[{pos}]}}}}"
            flip = f"{{{Bz + 1}{{{pre}_neg[{pos}]}}}}"
            decls.append(_decl(name, Bz + 1, f"{mask} & ({flip} ^ ze_{i})"))
            leaves.append(Term(graph.input(name, -(1 << (w.state - 1)),
                                           (1 << (w.state - 1)) - 1, Bz + 1), 0, 1))
        before = len(graph.nodes)
        total = graph.tree(leaves)
        decls += _graph_decls(AdderGraph("", nodes=graph.nodes[before:]))
        plane_sum = extend(total.signal, wacc) if total is not None else lit(0, wacc)
        doubled = f"{{{pre}_acc_q[{wacc - 2}:0], 1'b0}}" if wacc > 1 else lit(0, wacc)
        decls.append(_decl(f"{pre}_acc2", wacc, f"ro_first ? {lit(0, wacc)} : {doubled}"))
        decls.append(_decl(f"{pre}_sum", wacc, f"{pre}_acc2 + {plane_sum}", keep=True))
        decls.append(_decl(f"{pre}_acc_next", wacc, f"{pre}_sum + {pre}_k", keep=True))
        graph.adders += 2
        graph.nodes.append({"name": f"{pre}_sum", "width": wacc, "expr": ""})
        graph.nodes.append({"name": f"{pre}_acc_next", "width": wacc, "expr": ""})
        _output_requant(ir, Signal(f"{pre}_acc_next", wacc, {}), y_lo, y_hi, lane, orq_graph,
                        post, unused)
        post[-1]["name"] = f"{pre}_out"  # the lane's output word (out_<lane> in the helper)
        lane_ctx.append({"prefix": pre, "table": table, "sel_msb": max(1, len(used)) - 1,
                         "acc_msb": wacc - 1})
        if wacc > 1:
            unused.append(f"{pre}_acc_q")  # its top bit is shifted out by the doubling
    stores = []
    for g in range(groups):
        assigns = [{"reg": f"out_q_{g * lanes + lane}", "value": f"ro{lane}_out"}
                   for lane in range(lanes) if g * lanes + lane < d_out]
        stores.append({"step": lit(g * planes + planes - 1, step_bits), "assigns": assigns})
    for o in range(d_out):
        post.append(_decl(f"out_{o}", w.output, f"out_q_{o}", signed=True))
    serial = {"lanes": lane_ctx, "steps": steps, "step_msb": step_bits - 1,
              "last_step": lit(steps - 1, step_bits), "zero_step": lit(0, step_bits),
              "one_step": lit(1, step_bits), "planes": planes,
              "first_steps": [lit(g * planes, step_bits) for g in range(groups)],
              "stores": stores, "out_msb": w.output - 1, "d_out": d_out}
    readers = [f"{lane['prefix']}_acc_next {lane['prefix']}_out" for lane in lane_ctx]
    adders = graph.adders + orq_graph.adders
    unused += graph.partial + orq_graph.partial
    bits = sum(nd["width"] for nd in graph.nodes) + sum(nd["width"] for nd in orq_graph.nodes)
    return {"decls": decls + post, "adders": adders, "unused": unused, "serial": serial,
            "cycles": steps, "adder_bits": bits, "readers": readers}


def _argmax_section(ir: IntegerRNN) -> dict:
    """A comparison tree whose left operand always holds the lower indices, so that equal
    maxima resolve to the lowest index (numpy.argmax)."""
    d_out = ir.output_size
    argmax_bits = max(1, clog2(d_out))
    nodes = []
    level = [(f"out_{o}", lit(o, argmax_bits)) for o in range(d_out)]
    depth = 0
    while len(level) > 1:
        nxt = []
        for pos in range(0, len(level) - 1, 2):
            (lv, li), (rv, ri) = level[pos], level[pos + 1]
            name = f"am{depth}_{pos // 2}"
            nodes.append({"gt": f"{name}_gt", "val": f"{name}_val", "idx": f"{name}_idx",
                          "left_val": lv, "left_idx": li, "right_val": rv, "right_idx": ri,
                          "depth": depth + 1})
            nxt.append((f"{name}_val", f"{name}_idx"))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    return {"nodes": nodes, "expr": level[0][1],
            "unused": [level[0][0]] if nodes else []}  # the maximum itself is no output


def _bank_section(ir: IntegerRNN, h_src: str = "h_cur") -> dict:
    """Stage fold: one bank of n/2 butterflies in the constant-geometry order."""
    w = ir.widths
    n, m, k, Bh = ir.hidden_size, ir.block_size, ir.k, w.state
    Wb = max(w.fwht)
    init = []
    for i in range(n):
        src = bit_slice(h_src, i * Bh, Bh)
        init.append({"lhs": bit_slice("bank_init", i * Wb, Wb),
                     "expr": resize(src, bit_slice(h_src, i * Bh + Bh - 1, 1), Bh, Wb)})
    bfs = []
    for a, b, s, d in pease_butterflies(n, m):
        sa, sb = bit_slice("bank_in", a * Wb, Wb), bit_slice("bank_in", b * Wb, Wb)
        bfs.append({"lhs": bit_slice("bank_out", s * Wb, Wb), "expr": f"{sa} + {sb}"})
        bfs.append({"lhs": bit_slice("bank_out", d * Wb, Wb), "expr": f"{sa} - {sb}"})
    phase_bits = max(1, clog2(k))
    return {"msb": n * Wb - 1, "init": init, "butterflies": bfs,
            "phase_msb": phase_bits - 1, "use_phase": k >= 3,
            "phase_one": lit(1, phase_bits), "phase_last": lit(k - 1, phase_bits),
            "phase_zero": lit(0, phase_bits)}


def _interface_section(ir: IntegerRNN, options: GenerateOptions) -> dict:
    """AXI4-Stream ports, the output beat and its FIFO."""
    words, word_bits = _input_words(ir)
    d_out, Wo = ir.output_size, ir.widths.output
    argmax_bits = max(1, clog2(d_out))
    out_bits = d_out * Wo
    beat_bits = out_bits + argmax_bits + 1
    return {
        "in_msb": words * word_bits - 1,
        "out_msb": out_bits - 1,
        "argmax_msb": argmax_bits - 1,
        "beat_msb": beat_bits - 1,
        "beat_data": "{" + ", ".join(f"out_{o}" for o in reversed(range(d_out))) + "}",
        "beat_argmax_slice": bit_slice("fifo_head", out_bits, argmax_bits),
        "beat_data_slice": bit_slice("fifo_head", 0, out_bits),
        "beat_last_bit": f"fifo_head[{beat_bits - 1}]",
        "max_pending": lit(MAX_PENDING, 2),
        "max_pending_count": MAX_PENDING,
        "out_word_msb": Wo - 1,
    }


def _unread(sections: list[dict], extra_readers: list[str]) -> list[str]:
    """Declared wires that nothing reads (a constant of 0, an all-zero weight column, ...)
    go to the sink too, so that lint stays silent for every IR."""
    decls = [d for sec in sections for d in _all_decls(sec)]
    readers = [d["expr"] for d in decls] + extra_readers
    referenced = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(readers)))
    return [d["name"] for d in decls if d["name"] not in referenced]


def _all_decls(section: dict) -> list[dict]:
    out = list(section["decls"]) + list(section.get("drive_decls", []))
    for el in section.get("elements", []):
        out += [el["v"], el["q"], el["h"]]
    return out


def _top_context(ir: IntegerRNN, options: GenerateOptions) -> tuple[dict, dict]:
    """Context of the top module (one sub-dict per section) and the analytical costs."""
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    stage_fold = options.fold == "stage"
    single_stage = stage_fold and k == 1
    plan = requant_plan(ir)
    x_src = "x_q" if stage_fold and not single_stage else "s_axis_tdata"
    inp = _input_section(ir, options, plan, x_src)
    req = _requant_section(ir, options, plan, inp["drive"])
    if _serial_readout(ir, options):
        rd = _serial_readout_section(ir, options)
    else:
        rd = _readout_section(ir, options)
    am = _argmax_section(ir)
    iface = _interface_section(ir, options)
    sections = [inp, req, rd]
    readers = [req["h_next"], iface["beat_data"], *rd.get("readers", [])]
    readers += [f"{a['left_val']} {a['right_val']}" for a in am["nodes"]]
    unused = [u for sec in (inp, req, rd, am) for u in sec["unused"]]
    unused += _unread(sections, readers)
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
        "bank": _bank_section(ir) if stage_fold else None,
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


def _rotate_fwht_context(ir: IntegerRNN, top: str, registered: frozenset[int] | None = None
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


# -- manifest ---------------------------------------------------------------------------------
def _timing(ir: IntegerRNN, options: GenerateOptions) -> tuple[int, int]:
    """(cycles_per_step, latency_cycles): input handshake to the next possible one, and to
    the output beat entering the FIFO (plus the serial readout on the last step)."""
    extra = serial_readout_cycles(ir, options.readout_lanes) if _serial_readout(
        ir, options) else 0
    if options.fold == "stage":
        return ir.k, ir.k + 1 + extra
    return 1, 2 + extra


def ports(ir: IntegerRNN, tid_bits: int = 0) -> list[dict]:
    """The core's ports in declaration order; s_axis_tid / m_axis_tid with streams."""
    words, word_bits = _input_words(ir)
    argmax_bits = max(1, clog2(ir.output_size))
    spec = [("clk", "input", 1), ("rst", "input", 1), ("s_axis_tvalid", "input", 1),
            ("s_axis_tready", "output", 1), ("s_axis_tdata", "input", words * word_bits),
            ("s_axis_tlast", "input", 1)]
    if tid_bits:
        spec.append(("s_axis_tid", "input", tid_bits))
    spec += [("m_axis_tvalid", "output", 1), ("m_axis_tready", "input", 1),
             ("m_axis_tdata", "output", ir.output_size * ir.widths.output),
             ("m_axis_tuser", "output", argmax_bits), ("m_axis_tlast", "output", 1)]
    if tid_bits:
        spec.append(("m_axis_tid", "output", tid_bits))
    return [{"name": name, "direction": d, "width": width} for name, d, width in spec]


def _weight_storage_bits(ir: IntegerRNN) -> int:
    """Bits of the model parameters as the IR stores them (signs, U, V, biases)."""
    w = ir.widths
    n = ir.hidden_size
    u_bits = w.input_acc if ir.input.kind == "token" else w.input_weight
    return (n + n * ir.input.size * u_bits + n * w.input_acc
            + ir.output_size * n * w.output_weight + ir.output_size * w.output_acc)


def manifest(ir: IntegerRNN, options: GenerateOptions, hdl_files: list[str],
             costs: dict, stream: dict | None = None) -> dict:
    """The design's manifest; `stream` is the schedule summary of an interleaved or
    pipelined core (hadamhw.backends.verilog_stream), None for the single-cycle core."""
    n, m = ir.hidden_size, ir.block_size
    cycles, latency = _timing(ir, options)
    if stream is not None:
        cycles, latency = stream["cycles_per_step"], stream["latency_cycles"]
    recurrent = n * ir.k if options.recurrent == "fwht" else n * (m - 1)
    adds = {"recurrent": recurrent, **costs["adders"]}
    adds["total"] = sum(adds.values())
    plan = requant_plan(ir)
    serial = _serial_readout(ir, options)
    words, word_bits = _input_words(ir)
    wd = ir.to_dict()["widths"]
    streams = stream["streams"] if stream is not None else 1
    tid = clog2(streams)
    out = {
        "format": DESIGN_FORMAT,
        "version": VERSION,
        "target": "verilog",
        "top": options.top,
        "hdl_files": hdl_files,
        "ir": "model.ir.json",
        "fold": options.fold,
        "recurrent": options.recurrent,
        "cycles_per_step": cycles,
        "latency_cycles": latency,
        "cmvm": options.cmvm,
        # serial readout (readout 'last'): lanes, and cycles from the last step to its beat
        "readout_lanes": options.readout_lanes if serial else None,
        "readout_cycles": costs["readout_cycles"] + 1 if serial else 0,
        # adders_per_step counts every adder/subtractor of the datapath (the serial
        # readout's run once per readout cycle); adder_bits sums their widths, an
        # analytical LUT-equivalent estimate on carry-chain FPGAs (one LUT per bit)
        "adder_bits": {**costs["adder_bits"],
                       "total": sum(costs["adder_bits"].values())},
        "requant": {"common_shift": plan.common, "rotate_mult": plan.rotate,
                    "rotate_digits": len(csd_digits(plan.rotate)),
                    "input_mult": plan.input, "shift": plan.shift,
                    "drive_round": plan.round_const},
        "ports": ports(ir, tid),
        "input": {"kind": ir.input.kind, "words": words, "word_bits": word_bits,
                  "signed": bool(ir.input.signed) if ir.input.kind == "int" else False},
        "output": {"words": ir.output_size, "word_bits": ir.widths.output},
        "argmax_bits": max(1, clog2(ir.output_size)),
        "adders_per_step": adds,
        "weight_bits": {"input": ir.widths.input_weight, "output": ir.widths.output_weight},
        "weight_storage_bits": _weight_storage_bits(ir),
        # the token ROM (tokens x n words of U column + b; embedding models: embedding and
        # U folded into one table), None for vector inputs
        "token_table_bits": (ir.input.size * n * ir.widths.input_acc
                             if ir.input.kind == "token" else None),
        "state_bits": n * ir.widths.state,
        "widths": wd,
        "hidden_size": n,
        "block_size": m,
        "input_size": ir.input.size,
        "output_size": ir.output_size,
        "mode": ir.mode,
        "readout": ir.readout,
        "output_requant": None if ir.output_requant is None else {
            "mult": ir.output_requant.mult, "shift": ir.output_requant.shift,
            "bits": ir.output_requant.bits, "product_bits": output_product_bits(ir)},
        "output_fifo_depth": MAX_PENDING + 1,
    }
    if stream is None:
        return out
    # interleaving and pipelining (docs/hardware-cost.md, "Streams and pipelining")
    out.update({
        "streams": streams,
        "tid_bits": tid,
        "loop_depth": stream["loop_depth"],
        "cycles_per_step_per_stream": stream["cycles_per_step_per_stream"],
        "pipeline": stream["pipeline"],
        "output_fifo_depth": stream["output_fifo_depth"],
        "state_storage_bits": streams * n * ir.widths.state,
        # cycles after reset before the first step issues (the state entries are cleared)
        "reset_cycles": streams if streams > 1 else 0,
    })
    return out


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


def _integration_files(env: jinja2.Environment, ir: IntegerRNN, man: dict) -> dict[str, str]:
    """The self-checking test bench and the FuseSoC core, recorded in the manifest."""
    from hadamhw.backends import fusesoc, verilog_tb

    files, man["verilog_testbench"] = verilog_tb.render(env, ir, man)
    core, man["fusesoc"] = fusesoc.render(env, man)
    return {**files, **core}


def render(ir: IntegerRNN, options: GenerateOptions | None = None,
           template_dir: Path | None = None) -> dict[str, str]:
    """Every file of the design: file name -> text (Verilog, README.md, manifest, IR)."""
    options = resolve_fold(ir, options or GenerateOptions())
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
    if options.streamed:
        from hadamhw.backends.verilog_stream import stream_context

        ctx, costs, sched = stream_context(ir, options)
        stream = sched["summary"]
        rotate_registered = sched["rotate_registered"]
        ctx["summary"] = stream
    elif options.fold == "parallel" and options.recurrent == "fwht" and not _serial_readout(
            ir, options):  # the single-cycle core: its datapath printed from the netlist
        ctx, costs, rot_ctx = single_cycle_context(ir, options.cmvm, top, options.fold,
                                                   options.recurrent,
                                                   _interface_section(ir, options))
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

            rot_ctx = verilog_dense.dense_rotate_context(ir, top)
            files[f"{top}_rotate.v"] = render_template(env, "rotate_dense.v.j2", rot_ctx)
        else:
            files[f"{top}_rotate.v"] = render_template(env, "rotate_fwht.v.j2", rot_ctx or
                                               _rotate_fwht_context(ir, top, rotate_registered))
        hdl.append(f"{top}_rotate.v")
    files[f"{top}.v"] = render_template(env, "top.v.j2", ctx)
    hdl.append(f"{top}.v")
    man = manifest(ir, options, hdl, costs, stream)
    files.update(_integration_files(env, ir, man))
    files["README.md"] = render_template(env, "README.md.j2", {**ctx, "manifest": man,
                                                        "ports": man["ports"]})
    files["model.ir.json"] = ir.to_json()
    files["manifest.json"] = json.dumps(man, indent=2, sort_keys=True) + "\n"
    return files


def generate(ir: IntegerRNN, out_dir: str | Path, options: GenerateOptions | None = None,
             template_dir: Path | None = None) -> dict:
    """Write the design into out_dir and return its manifest."""
    files = render(ir, options, template_dir)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise HadamhwError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    return json.loads(files["manifest.json"])


def cycles_per_step(ir: IntegerRNN, fold: str | int) -> int:
    """Cycles from one input handshake to the next possible one for a fold."""
    options = resolve_fold(ir, GenerateOptions(fold=fold))
    if isinstance(options.fold, int):
        from hadamhw.backends.verilog_fold import plan_for

        return plan_for(ir, options.fold).cycles_per_step
    return _timing(ir, options)[0]

