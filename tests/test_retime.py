"""The retimer and the unread-wire sink work on what declarations state they read (no text)."""

from __future__ import annotations

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends.adder_graph import AdderGraph, Term
from hadamhw.backends.retime import Retimer
from hadamhw.backends.verilog_sections import (
    decl,
    graph_decls,
    input_section,
    unread_decls,
    wires_read,
)
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir
from hadamhw.netlist.plan import requant_plan


def test_decl_records_the_wires_its_form_prints_once_each_in_order():
    d = decl("s", 8, lambda r: f"{r('b')} + {r('a')} - {r('b')}")
    assert d["expr"] == "b + a - b"
    assert d["reads"] == ["b", "a"]
    assert decl("k", 4, "4'h3")["reads"] == []
    assert wires_read(lambda r: f"{{{r('x')}[3], {r('x')}}}") == ["x"]


def test_place_reads_older_operands_through_delayed_copies():
    rt = Retimer()
    rt.source("a", 4, 0)
    rt.source("b", 4, 2)
    placed = rt.place(decl("s", 5, lambda r: f"{r('a')} + {r('b')} + {r('k')}"))
    assert placed["expr"] == "a_c2 + b + k"  # k is no timed wire: read as it is
    assert placed["reads"] == ["a_c2", "b", "k"]
    assert [(r["name"], r["of"], r["src"]) for r in rt.regs] == [("a_c1", "a", "a"),
                                                                 ("a_c2", "a", "a_c1")]
    assert rt.cycle["s"] == 2
    # a later reader of s at cycle 4 reads s's copy; the placed form prints it too
    later = rt.place(decl("t", 5, lambda r: f"~{r('s')}"), 4)
    assert later["expr"] == "~s_c4"
    assert placed["form"](lambda w: w.upper()) == "A_C2 + B + K"


def test_place_refuses_a_cycle_before_its_operands_are_ready():
    rt = Retimer()
    rt.source("a", 4, 3)
    rt.source("b", 4, 1)
    with pytest.raises(HadamhwError):
        rt.at("a", 2)
    assert rt.ready(["a", "b", "not_timed"]) == 3


def test_copies_are_made_in_the_order_the_expression_prints_its_operands():
    """(x << 2) + y prints y first (the shifted operand goes on top): its copy comes first."""
    g = AdderGraph("n")
    x = g.input("x", -8, 7, 4)
    y = g.input("y", -8, 7, 4)
    g.add(Term(x, 2, 1), Term(y, 0, 1))
    node = graph_decls(g)[0]
    assert node["expr"].index("y") < node["expr"].index("x")
    assert node["reads"] == ["y", "x"]
    rt = Retimer()
    rt.source("x", 4, 0)
    rt.source("y", 4, 0)
    rt.place(node, 1)
    assert [r["name"] for r in rt.regs] == ["y_c1", "x_c1"]


def test_unread_decls_finds_the_wires_no_one_reads():
    decls = [decl("a", 4, lambda r: r("in")), decl("b", 4, lambda r: f"{r('a')} + 4'h1"),
             decl("c", 4, lambda r: r("a"))]
    assert unread_decls(decls, ["b"]) == ["c"]
    assert unread_decls(decls, []) == ["b", "c"]


def test_every_input_node_states_its_graph_operands():
    """The adder nodes' reads are the operands adder_graph records for them (in the order
    the expression prints them)."""
    for seed in range(4):
        ir = random_ir(np.random.default_rng(seed), 16, 4)
        sec = input_section(ir, GenerateOptions(), requant_plan(ir), "s_axis_tdata")
        nodes = [d for d in sec["decls"] if d.get("graph") == "in_n"]
        assert nodes
        for d in nodes:
            assert sorted(d["reads"]) == sorted(d["operands"])
