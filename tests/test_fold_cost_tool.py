"""tools/fold_cost.py: the table and the run records it writes from the reports."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest

from tests.tool_module import load_tool


def _report(family: str, fmax: float | None, status: str) -> dict:
    util = {"TRELLIS_COMB": {"used": 3456, "available": 24288},
            "DP16KD": {"used": 7, "available": 56}} if status == "routed" else {}
    return {
        "family": family, "mul_cells": 0, "yosys": "Yosys 0.70",
        "analytical": {"cycles_per_step": 448, "latency_cycles": 464,
                       "fold_plan": {"ram_bits": 40000, "rom_bits": 6208}},
        "total": {"lut_equivalents": 2910, "ffs": 957, "dsp": 0},
        "pnr": {"status": status, "device": "LFE5U-25F", "fmax_mhz": fmax,
                "utilization": util, "log": "/somewhere/nextpnr.log"},
        "sweep": {"config": "copy", "units": 1, "device": "25k", "steps_per_sequence": 1000,
                  "command": "hadamhw report …", "uptime_before": "load 1.0"},
    }


def test_table_and_records(tmp_path, capsys):
    tool = load_tool("fold_cost")
    (tmp_path / "copy-F1-ecp5.json").write_text(json.dumps(_report("ecp5", 51.58, "routed")))
    records = tmp_path / "records.json"
    tool.table(Namespace(out=str(tmp_path), json=str(records)))
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| copy")]
    # 448 cycles × 1000 steps / 51.58 MHz = 8.69 ms a sequence, 115.1 a second
    assert row == ["| copy | 1 | LFE5U-25F | 3,456 / 24,288 | 2,910 | 957 | 7 / 56 | 46,208 "
                   "| 0 / 0 | 51.6 | 448 | 8.7 ms | 115.1 |"]
    (rec,) = json.loads(records.read_text())
    assert rec["file"] == "copy-F1-ecp5.json" and rec["cycles_per_step"] == 448
    assert rec["sweep"]["uptime_before"] == "load 1.0" and "log" not in rec["pnr"]


def test_a_design_that_does_not_fit_has_no_rate(tmp_path, capsys):
    tool = load_tool("fold_cost")
    (tmp_path / "copy-F1-ice40.json").write_text(
        json.dumps(_report("ice40", None, "does not fit: 10478 LUTs")))
    tool.table(Namespace(out=str(tmp_path), json=None))
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| copy")]
    assert row == ["| copy | 1 | LFE5U-25F | does not fit: 10478 LUTs | 2,910 | 957 | — "
                   "| 46,208 | 0 / 0 | — | 448 | — | — |"]


def test_choices_name_the_run_and_mark_the_row(tmp_path, capsys):
    """A run with the abc mapper, router2 and the static placer is named apart and its row
    says so; the parallel core sorts after every number of units; a half-written report is
    left out with a message, not a traceback."""
    tool = load_tool("fold_cost")
    args = Namespace(lut_mapper="abc", router="router2", placer="static", freq=30.0)
    assert tool.run_suffix(args) == "-abc-router2-static"
    assert tool.report_options(args) == ["--freq", "30", "--lut-mapper", "abc", "--router",
                                         "router2", "--placer", "static"]
    assert tool.run_suffix(Namespace(lut_mapper=None, router=None, placer=None)) == ""
    assert tool.fold_units("half", 128) == 64 and tool.fold_units("parallel", 128) == "parallel"
    assert tool.fold_units("4", 128) == 4
    with pytest.raises(SystemExit, match="--folds 'all'"):
        tool.fold_units("all", 128)
    routed = _report("ecp5", 15.2, "routed")
    routed["lut_mapper"] = "abc"
    routed["pnr"].update(router="router2", placer="static")
    routed["sweep"]["units"] = 64
    (tmp_path / "copy-F64-ecp5-abc-router2-static.json").write_text(json.dumps(routed))
    parallel = _report("ecp5", None, "failed: not routed")
    parallel["sweep"]["units"] = "parallel"
    (tmp_path / "copy-Fparallel-ecp5.json").write_text(json.dumps(parallel))
    (tmp_path / "copy-F1-ecp5.json").write_text(json.dumps(_report("ecp5", 51.58, "routed")))
    (tmp_path / "copy-F16-ecp5.json").write_text("")  # a run killed while writing
    tool.table(Namespace(out=str(tmp_path), json=None))
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.startswith("| copy")]
    assert [r.split("|")[2].strip() for r in rows] == ["1", "64", "parallel"]
    assert "| LFE5U-25F (abc, static, router2) |" in rows[1]
    assert "| LFE5U-25F |" in rows[0]
    assert "copy-F16-ecp5.json: not a finished run's report, left out" in captured.err


def test_a_design_whose_rtl_changed_is_measured_again(tmp_path, capsys):
    """The sweep generates each design again: the same RTL keeps its reports; other RTL (a
    generator change) moves that design's reports, and only that design's, to OUT/stale/."""
    import numpy as np

    from hadamhw.ir.random import random_ir

    tool = load_tool("fold_cost")
    ir_path = tmp_path / "toy.ir.json"
    random_ir(np.random.default_rng(3), 8, 4, state_bits=8).save(ir_path)
    design, out = tmp_path / "toy-F1", tmp_path
    hdl = tool.design_for(str(ir_path), 1, design)  # a first run
    names = json.loads((design / "manifest.json").read_text())["hdl_files"]
    assert names == list(hdl) and all((design / name).is_file() for name in names)
    assert tool.design_for(str(ir_path), 1, design) == hdl  # generated again: the same RTL
    older = {**hdl, names[0]: hdl[names[0]] + b"// older generator\n"}
    cache = tool.reports(out)
    runs = ("toy-F1-ecp5", "toy-F1-ice40-abc")
    for run in runs:  # measured on the RTL an older generator made
        cache.store(run, tool.run_key(older, run), _report("ecp5", 51.58, "routed"))
    cache.store("toy-F16-ecp5", "other design", _report("ecp5", 51.58, "routed"))
    cache.store("toy-F1-ice40", tool.run_key(hdl, "toy-F1-ice40"), _report("ice40", 20, "x"))
    assert cache.lookup("toy-F1-ice40", tool.run_key(hdl, "toy-F1-ice40")) is not None
    assert all(cache.lookup(run, tool.run_key(hdl, run)) is None for run in runs)
    with pytest.raises(RuntimeError, match="generate toy-F2 failed"):
        tool.design_for(str(tmp_path / "missing.ir.json"), 2, tmp_path / "toy-F2")
    assert sorted(p.name for p in (out / "stale").iterdir()) == ["toy-F1-ecp5.json",
                                                                  "toy-F1-ice40-abc.json"]
    assert (out / "toy-F16-ecp5.json").is_file() and (out / "toy-F1-ice40.json").is_file()
    assert "toy-F1-ecp5.json: measured RTL that the generator no longer makes" in \
        capsys.readouterr().err
