"""Verilog text helpers: sized literals, bit slices, sign extension, clamps.

Every Verilog generator of hadamhw.backends (single cycle, streams, fold F, dense baseline)
builds its expressions with these, so that the same arithmetic prints the same text.
"""

from __future__ import annotations

from hadamhw.netlist.verilog import lit

__all__ = ["bit_slice", "clog2", "lit", "resize", "saturate"]


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


def saturate(q: str, q_w: int, out_w: int, relu: bool) -> str:
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
