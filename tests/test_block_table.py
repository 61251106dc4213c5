"""tools/block_table.py: phases run apart, models come from --models, the table renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tool_module import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("block_table")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A copy-task Block-HadamRNN (n = 16, m = 4) where the tool expects it."""
    from hadamhw.cli import main

    models = tmp_path_factory.mktemp("block-models")
    assert main(["train", "--task", "copy", "--seq-len", "4", "--hidden", "16",
                 "--block-size", "4", "--steps", "4", "--batch-size", "8", "--val-every", "2",
                 "--no-progress", "-o", str(models / "copy_n16_m4.pt")]) == 0
    return models


@pytest.mark.parametrize("argv,message", [
    (["--phases", "train,plot"], "unknown phase 'plot'"),
    (["--blocks", "4,6"], "power of two dividing n = 128"),
    (["--tasks", "imdb"], "choose from copy, digits"),
])
def test_bad_arguments(tool, capsys, argv, message):
    with pytest.raises(SystemExit):
        tool.parse_args(argv)
    assert message in capsys.readouterr().err


def test_render_marks_missing_numbers(tool):
    results = {"copy_n128_m4": {"eval": {"float": 1.0, "integer": 0.995,
                                         "argmax_agreement": 0.999,
                                         "float_ce_over_baseline": 0.0012,
                                         "integer_ce_over_baseline": 0.0013},
                                "hw": {"core_luts": 1234, "whole_luts": 5678}},
               "digits_n128_m4": {"hw": {"whole_luts": 10, "rtl_sha256": "a",
                                         "whole_luts_abc": 9, "rtl_sha256_abc": "b"}},
               "digits_n128_m16": {"hw": {"whole_luts": 20, "rtl_sha256": "c",
                                          "whole_luts_abc": 19, "rtl_sha256_abc": "c"}}}
    table = tool.render(results, ["copy", "digits"], [4, 16], 128, 12).splitlines()
    assert table[2] == ("| copy | 4 | 0.0312 | 512 | 128 | 100.00% | 99.50% (CE 0.0012 / "
                        "0.0013 x baseline) | 99.900% | 1,234 | 5,678 | – |")
    assert table[3] == "| copy | 16 | 0.125 | 2,048 | 128 | – | – | – | – | – | – |"
    # measured on different RTL by the two mappers: both marked
    assert table[4].endswith("| – | – | – | – | 10 † | 9 † |")
    assert table[5].endswith("| – | – | – | – | 20 | 19 |")


def test_eval_phase_reads_trained_models_only(tool, tiny_model, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--models", str(tiny_model), "--out", str(out), "--phases", "eval", "--tasks",
            "copy", "--blocks", "4", "--hidden", "16", "--markdown", str(tmp_path / "t.md")]
    assert tool.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    entry = results["copy_n16_m4"]
    assert set(entry) == {"eval"}  # neither trained nor synthesized
    assert 0 <= entry["eval"]["integer"] <= 1 and (out / "copy_n16_m4.ir.json").is_file()
    assert "| copy | 4 | 0.25 | 64 | 16 |" in (tmp_path / "t.md").read_text()
    missing = ["--models", str(tmp_path / "empty"), "--phases", "eval", "--tasks", "copy",
               "--blocks", "4", "--hidden", "16"]
    with pytest.raises(SystemExit, match="no trained model"):
        tool.main(missing)


