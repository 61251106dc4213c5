"""Datapath sections of the Verilog cores: one small context builder per section.

The single-cycle core (hadamhw.backends.verilog), the streamed/pipelined core
(verilog_stream) and the deep fold (verilog_fold) build their top modules from these;
each returns the section's template context (see the docstring of hadamhw.backends.verilog
for the sections of one time step).

A declaration (`decl`) is a wire: name, width, expression and `reads`, the wires its
expression reads, stated where the expression is built, so that passes over the sections
(the unread-wire sink, the stream scheduler) never parse expression text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hadamhw.backends import GenerateOptions
from hadamhw.backends.adder_graph import (
    AdderGraph,
    Rename,
    Signal,
    Term,
    arith_shift,
    check_rows,
    csd_rows,
    da4ml_rows,
    extend,
)
from hadamhw.backends.verilog_text import bit_slice, clog2, lit, resize, saturate
from hadamhw.ir.csd import csd_digits
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import matvec_interval, signed_bits
from hadamhw.netlist.plan import RequantPlan, drive_table

# Beats in flight (readout register + output FIFO) at which s_axis_tready drops; the FIFO has
# one more slot than needed so that a full FIFO never overwrites its head.
MAX_PENDING = 3


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


def input_words(ir: IntegerRNN) -> tuple[int, int]:
    """(words, word bits) of s_axis_tdata."""
    if ir.input.kind == "token":
        return 1, ir.input.bits
    return ir.input.size, ir.input.bits


def output_product_bits(ir: IntegerRNN) -> int:
    """Width of y * mult + 2^(shift-1) for the output requantization, from widths.output_acc."""
    orq = ir.output_requant
    assert orq is not None
    return max(ir.widths.output_acc + orq.mult.bit_length(), orq.shift) + 1


# -- context building: one small builder per datapath section ---------------------------------
# Each builder returns the section's template context: its wire declarations (name, msb,
# expression, keep, reads, form), the adders it spends per time step and the wires it drops
# on purpose.
Form = Callable[[Rename], str]


def same(name: str) -> str:
    """A wire printed as itself."""
    return name


def decl(name: str, width: int, expr: str | Form, signed: bool = False,
         keep: bool = False) -> dict:
    """A wire declaration. `expr` is the text of an expression that reads no wire (a
    constant), or its form: a function that prints the expression given how to print each
    wire it reads (the retimer prints delayed copies). `reads` lists those wires once
    each, in the order the expression first reads them."""
    form = expr if callable(expr) else _constant_form(expr)
    return {"name": name, "msb": width - 1, "expr": form(same), "signed": signed,
            "keep": keep, "reads": wires_read(form), "form": form}


def _constant_form(text: str) -> Form:
    return lambda wire: text


def wires_read(form: Form) -> list[str]:
    """The wires an expression's form prints, in order, once each."""
    seen: list[str] = []

    def record(name: str) -> str:
        if name not in seen:
            seen.append(name)
        return name

    form(record)
    return seen


def alias(name: str, width: int, wire: str, signed: bool = False) -> dict:
    """name = wire."""
    return decl(name, width, lambda r: r(wire), signed=signed)


def sliced(name: str, width: int, vector: str, lsb: int) -> dict:
    """name = vector[lsb +: width]."""
    return decl(name, width, lambda r: bit_slice(r(vector), lsb, width))


def graph_decls(graph: AdderGraph, tag: str | None = None) -> list[dict]:
    """Every adder node is a `(* keep *)` wire: see the module docstring of adder_graph and
    docs/hardware-cost.md (one carry-chain adder per node, not one multi-operand $macc).
    Each carries its adder level and the graph it belongs to (`tag`, default the graph's
    prefix): the pipeline planner places registers by level."""
    return [{**decl(nd["name"], nd["width"], nd["form"], keep=True),
             "level": nd.get("level", 0), "graph": tag or graph.prefix,
             "adder": nd.get("adder", True), "operands": nd.get("operands", [])}
            for nd in graph.nodes]


