"""Verilog backend, deep fold: F butterfly units, the vector in block RAM (`--fold F`).

The same IR, golden semantics, AXI4-Stream interface and manifest conventions as
hadamhw.backends.verilog (whose sections and text helpers, verilog_sections and
verilog_text, this module reuses); the schedule and the bank layout are
hadamhw.backends.fold's FoldPlan. Templates: templates/verilog/fold/.

A time step runs k = log2(m) stages of S = n/(2F) cycles (plus the plan's gap). Each cycle
the two halves of the ping-pong RAM return F words each, F butterflies combine them and
their 2F results are registered and written back. On the last stage the results are
requantized before the write (they are the next state h') and fed to the readout, all at
the butterfly rate (2F elements per cycle):

- input (`_input_section`): the drive d'' = d + [s < 0] of each result slot, from a ROM
  over (token, cycle) for token inputs, or for integer inputs U x M_a' + b'' with U's
  codes and b'' = b M_a' + round + [s < 0] as ROM words at the cycle's address, each code
  applied to x by a shift-add unit (gated, shifted copies of x summed by an adder tree:
  no multiplier);
- rotation (`_rotation_section`): RAM addressing, operand and write multiplexers, the F
  butterflies;
- requantization (`_requant_section`): v = d'' + (f M_r' XOR s) (the sign flip as an
  XOR, its +1 folded into the drive), q = v >>> S', h' = clamp(q);
- readout (`_readout_section`): z = relu(h') of the 2F slots, V's codes (a ROM word per
  cycle) applied by shift-add units, one adder tree and accumulator per output, then the
  output requantization and the argmax of hadamhw.backends.verilog;
- control and interface (`_control_section`): the stage/cycle counters, the pipeline
  valid bits, the handshake and the 4-slot output FIFO.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.backends import GenerateOptions, render_template, template_environment
from hadamhw.backends.adder_graph import AdderGraph, Rename, Signal, Term, arith_shift, extend
from hadamhw.backends.fold import FIFO_SLOTS, FoldPlan
from hadamhw.backends.verilog_manifest import integration_files
from hadamhw.backends.verilog_manifest import manifest as base_manifest
from hadamhw.backends.verilog_sections import (
    Form,
    decl,
    graph_decls,
    output_requant,
    sliced,
    unread_decls,
)
from hadamhw.backends.verilog_text import bit_slice, clog2, lit, resize, saturate
from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import csd_digits
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import matvec_interval, signed_bits
from hadamhw.netlist.plan import drive_table, requant_plan
from hadamhw.resources import templates_dir

TEMPLATE = "fold/top.v.j2"
README_TEMPLATE = "fold/README.md.j2"


def product_stage(ir: IntegerRNN) -> bool:
    """f M_r' gets its own pipeline stage when it takes adders (M_r' no power of two)."""
    return len(csd_digits(requant_plan(ir).rotate)) > 1


def plan_for(ir: IntegerRNN, units: int) -> FoldPlan:
    """The schedule of this generator's fold design for `units` butterfly units."""
    return FoldPlan(ir.hidden_size, ir.block_size, units,
                    pipeline=3 if product_stage(ir) else 2, outputs=ir.output_size)


@dataclass(frozen=True)
class Pipe:
    """The register stages after the read issue ('iss'): ex (RAM data, butterflies),
    mu (the product f M_r', only when it takes adders), wb (requantization, RAM write)."""

    stages: tuple[str, ...]

    def c(self, stage: str) -> str:
        return "c_iss" if stage == "iss" else f"{stage}_c_q"

    def x(self, stage: str) -> str:
        return "x_q" if stage == "iss" else f"{stage}_x_q"

    @property
    def compute(self) -> str:
        """The stage that forms the drive (its result is registered into wb)."""
        return self.stages[-2]

    @property
    def before_compute(self) -> str:
        return ("iss", *self.stages)[-3]

    @property
    def f_wb(self) -> str:
        """The butterflies' results as the wb stage sees them."""
        return "f_q" if self.stages[-2] == "ex" else "fm_q"


def pipe_for(ir: IntegerRNN) -> Pipe:
    return Pipe(("ex", "mu", "wb") if product_stage(ir) else ("ex", "wb"))


