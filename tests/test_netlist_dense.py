"""The dense baseline's netlist builder (hadamhw.netlist.dense): the evaluator equals the
golden model over the pairwise IR set, the IR widths hold, n (m - 1) adders in one tree
per row, a broken builder is caught, and `hadamhw generate --recurrent dense` prints it
(its rotate module printed from the netlist's row trees)."""

from __future__ import annotations

import json

import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.errors import HadamhwError
from hadamhw.netlist import dense
from hadamhw.netlist import single_cycle as sc
from hadamhw.netlist.check import check_ir_widths
from hadamhw.netlist.nodes import adders_by_group
from hadamhw.netlist.plan import requant_plan
from tests.test_netlist import PAIRWISE, golden_equal, make_ir

# The same IR options as the single-cycle builder's pairwise table.
ROWS = PAIRWISE


def _ids(row: dict) -> str:
    return "-".join(f"{v}" for v in row.values())


@pytest.mark.parametrize("row", ROWS, ids=_ids)
def test_dense_evaluator_equals_golden(row):
    seed = ROWS.index(row)
    ir = make_ir(row, seed)
    nl = dense.build(ir, row["cmvm"])
    assert check_ir_widths(nl, ir, {"requant_sum": requant_plan(ir).common}) > 0
    assert golden_equal(nl, ir, seed)


@pytest.mark.parametrize("row", ROWS[:4], ids=_ids)
def test_dense_spends_one_tree_per_row(row):
    """n (m - 1) rotation adders, m - 1 per row; every other section as the single-cycle
    builder's."""
    ir = make_ir(row, 0)
    n, m = ir.hidden_size, ir.block_size
    nl = dense.build(ir, row["cmvm"])
    have, single = adders_by_group(nl), adders_by_group(sc.build(ir, row["cmvm"]))
    assert have["recurrent"] == n * (m - 1)
    assert {k: v for k, v in have.items() if k != "recurrent"} == \
        {k: v for k, v in single.items() if k != "recurrent"}
    roots = nl.tags["rotated"]
    assert len(roots) == n and all(len(dense.row_cone(nl, r)) == m - 1 for r in roots)


def test_dense_rows_are_the_matrix():
    """Each root's affine form over h_cur is the row of W·sqrt(m)."""
    ir = make_ir(ROWS[0], 0)
    nl = dense.build(ir, "csd")
    w = dense.dense_matrix(ir)
    h_cur = nl.tags["h_cur"]
    for i, root in enumerate(nl.tags["rotated"]):
        coef, const = nl.forms[root]
        assert const == 0
        assert [coef.get(h, 0) for h in h_cur] == w[i].tolist()


def test_dense_evaluator_sees_a_wrong_tree(monkeypatch):
    """The comparison can fail: a row tree that drops the polarity of its negative terms."""
    row = ROWS[0]
    ir = make_ir(row, 0)
    real = dense._Part

    def positive(node, negative):
        return real(node, False)

    monkeypatch.setattr(dense, "_Part", positive)
    assert not golden_equal(dense.build(ir, row["cmvm"]), ir, 0)


def test_dense_width_check_catches_a_narrow_root():
    ir = make_ir(ROWS[0], 0)
    nl = dense.build(ir, "csd")
    nl.tags["fwht[0]"] = nl.tags["rotated"]  # a root holds more than one stage's bits
    with pytest.raises(HadamhwError, match="fwht"):
        check_ir_widths(nl, ir)


@pytest.mark.parametrize("row", ROWS[:6], ids=_ids)
def test_generate_prints_the_dense_netlist(row):
    """The manifest's adder counts are the netlist's; the rotate module has one instance
    per row, and the top module is the single-cycle top with the same sections."""
    ir = make_ir(row, 1)
    files = vg.render(ir, GenerateOptions(recurrent="dense", cmvm=row["cmvm"]))
    man = json.loads(files["manifest.json"])
    have = adders_by_group(dense.build(ir, row["cmvm"]))
    assert man["adders_per_step"] == {"input": 0, **have, "total": sum(have.values())}
    fwht = vg.render(ir, GenerateOptions(cmvm=row["cmvm"]))
    assert files["hadamrnn.v"].replace("dense", "fwht") == fwht["hadamrnn.v"]
    assert files["hadamrnn_rotate.v"].count(" u_row") == ir.hidden_size


# -- registers by purpose ------------------------------------------------------------------
def test_register_bits_by_purpose():
    """State n·Bs, control the `fresh` flag; a pipelined readout adds pipeline bits only;
    the manifest states the same counts."""
    from hadamhw.netlist import passes
    from hadamhw.netlist.nodes import register_bits

    ir = make_ir(ROWS[1], 1)
    for nl in (dense.build(ir, "csd"), sc.build(ir, "csd")):
        assert register_bits(nl) == {"state": ir.hidden_size * ir.widths.state,
                                     "pipeline": 0, "control": 1}
    piped = register_bits(passes.pipeline_readout(sc.build(ir, "csd"), 1))
    assert piped["pipeline"] > 0 and piped["state"] == ir.hidden_size * ir.widths.state
    for rec in ("fwht", "dense"):
        man = json.loads(vg.render(ir, GenerateOptions(recurrent=rec, cmvm="csd"))[
            "manifest.json"])
        assert man["register_bits"] == {**register_bits(dense.build(ir, "csd")),
                                        "total": ir.hidden_size * ir.widths.state + 1}


def test_register_without_a_purpose_is_refused():
    from dataclasses import replace

    from hadamhw.netlist.nodes import register_bits

    nl = dense.build(make_ir(ROWS[0], 0), "csd")
    first = nl.registers()[0]
    nl.nodes[first] = replace(nl[first], purpose="")
    with pytest.raises(HadamhwError, match="purpose"):
        register_bits(nl)