def input_section(ir: IntegerRNN, options: GenerateOptions, plan: RequantPlan,
                   x_src: str) -> dict:
    """d = U x M_a' + b M_a' + round: a ROM over tokens (no adders), or a constant
    matrix-vector product of the input words (da4ml's shared graph or CSD trees)."""
    n = ir.hidden_size
    words, word_bits = input_words(ir)
    decls: list[dict] = []
    unused: list[str] = []
    if ir.input.kind == "token":
        table = drive_table(ir, plan)
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
            aliases.append(sliced(f"d_{i}", wd, "d_rom", i * wd))
            drive.append((f"d_{i}", int(table[i].min()), int(table[i].max()), wd))
        return {"rom": rom, "decls": decls, "adders": 0, "unused": unused, "drive": drive,
                "drive_decls": aliases, "adder_bits": 0}
    graph = AdderGraph("in_n")
    x_lo, x_hi = ir.input.range()
    inputs: list[Signal | None] = []
    for j in range(words):
        x = f"x_{j}"
        decls.append(sliced(x, word_bits, x_src, j * word_bits))
        if not np.any(ir.input_weight[:, j]):
            unused.append(x)
            inputs.append(None)
            continue
        if not ir.input.signed:  # a zero bit on top makes the word a signed operand
            decls.append(decl(f"xe_{j}", word_bits + 1, lambda r, x=x: f"{{1'b0, {r(x)}}}"))
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
    decls += graph_decls(graph)
    unused += graph.partial
    drive, aliases = [], []
    for i, sig in enumerate(rows):
        aliases.append(alias(f"d_{i}", sig.width, sig.name))
        lo, hi = graph.interval(sig.coef, sig.const)
        drive.append((f"d_{i}", lo, hi, sig.width))
    if ir.input.kind == "int" and not any(s is not None for s in inputs):
        unused.append(x_src)
    return {"rom": None, "decls": decls, "adders": graph.adders, "unused": unused,
            "drive": drive, "drive_decls": aliases,
            "adder_bits": sum(nd["width"] for nd in graph.nodes)}


def _cmvm(method: str):
    return {"da4ml": da4ml_rows, "csd": csd_rows}[method]


