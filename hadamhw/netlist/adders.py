"""Constant products as adder nodes: CSD trees and da4ml's CMVM solution.

The same graphs as the string backend's adder graphs (one two-input adder per node, the
same count), built directly as netlist nodes:
- `csd_rows`: each row alone, one term per non-zero canonical-signed-digit digit of each
  constant, summed by a balanced tree (positive and negative terms apart, one final
  subtraction);
- `da4ml_rows`: the adder graph of da4ml's constant matrix-vector (CMVM) solver, which
  shares subexpressions across rows and columns.
`check_rows` proves each row from the nodes' affine forms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import csd_digits
from hadamhw.netlist.nodes import Add, Const, Netlist, Operand

CMVM_METHODS = ("da4ml", "csd")
ADDEND = "addend"  # the name of a constant that one adder adds (part of that adder)


@dataclass(frozen=True)
class Term:
    """sign * (node << shift)."""

    node: int
    shift: int
    sign: int


class Builder:
    """Adds adder nodes of one datapath section (`group`) to a netlist."""

    def __init__(self, nl: Netlist, group: str) -> None:
        self.nl = nl
        self.group = group

    def add(self, a: Term, b: Term) -> Term:
        """One adder a + b, normalized to shift min(a.shift, b.shift) and to the sign of a
        when both are negative."""
        base = min(a.shift, b.shift)
        sign = -1 if a.sign < 0 and b.sign < 0 else 1
        pa, pb = (a, b) if sign * a.sign > 0 else (b, a)  # the minuend first
        node = Add(a=Operand(pa.node, pa.shift - base, sign * pa.sign),
                   b=Operand(pb.node, pb.shift - base, sign * pb.sign), group=self.group)
        return Term(self.nl.add(node), base, sign)

    def constant(self, value: int) -> int:
        return self.nl.add(Const(value=value, group=self.group))

    def add_constant(self, t: Term, constant: int) -> int:
        """constant + t as one adder (t's shift and sign applied); wiring when constant is 0
        and t positive."""
        if constant == 0 and t.sign > 0 and t.shift == 0:
            return t.node
        a = Operand(t.node, t.shift, t.sign)
        if constant == 0:
            return self.nl.add(Add(a=a, group=self.group))
        addend = self.nl.add(Const(value=constant, group=self.group, name=ADDEND))
        return self.nl.add(Add(a=Operand(addend), b=a, group=self.group))

    def tree(self, terms: list[Term]) -> Term | None:
        """Balanced tree of two-input adders; positive and negative terms apart."""
        def reduce(level: list[Term]) -> Term | None:
            while len(level) > 1:
                nxt = [self.add(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
                level = nxt + level[len(nxt) * 2:]
            return level[0] if level else None

        p = reduce([t for t in terms if t.sign > 0])
        q = reduce([t for t in terms if t.sign < 0])
        if p is None or q is None:
            return p if q is None else q
        return self.add(p, q)

    def row(self, terms: list[Term], constant: int) -> int:
        total = self.tree(terms)
        if total is None:
            return self.constant(constant)
        return self.add_constant(total, constant)

    def scale(self, node: int, constant: int, offset: int = 0) -> int:
        """node * constant + offset as CSD shift-adds."""
        return self.row([Term(node, d.shift, d.sign) for d in csd_digits(constant)], offset)


def csd_rows(b: Builder, inputs: list[int | None], matrix: np.ndarray,
             constants: list[int]) -> list[int]:
    """Each row of matrix @ inputs + constants as its own CSD adder tree."""
    out = []
    for o in range(matrix.shape[0]):
        terms = [Term(node, d.shift, d.sign) for j, node in enumerate(inputs)
                 if node is not None for d in csd_digits(int(matrix[o, j]))]
        out.append(b.row(terms, int(constants[o])))
    return out


def da4ml_rows(b: Builder, inputs: list[int | None], matrix: np.ndarray,
               constants: list[int]) -> list[int]:
    """matrix @ inputs + constants with the adder graph of da4ml's CMVM solver."""
    rows, cols = matrix.shape
    live = [j for j in range(cols) if inputs[j] is not None and np.any(matrix[:, j])]
    out_terms: list[Term | None] = [None] * rows
    if live:
        ranges = [(b.nl[inputs[j]].lo, b.nl[inputs[j]].hi) for j in live]  # type: ignore[index]
        out_terms = da4ml_terms(np.asarray(matrix[:, live], dtype=np.int64), ranges,
                                [Term(inputs[j], 0, 1) for j in live], b.add, _move)
    return [b.constant(int(constants[o])) if out_terms[o] is None
            else b.add_constant(out_terms[o], int(constants[o]))  # type: ignore[arg-type]
            for o in range(rows)]


def da4ml_terms(matrix: np.ndarray, ranges: list[tuple[int, int]], inputs: list, add,
                move) -> list:
    """The rows of an integer matrix over `inputs` (one term each, with its integer range)
    as da4ml's shared adder graph, replayed with `add` and `move` (see replay_stage); one
    term per row, None for a zero row. The solver sees the codes without their common
    power of two (e.g. U on a refined grid), which is shifted back in after. The netlist
    and the string sections of hadamhw.backends both solve through this one function."""
    try:
        from da4ml.cmvm import solve
    except ImportError:
        raise HadamhwError("--cmvm da4ml needs the da4ml package (pip install "
                           "da4ml==0.6.0), or use --cmvm csd") from None
    common = common_shift(matrix)
    codes = matrix >> common
    kernel = np.ascontiguousarray(codes.T, dtype=np.float32)
    if np.any(kernel.astype(np.int64) != codes.T):
        raise HadamhwError("--cmvm da4ml: a constant does not fit float32 exactly "
                           "(over 24 significant bits); use --cmvm csd")
    pipeline = solve(kernel, qintervals=[(float(lo), float(hi), 1.0) for lo, hi in ranges])
    values = list(inputs)
    for stage in pipeline.solutions:
        values = replay_stage(stage, values, add, move)
    return [None if t is None else move(t, common, False) for t in values]


def common_shift(matrix: np.ndarray) -> int:
    """The largest s with every non-zero entry a multiple of 2^s."""
    nz = matrix[matrix != 0]
    if nz.size == 0:
        return 0
    shift = 0
    while np.all(nz % (2 << shift) == 0):
        shift += 1
    return shift


def replay_stage(stage, inputs: list, add, move) -> list:
    """One da4ml CombLogic stage over symbolic inputs (None for zero): `move(t, shift,
    negate)` shifts (and negates) a term, `add(a, b)` adds two. Shifts may be negative
    inside a stage; `add` normalizes them away. The netlist and the string sections of
    hadamhw.backends both replay da4ml's solution through this one function."""
    buf: list = []
    for op in stage.ops:
        if op.opcode == -1:
            src = inputs[op.id0]
            sh = int(stage.inp_shifts[op.id0])
            buf.append(None if src is None or abs(sh) > 64 else move(src, sh, False))
        elif op.opcode in (0, 1):
            x, y = buf[op.id0], buf[op.id1]
            if y is not None:
                y = move(y, int(op.data), op.opcode == 1)
            buf.append(x if y is None else y if x is None else add(x, y))
        else:
            raise HadamhwError(f"da4ml returned operation code {op.opcode}, which hadamhw "
                               "does not build; use --cmvm csd")
    out: list = []
    for idx, sh, neg in zip(stage.out_idxs, stage.out_shifts, stage.out_negs, strict=True):
        t = buf[idx] if idx >= 0 else None
        out.append(None if t is None or abs(int(sh)) > 64 else move(t, int(sh), bool(neg)))
    return out


def _move(t: Term, shift: int, negate: bool) -> Term:
    return Term(t.node, t.shift + shift, -t.sign if negate else t.sign)


def cmvm_rows(method: str):
    if method not in CMVM_METHODS:
        raise HadamhwError(f"cmvm must be one of {', '.join(CMVM_METHODS)}, got {method!r}")
    return {"da4ml": da4ml_rows, "csd": csd_rows}[method]


def check_rows(nl: Netlist, inputs: list[int | None], outputs: list[int],
               matrix: np.ndarray, constants: list[int], what: str) -> None:
    """Every output's affine form must be exactly row o of the matrix plus its constant
    (over the inputs' own forms)."""
    for o, node in enumerate(outputs):
        want: dict[int, int] = {}
        const = int(constants[o])
        for j, src in enumerate(inputs):
            if src is None or not matrix[o, j]:
                continue
            coef, k = nl.forms.get(src, ({src: 1}, 0))
            for s, c in coef.items():
                want[s] = want.get(s, 0) + int(matrix[o, j]) * c
            const += int(matrix[o, j]) * k
        have, have_const = nl.forms.get(node, ({node: 1}, 0))
        if {s: c for s, c in want.items() if c} != have or have_const != const:
            raise HadamhwError(f"internal: the adder graph of {what} row {o} does not "
                               "compute its constants")
