"""tools/pnr_streams.py: the table over cached rows, with the Fmax of each nextpnr seed."""

from __future__ import annotations

import json

from hadamhw.api import generate
from hadamhw.report.sweep import design_hdl
from tests.tool_module import load_tool


def _cache(tool, out, row: dict, edit=None) -> None:
    """A cached row beside the RTL the tool's generator makes for it, keyed by that RTL's
    digest; edit(text) changes the top module first (a row of other RTL is stale)."""
    folder = out / row["config"]
    options = tool.design_options(row["streams_option"], row["target_mhz"])
    generate(tool.design_ir(row["n"], row["m"], 0), folder / "rtl", **options)
    if edit is not None:
        rtl = folder / "rtl" / "hadamrnn.v"
        rtl.write_text(edit(rtl.read_text()))
    key = tool.row_key(row["config"], design_hdl(folder / "rtl"))
    tool.cache(out).store(row["config"], key, row)


def _row(config: str, n: int, fmax: float, by_seed: dict | None = None) -> dict:
    row = {"config": config, "n": n, "m": n, "streams_option": "auto", "target_mhz": 200.0,
           "streams": 8, "loop_depth": 8, "cycles_per_step": 1,
           "cycles_per_step_per_stream": 8, "latency_cycles": 30,
           "estimated_fmax_mhz": 198.8, "lut_equivalents": 3628, "luts": 1000, "carry": 1314,
           "ffs": 4299, "memory_bits": 1536, "mul_cells": 0, "ram_cells": {},
           "pnr_status": "routed", "device": "LFE5U-25F", "fmax_mhz": fmax,
           "steps_per_second": fmax * 1e6, "seconds": 95.6, "uptime_at_end": "load 2"}
    if by_seed is not None:
        row["fmax_by_seed"] = by_seed
    return row


def test_target_judged_by_the_best_seed(tmp_path, capsys):
    tool = load_tool("pnr_streams")
    _cache(tool, tmp_path,
           _row("n16-m16-Pauto-200MHz", 16, 197.9, {"1": 197.9, "2": 203.4, "3": None}))
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{tool.MARK_BEGIN}\nold\n{tool.MARK_END}\nafter\n")
    assert tool.main(["--out", str(tmp_path), "--configs", "16:16", "--streams", "auto",
                      "--seeds", "1,2,3", "--cached-only", "--markdown", str(doc)]) == 0
    text = doc.read_text()
    assert "old" not in text and text.startswith("before\n") and text.endswith("after\n")
    line = next(ln for ln in text.splitlines() if ln.startswith("| 16 | 16 |"))
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    assert cells[12] == "197.9 (1), 203.4 (2), – (3)"
    assert cells[13] == "203.4"  # million steps per second at the best seed's Fmax
    assert cells[14] == "yes (seed 2)"
    capsys.readouterr()