def requant_section(ir: IntegerRNN, options: GenerateOptions, plan: RequantPlan,
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
        decls.append(sliced(r_name, r_w, r_vec, i * r_w))
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
    decls += graph_decls(graph)
    unused += graph.partial
    elements = []
    relu = ir.mode == "vanilla"
    for i, v in enumerate(outputs):
        v_sig = Signal(f"v_{i}", v.width, {})
        if plan.shift > 0 or w.shifted < v.width:
            unused.append(f"v_{i}")  # the bits below the rounding shift
        elements.append({
            "v": alias(f"v_{i}", v.width, v.name),
            "q": decl(f"q_{i}", w.shifted, lambda r, v=v_sig: arith_shift(
                Signal(r(v.name), v.width, {}), plan.shift, w.shifted)),
            "h": {**decl(f"hn_{i}", w.state, lambda r, i=i: saturate(
                r(f"q_{i}"), w.shifted, w.state, relu)), "kind": "saturate"}})
    if r_w > ir.widths.rotated and not stage_fold:
        unused += [f"r_{i}" for i in range(n)]
    h_next = "{" + ", ".join(f"hn_{i}" for i in reversed(range(n))) + "}"
    return {"decls": decls, "elements": elements, "adders": graph.adders, "unused": unused,
            "h_next": h_next, "h_next_reads": [f"hn_{i}" for i in range(n)],
            "drive_wires": [d[0] for d in drive[:n]],
            "adder_bits": sum(nd["width"] for nd in graph.nodes)}


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
        # the relu of the state as it enters the readout (the streams register it there)
        decls.append({**decl(f"z_{i}", Bz, lambda r, vec=vec, base=base: _relu_text(
            r(vec), base, Bh, Bz)), "kind": "relu"})
        if not np.any(ir.output_weight[:, i]):
            unused.append(f"z_{i}")
            inputs.append(None)
            continue
        decls.append(decl(f"ze_{i}", Bz + 1, lambda r, i=i: f"{{1'b0, {r(f'z_{i}')}}}"))
        inputs.append(graph.input(f"ze_{i}", 0, (1 << (Bh - 1)) - 1, Bz + 1))
    return decls, inputs, unused, graph


def _relu_text(vec: str, base: int, Bh: int, Bz: int) -> str:
    """max(h, 0) as Bz bits, h the Bh bits of `vec` from `base`."""
    mag = bit_slice(vec, base, Bh - 1) if Bh > 1 else None
    sign = bit_slice(vec, base + Bh - 1, 1)
    body = resize(mag, None, Bh - 1, Bz) if mag is not None else lit(0, Bz)
    return f"{sign} ? {lit(0, Bz)} : {body}"


def output_requant(ir: IntegerRNN, y: Signal, y_lo: int, y_hi: int, o: int,
                    graph: AdderGraph, decls: list[dict], unused: list[str]) -> None:
    """out_o = y (resized) or sat(round_shift(y * mult, shift)) as shift-adds."""
    w = ir.widths
    orq = ir.output_requant
    if orq is None:
        decls.append(decl(f"out_{o}", w.output, lambda r: extend(_renamed(y, r), w.output),
                          signed=True))
        return
    yin = graph.input(y.name, y_lo, y_hi, y.width)
    ohalf = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
    before = len(graph.nodes)
    p = graph.row([Term(yin, dg.shift, dg.sign) for dg in csd_digits(orq.mult)], ohalf)
    decls += graph_decls(AdderGraph("", nodes=graph.nodes[before:]), graph.prefix)
    wpq = max(1, p.width - orq.shift)
    if orq.shift > 0:
        unused.append(p.name)
    decls.append(decl(f"pq_{o}", wpq, lambda r: arith_shift(_renamed(p, r), orq.shift, wpq)))
    decls.append({**decl(f"out_{o}", w.output, lambda r: saturate(
        r(f"pq_{o}"), wpq, w.output, relu=False), signed=True), "kind": "saturate"})


def _renamed(sig: Signal, wire: Rename) -> Signal:
    return Signal(wire(sig.name), sig.width, sig.coef, sig.const, sig.node, sig.level)


def readout_section(ir: IntegerRNN, options: GenerateOptions, src: str = "h_q") -> dict:
    """y = V relu(h) + c for every output at once, from the state vector `src` (the state
    register; with streams, the new state as it is written)."""
    decls, inputs, unused, graph = _relu_decls(ir, src)
    consts = [int(c) for c in ir.output_bias]
    rows = _cmvm(options.cmvm)(graph, inputs, ir.output_weight, consts)
    check_rows(graph, inputs, rows, ir.output_weight, consts, "the readout")
    decls += graph_decls(graph)
    post: list[dict] = []
    rq_graph = AdderGraph("orq_n")
    for o, y in enumerate(rows):
        decls.append(alias(f"y_{o}", y.width, y.name))
        lo, hi = graph.interval(y.coef, y.const)
        output_requant(ir, Signal(f"y_{o}", y.width, {}), lo, hi, o, rq_graph, post, unused)
    adders = graph.adders + rq_graph.adders
    unused += graph.partial + rq_graph.partial
    bits = sum(nd["width"] for nd in graph.nodes) + sum(nd["width"] for nd in rq_graph.nodes)
    return {"decls": decls + post, "adders": adders, "unused": unused, "serial": None,
            "cycles": 0, "adder_bits": bits}


def has_serial_readout(ir: IntegerRNN, options: GenerateOptions) -> bool:
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


def serial_readout_section(ir: IntegerRNN, options: GenerateOptions) -> dict:
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
            decls.append(decl(name, Bz + 1, lambda r, pre=pre, pos=pos, i=i: (
                f"{{{Bz + 1}{{{r(f'{pre}_sel')}[{pos}]}}}} & "
                f"({{{Bz + 1}{{{r(f'{pre}_neg')}[{pos}]}}}} ^ {r(f'ze_{i}')})")))
            leaves.append(Term(graph.input(name, -(1 << (w.state - 1)),
                                           (1 << (w.state - 1)) - 1, Bz + 1), 0, 1))
        before = len(graph.nodes)
        total = graph.tree(leaves)
        decls += graph_decls(AdderGraph("", nodes=graph.nodes[before:]))
        decls += _horner_decls(pre, wacc, total)
        graph.adders += 2
        graph.nodes.append({"name": f"{pre}_sum", "width": wacc, "expr": ""})
        graph.nodes.append({"name": f"{pre}_acc_next", "width": wacc, "expr": ""})
        output_requant(ir, Signal(f"{pre}_acc_next", wacc, {}), y_lo, y_hi, lane, orq_graph,
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
        post.append(alias(f"out_{o}", w.output, f"out_q_{o}", signed=True))
    serial = {"lanes": lane_ctx, "steps": steps, "step_msb": step_bits - 1,
              "last_step": lit(steps - 1, step_bits), "zero_step": lit(0, step_bits),
              "one_step": lit(1, step_bits), "planes": planes,
              "first_steps": [lit(g * planes, step_bits) for g in range(groups)],
              "stores": stores, "out_msb": w.output - 1, "d_out": d_out}
    readers = [f"{lane['prefix']}_{x}" for lane in lane_ctx for x in ("acc_next", "out")]
    adders = graph.adders + orq_graph.adders
    unused += graph.partial + orq_graph.partial
    bits = sum(nd["width"] for nd in graph.nodes) + sum(nd["width"] for nd in orq_graph.nodes)
    return {"decls": decls + post, "adders": adders, "unused": unused, "serial": serial,
            "cycles": steps, "adder_bits": bits, "readers": readers}


def _horner_decls(pre: str, wacc: int, total: Term | None) -> list[dict]:
    """One lane's Horner step: acc2 = 2 acc (0 on a group's first plane), sum = acc2 +
    the plane's sum, acc_next = sum + the plane's constant."""
    def plane_sum(r: Rename) -> str:
        return extend(_renamed(total.signal, r), wacc) if total is not None else lit(0, wacc)

    def doubled(r: Rename) -> str:
        return f"{{{r(f'{pre}_acc_q')}[{wacc - 2}:0], 1'b0}}" if wacc > 1 else lit(0, wacc)

    return [decl(f"{pre}_acc2", wacc, lambda r: f"{r('ro_first')} ? {lit(0, wacc)} : "
                 f"{doubled(r)}"),
            decl(f"{pre}_sum", wacc, lambda r: f"{r(f'{pre}_acc2')} + {plane_sum(r)}",
                 keep=True),
            decl(f"{pre}_acc_next", wacc, lambda r: f"{r(f'{pre}_sum')} + {r(f'{pre}_k')}",
                 keep=True)]


def argmax_section(ir: IntegerRNN) -> dict:
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
                          "depth": depth + 1,
                          # the indices that are wires (a leaf's index is a constant)
                          "idx_wires": [x for x in (li, ri) if x.endswith("_idx")]})
            nxt.append((f"{name}_val", f"{name}_idx"))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    return {"nodes": nodes, "expr": level[0][1],
            "result_wire": level[0][1] if nodes else None,
            "unused": [level[0][0]] if nodes else []}  # the maximum itself is no output


