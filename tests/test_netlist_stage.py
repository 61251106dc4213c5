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

    def unsigned(nl, ir_, plan, f, drive, cmvm, signs):
        return real(nl, ir_, plan, f, drive, cmvm)  # the sign flip dropped

    monkeypatch.setattr(stage, "requantization", unsigned)
    assert not golden_equal(stage.build(ir, row["cmvm"]), ir, 0)
    monkeypatch.undo()
    real_bank = stage.bank

    def unfed(nl, ir_, g, h_cur, busy, fire):
        return real_bank(nl, ir_, g, h_cur, g.zero, fire)

    monkeypatch.setattr(stage, "bank", unfed)
    assert not golden_equal(stage.build(ir, row["cmvm"]), ir, 0)


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


# -- hadamhw generate --fold stage prints this netlist ---------------------------------------
@pytest.mark.parametrize("row", PAIRWISE[:6], ids=_ids)
def test_generate_counts_from_the_stage_netlist(row):
    """The manifest's adders (but the recurrence, n log2 m per step) and register bits are
    the netlist's; the registers equal the template's (bank n·max(fwht), x_q the word)."""
    import json

    from hadamhw.backends import GenerateOptions
    from hadamhw.backends import verilog as vg

    ir = make_ir(row, 3)
    man = json.loads(vg.render(ir, GenerateOptions(fold="stage", cmvm=row["cmvm"]))[
        "manifest.json"])
    nl = stage.build(ir, row["cmvm"])
    have = adders_by_group(nl)
    want = {g: man["adders_per_step"][g] for g in ("input", "requant", "readout")}
    assert want == {g: have.get(g, 0) for g in want}
    bits = register_bits(nl)
    assert man["register_bits"] == {**bits, "total": sum(bits.values())}
    words = ir.input.bits * (1 if ir.input.kind == "token" else ir.input.size)
    fold_regs = ir.hidden_size * max(ir.widths.fwht) + words
    assert bits["pipeline"] == fold_regs


STAGE_DESIGNS = [  # (n, m, kind, mode, readout, cmvm): k = 1, 2, 3, 4
    (8, 2, "int", "linear", "every", "csd"),
    (16, 4, "token", "vanilla", "last", "da4ml"),
    (16, 8, "int", "linear", "every", "da4ml"),
    (16, 16, "int", "vanilla", "every", "csd"),
]


@pytest.fixture(scope="module")
def batch_build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("stage-batch")


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("values", STAGE_DESIGNS, ids=lambda v: "-".join(map(str, v)))
def test_stage_design_is_bit_exact(values, batch_build_dir, tmp_path):
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import generate
    from hadamhw.ir.stimulus import make_stimulus
    from hadamhw.verify.tools import lint
    from hadamhw.verify.verilator_batch import run_batch

    n, m, kind, mode, readout, cmvm = values
    seed = STAGE_DESIGNS.index(values)
    extra = {"input_size": 6} if kind == "token" else {"input_size": 3, "input_bits": 4}
    ir = random_ir(np.random.default_rng(seed), n, m, mode=mode, readout=readout,
                   input_kind=kind, saturating=True, output_bits=6 if seed % 2 else None,
                   **extra)
    man = generate(ir, tmp_path / "rtl", GenerateOptions(fold="stage", cmvm=cmvm))
    assert man["cycles_per_step"] == ir.k
    assert (man["register_bits"]["pipeline"] > 0) == (ir.k > 1)  # x_q and bank_q
    assert lint(tmp_path / "rtl") == []
    stim = make_stimulus(ir, sequences=24, seed=seed, max_steps=12, extreme=0.3)
    result = run_batch(tmp_path / "rtl", stim, build_dir=batch_build_dir, seed=seed)
    assert result.mismatches == [], result.mismatches[0].describe()
    assert result.outputs_checked == sum(o.size + len(o) for o in stim.outputs)
