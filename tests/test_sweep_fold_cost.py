"""The fold_cost sweep (examples/sweeps/fold_cost.toml): the area-against-time table drawn
from its trials, with the analytic columns (vector + table bits, cycles per step, time per
sequence) from each trial's manifest and its placed clock."""

from __future__ import annotations

import json
import textwrap

import pytest

from hadamhw.report.sweep.store import SweepStore
from hadamhw.report.sweep.views import render_table


def _trial(family: str, fmax: float | None, status: str, fold=1) -> dict:
    """A finished trial's row as the store gives it (its record: trial.measure's)."""
    util = {"TRELLIS_COMB": {"used": 3456, "available": 24288},
            "DP16KD": {"used": 7, "available": 56}} if status == "routed" else {}
    record = {"family": family, "mul_cells": 0, "lut_mapper": "abc9",
              "analytical": {"cycles_per_step": 448, "latency_cycles": 464},
              "fold_plan": {"ram_bits": 40000, "rom_bits": 6208},
              "total": {"lut_equivalents": 2910, "ffs": 957, "dsp": 0},
              "pnr": {"status": status, "device": "LFE5U-25F", "fmax_mhz": fmax,
                      "utilization": util}}
    params = {"model": {"name": "copy", "steps": 1000}, "generate": {"fold": fold},
              "fpga": {"family": family, "device": "25k"}}
    return {"status": "ok", "record": record, "params": params}


def _lines(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("| copy")]


def test_time_per_sequence_from_cycles_steps_and_fmax():
    rows = _lines(render_table("fold_cost", [_trial("ecp5", 51.58, "routed")]))
    # 448 cycles × 1000 steps / 51.58 MHz = 8.69 ms a sequence, 115.1 a second
    assert rows == ["| copy | 1 | LFE5U-25F | 3,456 / 24,288 | 2,910 | 957 | 7 / 56 | 46,208 "
                    "| 0 / 0 | 51.6 | 448 | 8.7 ms | 115.1 |"]


def test_a_design_that_does_not_fit_has_no_rate():
    rows = _lines(render_table("fold_cost", [_trial("ice40", None, "does not fit: 10478 LUTs")]))
    assert rows == ["| copy | 1 | LFE5U-25F | does not fit: 10478 LUTs | 2,910 | 957 | — "
                    "| 46,208 | 0 / 0 | — | 448 | — | — |"]


def test_choices_mark_the_row_and_failed_trials_are_left_out():
    routed = _trial("ecp5", 15.2, "routed", fold="stage")
    routed["record"]["lut_mapper"] = "abc"
    routed["record"]["pnr"].update(router="router2", placer="static")
    failed = {**_trial("ecp5", None, "x"), "status": "timeout"}
    rows = _lines(render_table("fold_cost", [_trial("ecp5", 51.58, "routed"), routed, failed]))
    assert [r.split("|")[2].strip() for r in rows] == ["1", "stage"]
    assert "| LFE5U-25F (abc, static, router2) |" in rows[1]
    assert "| LFE5U-25F |" in rows[0]


SPEC = """\
[sweep]
name = "fold_cost"
table = "fold_cost"
[[models]]
name = "copy"
random = { n = 8, m = 4, input_size = 1, output_size = 2 }
steps = 100
[fpga]
family = "generic"
timeout = 600
[grid]
fold = [1, 2]
"""


@pytest.mark.synth
def test_a_sweep_of_folds_gives_the_manifests_analytic_columns(tmp_path):
    """Two folds of a random n = 8 IR, generic synthesis: each row's bits and cycles are
    its own design's manifest's; more butterfly units take fewer cycles a step."""
    from hadamhw.api import sweep

    spec = tmp_path / "fold.toml"
    spec.write_text(textwrap.dedent(SPEC))
    summary = sweep(spec, tmp_path / "results")
    assert (summary.ran, summary.failed) == (2, 0)
    store = SweepStore(tmp_path / "results", create=False)
    trials = store.rows()
    store.close()
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in _lines(render_table("fold_cost", trials))]
    assert [r[1] for r in rows] == ["1", "2"]
    for row, trial in zip(rows, trials, strict=True):
        folder = tmp_path / "results" / "trials"
        manifests = [json.loads(p.read_text()) for p in folder.glob("*/rtl/manifest.json")]
        manifest = next(m for m in manifests if m["fold"] == trial["params"]["generate"]["fold"])
        plan = manifest["fold_plan"]
        assert row[7] == f"{plan['ram_bits'] + plan['rom_bits']:,}"
        assert row[10] == f"{manifest['cycles_per_step']:,}" == f"{trial['cycles_per_step']:,}"
        assert row[3] == "not placed" and row[11] == "—"  # no clock: no time a sequence
    assert int(rows[0][10]) > int(rows[1][10])