def test_one_seed_below_the_goal_is_not_met(tmp_path, capsys):
    tool = load_tool("pnr_streams")
    _cache(tool, tmp_path, {**_row("n64-m64-Pauto-150MHz", 64, 146.35), "target_mhz": 150.0})
    assert tool.main(["--out", str(tmp_path), "--configs", "64:64", "--streams", "auto",
                      "--cached-only"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("| 64 | 64 |"))
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    assert cells[12] == "146.3 (1)" or cells[12] == "146.4 (1)"
    assert cells[14] == "no"


def test_bad_seed_list_is_a_one_line_error(tmp_path, capsys):
    tool = load_tool("pnr_streams")
    assert tool.main(["--out", str(tmp_path), "--seeds", "1,x", "--cached-only"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_synth_only_rows_show_the_cost_without_a_clock(tmp_path, capsys):
    tool = load_tool("pnr_streams")
    row = {**_row("n64-m4-P1", 64, 0.0), "m": 4, "streams_option": "1", "streams": 1,
           "fmax_mhz": None, "steps_per_second": None, "pnr_status": tool.NOT_PLACED,
           "device": None, "lut_equivalents": 11234}
    _cache(tool, tmp_path, row)
    assert tool.main(["--out", str(tmp_path), "--configs", "64:4", "--streams", "1",
                      "--seeds", "1,2", "--cached-only"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("| 64 | 4 |"))
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    assert cells[7] == "11,234" and cells[12] == "not placed" and cells[14] == "–"


def test_a_row_of_other_rtl_is_not_reused(tmp_path, capsys):
    """A cached report whose RTL differs from what the generator makes now (it changed
    since) is not shown as a measurement of this design."""
    tool = load_tool("pnr_streams")
    row = _row("n16-m16-Pauto-200MHz", 16, 197.9)
    _cache(tool, tmp_path, row, edit=lambda text: text.replace("out_fire", "out_fire_old"))
    assert tool.main(["--out", str(tmp_path), "--configs", "16:16", "--streams", "auto",
                      "--cached-only"]) == 0
    captured = capsys.readouterr()
    assert "other RTL" in captured.err
    line = next(ln for ln in captured.out.splitlines() if ln.startswith("| 16 | 16 |"))
    assert line.strip().endswith("not measured |")


def test_config_names_keep_router2_and_abc_rows_apart():
    tool = load_tool("pnr_streams")
    assert tool.config_name(16, 4, "1", 200.0, "router1", "abc9") == "n16-m4-P1"
    assert (tool.config_name(128, 128, "auto", 150.0, "router2", "abc")
            == "n128-m128-Pauto-150MHz-router2-abc")
    assert (tool.config_name(128, 128, "auto", 150.0, "router2", "abc", "static")
            == "n128-m128-Pauto-150MHz-router2-static-abc")
    assert tool.config_name(16, 4, "1", 200.0, "router1", "abc9", "heap") == "n16-m4-P1"


def test_an_abc_row_stands_in_where_the_default_row_is_missing(tmp_path, capsys):
    tool = load_tool("pnr_streams")
    row = {**_row("n16-m4-P1-abc", 16, 0.0), "m": 4, "streams_option": "1", "streams": 1,
           "fmax_mhz": None, "steps_per_second": None, "pnr_status": tool.NOT_PLACED,
           "device": None, "lut_equivalents": 3101, "lut_mapper": "abc"}
    _cache(tool, tmp_path, row)
    args = ["--out", str(tmp_path), "--configs", "16:4", "--streams", "1", "--cached-only"]
    assert tool.main(args) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("| 16 | 4 |"))
    assert [c.strip() for c in line.strip().strip("|").split("|")][7] == "3,101 (abc)"
    # the default mapper's own row, once there, is preferred
    _cache(tool, tmp_path, {**row, "config": "n16-m4-P1", "lut_equivalents": 3474,
                            "lut_mapper": "abc9"})
    assert tool.main(args) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("| 16 | 4 |"))
    assert [c.strip() for c in line.strip().strip("|").split("|")][7] == "3,474"
    # an abc row of other RTL does not stand in
    (tmp_path / "n16-m4-P1" / "report.json").unlink()
    _cache(tool, tmp_path, row, edit=lambda text: text + "// changed\n")
    assert tool.main(args) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("| 16 | 4 |"))
    assert line.strip().endswith("not measured |")


def test_synth_only_asks_for_no_router_and_passes_the_mapper(tmp_path, capsys, monkeypatch):
    """hadamhw report refuses --router without --pnr: a synth-only row must not pass one."""
    import hadamhw.report

    calls = []

    def fake_report(design, family, **kw):
        calls.append(kw)
        total = {"lut_equivalents": 3101, "luts": 1000, "carry": 1050, "ffs": 203,
                 "memory_bits": 1536, "other_types": {}}
        return {"total": total, "pnr": None, "mul_cells": 0}

    monkeypatch.setattr(hadamhw.report, "make_report", fake_report)
    tool = load_tool("pnr_streams")
    assert tool.main(["--out", str(tmp_path), "--configs", "16:4", "--streams", "1",
                      "--synth-only", "--lut-mapper", "abc"]) == 0
    assert len(calls) == 1
    assert calls[0]["pnr"] is False and calls[0]["router"] is None
    assert calls[0]["placer"] is None
    assert calls[0]["lut_mapper"] == "abc"
    row = json.loads((tmp_path / "n16-m4-P1-abc" / "report.json").read_text())
    assert row["lut_mapper"] == "abc" and row["pnr_status"] == tool.NOT_PLACED
    assert "| 3,101 (abc) |" in capsys.readouterr().out


def test_placer_and_router_reach_the_report_the_folder_and_the_table(tmp_path, capsys,
                                                                      monkeypatch):
    import hadamhw.report

    calls = []

    def fake_report(design, family, **kw):
        calls.append(kw)
        total = {"lut_equivalents": 3101, "luts": 1000, "carry": 1050, "ffs": 203,
                 "memory_bits": 1536, "other_types": {}}
        pnr = {"status": "routed", "fmax_mhz": 201.5, "device": "LFE5U-25F"}
        return {"total": total, "pnr": pnr, "mul_cells": 0}

    monkeypatch.setattr(hadamhw.report, "make_report", fake_report)
    tool = load_tool("pnr_streams")
    assert tool.main(["--out", str(tmp_path), "--configs", "16:4", "--streams", "1",
                      "--router", "router2", "--placer", "static"]) == 0
    assert calls[0]["pnr"] is True and calls[0]["router"] == "router2"
    assert calls[0]["placer"] == "static"
    row = json.loads((tmp_path / "n16-m4-P1-router2-static" / "report.json").read_text())
    assert row["placer"] == "static" and row["fmax_mhz"] == 201.5
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("| 16 | 4 |"))
    assert "201.5 (1), router2, static" in line


