"""The dense baseline of the recurrent core: r = diag(s) · blockdiag(H_m) · h as adder trees.

For comparison only (`hadamhw generate --recurrent dense`). Each output element r_i sums the
m nonzero terms ±h_j of its row of W·sqrt(m) = diag(s)·blockdiag(H_m, ..., H_m) in its own
balanced binary adder tree: m - 1 adders/subtractors per row, n·(m - 1) in all, against the
n·log2(m) of the butterflies. The signs fold into add/subtract: a subtree carries a polarity,
(+x) + (+y) = x + y, (+x) + (-y) = x - y, (-x) + (-y) = -(x + y) kept as a negative subtree;
only a row whose terms are all negative ends in one 0 - x - y.

Each row is an instance of its own row module, marked keep_hierarchy (rows with the same
coefficients, such as the same H_m row in another block, share the module), and every tree
node is a kept wire. Without the first, synthesis merges equal partial sums of different
rows and comes close to rebuilding the butterflies out of the "dense" rows (structural
hashing at n = m = 128 leaves 1 538 of the 16 256 adders); without the second, Yosys folds
a row into one multi-operand $macc of LUT full adders instead of a carry-chain adder per
node. Either would stop the baseline from being the dense product whose cost n·(m - 1)
states. A row lists its positive terms first, then its negative ones, in index order.

Every tree node is sized from the exact interval of the sum it holds (terms of
widths.state bits); the root is widths.rotated bits, which holds every row's worst case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hadamhw.backends.verilog_text import bit_slice, lit, resize
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_bits, signed_range


def sylvester(m: int) -> np.ndarray:
    """The m x m Sylvester Hadamard matrix (entries ±1), m a power of two."""
    h = np.ones((1, 1), dtype=np.int64)
    while h.shape[0] < m:
        h = np.block([[h, h], [h, -h]])
    return h


def dense_matrix(ir: IntegerRNN) -> np.ndarray:
    """W·sqrt(m) = diag(s) · blockdiag(H_m, ..., H_m): n x n, entries ±1 and 0."""
    n, m = ir.hidden_size, ir.block_size
    w = np.zeros((n, n), dtype=np.int64)
    hm = sylvester(m)
    for base in range(0, n, m):
        w[base:base + m, base:base + m] = hm
    return ir.signs.astype(np.int64)[:, None] * w


@dataclass
class _Node:
    expr: str  # a plain wire name or a slice of h
    width: int
    lo: int  # interval of the node's value (before its polarity is applied)
    hi: int
    negative: bool  # the row needs -value


class _RowBuilder:
    def __init__(self, pattern: int, bh: int, root_width: int, root_lhs: str) -> None:
        self.pattern = pattern
        self.bh = bh
        self.root_width = root_width
        self.root_lhs = root_lhs
        self.nodes: list[dict] = []

    def leaf(self, j: int, coeff: int) -> _Node:
        lo, hi = signed_range(self.bh)
        return _Node(bit_slice("h", j * self.bh, self.bh), self.bh, lo, hi, coeff < 0)

    @staticmethod
    def _operand(node: _Node, width: int) -> str:
        return resize(node.expr, _msb(node.expr, node.width), node.width, width)

    def combine(self, a: _Node, b: _Node, root: bool) -> _Node:
        if a.negative and not b.negative:
            a, b = b, a
        if a.negative == b.negative and not (root and a.negative):
            lo, hi, negative, op = a.lo + b.lo, a.hi + b.hi, a.negative, "+"
        elif a.negative:  # root of an all-negative row: -(a + b) in one expression
            lo, hi, negative, op = -a.hi - b.hi, -a.lo - b.lo, False, "neg"
        else:  # a positive, b negative
            lo, hi, negative, op = a.lo - b.hi, a.hi - b.lo, False, "-"
        width = signed_bits(lo, hi)
        if root:
            if width > self.root_width:
                raise HadamhwError(f"internal: row pattern {self.pattern} of the dense core "
                                   f"needs {width} bits, more than widths.rotated = "
                                   f"{self.root_width}")
            width, name = self.root_width, self.root_lhs
        else:
            name = f"n{len(self.nodes)}"
        ea, eb = self._operand(a, width), self._operand(b, width)
        expr = {"+": f"{ea} + {eb}", "-": f"{ea} - {eb}",
                "neg": f"{lit(0, width)} - {ea} - {eb}"}[op]
        self.nodes.append({"name": name, "msb": width - 1, "expr": expr, "root": root})
        return _Node(name, width, lo, hi, negative)

    def tree(self, leaves: list[_Node], root: bool = True) -> _Node:
        if len(leaves) == 1:
            return leaves[0]
        half = len(leaves) // 2
        left = self.tree(leaves[:half], root=False)
        right = self.tree(leaves[half:], root=False)
        return self.combine(left, right, root)


def _msb(expr: str, width: int) -> str:
    """The top bit of a plain wire name or of a slice name[msb:lsb]."""
    if expr.endswith("]") and ":" in expr:
        name, sel = expr[:-1].split("[", 1)
        return f"{name}[{int(sel.split(':')[0])}]"
    return f"{expr}[{width - 1}]"


def dense_rotate_context(ir: IntegerRNN, top: str) -> dict:
    """Context of templates/verilog/rotate_dense.v.j2: one adder tree per row of W·sqrt(m).

    Rows with the same coefficients on their block (the same H_m row and sign in different
    blocks) share one row module; each row is its own instance.
    """
    n, m = ir.hidden_size, ir.block_size
    bh, br = ir.widths.state, ir.widths.rotated
    w = dense_matrix(ir)
    modules: dict[tuple[int, ...], dict] = {}
    instances = []
    for i in range(n):
        base = (i // m) * m
        coeffs = tuple(int(c) for c in w[i, base:base + m])
        if coeffs not in modules:
            index = len(modules)
            builder = _RowBuilder(index, bh, br, "r")
            ordered = [j for j in range(m) if coeffs[j] > 0] + \
                      [j for j in range(m) if coeffs[j] < 0]
            builder.tree([builder.leaf(j, coeffs[j]) for j in ordered])
            modules[coeffs] = {
                "name": f"{top}_rotate_row_pattern{index}", "index": index,
                "positive": [j for j in range(m) if coeffs[j] > 0],
                "negative": [j for j in range(m) if coeffs[j] < 0],
                "nodes": builder.nodes}
        instances.append({"row": i, "module": modules[coeffs]["name"],
                          "h": bit_slice("h", base * bh, m * bh),
                          "r": bit_slice("r", i * br, br)})
    row_modules = sorted(modules.values(), key=lambda r: r["index"])
    adders = sum(len(modules[tuple(int(c) for c in w[i, (i // m) * m:(i // m) * m + m])]
                         ["nodes"]) for i in range(n))
    return {"top": top, "n": n, "m": m, "k": ir.k, "row_modules": row_modules,
            "instances": instances, "adders": adders, "state_bits": bh, "rotated_bits": br,
            "state_msb": n * bh - 1, "rotated_msb": n * br - 1, "block_msb": m * bh - 1,
            "row_msb": br - 1}
