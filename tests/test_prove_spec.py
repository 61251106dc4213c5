"""The formal spec (hadamhw.prove.spec) equals the golden model: over the pairwise set of IR
options, the generated design's own self-checking test bench (the golden model's expected
beats) runs against the spec in Icarus instead of the design. A broken spec fails it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.prove import spec
from tests.test_netlist import PAIRWISE, make_ir

pytestmark = [pytest.mark.sim, pytest.mark.needs("icarus")]


def _spec_runs_tb(ir, cmvm: str, folder: Path) -> str:
    """Write the design's test bench and vectors with the spec as the top; Icarus's output."""
    files = vg.render(ir, GenerateOptions(cmvm=cmvm))
    for name in ("hadamrnn_tb.v", "hadamrnn_tb_in.hex", "hadamrnn_tb_expect.hex"):
        (folder / name).write_text(files[name])
    (folder / "spec.v").write_text(spec.render_spec(ir, "hadamrnn"))
    subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", "spec.v", "hadamrnn_tb.v"],
                   cwd=folder, check=True, capture_output=True)
    run = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=folder, capture_output=True, text=True)
    return run.stdout


def row_id(row: dict) -> str:
    return "-".join(str(v) for v in row.values())


@pytest.mark.parametrize("row", PAIRWISE, ids=row_id)
def test_spec_equals_golden(row, tmp_path):
    ir = make_ir(row, PAIRWISE.index(row))
    out = _spec_runs_tb(ir, row["cmvm"], tmp_path)
    assert "PASS" in out and "FAIL" not in out, out[-500:]


def test_pairwise_set_covers_the_spec_options():
    seen = {(r["input"], r["mode"], r["readout"], r["output_bits"] is None, r["blocks"],
             r["parity"]) for r in PAIRWISE}
    for i, name in enumerate(("input", "mode", "readout", "requant", "blocks", "parity")):
        assert len({s[i] for s in seen}) == 2, name


def test_a_wrong_spec_fails_the_golden_comparison(tmp_path, monkeypatch):
    """The comparison can fail: a spec whose rotation forgets the sign flip."""
    row = PAIRWISE[0]
    ir = make_ir(row, 0)
    monkeypatch.setattr(spec, "rotate_row", lambda ir_, i: f"sp_f{ir_.k}_{i}")
    assert "FAIL" in _spec_runs_tb(ir, row["cmvm"], tmp_path)
