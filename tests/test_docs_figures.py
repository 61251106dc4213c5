"""README.md's measured figures are rendered from docs/measured.json (hadamhw.report.figures)."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from hadamhw.errors import HadamhwError
from hadamhw.report import figures
from tests.tool_module import load_tool

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RECORD = ROOT / "docs" / "measured.json"
# Measured quantities that may stand in README prose only inside a rendered block.
MEASURED = re.compile(r"\d[\d,.]*\s*(MHz|min\b|ms\b|s\b|s\)|×|steps/s|tests in)")


@pytest.fixture(scope="module")
def record() -> dict:
    return figures.load_record(RECORD)


@pytest.mark.parametrize("doc", ["docs/results.md", "docs/hardware-cost.md"])
def test_docs_headlines_are_rendered_from_the_record(record, doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert figures.blocks(text, doc)
    assert figures.stale_blocks(text, record, doc) == []


def test_readme_blocks_are_rendered_from_the_record(record):
    text = README.read_text(encoding="utf-8")
    names = [name for name, _, _ in figures.blocks(text, "README.md")]
    assert {"tests", "demo", "tool_times", "train_speed", "contract", "highlights",
            "hardware"} <= set(names)
    assert figures.stale_blocks(text, record, "README.md") == []


def test_every_figure_has_its_command_and_is_used(record):
    text = README.read_text(encoding="utf-8")
    for name, fig in record["figures"].items():
        assert fig["command"].strip() and fig["load"].strip(), name
    used = " ".join((ROOT / "templates" / "docs" / f"{b}.md.j2").read_text()
                    for b, _, _ in figures.blocks(text, "README.md"))
    assert [n for n in record["figures"] if f"f.{n}" not in used
            and f"at.{n}" not in used] == []


def test_no_measured_figure_outside_the_rendered_blocks():
    text = README.read_text(encoding="utf-8")
    outside, pos = [], 0
    for _, start, end in figures.blocks(text, "README.md"):
        outside.append(text[pos:start])
        pos = end
    outside.append(text[pos:])
    prose = [ln for ln in "".join(outside).splitlines() if not ln.startswith(("|", "hadamhw "))]
    assert [ln for ln in prose if MEASURED.search(ln)] == []


def test_a_changed_figure_makes_the_readme_stale(record):
    changed = copy.deepcopy(record)
    changed["figures"]["streams_n16"]["value"]["m4_mhz"] = 210.5
    text = README.read_text(encoding="utf-8")
    assert figures.stale_blocks(text, changed, "README.md") == ["hardware"]
    assert "210.5 MHz" in figures.render_document(text, changed, "README.md")


def test_contract_follows_the_lowering_defaults(record, monkeypatch):
    import dataclasses

    from hadamhw.ir import lower

    assert "--rotate-digits 5" in figures.render_block("contract", record)
    other = dataclasses.make_dataclass("Settings", [("rotate_digits", int, 7)],
                                       bases=(lower.LoweringSettings,))
    monkeypatch.setattr(lower, "LoweringSettings", other)
    assert "--rotate-digits 7" in figures.render_block("contract", record)


def test_a_figure_without_command_is_refused(tmp_path, record):
    bad = copy.deepcopy(record)
    del bad["figures"]["make_test"]["command"]
    path = tmp_path / "measured.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(HadamhwError, match=r"figures\.make_test\.command': is missing"):
        figures.load_record(path)
    bad["figures"]["make_test"]["command"] = "  "
    path.write_text(json.dumps(bad))
    with pytest.raises(HadamhwError, match="make_test.command"):
        figures.load_record(path)


def test_a_template_naming_a_missing_figure_fails_in_one_line(tmp_path, record):
    (tmp_path / "broken.md.j2").write_text("{{ f.no_such_figure.value }}\n")
    with pytest.raises(HadamhwError, match=r"template broken\.md\.j2.*no_such_figure"):
        figures.render_block("broken", record, tmp_path)


def test_malformed_markers_are_named():
    with pytest.raises(HadamhwError, match="block 'demo' has no"):
        figures.blocks("a\n<!-- figures demo begin -->\ntext\n", "X.md")


def test_tool_check_set_and_render(tmp_path, capsys):
    tool = load_tool("docs_figures")
    readme, rec = tmp_path / "README.md", tmp_path / "measured.json"
    shutil.copy(README, readme)
    shutil.copy(RECORD, rec)
    args = ["--doc", str(readme), "--record", str(rec)]
    assert tool.main([*args, "--check"]) == 0
    data = json.loads(rec.read_text())
    data["figures"]["make_test"]["value"]["tests"] = 4321
    rec.write_text(json.dumps(data))
    assert tool.main([*args, "--check"]) == 1
    assert "block 'tests' differs" in capsys.readouterr().out
    assert tool.main([*args, "--set", "make_test", "--value",
                      '{"tests": 1500, "seconds": 600, "venv_seconds": 60}',
                      "--command", "make test", "--load", "1.0"]) == 0
    assert "1,500 tests in 600 s" in readme.read_text()
    fig = json.loads(rec.read_text())["figures"]["make_test"]
    assert fig["load"] == "1.0" and re.fullmatch(r"[0-9a-f]{7,40}", fig["commit"])
    assert tool.main([*args, "--set", "make_test", "--value", "{"]) == 2