def bank_section(ir: IntegerRNN, h_src: str = "h_cur") -> dict:
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


def interface_section(ir: IntegerRNN, options: GenerateOptions) -> dict:
    """AXI4-Stream ports, the output beat and its FIFO."""
    words, word_bits = input_words(ir)
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
        "beat_reads": [f"out_{o}" for o in range(d_out)],
        "beat_argmax_slice": bit_slice("fifo_head", out_bits, argmax_bits),
        "beat_data_slice": bit_slice("fifo_head", 0, out_bits),
        "beat_last_bit": f"fifo_head[{beat_bits - 1}]",
        "max_pending": lit(MAX_PENDING, 2),
        "max_pending_count": MAX_PENDING,
        "out_word_msb": Wo - 1,
    }


def unread_wires(sections: list[dict], extra_reads: list[str]) -> list[str]:
    """Declared wires that nothing reads (a constant of 0, an all-zero weight column, ...)
    go to the sink too, so that lint stays silent for every IR. extra_reads: the wires
    read outside the sections' declarations (the state write, the output beat, ...)."""
    return unread_decls([d for sec in sections for d in _all_decls(sec)], extra_reads)


def unread_decls(decls: list[dict], extra_reads: list[str]) -> list[str]:
    """The declarations in `decls` that neither another one nor `extra_reads` reads."""
    referenced = {wire for d in decls for wire in d["reads"]} | set(extra_reads)
    return [d["name"] for d in decls if d["name"] not in referenced]


def _all_decls(section: dict) -> list[dict]:
    out = list(section["decls"]) + list(section.get("drive_decls", []))
    for el in section.get("elements", []):
        out += [el["v"], el["q"], el["h"]]
    return out
