"""The pnr_streams sweep (examples/sweeps/pnr_streams.toml): its trials, one a nextpnr seed,
merged into one table row a design, the Fmax of each seed side by side."""

from __future__ import annotations

from pathlib import Path

from hadamhw.report.sweep.spec import parse_spec
from hadamhw.report.sweep.streams import NOT_PLACED
from hadamhw.report.sweep.trial import run_trial
from hadamhw.report.sweep.views import render_table


def _spec(n: int, m: int, grid: dict, fpga: dict | None = None):
    data = {"sweep": {"name": "pnr_streams", "table": "pnr_streams"},
            "models": [{"name": f"n{n}_m{m}",
                        "random": {"n": n, "m": m, "input_size": 3, "output_size": 5},
                        "generate": {"target_mhz": 200.0}, "fpga": {"freq_mhz": 200.0}}],
            "fpga": {"family": "ecp5", "pnr": True, **(fpga or {})},
            "grid": {"variant": [{"streams": "auto", "pipeline": "auto"}], **grid}}
    return parse_spec(Path("pnr_streams.toml"), data)


def _record(fmax: float | None, **over) -> dict:
    return {"n": 16, "streams": 8, "loop_depth": 8, "cycles_per_step": 1,
            "latency_cycles": 30, "estimated_fmax_mhz": 198.8, "lut_equivalents": 3628,
            "ffs": 4299, "memory_bits": 1536, "mul_cells": 0, "pnr_status": "routed",
            "fmax_mhz": fmax, "lut_mapper": "abc9", **over}


def _rows(spec, records: list[dict]) -> list[dict]:
    """The spec's trials as finished rows of the store, with these records."""
    return [{"status": "ok", "record": record, "label": trial["label"],
             "params": {k: trial[k] for k in ("model", "generate", "fpga", "verify")}}
            for trial, record in zip(spec.trials(), records, strict=True)]


def _cells(table: str, start: str) -> list[str]:
    line = next(ln for ln in table.splitlines() if ln.startswith(start))
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_seeds_merge_and_the_target_is_judged_by_the_best_seed():
    spec = _spec(16, 16, {"pnr_seed": [1, 2, 3]})
    rows = _rows(spec, [_record(197.9), _record(203.4), _record(None, pnr_status="failed")])
    table = render_table("pnr_streams", rows)
    assert len([ln for ln in table.splitlines() if ln.startswith("| 16 |")]) == 1
    cells = _cells(table, "| 16 | 16 |")
    assert cells[2] == "8 (auto)" and cells[3] == "200"
    assert cells[12] == "197.9 (1), 203.4 (2), – (3)"
    assert cells[13] == "203.4"  # million steps per second at the best seed's Fmax
    assert cells[14] == "yes (seed 2)"


def test_one_seed_below_the_goal_is_not_met():
    spec = _spec(16, 16, {"pnr_seed": [1]})
    cells = _cells(render_table("pnr_streams", _rows(spec, [_record(146.35)])), "| 16 | 16 |")
    assert cells[12] in ("146.3 (1)", "146.4 (1)") and cells[14] == "no"


def test_unplaced_trials_show_the_cost_without_a_clock_and_their_mapper():
    spec = _spec(16, 4, {"pnr_seed": [1]}, {"pnr": False, "lut_mapper": "abc"})
    rows = _rows(spec, [_record(None, lut_equivalents=3101, lut_mapper="abc",
                                pnr_status=None)])
    cells = _cells(render_table("pnr_streams", rows), "| 16 | 4 |")
    assert cells[7] == "3,101 (abc)" and cells[12] == "not placed" and cells[14] == "–"
    assert rows[0]["record"]["pnr_status"] is None  # the view says why: not asked to place
    assert NOT_PLACED.startswith("not placed")


def test_placer_and_router_reach_the_report_and_the_table(tmp_path, monkeypatch):
    """A trial of the spec asks hadamhw report for its placer, router, seed and clock; its
    row names the choices beside the seed's Fmax."""
    import hadamhw.report

    calls = []

    def fake_report(design, family, **kw):
        calls.append(kw)
        total = {"lut_equivalents": 3101, "luts": 1000, "carry": 1050, "ffs": 203,
                 "memory_bits": 1536, "other_types": {}}
        pnr = {"status": "routed", "fmax_mhz": 201.5, "device": "LFE5U-25F"}
        return {"total": total, "pnr": pnr, "mul_cells": 0, "family": family,
                "lut_mapper": "abc9", "analytical": {}, "yosys": "Yosys", "top": "hadamrnn",
                "modules": []}

    monkeypatch.setattr(hadamhw.report, "make_report", fake_report)
    spec = _spec(16, 4, {"pnr_seed": [2]}, {"router": "router2", "placer": "static"})
    (trial,) = spec.trials()
    result = run_trial(trial, str(tmp_path))
    assert result["status"] == "ok", result["reason"]
    assert calls[0]["pnr"] is True and calls[0]["seed"] == 2 and calls[0]["freq_mhz"] == 200.0
    assert (calls[0]["router"], calls[0]["placer"]) == ("router2", "static")
    cells = _cells(render_table("pnr_streams", _rows(spec, [result["record"]])), "| 16 | 4 |")
    assert cells[12] == "201.5 (2), router2, static"
