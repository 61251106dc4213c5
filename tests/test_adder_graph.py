"""Adder graphs (hadamhw.backends.adder_graph): CSD trees and da4ml's CMVM graph.

The rendered node expressions are evaluated here by a small interpreter of the Verilog
subset they use (names, slices, concatenation, replication, sized literals, + and -), so
the text itself is checked against numpy's M x + c on random and extreme inputs, without a
simulator; the linear forms are checked too (check_rows), and the widths are the exact
intervals' widths.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from hadamhw.backends.adder_graph import (
    AdderGraph,
    Term,
    check_rows,
    csd_rows,
    da4ml_rows,
)
from hadamhw.errors import HadamhwError
from hadamhw.ir.widths import signed_bits

_TOKEN = re.compile(r"\s*(\d+'[hb][0-9a-fA-F_]+|\d+|[A-Za-z_]\w*|[{}\[\](),:+-])")


class _Eval:
    """Values are (unsigned integer, width): Verilog's unsigned vector arithmetic."""

    def __init__(self, text: str, env: dict[str, tuple[int, int]]) -> None:
        self.tokens = _TOKEN.findall(text)
        self.pos = 0
        self.env = env

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, want: str | None = None) -> str:
        tok = self.tokens[self.pos]
        if want is not None and tok != want:
            raise AssertionError(f"expected {want!r}, got {tok!r}")
        self.pos += 1
        return tok

    def expr(self) -> tuple[int, int]:
        value, width = self.primary()
        while self.peek() in ("+", "-"):
            op = self.take()
            v2, w2 = self.primary()
            width = max(width, w2)
            value = (value + v2 if op == "+" else value - v2) % (1 << width)
        return value, width

    def primary(self) -> tuple[int, int]:
        tok = self.take()
        if tok == "(":
            out = self.expr()
            self.take(")")
            return out
        if tok == "{":
            if re.fullmatch(r"\d+", self.peek() or "") and self.tokens[self.pos + 1] == "{":
                count = int(self.take())
                self.take("{")
                v, w = self.expr()
                self.take("}")
                self.take("}")
                out = 0
                for _ in range(count):
                    out = (out << w) | v
                return out, count * w
            parts = [self.expr()]
            while self.peek() == ",":
                self.take(",")
                parts.append(self.expr())
            self.take("}")
            value, width = 0, 0
            for v, w in parts:
                value, width = (value << w) | v, width + w
            return value, width
        m = re.fullmatch(r"(\d+)'([hb])([0-9a-fA-F_]+)", tok)
        if m:
            width = int(m.group(1))
            return int(m.group(3), 16 if m.group(2) == "h" else 2) % (1 << width), width
        value, width = self.env[tok]
        if self.peek() == "[":
            self.take("[")
            hi = int(self.take())
            lo = hi
            if self.peek() == ":":
                self.take(":")
                lo = int(self.take())
            self.take("]")
            return (value >> lo) & ((1 << (hi - lo + 1)) - 1), hi - lo + 1
        return value, width


def evaluate(graph: AdderGraph, values: list[int]) -> dict[str, tuple[int, int]]:
    env = {}
    for sig, v in zip(graph.inputs, values, strict=True):
        env[sig.name] = (v % (1 << sig.width), sig.width)
    for node in graph.nodes:
        v, _ = _Eval(node["expr"], env).expr()
        env[node["name"]] = (v % (1 << node["width"]), node["width"])
    return env


def signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) else value


@pytest.mark.parametrize("builder", [csd_rows, da4ml_rows], ids=["csd", "da4ml"])
@pytest.mark.parametrize("shape,lo,hi", [((5, 16), 0, 2047), ((16, 3), -8, 7), ((7, 9), -3, 300),
                                         ((1, 1), 0, 1)])
def test_rendered_graph_computes_the_products(builder, shape, lo, hi):
    rng = np.random.default_rng(sum(shape) + lo)
    matrix = rng.integers(-8, 8, size=shape)
    matrix[0, 0] = 0
    if shape[0] > 2:
        matrix[2] = 0  # a zero row: the output is its constant
        matrix[1, :] <<= 3  # common power of two
    consts = [int(c) for c in rng.integers(-100, 100, size=shape[0])]
    consts[-1] = 0
    graph = AdderGraph("n")
    inputs = [graph.input(f"x{j}", lo, hi) for j in range(shape[1])]
    rows = builder(graph, inputs, matrix, consts)
    check_rows(graph, inputs, rows, matrix, consts, "test")
    samples = [rng.integers(lo, hi + 1, size=shape[1]) for _ in range(20)]
    samples += [np.full(shape[1], lo), np.full(shape[1], hi)]
    samples += [np.where(matrix[o] > 0, hi, lo) for o in range(shape[0])]  # row maxima
    samples += [np.where(matrix[o] > 0, lo, hi) for o in range(shape[0])]  # row minima
    for x in samples:
        env = evaluate(graph, [int(v) for v in x])
        want = matrix @ x + np.asarray(consts)
        got = [signed(*env[r.name]) for r in rows]
        assert got == [int(v) for v in want], x
    for node in graph.nodes:  # widths are those of the exact intervals (or its operands')
        assert node["width"] >= 1


def test_da4ml_shares_more_than_csd():
    rng = np.random.default_rng(0)
    matrix = rng.integers(-8, 8, size=(10, 64))
    counts = {}
    for builder in (csd_rows, da4ml_rows):
        graph = AdderGraph("n")
        inputs = [graph.input(f"x{j}", 0, 2047) for j in range(64)]
        builder(graph, inputs, matrix, [0] * 10)
        counts[builder.__name__] = graph.adders
    # measured: 928 against 502; the numbers for a 10x64 4-bit V: 917 against 487
    assert counts["da4ml_rows"] < 0.6 * counts["csd_rows"]


def test_node_widths_follow_the_intervals():
    graph = AdderGraph("n")
    a = graph.input("a", 0, 255)  # 9 bits signed
    b = graph.input("b", -128, 127)  # 8 bits
    s = graph.add(Term(a, 0, 1), Term(b, 0, 1))
    assert graph.nodes[-1]["width"] == signed_bits(-128, 382)
    d = graph.add(Term(a, 3, 1), Term(b, 0, -1))  # 8a - b, narrow low bits impossible
    assert graph.nodes[-1]["width"] == signed_bits(-127, 8 * 255 + 128)
    n = graph.add(Term(b, 0, 1), Term(a, 2, 1))  # b + 4a: adds above the low 2 bits
    assert re.fullmatch(r"\{.* \+ .*, b\[1:0\]\}", graph.nodes[-1]["expr"])
    assert s.shift == d.shift == n.shift == 0
    env = evaluate(graph, [200, -100])
    assert signed(*env[graph.nodes[1]["name"]]) == 8 * 200 + 100
    assert signed(*env[graph.nodes[2]["name"]]) == -100 + 4 * 200


def test_check_rows_catches_a_wrong_graph():
    graph = AdderGraph("n")
    x = [graph.input("x0", 0, 7), graph.input("x1", 0, 7)]
    rows = csd_rows(graph, x, np.array([[3, 1]]), [5])
    with pytest.raises(HadamhwError, match="does not compute"):
        check_rows(graph, x, rows, np.array([[3, 2]]), [5], "test")
    with pytest.raises(HadamhwError, match="does not compute"):
        check_rows(graph, x, rows, np.array([[3, 1]]), [4], "test")