def test_other_seeds_run_where_seed_one_did_not_route(tmp_path, capsys, monkeypatch):
    """A row whose seed-1 placement did not route still has its other seeds placed (from its
    wrapped netlist); a row that was never placed has none; a seed's result joins the row."""
    from types import SimpleNamespace

    import hadamhw.report.pnr as pnr

    tool = load_tool("pnr_streams")
    calls = []

    def fake_place_again(pnr_dir, family, device, freq, seed, **options):
        calls.append((pnr_dir.parent.parent.name, device, seed, options))
        return SimpleNamespace(fmax_mhz=151.5, status="routed", seconds=4000.0)

    monkeypatch.setattr(pnr, "place_again", fake_place_again)
    failed = {**_row("n16-m16-Pauto-200MHz", 16, 0.0), "fmax_mhz": None,
              "steps_per_second": None, "pnr_status": "failed: LFE5U-25F: iter=14 overused=8027",
              "router": "router2", "placer": "static"}
    _cache(tool, tmp_path, failed)
    args = SimpleNamespace(out=tmp_path, cached_only=False, timeout=None)
    row = tool.run_seeds(failed, [1, 2], args)
    assert calls == [] and row["fmax_by_seed"] == {1: None}  # no wrapped netlist: not placed
    (tmp_path / failed["config"] / "build" / "pnr").mkdir(parents=True)
    (tmp_path / failed["config"] / "build" / "pnr" / "wrapped.json").write_text("{}")
    row = tool.run_seeds(failed, [1, 2], args)
    # seed 1 (the report's own run) is tried again only when asked for
    assert [c[2] for c in calls] == [1, 2]
    assert calls[1][:2] == ("n16-m16-Pauto-200MHz", "LFE5U-25F")
    assert calls[1][3] == {"timeout": None, "router": "router2", "placer": "static",
                           "reuse": True}
    assert row["fmax_by_seed"] == {1: 151.5, 2: 151.5}
    calls.clear()
    never = {**failed, "config": "n16-m4-Pauto-200MHz", "pnr_status": tool.NOT_PLACED}
    assert tool.run_seeds(never, [2], args)["fmax_by_seed"] == {1: None} and calls == []
    capsys.readouterr()
