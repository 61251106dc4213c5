"""Netlist passes: each keeps the evaluator's result equal to the golden model, and a
deliberately broken version of each (a mutation) is caught by the same check."""

from __future__ import annotations

import pytest

from hadamhw.errors import HadamhwError
from hadamhw.netlist import passes
from hadamhw.netlist import single_cycle as sc
from hadamhw.netlist.check import check_ir_widths
from hadamhw.netlist.nodes import Const, Relu, adders_by_group
from hadamhw.netlist.plan import requant_plan
from tests.test_netlist import PAIRWISE, golden_equal, make_ir

ROWS = [PAIRWISE[1], PAIRWISE[4], PAIRWISE[5]]  # int and token inputs, every / last, requant


def _caught(nl, ir, latency: int = 0) -> bool:
    """The check fails: a mismatch with the golden model, or a refused netlist."""
    try:
        return not golden_equal(nl, ir, 0, latency)
    except (HadamhwError, KeyError, IndexError):
        return True


def _with_dead_nodes(ir, cmvm: str):
    nl = sc.build(ir, cmvm)
    first = nl.registers()[1]
    for k in range(3):  # nodes nothing reads
        nl.add(Relu(a=nl.add(Const(value=k - 1)), name=f"dead{k}"))
    nl.add(Relu(a=first, name="dead_relu"))
    return nl


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['input']}-{r['readout']}")
def test_remove_dead(row):
    ir = make_ir(row, 3)
    nl = _with_dead_nodes(ir, row["cmvm"])
    out = passes.remove_dead(nl)
    assert len(out) <= len(nl) - 7
    assert not any(nd.name.startswith("dead") for nd in out.nodes)
    assert adders_by_group(out) == adders_by_group(nl)
    assert golden_equal(out, ir, 3)
    assert passes.remove_dead(out).nodes == out.nodes  # nothing left to remove


def test_remove_dead_mutation_is_caught(monkeypatch):
    """A removal that forgets what registers read drops the recurrence: refused."""
    ir = make_ir(ROWS[0], 3)
    nl = _with_dead_nodes(ir, ROWS[0]["cmvm"])
    monkeypatch.setattr(passes, "reads", lambda nd: nd.operands())
    with pytest.raises(HadamhwError, match="removed node"):
        passes.remove_dead(nl)


def test_remove_dead_keeps_a_register_read_only_by_registers():
    """A delay chain: the first register is read by the second only, never combinationally."""
    ir = make_ir(ROWS[1], 3)
    out = passes.pipeline_readout(sc.build(ir, ROWS[1]["cmvm"]), 1)
    kept = passes.remove_dead(out)
    assert len(kept.registers()) == len(out.registers())
    assert golden_equal(kept, ir, 3, passes.pipeline_latency(kept))


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['input']}-{r['readout']}")
def test_tighten_widths(row):
    ir = make_ir(row, 4)
    nl = sc.build(ir, row["cmvm"])
    out = passes.tighten_widths(nl)
    assert golden_equal(out, ir, 4)
    check_ir_widths(out, ir, {"requant_sum": requant_plan(ir).common})
    assert all(b.hi - b.lo <= a.hi - a.lo for a, b in zip(nl.nodes, out.nodes, strict=True))
    assert passes.tighten_widths(out).nodes == out.nodes  # a fixed point


def test_tighten_widths_narrows_the_vanilla_state():
    """In vanilla mode the state is never negative: its registers lose the sign bit."""
    row = {**ROWS[0], "mode": "vanilla"}
    ir = make_ir(row, 5)
    nl = sc.build(ir, row["cmvm"])
    out = passes.tighten_widths(nl)
    state = [i for i in out.registers() if out[i].group == "state"]
    assert all(out[i].lo == 0 and out[i].width == ir.widths.state - 1 for i in state)
    assert sum(nd.width for nd in out.nodes) < sum(nd.width for nd in nl.nodes)
    assert golden_equal(out, ir, 5)


@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "unguarded"])
def test_tighten_widths_mutation_is_caught(monkeypatch, guard):
    """A tightening too eager (state registers to half their reach) is refused by the
    register check, and without that check the evaluator sees the wrapped state."""
    row = {**ROWS[0], "mode": "vanilla"}
    ir = make_ir(row, 5)
    nl = sc.build(ir, row["cmvm"])
    real = passes.register_interval

    def eager(nl_, reg):
        lo, hi = real(nl_, reg)
        return lo, max(lo, hi // 2) if reg.group == "state" else hi

    monkeypatch.setattr(passes, "register_interval", eager)
    monkeypatch.setattr(passes, "MAX_TIGHTEN_ROUNDS", 1)
    if guard:
        with pytest.raises(HadamhwError, match="register"):
            passes.tighten_widths(nl)
        return
    monkeypatch.setattr(passes, "check_registers", lambda nl_: None)
    assert _caught(passes.tighten_widths(nl), ir)


@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['input']}-{r['readout']}")
def test_pipeline_readout(row, levels):
    ir = make_ir(row, 6)
    nl = sc.build(ir, row["cmvm"])
    out = passes.pipeline_readout(nl, levels)
    latency = passes.pipeline_latency(out)
    depth = max(passes.adder_levels(nl)[i] for i in nl.outputs().values())
    assert latency == max(0, -(-depth // levels) - 1) > 0
    assert adders_by_group(out) == adders_by_group(nl)
    assert len([i for i in out.registers() if out[i].group == "pipeline"]) > 0
    assert golden_equal(out, ir, 6, latency)


def test_pipeline_mutation_is_caught():
    """The outputs of a pipelined netlist read at the old latency are the wrong steps'."""
    row = ROWS[1]
    ir = make_ir(row, 6)
    out = passes.pipeline_readout(sc.build(ir, row["cmvm"]), 2)
    assert passes.pipeline_latency(out) > 0
    assert _caught(out, ir, latency=0)


def test_pipeline_refuses_zero_levels():
    ir = make_ir(ROWS[0], 6)
    with pytest.raises(HadamhwError, match="at least 1"):
        passes.pipeline_readout(sc.build(ir, "csd"), 0)
