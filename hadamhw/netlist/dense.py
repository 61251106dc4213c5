"""Builder of the dense baseline (`--recurrent dense`): the single-cycle core with the
rotation r = diag(s) · blockdiag(H_m) · h as one adder tree per row instead of butterflies.

Every datapath section but the rotation is the single-cycle builder's (ports, state and
`fresh` registers, input drive, requantization, readout, argmax; see
hadamhw.netlist.single_cycle). Row i of W·sqrt(m) sums the m nonzero terms ±h_j of its
block in a balanced binary tree of m - 1 `Add` nodes: n (m - 1) adders in all, against the
n log2 m of the butterflies. The row lists its positive terms first, then its negative ones,
in index order. The signs fold into add/subtract: a subtree carries a polarity,
(+x) + (+y) = x + y, (+x) + (-y) = x - y, (-x) + (-y) = -(x + y) kept as a negative
subtree; only a row whose terms are all negative ends in one -x - y. Rows with equal
coefficients have the same tree shape (the printer shares one row module between them).

Each tree node's interval is the exact range of its partial sum (affine over h_cur); the
roots are tagged `rotated` and checked against widths.rotated like the butterflies' last
stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist import single_cycle
from hadamhw.netlist.nodes import (
    Add,
    Netlist,
    Operand,
)


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


def row_pattern(ir: IntegerRNN, w: np.ndarray, i: int) -> tuple[int, ...]:
    """Row i's coefficients on its own block (rows with equal patterns share a tree shape)."""
    base = (i // ir.block_size) * ir.block_size
    return tuple(int(c) for c in w[i, base:base + ir.block_size])


@dataclass(frozen=True)
class _Part:
    node: int
    negative: bool  # the row needs -value


def _combine(nl: Netlist, a: _Part, b: _Part, root: bool, name: str) -> _Part:
    if a.negative and not b.negative:
        a, b = b, a
    sa, sb, negative = 1, 1, a.negative
    if a.negative and b.negative and root:  # the root of an all-negative row: -a - b
        sa, sb, negative = -1, -1, False
    elif b.negative and not a.negative:  # a positive, b negative: a - b
        sb = -1
    node = nl.add(Add(a=Operand(a.node, 0, sa), b=Operand(b.node, 0, sb),
                      name=name if root else "", group="recurrent"))
    return _Part(node, negative)


def _tree(nl: Netlist, leaves: list[_Part], name: str, root: bool = True) -> _Part:
    if len(leaves) == 1:
        return leaves[0]
    half = len(leaves) // 2
    left = _tree(nl, leaves[:half], name, root=False)
    right = _tree(nl, leaves[half:], name, root=False)
    return _combine(nl, left, right, root, name)


def rotation(nl: Netlist, ir: IntegerRNN, h: list[int]) -> list[int]:
    """r_i = sum_j W[i, j] h_j, one balanced adder tree per row; returns the roots."""
    m = ir.block_size
    if m < 2:
        raise HadamhwError("the dense netlist needs a block size of at least 2")
    w = dense_matrix(ir)
    roots = []
    for i in range(ir.hidden_size):
        base = (i // m) * m
        coeffs = row_pattern(ir, w, i)
        order = [j for j in range(m) if coeffs[j] > 0] + [j for j in range(m) if coeffs[j] < 0]
        leaves = [_Part(h[base + j], coeffs[j] < 0) for j in order]
        roots.append(_tree(nl, leaves, f"r{i}").node)
    nl.tags.setdefault("rotated", []).extend(roots)
    return roots


def row_cone(nl: Netlist, root: int) -> list[int]:
    """The adder nodes of one row's tree, in node order (its root last)."""
    cone: set[int] = set()
    todo = [root]
    while todo:
        i = todo.pop()
        nd = nl[i]
        if isinstance(nd, Add) and nd.group == "recurrent" and i not in cone:
            cone.add(i)
            todo.extend(nd.operands())
    return sorted(cone)


def build(ir: IntegerRNN, cmvm: str = "da4ml") -> Netlist:
    """The dense baseline's datapath of `ir`; constant products by `cmvm`. The same ports,
    registers and sections as single_cycle.build, with the dense rotation."""
    return single_cycle.build(ir, cmvm, rotate=rotation)