def _concat(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "{" + ", ".join(parts) + "}"


def _packed(values: list[int], width: int) -> str:
    """Values packed into one literal, values[0] in the low bits."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) % (1 << width)) << (i * width)
    return lit(word, width * len(values))


def _rom(name: str, data: str, addr: str, width: int, words: list[str]) -> dict:
    """A ROM in block RAM: `data` <= `name`[`addr`] every cycle (one cycle of latency)."""
    return {"name": name, "data": data, "addr": addr, "msb": width - 1, "depth": len(words),
            "addr_msb": max(1, clog2(len(words))) - 1, "words": words}


def _slot_elements(plan: FoldPlan, t: int) -> list[int]:
    """Elements result slot t holds over the cycles c = 0 .. S-1."""
    return [2 * c * plan.units + t for c in range(plan.words)]


# -- sections ---------------------------------------------------------------------------------
def _rotation_section(ir: IntegerRNN, plan: FoldPlan) -> dict:
    """RAM addressing, operand multiplexers, the F butterflies and the write multiplexers."""
    F, S, Wb = plan.units, plan.words, max(ir.widths.fwht)
    cb = S.bit_length() - 1  # bits of the cycle address c
    if plan.skew:
        cc = plan.cc_bits
        blk = [bit_slice("c_iss", cc, cb - cc)] if cb > cc else []
        rest = [bit_slice("c_iss", 1, cc - 1)] if cc > 1 else []
        read = [_concat(blk + [f"{'~' if h else ''}c_iss[0]"] + rest) for h in (0, 1)]
        swap = f"wb_c_q[{cc - 1}]"
    else:
        read = ["c_iss", "c_iss"]
        swap = None
    decls = []
    zero = lit(0, Wb)
    for u in range(F):
        (ha, la), (hb, lb) = plan.operands(0, u)
        if plan.skew:  # half c[0] holds operand a, the other half operand b
            a, b = _skewed_operand(u, Wb, "rd1_q", "rd0_q"), _skewed_operand(u, Wb, "rd0_q",
                                                                             "rd1_q")
        else:
            a = _word_operand(f"rd{ha}_q", la * Wb, Wb)
            b = _word_operand(f"rd{hb}_q", lb * Wb, Wb)
        for name, op in ((f"opa_{u}", a), (f"opb_{u}", b)):
            decls.append(decl(name, Wb, lambda r, op=op: f"{r('ex_zero_q')} ? {zero} : "
                              f"({op(r)})"))
        for name, sign in ((f"bs_{u}", "+"), (f"bd_{u}", "-")):
            decls.append(decl(name, Wb, lambda r, u=u, sign=sign: f"{r(f'opa_{u}')} {sign} "
                              f"{r(f'opb_{u}')}", keep=True))
    results = "{" + ", ".join(f"bd_{u}, bs_{u}" for u in reversed(range(F))) + "}"
    half_bits = F * Wb
    return {"decls": decls, "read_word": read, "swap": swap, "results": results,
            "result_wires": [f"{x}_{u}" for u in range(F) for x in ("bs", "bd")],
            "word_msb": half_bits - 1, "slots_msb": 2 * half_bits - 1,
            "low_half": bit_slice("wr_slots", 0, half_bits),
            "high_half": bit_slice("wr_slots", half_bits, half_bits),
            "addr_msb": cb, "depth": 2 * S, "c_msb": cb - 1, "width": Wb,
            "adders": 2 * F, "adder_bits": 2 * F * Wb}


def _word_operand(word: str, lsb: int, width: int) -> Form:
    return lambda r: bit_slice(r(word), lsb, width)


def _skewed_operand(u: int, Wb: int, odd: str, even: str) -> Form:
    """Unit u's operand from the RAM half `odd` when the cycle's c[0] is set, else `even`."""
    return lambda r: (f"{r('ex_c_q')}[0] ? {bit_slice(r(odd), u * Wb, Wb)} : "
                      f"{bit_slice(r(even), u * Wb, Wb)}")


def _sign_table(ir: IntegerRNN, plan: FoldPlan) -> list[str]:
    """Sign ROM: bit t of word c is 1 when element 2cF + t has s = -1."""
    return [_packed([int(ir.signs[e]) < 0 for e in range(2 * c * plan.units,
                                                        2 * (c + 1) * plan.units)], 1)
            for c in range(plan.words)]


def _token_drive_section(ir: IntegerRNN, plan: FoldPlan, pipe: Pipe) -> dict:
    """Token inputs: d'' = (U[e, token] + b_e) M_a' + round + [s_e < 0] read from a ROM at
    {token, c}; ids outside the vocabulary read the bias-only rows (token index = size)."""
    rq = requant_plan(ir)
    table = drive_table(ir, rq) + np.asarray([[int(s < 0)] for s in ir.signs], dtype=object)
    lo, hi = int(table.min()), int(table.max())
    wd = signed_bits(lo, hi)
    size, bits = ir.input.size, ir.input.bits
    idx_bits = max(1, clog2(size + 1))
    words = []
    for tok in range(size + 1):
        for c in range(plan.words):
            words.append(_packed([int(table[e, tok]) for e in
                                  range(2 * c * plan.units, 2 * (c + 1) * plan.units)], wd))
    x = pipe.x(pipe.compute)

    def index(r: Rename) -> str:
        if size < (1 << bits):
            return (f"({r(x)} < {lit(size, bits)}) ? {resize(r(x), None, bits, idx_bits)} : "
                    f"{lit(size, idx_bits)}")
        return resize(r(x), None, bits, idx_bits)

    decls = [decl("tok_idx", idx_bits, index)]
    rom = _rom("drive_rom", "drive_q", f"{{tok_idx, {pipe.c(pipe.compute)}}}",
               2 * plan.units * wd, words)
    drive = [(f"d_{t}", lo, hi, wd, _word_operand("drive_q", t * wd, wd))
             for t in range(2 * plan.units)]
    return {"kind": "token", "decls": decls, "roms": [rom], "drive": drive, "adders": 0,
            "adder_bits": 0, "unused": [], "drive_reg": None, "pow2": True}


def _gate(code_word: str, pos: int, wire: str, width: int) -> Form:
    """`wire` where bit `pos` of the code word is set, else 0."""
    return lambda r: f"{{{width}{{{r(code_word)}[{pos}]}}}} & {r(wire)}"


def _int_drive_section(ir: IntegerRNN, plan: FoldPlan, pipe: Pipe) -> dict:
    """Integer inputs: per result slot, U's codes of its element (ROM word at c) applied to
    the input words by shift-add units, plus b'' from a second ROM; registered as d_q."""
    rq = requant_plan(ir)
    F2 = 2 * plan.units
    words_in, wx = ir.input.size, ir.input.bits
    wu = ir.widths.input_weight
    U = np.asarray(ir.input_weight, dtype=np.int64)
    pow2 = rq.input & (rq.input - 1) == 0
    ea = rq.input.bit_length() - 1 if rq.input else 0
    signs = [int(s < 0) for s in ir.signs]
    if pow2:
        bias = [int(ir.input_bias[e]) * rq.input + rq.round_const + signs[e]
                for e in range(ir.hidden_size)]
    else:
        bias = [int(b) for b in ir.input_bias]
    b_lo, b_hi = min(bias), max(bias)
    wb = signed_bits(b_lo, b_hi)
    x_lo, x_hi = ir.input.range()
    graph = AdderGraph("in_n")
    decls: list[dict] = []
    unused: list[str] = []
    for j in range(words_in):
        decls.append(sliced(f"x_{j}", wx, pipe.x(pipe.compute), j * wx))
    used_x = set()
    drive = []
    code_of = {}  # (t, j, b) -> bit position in the U ROM word
    for t in range(F2):
        elements = _slot_elements(plan, t)
        terms = []
        for j in range(words_in if rq.input else 0):
            for b in range(wu):
                if not any((int(U[e, j]) >> b) & 1 for e in elements):
                    continue  # no element of this slot has the bit set
                pos = code_of.setdefault((t, j, b), len(code_of))
                name = f"gx_{t}_{j}_{b}"
                used_x.add(j)
                if ir.input.signed:
                    decls.append(decl(name, wx, _gate("uw_q", pos, f"x_{j}", wx)))
                    leaf = graph.input(name, min(0, x_lo), max(0, x_hi), wx)
                else:
                    gate = _gate("uw_q", pos, f"x_{j}", wx)
                    decls.append(decl(name, wx + 1, lambda r, g=gate: f"{{1'b0, {g(r)}}}"))
                    leaf = graph.input(name, 0, x_hi, wx + 1)
                top = b == wu - 1  # two's complement: the top bit weighs -2^(wu-1)
                terms.append(Term(leaf, b + (ea if pow2 else 0), -1 if top else 1))
        decls.append(sliced(f"bias_{t}", wb, "bias_q", t * wb))
        terms.append(Term(graph.input(f"bias_{t}", b_lo, b_hi, wb), 0, 1))
        total = graph.tree(terms)
        assert total is not None
        a = graph.add_constant(total, 0)
        if not pow2:  # a = U x + b, then a M_a' + round + [s < 0] as shift-adds
            decls.append(decl(f"sx_{t}", 2, lambda r, t=t: f"{{1'b0, {r('sign_q')}[{t}]}}"))
            s_in = graph.input(f"sx_{t}", 0, 1, 2)
            more = [Term(a, dg.shift, dg.sign) for dg in csd_digits(rq.input)]
            a = graph.row([*more, Term(s_in, 0, 1)], rq.round_const)
        lo, hi = graph.interval(a.coef, a.const)
        drive.append((f"d_{t}", lo, hi, a.width, a.name))
    decls += graph_decls(graph)
    unused += graph.partial
    unused += [f"x_{j}" for j in range(words_in) if j not in used_x]
    code_bits = max(1, len(code_of))
    uw_words = []
    for c in range(plan.words):
        word = 0
        for (t, j, b), pos in code_of.items():
            e = 2 * c * plan.units + t
            word |= ((int(U[e, j]) >> b) & 1) << pos
        uw_words.append(lit(word, code_bits))
    bias_words = [_packed([bias[e] for e in range(2 * c * plan.units,
                                                  2 * (c + 1) * plan.units)], wb)
                  for c in range(plan.words)]
    addr = pipe.c(pipe.before_compute)
    roms = [_rom("uw_rom", "uw_q", addr, code_bits, uw_words),
            _rom("bias_rom", "bias_q", addr, F2 * wb, bias_words)]
    if not code_of:
        unused.append("uw_q")
    # the drive is registered between the shift-add units and the requantization
    reg_w = [w for (_, _, _, w, _) in drive]
    offsets = np.cumsum([0] + reg_w).tolist()
    reg = {"msb": offsets[-1] - 1,
           "value": _concat([name for (_, _, _, _, name) in reversed(drive)]),
           "reads": [name for (_, _, _, _, name) in drive]}
    drive = [(name, lo, hi, w, _word_operand("drive_q", offsets[t], w))
             for t, (name, lo, hi, w, _) in enumerate(drive)]
    return {"kind": "int", "decls": decls, "roms": roms, "drive": drive,
            "adders": graph.adders, "adder_bits": sum(nd["width"] for nd in graph.nodes),
            "unused": unused, "drive_reg": reg, "pow2": pow2}


def _requant_section(ir: IntegerRNN, plan: FoldPlan, pipe: Pipe, drive: list) -> dict:
    """v = d'' + (p XOR {s}), q = v >>> S', h' = clamp(q) for each of the 2F slots, where
    p = f M_r' is a shift, or a short CSD constant's adder tree (log2 m odd) computed and
    registered in its own stage (mu)."""
    w = ir.widths
    rq = requant_plan(ir)
    F2, Wb, m, Bh = 2 * plan.units, max(w.fwht), ir.block_size, w.state
    f_lo, f_hi = -(m << (Bh - 1)), (m << (Bh - 1)) - 1
    staged = "mu" in pipe.stages
    graph = AdderGraph("rq_n")
    f_decls, p_decls, decls, unused, elements = [], [], [], [], []
    products = []
    for t in range(F2):
        f_decls.append(sliced(f"f_{t}", Wb, "f_q", t * Wb))
        f = graph.input(f"f_{t}", f_lo, f_hi, Wb)
        p = graph.row([Term(f, dg.shift, dg.sign) for dg in csd_digits(rq.rotate)], 0)
        products.append((p, *graph.interval(p.coef, p.const)))
    offsets = np.cumsum([0] + [p.width for p, _, _ in products]).tolist()
    for t, (p, p_lo, p_hi) in enumerate(products):
        if staged:  # registered between the product and the requantization
            p_decls.append(sliced(f"pr_{t}", p.width, "p_q", offsets[t]))
            p = Signal(f"pr_{t}", p.width, {})
        name, d_lo, d_hi, d_w, d_expr = drive[t]
        decls.append(decl(name, d_w, d_expr))
        # p XOR {s}: p, or -p - 1 (the +1 of the negation is in the drive)
        x_lo, x_hi = min(p_lo, -p_hi - 1), max(p_hi, -p_lo - 1)
        v_w = signed_bits(d_lo + x_lo, d_hi + x_hi)
        v = decl(f"v_{t}", v_w, _flip_add(name, d_w, p, v_w, t), keep=True)
        if rq.shift > 0 or w.shifted < v_w:
            unused.append(f"v_{t}")
        q = decl(f"q_{t}", w.shifted, lambda r, t=t, v_w=v_w: arith_shift(
            Signal(r(f"v_{t}"), v_w, {}), rq.shift, w.shifted))
        h = decl(f"hn_{t}", Bh, lambda r, t=t: saturate(r(f"q_{t}"), w.shifted, Bh,
                                                         ir.mode == "vanilla"))
        hx = decl(f"hx_{t}", Wb, lambda r, t=t: resize(r(f"hn_{t}"), f"{r(f'hn_{t}')}[{Bh - 1}]",
                                                        Bh, Wb))
        elements.append({"v": v, "q": q, "h": h, "hx": hx})
    unused += graph.partial
    bits = sum(nd["width"] for nd in graph.nodes) + sum(el["v"]["msb"] + 1 for el in elements)
    product_reg = None
    if staged:
        product_reg = {"msb": offsets[-1] - 1,
                       "value": _concat([p.name for p, _, _ in reversed(products)]),
                       "reads": [p.name for p, _, _ in products]}
    return {"f_decls": f_decls, "product_decls": graph_decls(graph), "product_reg": product_reg,
            "decls": p_decls + decls, "elements": elements, "unused": unused,
            "adders": graph.adders + F2, "adder_bits": bits,
            "h_ext": _concat([f"hx_{t}" for t in reversed(range(F2))]),
            "h_ext_reads": [f"hx_{t}" for t in range(F2)]}


def _flip_add(d: str, d_w: int, p: Signal, v_w: int, t: int) -> Form:
    """d + (p XOR {s_t}), both extended to v_w bits."""
    return lambda r: (f"{extend(Signal(r(d), d_w, {}), v_w)} + "
                      f"({extend(Signal(r(p.name), p.width, {}), v_w)} ^ "
                      f"{{{v_w}{{{r('sign_wb_q')}[{t}]}}}})")


def _readout_section(ir: IntegerRNN, plan: FoldPlan) -> dict:
    """y = V relu(h') + c accumulated over the last stage's cycles, 2F elements a cycle:
    per output one adder tree over V's code bits (ROM word at the cycle) gating z, and an
    accumulator of widths.output_acc bits. Sums are taken mod 2^output_acc, which holds y."""
    w = ir.widths
    F2, Bh, Bz, d_out = 2 * plan.units, w.state, w.readout_in, ir.output_size
    wv, wacc = w.output_weight, w.output_acc
    V = np.asarray(ir.output_weight, dtype=np.int64)
    # With k >= 2 stages the next readout starts stages after this one's beat is taken:
    # the accumulators are loaded with c then (a synchronous set/reset, no multiplexer).
    # With one stage the next step's first sum may come in that very cycle: c enters the
    # first sum through a multiplexer instead.
    preload = ir.k >= 2
    graph = AdderGraph("ro_n")
    leaves, accs, z_regs = [], [], []
    unused: list[str] = []
    for t in range(F2):
        z_regs.append(decl(f"zn_{t}", Bz, lambda r, t=t: _relu(r(f"hn_{t}"), Bh, Bz)))
        leaves.append(sliced(f"z_{t}", Bz, "z_q", t * Bz))
    code_of: dict[tuple[int, int, int], int] = {}  # (o, t, b) -> bit of the V ROM word
    outputs = []
    for o in range(d_out):
        terms = []
        for t in range(F2):
            elements = _slot_elements(plan, t)
            for b in range(wv):
                if not any((int(V[o, e]) >> b) & 1 for e in elements):
                    continue  # no element of this slot has the bit set
                pos = code_of.setdefault((o, t, b), len(code_of))
                name = f"gz_{o}_{t}_{b}"
                gate = _gate("vw_q", pos, f"z_{t}", Bz)
                leaves.append(decl(name, Bz + 1, lambda r, g=gate: f"{{1'b0, {g(r)}}}"))
                leaf = graph.input(name, 0, (1 << Bz) - 1, Bz + 1)
                # two's complement: the top bit weighs -2^(wv-1)
                terms.append(Term(leaf, b, -1 if b == wv - 1 else 1))
        total = graph.tree(terms)
        ps: str | Form = lit(0, wacc)
        if total is not None:
            sig = graph.add_constant(total, 0)
            ps = _extended(sig, wacc)  # mod 2^wacc: the top bits of a wider sum cancel
            if sig.width > wacc:
                unused.append(sig.name)
        c_o = lit(int(ir.output_bias[o]), wacc)
        accs.append(decl(f"ps_{o}", wacc, ps))
        accs.append(decl(f"acc_next_{o}", wacc, _accumulate(o, c_o, preload), keep=True))
        outputs.append({"acc": f"acc_q_{o}", "next": f"acc_next_{o}", "bias": c_o})
    unused += graph.partial
    code_bits = max(1, len(code_of))
    vw_words = []
    for c in range(plan.words):
        word = 0
        for (o, t, b), pos in code_of.items():
            word |= ((int(V[o, 2 * c * plan.units + t]) >> b) & 1) << pos
        vw_words.append(lit(word, code_bits))
    if not code_of:
        unused.append("vw_q")
    # the output requantization (shift-adds) of the parallel designs
    post: list[dict] = []
    orq_graph = AdderGraph("orq_n")
    y_lo, y_hi = matvec_interval(V, 0, (1 << (Bh - 1)) - 1, ir.output_bias)
    for o in range(d_out):
        output_requant(ir, Signal(f"acc_q_{o}", wacc, {}), y_lo, y_hi, o, orq_graph, post,
                        unused)
    unused += orq_graph.partial
    bits = (sum(nd["width"] for nd in graph.nodes) + d_out * wacc
            + sum(nd["width"] for nd in orq_graph.nodes))
    return {"decls": leaves + graph_decls(graph) + accs + post, "z_decls": z_regs,
            "outputs": outputs, "rom": _rom("vw_rom", "vw_q", "wb_c_q", code_bits, vw_words),
            "z_msb": F2 * Bz - 1,
            "z_value": _concat([f"zn_{t}" for t in reversed(range(F2))]),
            "z_reads": [f"zn_{t}" for t in range(F2)],
            "acc_msb": wacc - 1, "adders": graph.adders + d_out + orq_graph.adders,
            "preload": preload,
            "adder_bits": bits, "unused": unused}


def _relu(h: str, Bh: int, Bz: int) -> str:
    """max(h, 0) of the Bh-bit wire h as Bz bits."""
    body = resize(bit_slice(h, 0, Bh - 1), None, Bh - 1, Bz) if Bh > 1 else lit(0, Bz)
    return f"{h}[{Bh - 1}] ? {lit(0, Bz)} : {body}"


def _extended(sig: Signal, width: int) -> Form:
    return lambda r: extend(Signal(r(sig.name), sig.width, {}), width)


def _accumulate(o: int, c_o: str, preload: bool) -> Form:
    """acc_next = acc + ps (c_o instead of acc on a readout's first cycle without preload)."""
    def start(r: Rename) -> str:
        acc = r(f"acc_q_{o}")
        return acc if preload else f"({r('ro_first_q')} ? {c_o} : {acc})"

    return lambda r: f"{start(r)} + {r(f'ps_{o}')}"


def _pipeline_registers(ir: IntegerRNN, pipe: Pipe) -> list[dict]:
    """Per register stage, what each signal is loaded from: the issue stage's values for
    the first, the stage before it for the others. x (the step's input word) travels up to
    the stage that forms the drive; zero (the step starts from h = 0) is the ex stage's."""
    every = ir.readout == "every"
    first = {"valid": "issue", "c": "c_iss", "last": "last_stage", "buf": "~buf_q",
             "ro": "last_stage" if every else "last_stage & last_q", "tl": "last_q",
             "x": "x_q"}
    out = []
    upto = pipe.stages.index(pipe.compute)
    for i, name in enumerate(pipe.stages):
        prev = pipe.stages[i - 1] if i else None
        src = {key: (first[key] if prev is None else f"{prev}_{key}_q") for key in first}
        signals = ["c", "last", "buf", "ro"] + (["tl"] if every else [])
        if i <= upto:
            signals.append("x")
        out.append({"name": name, "src": src, "signals": signals, "zero": name == "ex"})
    return out


def _control_section(ir: IntegerRNN, plan: FoldPlan, pipe: Pipe) -> dict:
    k, S, G = ir.k, plan.words, plan.gap
    cnt_bits = max(1, clog2(S + G))
    stage_bits = max(1, clog2(k))
    cb = S.bit_length() - 1
    c_iss = bit_slice("cnt_q", 0, cb) if cnt_bits > cb else "cnt_q"
    return {
        "cnt_msb": cnt_bits - 1, "cnt_zero": lit(0, cnt_bits), "cnt_one": lit(1, cnt_bits),
        "cnt_end": lit(S + G - 1, cnt_bits), "issue": (f"busy_q & (cnt_q < {lit(S, cnt_bits)})"
                                                       if G else "busy_q"),
        "c_iss": c_iss, "c_msb": cb - 1, "c_zero": lit(0, cb), "c_last": lit(S - 1, cb),
        "use_stage": k > 1, "stage_msb": stage_bits - 1, "stage_zero": lit(0, stage_bits),
        "stage_one": lit(1, stage_bits), "stage_last": lit(k - 1, stage_bits),
        "unused_cnt": cnt_bits > cb,
        "pipe": _pipeline_registers(ir, pipe), "wb": pipe.stages[-1],
    }


def _interface_section(ir: IntegerRNN) -> dict:
    """The 2-slot output FIFO and the serial argmax that completes each of its beats: one
    output word a cycle compared with the best so far (a later word wins only when strictly
    larger: ties go to the lowest index, as numpy.argmax)."""
    words_bits = ir.input.bits * (1 if ir.input.kind == "token" else ir.input.size)
    d_out, Wo = ir.output_size, ir.widths.output
    argmax_bits = max(1, clog2(d_out))
    out_bits = d_out * Wo
    count_bits = max(1, clog2(d_out + 1))  # the fetch counter runs to d_out
    words = [{"index": lit(o, count_bits), "slice": bit_slice("am_slot", o * Wo, Wo)}
             for o in range(d_out)]
    return {
        "in_msb": words_bits - 1, "out_msb": out_bits - 1, "argmax_msb": argmax_bits - 1,
        "slot_msb": out_bits,  # {last, data}
        "beat_data": _concat([f"out_{o}" for o in reversed(range(d_out))]),
        "max_pending": lit(FIFO_SLOTS, 2), "max_pending_count": FIFO_SLOTS,
        "out_word_msb": Wo - 1, "am_words": words, "am_count_msb": count_bits - 1,
        "am_zero": lit(0, count_bits), "am_one": lit(1, count_bits),
        "am_end": lit(d_out, count_bits), "am_last_index": lit(d_out - 1, argmax_bits),
        "am_index": resize("am_wo_q", None, count_bits, argmax_bits),
        "am_index_unused": count_bits > argmax_bits,
        "single_output": d_out == 1,
    }


def fold_context(ir: IntegerRNN, options: GenerateOptions, plan: FoldPlan) -> tuple[dict, dict]:
    """The template context of the fold's top module and its analytical costs."""
    pipe = pipe_for(ir)
    rot = _rotation_section(ir, plan)
    if ir.input.kind == "token":
        inp = _token_drive_section(ir, plan, pipe)
    else:
        inp = _int_drive_section(ir, plan, pipe)
    req = _requant_section(ir, plan, pipe, inp["drive"])
    ro = _readout_section(ir, plan)
    ctl = _control_section(ir, plan, pipe)
    iface = _interface_section(ir)
    all_decls = (rot["decls"] + inp["decls"] + req["f_decls"] + req["product_decls"]
                 + req["decls"] + ro["decls"] + ro["z_decls"]
                 + [el[x] for el in req["elements"] for x in ("v", "q", "h", "hx")])
    # what the registers and the output beat read, beside the declarations
    readers = [*rot["result_wires"], *req["h_ext_reads"], *ro["z_reads"],
               *(f"out_{o}" for o in range(ir.output_size)),
               *(inp["drive_reg"]["reads"] if inp["drive_reg"] else []),
               *(req["product_reg"]["reads"] if req["product_reg"] else [])]
    readers += [o["next"] for o in ro["outputs"]]
    unused = inp["unused"] + req["unused"] + ro["unused"]
    unused += unread_decls(all_decls, readers)
    if ctl["unused_cnt"]:
        unused.append("cnt_q")
    signs = _rom("sign_rom", "sign_q", pipe.c(pipe.before_compute), 2 * plan.units,
                 _sign_table(ir, plan))
    roms = [signs, *inp["roms"], ro["rom"]]
    rom_bits = sum(r["depth"] * (r["msb"] + 1) for r in roms)
    ctx = {
        "top": options.top, "n": ir.hidden_size, "m": ir.block_size, "k": ir.k,
        "units": plan.units, "words": plan.words, "gap": plan.gap, "skew": plan.skew,
        "mode": ir.mode, "readout": ir.readout, "every": ir.readout == "every",
        "input_kind": ir.input.kind, "plan": requant_plan(ir),
        "slots": 2 * plan.units, "width": rot["width"], "f_wb": pipe.f_wb,
        "staged_product": "mu" in pipe.stages,
        "rotation": rot, "input": inp, "requant": req, "readout_part": ro,
        "control": ctl, "roms": roms,
        "cycles_per_step": plan.cycles_per_step,
        **iface,
        "unused": sorted(set(unused), key=unused.index),
    }
    costs = {
        "adders": {"input": inp["adders"], "requant": req["adders"],
                   "readout": ro["adders"]},
        "adder_bits": {"input": inp["adder_bits"], "requant": req["adder_bits"],
                       "readout": ro["adder_bits"]},
        "butterfly_bits": rot["adder_bits"],
        "ram_bits": plan.ram_bits(rot["width"]),
        "rom_bits": rom_bits,
    }
    return ctx, costs


def fold_manifest(ir: IntegerRNN, options: GenerateOptions, plan: FoldPlan,
                  hdl_files: list[str], costs: dict) -> dict:
    """The manifest of hadamhw.backends.verilog with the fold's timing, units and storage."""
    man = base_manifest(ir, options.__class__(top=options.top, cmvm=options.cmvm), hdl_files,
                        {"adders": costs["adders"], "adder_bits": costs["adder_bits"],
                         "readout_cycles": 0})
    S = plan.words
    ideal = ir.hidden_size * ir.k // (2 * plan.units)
    man.update({
        "fold": plan.units,
        "cycles_per_step": plan.cycles_per_step,
        "latency_cycles": plan.latency_cycles,
        # adders_per_step: operations per time step (hardware units x the cycles they run)
        "adders_per_step": {
            "recurrent": ir.hidden_size * ir.k,
            "input": costs["adders"]["input"] * S,
            "requant": costs["adders"]["requant"] * S,
            "readout": costs["adders"]["readout"] * S,
        },
        "fold_plan": {
            "butterfly_units": plan.units,
            "banks": plan.banks,
            "words_per_bank": S,
            "skewed_banks": plan.skew,
            "stage_cycles": plan.stage_cycles,
            # k stages: the cycles of a step when the readout tail does not bound the rate
            "step_cycles": plan.step_cycles,
            "gap_cycles": plan.gap,
            "ideal_cycles_per_step": ideal,
            "overhead_cycles": plan.overhead_cycles,
            # hardware adders (not per step): butterflies and the slot units around them
            "adder_units": {"butterflies": 2 * plan.units, **costs["adders"]},
            "butterfly_adder_bits": costs["butterfly_bits"],
            "ram_bits": costs["ram_bits"],
            "ram_word_bits": max(ir.widths.fwht),
            "rom_bits": costs["rom_bits"],
        },
        "output_fifo_depth": FIFO_SLOTS,
        "readout_lanes": None,
        "readout_cycles": 0,
    })
    man["adders_per_step"]["total"] = sum(man["adders_per_step"].values())
    return man


def check_supported(ir: IntegerRNN, options: GenerateOptions) -> None:
    if options.recurrent != "fwht":
        raise HadamhwError(f"--recurrent {options.recurrent}: --fold {options.fold} reuses "
                           "the Walsh-Hadamard butterflies (use --recurrent fwht)")
    if options.readout_lanes is not None:
        raise HadamhwError(f"--readout-lanes: --fold {options.fold} computes the readout "
                           "serially already (2F elements a cycle on the last stage)")
    for name in ("input_acc", "requant_sum", "output_acc"):
        if getattr(ir.widths, name) > 64:
            raise HadamhwError(f"IR width '{name}' = {getattr(ir.widths, name)} is over 64 "
                               "bits")


def render(ir: IntegerRNN, options: GenerateOptions,
           template_dir: Path | None = None) -> dict[str, str]:
    """Every file of a folded design (fold = F butterfly units, 1 <= F < n/2)."""
    plan = plan_for(ir, int(options.fold))
    check_supported(ir, options)
    tdir = Path(template_dir) if template_dir is not None else templates_dir() / "verilog"
    if not tdir.is_dir():
        raise HadamhwError(f"{tdir}: template folder not found")
    env = template_environment(tdir)
    ctx, costs = fold_context(ir, options, plan)
    top = options.top
    hdl = [f"{top}.v"]
    files = {f"{top}.v": render_template(env, TEMPLATE, ctx)}
    man = fold_manifest(ir, options, plan, hdl, costs)
    files.update(integration_files(env, ir, man))
    files["README.md"] = render_template(env, README_TEMPLATE, {**ctx, "manifest": man,
                                                         "ports": man["ports"]})
    files["model.ir.json"] = ir.to_json()
    files["manifest.json"] = json.dumps(man, indent=2, sort_keys=True) + "\n"
    return files
