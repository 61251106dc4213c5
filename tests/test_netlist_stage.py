"""The stage fold's netlist builder (hadamhw.netlist.stage): k cycles per step, one Pease
bank. The evaluator equals the golden model over the pairwise IR set (the ports carry a
foreign input word while the bank runs), the IR widths hold, the bank's declared ranges
are the exact per-pass ranges, registers are counted by purpose, a broken builder is
caught, and the printed module equals the evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import fwht_stage
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_inputs, random_ir
from hadamhw.netlist import stage
from hadamhw.netlist.check import check_ir_widths
from hadamhw.netlist.nodes import Bound, adders_by_group, register_bits
from hadamhw.netlist.plan import requant_plan
from tests.test_netlist import PAIRWISE, make_ir


def _ids(row: dict) -> str:
    return "-".join(f"{v}" for v in row.values())


def golden_equal(nl, ir, seed: int) -> bool:
    """Two batches back to back, with idle cycles, against the golden model: every output
    integer and argmax of every step."""
    rng = np.random.default_rng(2000 + seed)
    xs = [random_inputs(rng, ir, 12, 7), random_inputs(rng, ir, 12, 4)]
    got = stage.simulate(nl, ir, xs, idle_after=frozenset({1, 2, 6, 8}))
    return all(np.array_equal(golden_run(ir, x).outputs, y)
               and np.array_equal(golden_run(ir, x).argmax, am)
               for x, (y, am) in zip(xs, got, strict=True))


@pytest.mark.parametrize("row", PAIRWISE, ids=_ids)
def test_stage_evaluator_equals_golden(row):
    seed = PAIRWISE.index(row)
    ir = make_ir(row, seed)
    nl = stage.build(ir, row["cmvm"])
    assert check_ir_widths(nl, ir, {"requant_sum": requant_plan(ir).common}) > 0
    assert golden_equal(nl, ir, seed)


@pytest.mark.parametrize("m", [2, 4])
def test_stage_evaluator_equals_golden_for_one_and_two_passes(m):
    ir = random_ir(np.random.default_rng(m), 8, m, saturating=True, readout="every")
    assert golden_equal(stage.build(ir, "da4ml"), ir, m)


def test_bank_ranges_are_the_passes():
    """Pass k of the bank is the unsigned FWHT; each element's declared range is reached
    by some state (the hull of the passes' exact ranges)."""
    ir = make_ir(PAIRWISE[0], 0)
    n, m = ir.hidden_size, ir.block_size
    lo, hi = ir.state_range
    h = np.random.default_rng(0).integers(lo, hi + 1, size=(6, n))
    x = h
    for _ in range(ir.k):
        x = stage.pease_pass(x, m)
    f = h
    half = 1
    while half < m:
        f = fwht_stage(f, half)
        half *= 2
    assert np.array_equal(x, f)
    ranges = stage.bank_ranges(ir)
    assert ranges[0] == (m * lo, m * hi)  # the all-plus row
    assert max(max(-a, b) for a, b in ranges) == m * -lo


def test_stage_registers_and_adders():
    ir = make_ir(PAIRWISE[0], 0)
    n, k = ir.hidden_size, ir.k
    nl = stage.build(ir, "csd")
    bits = register_bits(nl)
    assert bits["state"] == n * ir.widths.state
    bank = sum(nl[i].width for i in nl.registers() if nl[i].name.startswith("bank_q"))
    assert bank <= n * max(ir.widths.fwht)
    held = [nl[i].width for i in nl.registers() if nl[i].name.startswith("x_q")]
    assert len(held) == (ir.input.size if ir.input.kind == "int" else 1)
    assert bits["pipeline"] == bank + sum(held)
    assert bits["control"] == 3 + max(1, (k - 1).bit_length()) * (k >= 3)  # busy, last, fresh
    assert adders_by_group(nl)["recurrent"] == n  # n/2 butterflies
    assert sum(isinstance(nd, Bound) for nd in nl.nodes) == n


def test_stage_evaluator_sees_a_wrong_builder(monkeypatch):
    """The comparison can fail: a bank that reads h_cur on every pass (its register never
    fed back) differs from golden, and so does a requantization without the sign flip."""
    row = PAIRWISE[0]
    ir = make_ir(row, 0)
    real = stage.requantization

    def unsigned(nl, ir_, plan, f, drive, cmvm):
        return real(nl, _unsigned(ir_), plan, f, drive, cmvm)

    monkeypatch.setattr(stage, "requantization", unsigned)
    assert not golden_equal(stage.build(ir, row["cmvm"]), ir, 0)


def _unsigned(ir):
    from types import SimpleNamespace

    return SimpleNamespace(**{k: getattr(ir, k) for k in (
        "widths", "mode", "hidden_size")}, signs=np.ones_like(ir.signs))


def test_stage_bound_violations_are_refused():
    """A bank range declared too small is seen by the evaluator (and refused)."""
    from dataclasses import replace

    ir = make_ir(PAIRWISE[2], 2)
    nl = stage.build(ir, PAIRWISE[2]["cmvm"])
    for i, nd in enumerate(nl.nodes):
        if isinstance(nd, Bound):
            nl.nodes[i] = replace(nd, lo=nd.lo // 4, hi=nd.hi // 4)
    with pytest.raises(HadamhwError, match="left their intervals"):
        golden_equal(nl, ir, 2)


@pytest.mark.needs("icarus")
def test_printed_stage_module_equals_evaluator(tmp_path):
    from tests.test_netlist_verilog import test_printed_module_equals_evaluator

    ir = make_ir(PAIRWISE[1], 1)
    test_printed_module_equals_evaluator(tmp_path, ("stage", stage.build(ir, "csd")))


@pytest.mark.needs("verilator")
def test_printed_stage_module_is_lint_clean(tmp_path):
    from tests.test_netlist_verilog import test_printed_module_is_lint_clean

    ir = make_ir(PAIRWISE[4], 4)
    test_printed_module_is_lint_clean(tmp_path, ("stage", stage.build(ir, "da4ml")))
