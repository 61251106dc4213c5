"""Verilog backend: the integer IR as a synthesizable AXI4-Stream core.

The context builder turns every constant multiplication into a canonical-signed-digit
shift-add sum (hadamhw.backends.csd) and sizes every wire from the IR widths; the templates in
templates/verilog/ hold the module structure, the handshake and the state machine.

Datapath of one time step (the semantics of hadamhw.ir.schema):

- recurrent: r = s * FWHT_m(h). fold "parallel" computes all k = log2(m) butterfly stages in
  one cycle in module <top>_rotate; fold "stage" reuses one bank of n/2 butterflies for k
  cycles in the constant-geometry (Pease) order, whose wiring is the same every stage, and
  folds the sign flip into the requantization's add/subtract;
- input: a = U x + b (a ROM over tokens, or CSD shift-adds of the input words);
- requant: h' = sat(round_shift(r M_r + a M_a, S)) with M_r, M_a as CSD shift-adds;
- readout (one cycle later, from the state register): y = V relu(h') + c as CSD shift-adds,
  optional output requantization, argmax by a comparison tree (ties to the lowest index);
- a 4-entry output FIFO; s_axis_tready is a registered function of the beats in flight, so
  there is no combinational path from m_axis_tready to s_axis_tready.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jinja2
import numpy as np

from hadamhw.backends import GenerateOptions, render_template, template_environment
from hadamhw.backends.csd import Term, adders_for, product_terms
from hadamhw.backends.manifest import DESIGN_FORMAT
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.resources import templates_dir

VERSION = 1
# Beats in flight (readout register + output FIFO) at which s_axis_tready drops; the FIFO has
# one more slot than needed so that a full FIFO never overwrites its head.
MAX_PENDING = 3
TERMS_PER_LINE = 6


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


def sum_expr(terms: list[Term], constant: int, width: int) -> str:
    """Sum of shifted signals plus a constant, every operand `width` bits (mod 2^width)."""
    ordered = [t for t in terms if t.sign > 0] + [t for t in terms if t.sign < 0]
    parts: list[tuple[str, str]] = []
    if constant:
        parts.append(("+", lit(constant, width)))
    for t in ordered:
        operand = t.signal if t.shift == 0 else f"({t.signal} << {t.shift})"
        parts.append(("+" if t.sign > 0 else "-", operand))
    if not parts:
        return lit(0, width)
    text = ""
    for i, (op, operand) in enumerate(parts):
        if i == 0:
            text = operand if op == "+" else f"{lit(0, width)} - {operand}"
            continue
        sep = "\n      " if i % TERMS_PER_LINE == 0 else " "
        text += f"{sep}{op} {operand}"
    return text


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


# -- context building ------------------------------------------------------------------------
class _Wires:
    """Wire declarations (name, msb, expression) of one datapath section, in order."""

    def __init__(self) -> None:
        self.decls: list[dict] = []

    def add(self, name: str, width: int, expr: str, signed: bool = False,
            keep: bool = False) -> str:
        self.decls.append({"name": name, "msb": width - 1, "expr": expr, "signed": signed,
                           "keep": keep})
        return name

    def add_sum(self, name: str, width: int, terms: list[Term], constant: int) -> str:
        """`name` = constant + terms (mod 2^width) as a balanced tree of two-input adders.

        Every inner node is a `(* keep *)` wire: given one long sum, Yosys's alumacc builds a
        single multi-operand $macc and maps it to LUT full adders, several times larger (and
        slower to synthesize) than one carry-chain adder per node. Positive and negative
        terms form separate trees joined by one subtraction, so the tree has exactly
        adders_for(terms, constant) adders.
        """
        def operand(t: Term) -> str:
            return t.signal if t.shift == 0 else f"({t.signal} << {t.shift})"

        pos = ([lit(constant, width)] if constant else []) + [operand(t) for t in terms
                                                                if t.sign > 0]
        neg = [operand(t) for t in terms if t.sign < 0]
        if len(pos) + len(neg) <= 2:
            return self.add(name, width, sum_expr(terms, constant, width))
        nodes = iter(range(len(pos) + len(neg)))

        def reduce(level: list[str], keep_last_pair: bool) -> list[str]:
            while len(level) > (2 if keep_last_pair else 1):
                nxt = [self.add(f"{name}_t{next(nodes)}", width, f"{a} + {b}", keep=True)
                       for a, b in zip(level[0::2], level[1::2], strict=False)]
                level = nxt + level[len(nxt) * 2:]
            return level

        if not neg:
            return self.add(name, width, " + ".join(reduce(pos, keep_last_pair=True)))
        minuend = reduce(pos, keep_last_pair=False)[0] if pos else lit(0, width)
        return self.add(name, width, f"{minuend} - {reduce(neg, keep_last_pair=False)[0]}")


def _input_words(ir: IntegerRNN) -> tuple[int, int]:
    """(words, word bits) of s_axis_tdata."""
    if ir.input.kind == "token":
        return 1, ir.input.bits
    return ir.input.size, ir.input.bits


def _requant_terms(ir: IntegerRNN, r_sig: str, a_sig: str, negate: bool) -> list[Term]:
    rq = ir.requant
    return product_terms(r_sig, rq.rotate_mult, negate) + product_terms(a_sig, rq.input_mult)


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


def _shift_slice(v: str, v_w: int, shift: int, q_w: int) -> str:
    """v >>> shift (arithmetic) as a q_w-bit expression."""
    if shift >= v_w:
        return f"{{{q_w}{{{bit_slice(v, v_w - 1, 1)}}}}}"
    avail = v_w - shift
    if q_w <= avail:
        return bit_slice(v, shift, q_w)
    return resize(bit_slice(v, shift, avail), bit_slice(v, v_w - 1, 1), avail, q_w)


def output_product_bits(ir: IntegerRNN) -> int:
    """Width of y * mult + 2^(shift-1) for the output requantization, from widths.output_acc."""
    orq = ir.output_requant
    assert orq is not None
    return max(ir.widths.output_acc + orq.mult.bit_length(), orq.shift) + 1


def _top_context(ir: IntegerRNN, options: GenerateOptions) -> tuple[dict, dict]:
    """Context of the top module and the analytical adder counts."""
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    Bh, Wa, Wv, Wq = w.state, w.input_acc, w.requant_sum, w.shifted
    rq = ir.requant
    stage_fold = options.fold == "stage"
    single_stage = stage_fold and k == 1
    words, word_bits = _input_words(ir)
    in_bits = words * word_bits
    d_out = ir.output_size
    Wo = w.output
    argmax_bits = max(1, clog2(d_out))
    unused: list[str] = []
    adders = {"input": 0, "requant": 0, "readout": 0}

    # input projection a = U x + b, from the live input (parallel) or the captured one (stage)
    x_src = "x_q" if stage_fold and not single_stage else "s_axis_tdata"
    inp = _Wires()
    rom = None
    used_words: list[bool] = []
    if ir.input.kind == "token":
        table = ir.input_weight + ir.input_bias[:, None]  # (n, tokens)
        entries = []
        for tok in range(ir.input.size):
            packed = 0
            for i in range(n):
                packed |= (int(table[i, tok]) % (1 << Wa)) << (i * Wa)
            entries.append({"token": lit(tok, word_bits), "value": lit(packed, n * Wa)})
        rom = {"select": x_src, "msb": n * Wa - 1, "entries": entries,
               "complete": ir.input.size == 1 << word_bits, "zero": lit(0, n * Wa)}
        for i in range(n):
            inp.add(f"a_{i}", Wa, bit_slice("a_rom", i * Wa, Wa))
    else:
        signed = ir.input.signed
        used_words = [bool(np.any(ir.input_weight[:, j])) for j in range(words)]
        for j in range(words):
            x = inp.add(f"x_{j}", word_bits, bit_slice(x_src, j * word_bits, word_bits))
            if not used_words[j]:
                unused.append(x)
                continue
            sign = bit_slice(x, word_bits - 1, 1) if signed else None
            inp.add(f"xe_{j}", Wa, resize(x, sign, word_bits, Wa))
            if Wa < word_bits:
                unused.append(x)
        for i in range(n):
            terms: list[Term] = []
            for j in range(words):
                terms += product_terms(f"xe_{j}", int(ir.input_weight[i, j]))
            bias = int(ir.input_bias[i])
            inp.add_sum(f"a_{i}", Wa, terms, bias)
            adders["input"] += adders_for(terms, bias)

    # requantization of every state element
    req = _Wires()
    if stage_fold:
        r_w = max(w.fwht)
        r_vec = "bank_out"
    else:
        r_w = w.rotated
        r_vec = "r"
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    for i in range(n):
        r = req.add(f"r_{i}" if not stage_fold else f"f_{i}", r_w, bit_slice(r_vec, i * r_w, r_w))
        r_ext = req.add(f"re_{i}", Wv, resize(r, bit_slice(r, r_w - 1, 1), r_w, Wv))
        ae = req.add(f"ae_{i}", Wv, resize(f"a_{i}", bit_slice(f"a_{i}", Wa - 1, 1), Wa, Wv))
        if Wv < r_w:
            unused.append(r)
        if Wv < Wa:
            unused.append(f"a_{i}")
        # stage fold: r = s * f is never formed, the sign flips the add/subtract of f * M_r
        negate = stage_fold and int(ir.signs[i]) < 0
        terms = _requant_terms(ir, r_ext, ae, negate)
        v = req.add_sum(f"v_{i}", Wv, terms, half)
        adders["requant"] += adders_for(terms, half)
        if rq.shift > 0 or Wq < Wv - rq.shift:
            unused.append(v)
        q = req.add(f"q_{i}", Wq, _shift_slice(v, Wv, rq.shift, Wq))
        req.add(f"hn_{i}", Bh, _saturate(q, Wq, Bh, ir.mode == "vanilla"))
    h_next = "{" + ", ".join(f"hn_{i}" for i in reversed(range(n))) + "}"

    # readout from the state register: z = relu(h), y = V z + c
    rd = _Wires()
    Bz, Wacc = w.readout_in, w.output_acc
    for i in range(n):
        mag = bit_slice("h_q", i * Bh, Bh - 1) if Bh > 1 else None
        sign = bit_slice("h_q", i * Bh + Bh - 1, 1)
        body = resize(mag, None, Bh - 1, Bz) if mag is not None else lit(0, Bz)
        z = rd.add(f"z_{i}", Bz, f"{sign} ? {lit(0, Bz)} : {body}")
        if not np.any(ir.output_weight[:, i]):
            unused.append(z)
            continue
        rd.add(f"ze_{i}", Wacc, resize(z, None, Bz, Wacc))
        if Wacc < Bz:
            unused.append(z)
    for o in range(d_out):
        terms = []
        for i in range(n):
            terms += product_terms(f"ze_{i}", int(ir.output_weight[o, i]))
        bias = int(ir.output_bias[o])
        y = rd.add_sum(f"y_{o}", Wacc, terms, bias)
        adders["readout"] += adders_for(terms, bias)
        orq = ir.output_requant
        if orq is None:
            rd.add(f"out_{o}", Wo, resize(y, bit_slice(y, Wacc - 1, 1), Wacc, Wo), signed=True)
            if Wo < Wacc:
                unused.append(y)
            continue
        Wp = output_product_bits(ir)
        ye = rd.add(f"ye_{o}", Wp, resize(y, bit_slice(y, Wacc - 1, 1), Wacc, Wp))
        ohalf = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
        pterms = product_terms(ye, orq.mult)
        p = rd.add_sum(f"p_{o}", Wp, pterms, ohalf)
        adders["readout"] += adders_for(pterms, ohalf)
        Wpq = max(1, Wp - orq.shift)
        if orq.shift > 0:
            unused.append(p)
        pq = rd.add(f"pq_{o}", Wpq, _shift_slice(p, Wp, orq.shift, Wpq))
        rd.add(f"out_{o}", Wo, _saturate(pq, Wpq, Wo, relu=False), signed=True)

    # argmax: a comparison tree whose left operand always holds the lower indices, so that
    # equal maxima resolve to the lowest index (numpy.argmax)
    nodes = []
    level = [(f"out_{o}", lit(o, argmax_bits)) for o in range(d_out)]
    depth = 0
    while len(level) > 1:
        nxt = []
        for pos in range(0, len(level) - 1, 2):
            (lv, li), (rv, ri) = level[pos], level[pos + 1]
            name = f"am{depth}_{pos // 2}"
            nodes.append({"gt": f"{name}_gt", "val": f"{name}_val", "idx": f"{name}_idx",
                          "left_val": lv, "left_idx": li, "right_val": rv, "right_idx": ri})
            nxt.append((f"{name}_val", f"{name}_idx"))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    argmax_expr = level[0][1]
    if nodes:
        unused.append(level[0][0])  # the maximum itself is not an output

    # stage fold: one bank of n/2 butterflies in the constant-geometry order
    bank = None
    if stage_fold:
        Wb = max(w.fwht)
        init = []
        for i in range(n):
            src = bit_slice("h_cur", i * Bh, Bh)
            init.append({"lhs": bit_slice("bank_init", i * Wb, Wb),
                         "expr": resize(src, bit_slice("h_cur", i * Bh + Bh - 1, 1), Bh, Wb)})
        bfs = []
        for a, b, s, d in pease_butterflies(n, m):
            sa, sb = bit_slice("bank_in", a * Wb, Wb), bit_slice("bank_in", b * Wb, Wb)
            bfs.append({"lhs": bit_slice("bank_out", s * Wb, Wb), "expr": f"{sa} + {sb}"})
            bfs.append({"lhs": bit_slice("bank_out", d * Wb, Wb), "expr": f"{sa} - {sb}"})
        phase_bits = max(1, clog2(k))
        bank = {"msb": n * Wb - 1, "init": init, "butterflies": bfs,
                "phase_msb": phase_bits - 1, "use_phase": k >= 3,
                "phase_one": lit(1, phase_bits), "phase_last": lit(k - 1, phase_bits),
                "phase_zero": lit(0, phase_bits)}

    if ir.input.kind == "int" and not any(used_words):
        unused.append(x_src)

    # Any declared wire that nothing reads (a constant of 0, an all-zero weight column, ...)
    # goes to the sink too, so that lint stays silent for every IR.
    readers = [d["expr"] for sec in (inp, req, rd) for d in sec.decls]
    readers += [h_next, " ".join(f"out_{o}" for o in range(d_out))]
    readers += [f"{a['left_val']} {a['right_val']}" for a in nodes]
    referenced = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(readers)))
    for sec in (inp, req, rd):
        for d in sec.decls:
            if d["name"] not in referenced:
                unused.append(d["name"])

    out_bits = d_out * Wo
    beat_bits = out_bits + argmax_bits + 1
    ctx = {
        "top": options.top,
        "n": n, "m": m, "k": k,
        "fold": options.fold, "recurrent": options.recurrent,
        "mode": ir.mode, "readout": ir.readout,
        "input_kind": ir.input.kind,
        "in_msb": in_bits - 1,
        "out_msb": out_bits - 1,
        "argmax_msb": argmax_bits - 1,
        "state_msb": n * Bh - 1,
        "state_zero": lit(0, n * Bh),
        "rotated_msb": n * w.rotated - 1,
        "stage_fold": stage_fold,
        "single_stage": single_stage,
        "every": ir.readout == "every",
        "rom": rom,
        "input_decls": inp.decls,
        "requant_decls": req.decls,
        "readout_decls": rd.decls,
        "argmax_nodes": nodes,
        "argmax_expr": argmax_expr,
        "h_next": h_next,
        "bank": bank,
        "beat_msb": beat_bits - 1,
        "beat_data": "{" + ", ".join(f"out_{o}" for o in reversed(range(d_out))) + "}",
        "beat_argmax_slice": bit_slice("fifo_head", out_bits, argmax_bits),
        "beat_data_slice": bit_slice("fifo_head", 0, out_bits),
        "beat_last_bit": f"fifo_head[{beat_bits - 1}]",
        "max_pending": lit(MAX_PENDING, 2),
        "max_pending_count": MAX_PENDING,
        "out_word_msb": Wo - 1,
        "unused": sorted(set(unused), key=unused.index),
    }
    return ctx, adders


def _rotate_fwht_context(ir: IntegerRNN, top: str) -> dict:
    """Golden-order butterfly stages; the last stage writes r = s * f with the sign folded in."""
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
            "state_bits": w.state, "rotated_bits": w.rotated}


# -- manifest ---------------------------------------------------------------------------------
def _timing(ir: IntegerRNN, options: GenerateOptions) -> tuple[int, int]:
    """(cycles_per_step, latency_cycles)."""
    if options.fold == "stage":
        return ir.k, ir.k + 1
    return 1, 2


def ports(ir: IntegerRNN) -> list[dict]:
    words, word_bits = _input_words(ir)
    argmax_bits = max(1, clog2(ir.output_size))
    spec = [("clk", "input", 1), ("rst", "input", 1), ("s_axis_tvalid", "input", 1),
            ("s_axis_tready", "output", 1), ("s_axis_tdata", "input", words * word_bits),
            ("s_axis_tlast", "input", 1), ("m_axis_tvalid", "output", 1),
            ("m_axis_tready", "input", 1),
            ("m_axis_tdata", "output", ir.output_size * ir.widths.output),
            ("m_axis_tuser", "output", argmax_bits), ("m_axis_tlast", "output", 1)]
    return [{"name": name, "direction": d, "width": width} for name, d, width in spec]


def _weight_storage_bits(ir: IntegerRNN) -> int:
    """Bits of the model parameters as the IR stores them (signs, U, V, biases)."""
    w = ir.widths
    n = ir.hidden_size
    u_bits = w.input_acc if ir.input.kind == "token" else w.input_weight
    return (n + n * ir.input.size * u_bits + n * w.input_acc
            + ir.output_size * n * w.output_weight + ir.output_size * w.output_acc)


def manifest(ir: IntegerRNN, options: GenerateOptions, hdl_files: list[str],
             adders: dict) -> dict:
    n, m = ir.hidden_size, ir.block_size
    cycles, latency = _timing(ir, options)
    recurrent = n * ir.k if options.recurrent == "fwht" else n * (m - 1)
    adds = {"recurrent": recurrent, **adders}
    adds["total"] = sum(adds.values())
    words, word_bits = _input_words(ir)
    wd = ir.to_dict()["widths"]
    return {
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
        "ports": ports(ir),
        "input": {"kind": ir.input.kind, "words": words, "word_bits": word_bits,
                  "signed": bool(ir.input.signed) if ir.input.kind == "int" else False},
        "output": {"words": ir.output_size, "word_bits": ir.widths.output},
        "argmax_bits": max(1, clog2(ir.output_size)),
        "adders_per_step": adds,
        "weight_bits": {"input": ir.widths.input_weight, "output": ir.widths.output_weight},
        "weight_storage_bits": _weight_storage_bits(ir),
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


# -- rendering -------------------------------------------------------------------------------

def _render(env: jinja2.Environment, name: str, ctx: dict) -> str:
    return render_template(env, name, ctx)


def check_supported(ir: IntegerRNN, options: GenerateOptions) -> None:
    options.validate()
    if options.recurrent == "dense" and options.fold == "stage":
        raise HadamhwError("--recurrent dense supports --fold parallel only (the stage fold "
                           "reuses the butterflies of the Walsh-Hadamard transform)")
    w = ir.widths
    for name in ("input_acc", "requant_sum", "output_acc"):
        if getattr(w, name) > 64:
            raise HadamhwError(f"IR width '{name}' = {getattr(w, name)} is over 64 bits")


def _integration_files(env: jinja2.Environment, ir: IntegerRNN, man: dict) -> dict[str, str]:
    """The self-checking test bench and the FuseSoC core, recorded in the manifest."""
    from hadamhw.backends import fusesoc, verilog_tb

    files, man["testbench"] = verilog_tb.render(env, ir, man)
    core, man["fusesoc"] = fusesoc.render(env, man)
    return {**files, **core}


def render(ir: IntegerRNN, options: GenerateOptions | None = None,
           template_dir: Path | None = None) -> dict[str, str]:
    """Every file of the design: file name -> text (Verilog, README.md, manifest, IR)."""
    options = options or GenerateOptions()
    check_supported(ir, options)
    tdir = Path(template_dir) if template_dir is not None else templates_dir() / "verilog"
    if not tdir.is_dir():
        raise HadamhwError(f"{tdir}: template folder not found")
    env = template_environment(tdir)
    top = options.top
    ctx, adders = _top_context(ir, options)
    files: dict[str, str] = {}
    hdl: list[str] = []
    if options.fold == "parallel":
        if options.recurrent == "dense":
            if importlib.util.find_spec("hadamhw.backends.verilog_dense") is None:
                raise HadamhwError("--recurrent dense: this hadamhw has no dense baseline "
                                   "(hadamhw.backends.verilog_dense)")
            from hadamhw.backends import verilog_dense  # the dense baseline's own module

            rot_ctx = verilog_dense.dense_rotate_context(ir, top)
            files[f"{top}_rotate.v"] = _render(env, "rotate_dense.v.j2", rot_ctx)
        else:
            files[f"{top}_rotate.v"] = _render(env, "rotate_fwht.v.j2",
                                               _rotate_fwht_context(ir, top))
        hdl.append(f"{top}_rotate.v")
    files[f"{top}.v"] = _render(env, "top.v.j2", ctx)
    hdl.append(f"{top}.v")
    man = manifest(ir, options, hdl, adders)
    files.update(_integration_files(env, ir, man))
    files["README.md"] = _render(env, "README.md.j2", {**ctx, "manifest": man,
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


def cycles_per_step(ir: IntegerRNN, fold: str) -> int:
    """Cycles from one input handshake to the next possible one for a fold."""
    return _timing(ir, GenerateOptions(fold=fold))[0]

