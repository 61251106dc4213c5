"""tools/demo_summary.py: the demo's closing table, from the steps' JSON outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.tool_module import load_tool


@pytest.fixture(scope="module")
def summary():
    return load_tool("demo_summary")


def _files(tmp_path: Path, *, batch_ok: bool = True) -> list[str]:
    evaluation = {"task": "copy", "split": "test", "sequences": 2000, "steps": 30,
                  "float": {"accuracy": 1.0, "recall_accuracy": 0.995},
                  "integer": {"accuracy": 0.999, "recall_accuracy": 0.99,
                              "saturation_rate": 0.0},
                  "state_bits": 12, "argmax_agreement": 0.9985}
    sim = {"simulator": "verilator-cocotb", "steps": 300, "outputs_checked": 5000,
           "mismatches": 0, "first_mismatch": None, "bit_exact": True}
    batch = {"simulator": "verilator-batch", "steps": 60000, "outputs_checked": 600000,
             "steps_per_second": 123456.7,
             "mismatches": 0 if batch_ok else 3,
             "first_mismatch": None if batch_ok else "sequence 1, step 2, output 0: x",
             "bit_exact": batch_ok}
    total = {"luts": 1234, "lut_equivalents": 1500, "ffs": 400, "carry": 133, "dsp": 0}
    report = {"family": "ice40", "total": total, "mul_cells": 0,
              "pnr": {"status": "routed", "device": "iCE40UP5K", "fmax_mhz": 41.27,
                      "steps_per_second": 41.27e6}}
    design = tmp_path / "rtl"
    design.mkdir()
    (design / "manifest.json").write_text(json.dumps(
        {"hidden_size": 32, "block_size": 32, "mode": "linear", "readout": "every",
         "fold": "parallel", "cycles_per_step": 1}))
    paths = []
    for name, data in (("eval", evaluation), ("cocotb", sim), ("batch", batch),
                       ("report", report)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        paths += [f"--{name}", str(path)]
    return [*paths, "--design", str(design)]


def test_table_holds_every_claim(summary, tmp_path, capsys):
    assert summary.main([*_files(tmp_path), "--seconds", "251"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert set(lines[0]) == set(lines[-1]) == {"-"}
    table = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines[1:-1])
    assert table["design"].startswith("n = 32, m = 32, linear, readout every")
    assert table["task"] == "copy test: 2,000 sequences x 30 steps"
    assert table["float model"] == "accuracy 100.00 %, recall 99.50 %"
    assert table["integer model (12-bit state)"] == "accuracy 99.90 %, recall 99.00 %"
    assert table["argmax agreement float vs integer"] == "99.85 %"
    assert table["cocotb + cocotbext-axi (verilator-cocotb)"] == (
        "5,000 outputs compared over 300 steps, 0 mismatches (bit-exact)")
    assert table["Verilator batch harness (verilator-batch)"].startswith(
        "600,000 outputs compared over 60,000 steps, 0 mismatches")
    assert table["LUTs / FFs (ice40, Yosys)"] == (
        "1,234 LUTs (1,500 LUT eq. with carry), 400 FFs, 133 carry cells")
    assert table["multipliers"] == "0 $mul cells, 0 DSP"
    assert table["Fmax (nextpnr, iCE40UP5K)"] == "41.3 MHz"
    assert table["time steps per second at Fmax"] == "41.3 M"
    assert table["simulation speed (Verilator harness)"] == "123,457 time steps/s"
    assert table["demo wall time"] == "4.2 min"


def test_an_unplaced_report_says_so(summary):
    report = {"family": "generic", "mul_cells": 0, "pnr": None,
              "total": {"luts": 10, "lut_equivalents": 10, "ffs": 2, "carry": 0, "dsp": 0}}
    table = dict(summary.rows(None, None, None, report, None))
    assert table["Fmax, time steps per second"].startswith("not placed here")


def test_a_mismatch_fails_the_demo(summary, tmp_path, capsys):
    assert summary.main(_files(tmp_path, batch_ok=False)) == 1
    assert "3 mismatches (NOT bit-exact; first: sequence 1" in capsys.readouterr().out


def test_missing_file_is_a_one_line_error(summary, tmp_path):
    with pytest.raises(SystemExit, match="no such file"):
        summary.main(["--eval", str(tmp_path / "nope.json")])