def test_hardware_phase_reads_core_and_whole_design(tool, tiny_model, tmp_path,
                                                    monkeypatch):
    """The hw phase generates the design and takes the core's and the whole design's LUT
    equivalents from the report (Yosys itself is exercised by the report tests; here its
    report is stood in for, to keep this test fast)."""
    import hadamhw.report

    seen = {}

    def fake_report(folder, family, **kwargs):
        seen["folder"], seen["family"] = Path(folder), family
        seen["lut_mapper"] = kwargs["lut_mapper"]
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        assert manifest["hidden_size"] == 16 and manifest["block_size"] == 4
        return {"modules": [{"name": "hadamrnn", "total": {"lut_equivalents": 900}},
                            {"name": "hadamrnn_rotate", "total": {"lut_equivalents": 120}}],
                "total": {"lut_equivalents": 900, "ffs": 300}, "mul_cells": 0,
                "seconds": {"synth": 1.5}, "yosys": "Yosys test"}

    monkeypatch.setattr(hadamhw.report, "make_report", fake_report)
    out = tmp_path / "out"
    common = ["--models", str(tiny_model), "--out", str(out), "--tasks", "copy", "--blocks",
              "4", "--hidden", "16", "--quiet"]
    with pytest.raises(SystemExit, match="no IR"):
        tool.main([*common, "--phases", "hw"])
    assert tool.main([*common, "--phases", "eval"]) == 0
    assert tool.main([*common, "--phases", "hw"]) == 0
    assert (seen["folder"], seen["family"]) == (out / "copy_n16_m4_rtl", "ecp5")
    entry = json.loads((out / "results.json").read_text())["copy_n16_m4"]
    assert set(entry) == {"eval", "hw"}  # the eval results survive the later hw run
    hw = entry["hw"]
    assert (hw["core_luts"], hw["whole_luts"], hw["whole_ffs"]) == (120, 900, 300)
    assert hw["adders_recurrent"] == 16 * 2  # n log2 m butterflies
    assert seen["lut_mapper"] == "abc9" and len(hw["rtl_sha256"]) == 64
    # abc: a column of its own; the abc9 numbers and the (abc9) core stay
    assert tool.main([*common, "--phases", "hw", "--lut-mapper", "abc"]) == 0
    assert seen["lut_mapper"] == "abc"
    hw = json.loads((out / "results.json").read_text())["copy_n16_m4"]["hw"]
    assert (hw["core_luts"], hw["whole_luts"], hw["whole_luts_abc"]) == (120, 900, 900)
    assert hw["synth_seconds_abc"] == 1.5 and hw["rtl_sha256_abc"] == hw["rtl_sha256"]


def test_cores_only_synthesizes_the_rotate_module(tool, tiny_model, tmp_path, monkeypatch):
    import hadamhw.report.synth as synth

    seen = {}

    def fake_synthesize(design, family, build, **kwargs):
        seen.update(top=design.top, files=[p.name for p in design.hdl_files], family=family,
                    ports=design.manifest["ports"])
        return synth.SynthResult(design="core", top=design.top, family=family, modules=[],
                                 total=synth.Resources(lut_equivalents=77))

    monkeypatch.setattr(synth, "synthesize", fake_synthesize)
    out = tmp_path / "out"
    common = ["--models", str(tiny_model), "--out", str(out), "--tasks", "copy", "--blocks",
              "4", "--hidden", "16", "--quiet"]
    assert tool.main([*common, "--phases", "eval,hw", "--cores-only"]) == 0
    assert seen["top"] == "hadamrnn_rotate" and seen["files"] == ["hadamrnn_rotate.v"]
    assert seen["ports"][0] == {"name": "h", "direction": "input", "width": 16 * 12}
    hw = json.loads((out / "results.json").read_text())["copy_n16_m4"]["hw"]
    assert hw["core_luts"] == 77 and "whole_luts" not in hw


def test_markdown_replaces_only_the_marked_table(tool, tmp_path):
    doc = tmp_path / "results.md"
    doc.write_text(f"# Results\n\nbefore\n{tool.BEGIN}\nold table\n{tool.END}\nafter\n")
    tool.write_markdown(doc, "| new |\n")
    assert doc.read_text() == f"# Results\n\nbefore\n{tool.BEGIN}\n| new |\n{tool.END}\nafter\n"
    plain = tmp_path / "table.md"
    tool.write_markdown(plain, "| new |\n")
    assert plain.read_text() == "| new |\n"
