"""Constant products as graphs of two-input adders, with exact interval-derived widths.

A graph holds signals: inputs (existing wires with a declared interval) and nodes, each
node one adder or subtractor `(a << sa) +- (b << sb)` or `c +- (a << sa)`. Every signal
carries its exact linear form over the inputs (integer coefficients and a constant), so its
interval over the input box, and from that its width, is exact; the forms also prove each
product: `check_rows` compares them with the constant matrix it was asked for.

Two builders fill a graph with the rows y_o = sum_j M[o, j] x_j + c_o:
- `csd_rows`: each row alone, one term per non-zero canonical-signed-digit digit of each
  constant, summed by a balanced tree (positive and negative terms apart, one final
  subtraction) - nothing shared between rows or constants;
- `da4ml_rows`: the adder graph of da4ml's constant matrix-vector (CMVM) solver, which
  shares subexpressions across rows and columns; only its graph is used, rendered here.

`render` turns nodes into Verilog wire declarations. A node whose operands have different
shifts adds only above the smaller one: `a + (b << s)` is `{a_hi + b, a_lo}`, an adder s
bits narrower than the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from hadamhw.backends.verilog_text import bit_slice, lit
from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import csd_digits
from hadamhw.ir.widths import signed_bits
from hadamhw.netlist.adders import da4ml_terms

CMVM_METHODS = ("da4ml", "csd")
# How an expression prints a wire it reads: the name itself, or a delayed copy of it.
Rename = Callable[[str], str]


@dataclass
class Signal:
    name: str
    width: int
    coef: dict[int, int]  # input index -> coefficient
    const: int = 0
    node: bool = False  # an adder output (False: an input wire)
    level: int = 0  # adders on the longest path from the graph's inputs (pipeline placement)


@dataclass(frozen=True)
class Term:
    """sign * (signal << shift)."""

    signal: Signal
    shift: int
    sign: int


@dataclass
class AdderGraph:
    """Inputs and adder nodes of one datapath section; `prefix` names the nodes."""

    prefix: str
    inputs: list[Signal] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    # name, width, expr (rendered), form (expr as a function of how each operand prints),
    # operands (the signal names expr reads), level
    nodes: list[dict] = field(default_factory=list)
    adders: int = 0
    # signals a node reads only in part (the result is narrower than an operand: its top
    # bits cancel); the backend lists them as deliberately unused bits for lint
    partial: list[str] = field(default_factory=list)

    def _reads(self, sig: Signal, shift: int, width: int) -> None:
        if sig.width + shift > width and sig.name not in self.partial:
            self.partial.append(sig.name)

    # -- signals --------------------------------------------------------------------------
    def input(self, name: str, lo: int, hi: int, width: int | None = None,
              level: int = 0) -> Signal:
        """An existing signed wire `name` holding values in [lo, hi] (`width` bits if given,
        else the fewest that hold the interval); `level`: adder levels before it."""
        index = len(self.inputs)
        need = signed_bits(lo, hi)
        if width is not None and width < need:
            raise HadamhwError(f"internal: wire {name} ({width} bits) cannot hold [{lo}, {hi}]")
        sig = Signal(name, need if width is None else width, {index: 1}, level=level)
        self.inputs.append(sig)
        self.ranges.append((lo, hi))
        return sig

    def interval(self, coef: dict[int, int], const: int) -> tuple[int, int]:
        lo = hi = const
        for j, c in coef.items():
            a, b = self.ranges[j]
            lo += min(c * a, c * b)
            hi += max(c * a, c * b)
        return lo, hi

    def _new(self, coef: dict[int, int], const: int) -> tuple[str, int, dict[int, int]]:
        coef = {j: c for j, c in coef.items() if c}
        lo, hi = self.interval(coef, const)
        name = f"{self.prefix}{len(self.nodes)}"
        return name, signed_bits(lo, hi), coef

    # -- nodes ----------------------------------------------------------------------------
    def add(self, a: Term, b: Term) -> Term:
        """One adder: a + b (each a signed, shifted signal). The result is normalized to
        shift min(a.shift, b.shift) and the sign of `a` when both are negative."""
        base = min(a.shift, b.shift)
        sign = -1 if a.sign < 0 and b.sign < 0 else 1
        coef: dict[int, int] = {}
        const = 0
        for t in (a, b):
            f = sign * t.sign << (t.shift - base)
            for j, c in t.signal.coef.items():
                coef[j] = coef.get(j, 0) + f * c
            const += f * t.signal.const
        name, width, coef = self._new(coef, const)
        pa, pb = (a, b) if sign * a.sign > 0 else (b, a)  # the minuend first
        subtract = sign * pb.sign < 0

        def form(wire: Rename) -> str:
            return _sum_expr(pa.signal, pa.shift - base, pb.signal, pb.shift - base, subtract,
                             width, wire)

        self._reads(pa.signal, pa.shift - base, width)
        self._reads(pb.signal, pb.shift - base, width)
        level = 1 + max(a.signal.level, b.signal.level)
        self.nodes.append({"name": name, "width": width, "expr": form(_same), "form": form,
                           "level": level, "operands": _names(pa.signal, pb.signal),
                           "adder": True})
        self.adders += 1
        return Term(Signal(name, width, coef, const, node=True, level=level), base, sign)

    def add_constant(self, t: Term, constant: int) -> Signal:
        """constant + t as one adder (t's shift and sign applied): the row's output."""
        coef = {j: t.sign * c << t.shift for j, c in t.signal.coef.items()}
        const = constant + (t.sign * t.signal.const << t.shift)
        if constant == 0 and t.sign > 0 and t.shift == 0:
            return t.signal
        name, width, coef = self._new(coef, const)

        def form(wire: Rename) -> str:
            return _const_expr(constant, t.signal, t.shift, t.sign < 0, width, wire)

        self._reads(t.signal, t.shift, width)
        adder = constant != 0 or t.sign < 0
        level = t.signal.level + (1 if adder else 0)
        self.nodes.append({"name": name, "width": width, "expr": form(_same), "form": form,
                           "level": level, "operands": _names(t.signal), "adder": adder})
        if adder:
            self.adders += 1
        return Signal(name, width, coef, const, node=True, level=level)

    def constant(self, value: int) -> Signal:
        name, width, _ = self._new({}, value)
        text = lit(value, width)
        self.nodes.append({"name": name, "width": width, "expr": text,
                           "form": lambda wire: text, "level": 0, "operands": [],
                           "adder": False})
        return Signal(name, width, {}, value, node=True)

    def tree(self, terms: list[Term]) -> Term | None:
        """Balanced tree of two-input adders; positive and negative terms apart."""
        pos = [t for t in terms if t.sign > 0]
        neg = [t for t in terms if t.sign < 0]

        def reduce(level: list[Term]) -> Term | None:
            while len(level) > 1:
                nxt = [self.add(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
                level = nxt + level[len(nxt) * 2:]
            return level[0] if level else None

        p, q = reduce(pos), reduce(neg)
        if p is None or q is None:
            return p if q is None else q
        return self.add(p, q)

    def row(self, terms: list[Term], constant: int) -> Signal:
        total = self.tree(terms)
        if total is None:
            return self.constant(constant)
        return self.add_constant(total, constant)


def _same(name: str) -> str:
    return name


def _renamed(sig: Signal, wire: Rename) -> Signal:
    """The signal under the name `wire` prints for it (a delayed copy, for the retimer)."""
    return replace(sig, name=wire(sig.name))


def _names(*signals: Signal) -> list[str]:
    out: list[str] = []
    for sig in signals:
        if sig.name not in out:
            out.append(sig.name)
    return out


# -- Verilog text of the nodes (the helpers of hadamhw.backends.verilog_text) ----------------
def extend(sig: Signal, width: int) -> str:
    """The signed signal sign-extended (or truncated, mod 2^width) to `width` bits."""
    if width <= 0:
        raise HadamhwError("internal: empty operand")
    if width == sig.width:
        return sig.name
    if width < sig.width:
        return bit_slice(sig.name, 0, width)
    top = bit_slice(sig.name, sig.width - 1, 1)
    return f"{{{{{width - sig.width}{{{top}}}}}, {sig.name}}}"


def arith_shift(sig: Signal, shift: int, width: int) -> str:
    """sig >>> shift as `width` bits."""
    if shift == 0:
        return extend(sig, width)
    top = bit_slice(sig.name, sig.width - 1, 1)
    if shift >= sig.width:
        return f"{{{width}{{{top}}}}}" if width > 1 else top
    high_w = sig.width - shift
    if width <= high_w:
        return bit_slice(sig.name, shift, width)
    return f"{{{{{width - high_w}{{{top}}}}}, {bit_slice(sig.name, shift, high_w)}}}"


# The expression printers below rename an operand (`wire`) only where they print it, in the
# order they print it: the retimer makes an operand's delayed copies in that order.
def _shifted(sig: Signal, shift: int, width: int, wire: Rename = _same) -> str:
    """(sig << shift) as `width` bits."""
    if shift >= width:
        return lit(0, width)
    body = extend(_renamed(sig, wire), width - shift)
    return body if shift == 0 else f"{{{body}, {shift}'b0}}"


def _sum_expr(a: Signal, sa: int, b: Signal, sb: int, subtract: bool, width: int,
              wire: Rename = _same) -> str:
    """(a << sa) +- (b << sb) in `width` bits; one of sa, sb is 0."""
    op = "-" if subtract else "+"
    if not subtract and sa > 0 and sb == 0:
        a, sa, b, sb = b, sb, a, sa
    if sb > 0 and sa == 0 and sb < width:
        # the low sb bits are a's: add only above them
        hi_w = width - sb
        a = _renamed(a, wire)
        high = arith_shift(a, sb, hi_w)
        other = extend(_renamed(b, wire), hi_w)
        low = bit_slice(a.name, 0, min(sb, a.width)) if a.width >= sb else extend(a, sb)
        return f"{{{high} {op} {other}, {low}}}"
    return f"{_shifted(a, sa, width, wire)} {op} {_shifted(b, sb, width, wire)}"


def _const_expr(constant: int, sig: Signal, shift: int, subtract: bool, width: int,
                wire: Rename = _same) -> str:
    op = "-" if subtract else "+"
    if constant == 0 and not subtract:
        return _shifted(sig, shift, width, wire)
    if 0 < shift < width:
        low = constant % (1 << shift)
        hi_w = width - shift
        hi = lit(constant >> shift, hi_w)
        return f"{{{hi} {op} {extend(_renamed(sig, wire), hi_w)}, {lit(low, shift)}}}"
    return f"{lit(constant, width)} {op} {_shifted(sig, shift, width, wire)}"


# -- builders --------------------------------------------------------------------------------
def csd_rows(graph: AdderGraph, inputs: list[Signal | None], matrix: np.ndarray,
             constants: list[int]) -> list[Signal]:
    """Each row of matrix @ inputs + constants as its own CSD adder tree."""
    out = []
    for o in range(matrix.shape[0]):
        terms = []
        for j, sig in enumerate(inputs):
            if sig is None:
                continue
            for d in csd_digits(int(matrix[o, j])):
                terms.append(Term(sig, d.shift, d.sign))
        out.append(graph.row(terms, int(constants[o])))
    return out


def da4ml_rows(graph: AdderGraph, inputs: list[Signal | None], matrix: np.ndarray,
               constants: list[int]) -> list[Signal]:
    """matrix @ inputs + constants with the adder graph of da4ml's CMVM solver."""
    rows, cols = matrix.shape
    live = [j for j in range(cols) if inputs[j] is not None and np.any(matrix[:, j])]
    out_terms: list[Term | None] = [None] * rows
    if live:
        index = {id(sig): i for i, sig in enumerate(graph.inputs)}
        ranges = [graph.ranges[index[id(inputs[j])]] for j in live]
        out_terms = da4ml_terms(np.asarray(matrix[:, live], dtype=np.int64), ranges,
                                [Term(inputs[j], 0, 1) for j in live], graph.add, _move)
    out = []
    for o in range(rows):
        t = out_terms[o]
        out.append(graph.constant(int(constants[o])) if t is None
                   else graph.add_constant(t, int(constants[o])))
    return out


def _move(t: Term, shift: int, negate: bool) -> Term:
    return Term(t.signal, t.shift + shift, -t.sign if negate else t.sign)


def check_rows(graph: AdderGraph, inputs: list[Signal | None], outputs: list[Signal],
               matrix: np.ndarray, constants: list[int], what: str) -> None:
    """Every output's linear form must be exactly row o of the matrix plus its constant."""
    index = {id(s): i for i, s in enumerate(graph.inputs)}
    for o, sig in enumerate(outputs):
        want = {}
        for j, s in enumerate(inputs):
            if s is not None and matrix[o, j]:
                want[index[id(s)]] = want.get(index[id(s)], 0) + int(matrix[o, j])
        have = {j: c for j, c in sig.coef.items() if c}
        if have != want or sig.const != int(constants[o]):
            raise HadamhwError(f"internal: the adder graph of {what} row {o} does not "
                               "compute its constants")
