"""HLS C++ backend: generation, and g++ C-simulation bit-exact against the golden model.

The compiling tests (marker `hls`) share one build cache and one xdist group, so that every
configuration is compiled once per run.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends.hls import file_names, hls_templates_dir, render
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.verify import csim

# The configuration sweep: a pairwise covering array (every pair of values of any two
# columns meets in at least one row; test_sweep_is_pairwise checks it), 12 rows, each
# built once. m is "4" or "n" (HadamRNN); out is the output requantization's width.
SWEEP_COLUMNS = ("n", "m", "state", "mode", "readout", "fold", "input", "saturating", "out",
                 "requant")
SWEEP_VALUES = {
    "n": (8, 16, 64, 128), "m": ("4", "n"), "state": (8, 12, 16),
    "mode": ("linear", "vanilla"), "readout": ("every", "last"), "fold": ("parallel", "stage"),
    "input": ("int", "token"), "saturating": (False, True), "out": (None, 8),
    # lean: the constants the lowering chooses (M_a a power of two, M_r a shift or a short
    # CSD constant); random: arbitrary ones
    "requant": ("lean", "random"),
}
SWEEP = [
    (8, "n", 8, "vanilla", "last", "stage", "int", True, 8, "random"),
    (8, "n", 12, "vanilla", "every", "parallel", "int", False, 8, "lean"),
    (8, "4", 16, "linear", "last", "parallel", "token", True, None, "lean"),
    (16, "4", 8, "vanilla", "every", "parallel", "int", False, None, "lean"),
    (16, "4", 12, "linear", "last", "stage", "token", True, None, "random"),
    (16, "n", 16, "vanilla", "every", "stage", "int", True, 8, "random"),
    (64, "n", 8, "linear", "every", "parallel", "int", True, None, "lean"),
    (64, "n", 12, "vanilla", "last", "stage", "token", True, 8, "random"),
    (64, "4", 16, "linear", "last", "stage", "int", False, 8, "random"),
    (128, "4", 8, "vanilla", "last", "stage", "token", False, 8, "lean"),
    (128, "n", 12, "linear", "every", "parallel", "int", True, 8, "random"),
    (128, "n", 16, "vanilla", "every", "parallel", "token", True, None, "random"),
]
FLOAT_WORDS = re.compile(r"\b(float|double|ap_fixed|ap_ufixed|ap_float)\b")


def sweep_ir(index: int):
    row = dict(zip(SWEEP_COLUMNS, SWEEP[index], strict=True))
    n = row["n"]
    token = row["input"] == "token"
    return random_ir(
        np.random.default_rng(1000 + index), n, 4 if row["m"] == "4" else n,
        mode=row["mode"], readout=row["readout"], state_bits=row["state"],
        input_kind=row["input"], input_size=10 if token else 3,
        input_signed=index % 2 == 0,  # int rows alternate signed / unsigned inputs
        saturating=row["saturating"], output_bits=row["out"], output_size=5,
        requant=row["requant"])


def sweep_id(index: int) -> str:
    row = dict(zip(SWEEP_COLUMNS, SWEEP[index], strict=True))
    return (f"n{row['n']}-m{row['m']}-b{row['state']}-{row['mode']}-{row['readout']}-"
            f"{row['fold']}-{row['input']}{'-sat' if row['saturating'] else ''}"
            f"{'-out' + str(row['out']) if row['out'] else ''}-{row['requant']}")


def fixed_ir():
    """A small saturating Block-HadamRNN with output requantization: the corruption target."""
    return random_ir(np.random.default_rng(7), 16, 4, state_bits=8, saturating=True,
                     output_bits=8, output_size=5)


@pytest.fixture(scope="session")
def csim_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hls-csim-cache")


# -- generation (no compiler) --------------------------------------------------------------

def test_sweep_is_pairwise():
    for a, b in itertools.combinations(range(len(SWEEP_COLUMNS)), 2):
        seen = {(row[a], row[b]) for row in SWEEP}
        need = set(itertools.product(SWEEP_VALUES[SWEEP_COLUMNS[a]],
                                     SWEEP_VALUES[SWEEP_COLUMNS[b]]))
        assert need <= seen, (SWEEP_COLUMNS[a], SWEEP_COLUMNS[b], need - seen)


def test_generation_is_byte_identical(tmp_path):
    ir = sweep_ir(10)
    for fold in ("parallel", "stage"):
        first, second = tmp_path / f"{fold}-1", tmp_path / f"{fold}-2"
        render(ir, first, GenerateOptions(fold=fold))
        render(ir, second, GenerateOptions(fold=fold))
        names = sorted(p.name for p in first.iterdir())
        assert names == sorted(p.name for p in second.iterdir())
        for name in names:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
        text = "".join((first / n).read_text() for n in names)
        assert str(tmp_path) not in text  # no absolute paths in generated files


def test_no_floating_point_in_generated_cpp(tmp_path):
    for index in range(len(SWEEP)):
        out = tmp_path / str(index)
        fold = SWEEP[index][SWEEP_COLUMNS.index("fold")]
        manifest = render(sweep_ir(index), out, GenerateOptions(fold=fold))
        for name in [*manifest["sources"], manifest["testbench"]]:
            hits = FLOAT_WORDS.findall((out / name).read_text())
            assert not hits, f"{sweep_id(index)}: {name} mentions {sorted(set(hits))}"


def test_manifest_and_files(tmp_path):
    ir = sweep_ir(4)
    manifest = render(ir, tmp_path, GenerateOptions(fold="stage", top="rnn_core"))
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["format"] == "hadamhw-design" and manifest["version"] == 1
    assert manifest["target"] == "hls" and manifest["top"] == "rnn_core"
    assert manifest["fold"] == "stage" and manifest["ir"] == "model.ir.json"
    assert manifest["cycles_per_step"] == ir.k + 1
    assert manifest["widths"] == ir.to_dict()["widths"]
    for name in manifest["files"]:
        assert (tmp_path / name).is_file(), name
    assert set(file_names("rnn_core").values()) == set(manifest["files"])
    assert (tmp_path / "model.ir.json").read_text() == ir.to_json()
    header = (tmp_path / "rnn_core.h").read_text()
    w = ir.widths
    assert f"typedef ap_int<{w.state}> state_t;" in header
    assert f"typedef ap_int<{w.requant_sum}> requant_sum_t;" in header
    assert f"typedef ap_uint<{w.readout_in}> readout_in_t;" in header
    assert "bool rnn_core(const input_t x[INPUT_WORDS], bool last" in header
    source = (tmp_path / "rnn_core.cpp").read_text()
    # stage fold: the stage loop is pipelined, not unrolled; its butterflies are unrolled
    loop = source[source.index("FWHT_STAGES:"):source.index("STORE_WORK:")]
    assert "#pragma HLS PIPELINE II=1" in loop and loop.count("#pragma HLS UNROLL") == 1
    assert "PIPELINE" not in source[:source.index("// U")]  # not the whole function
    tcl = (tmp_path / "run_hls.tcl").read_text()
    for command in ("open_project", "set_top rnn_core", "add_files -tb", "csim_design",
                    "csynth_design", "cosim_design", "HADAMHW_COSIM"):
        assert command in tcl, command
    readme = (tmp_path / "README.md").read_text()
    assert "vitis_hls -f run_hls.tcl" in readme and "HADAMHW_AP_TYPES" in readme


def test_parallel_fold_directives(tmp_path):
    manifest = render(sweep_ir(1), tmp_path, GenerateOptions(fold="parallel"))
    source = (tmp_path / "hadamrnn.cpp").read_text()
    assert manifest["cycles_per_step"] == 1
    head = source[:source.index("// U")]
    assert "#pragma HLS PIPELINE II=1" in head  # the whole step, once per call
    for k in range(1, sweep_ir(1).k + 1):
        assert f"#pragma HLS ARRAY_PARTITION variable=fwht_s{k} complete" in source
        stage = source[source.index(f"FWHT_STAGE_{k}:"):]
        assert stage.split("}", 1)[0].count("#pragma HLS UNROLL") == 1
    assert "#pragma HLS ARRAY_PARTITION variable=state complete" in source


def test_generate_errors(tmp_path):
    ir = sweep_ir(0)
    with pytest.raises(HadamhwError, match="recurrent"):
        render(ir, tmp_path / "a", GenerateOptions(recurrent="dense"))
    for top in ("not a name", "main", "class", "state_t"):
        with pytest.raises(HadamhwError, match="top"):
            render(ir, tmp_path / "b", GenerateOptions(top=top))
    with pytest.raises(HadamhwError, match="--readout-lanes applies to the Verilog"):
        render(sweep_ir(0), tmp_path / "d", GenerateOptions(readout_lanes=1))
    (tmp_path / "file").write_text("")
    with pytest.raises(HadamhwError, match="not a folder"):
        render(ir, tmp_path / "file", GenerateOptions())
    with pytest.raises(HadamhwError, match="template folder"):
        render(ir, tmp_path / "c", GenerateOptions(), template_dir=tmp_path / "none")


def test_find_ap_types_override(tmp_path, monkeypatch):
    monkeypatch.setenv(csim.AP_TYPES_ENV, str(tmp_path))
    with pytest.raises(HadamhwError, match="HADAMHW_AP_TYPES"):
        csim.find_ap_types()
    (tmp_path / "ap_int.h").write_text("")
    assert csim.find_ap_types() == tmp_path.resolve()


def test_find_ap_types_missing(monkeypatch):
    monkeypatch.delenv(csim.AP_TYPES_ENV, raising=False)
    monkeypatch.setattr(csim, "_AP_TYPES_PACKAGES", (("no_such_package_hadamhw", "x"),))
    with pytest.raises(HadamhwError, match="pip install --no-deps hls4ml"):
        csim.find_ap_types()


def test_csim_rejects_other_targets(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"format": "hadamhw-design", "version": 1, "target": "verilog", "top": "x"}))
    with pytest.raises(HadamhwError, match="--target hls"):
        csim.build_csim(tmp_path)
    with pytest.raises(HadamhwError, match="no such design folder"):
        csim.build_csim(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HadamhwError, match="no manifest"):
        csim.build_csim(tmp_path / "empty")


# -- C simulation ----------------------------------------------------------------------------

@pytest.mark.hls
@pytest.mark.xdist_group("hls")
@pytest.mark.parametrize("index", range(len(SWEEP)), ids=sweep_id)
def test_sweep_bit_exact(index, tmp_path, csim_cache):
    ir = sweep_ir(index)
    fold = SWEEP[index][SWEEP_COLUMNS.index("fold")]
    render(ir, tmp_path, GenerateOptions(fold=fold))
    stim = make_stimulus(ir, sequences=16, seed=index, max_steps=16)
    if SWEEP[index][SWEEP_COLUMNS.index("saturating")]:
        # the saturating rows must really exercise the clamp
        saturated = sum(golden_run(ir, seq[None]).saturated for seq in stim.sequences)
        assert saturated > 0
    result = csim.run_csim(tmp_path, stim, csim_cache)
    assert result.simulator == "hls-csim"
    assert result.steps == stim.steps and result.sequences == 16
    readouts = sum(len(o) for o in stim.outputs)
    assert result.outputs_checked == readouts * (ir.output_size + 1)
    assert result.ok, [m.describe() for m in result.mismatches[:5]]


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
@pytest.mark.parametrize("fold", ["parallel", "stage"])
def test_strict_compile(fold, tmp_path):
    """-O0 builds with no exception for uninitialized values; the sources also parse as
    C++11 (the default dialect of older Vitis HLS releases)."""
    manifest = render(sweep_ir(11), tmp_path, GenerateOptions(fold=fold))
    sources = [tmp_path / manifest["testbench"], tmp_path / manifest["sources"][1]]
    compiler, ap_types = csim.find_compiler(), csim.find_ap_types()
    cmd = csim.compile_command(compiler, ap_types, sources, tmp_path / "strict",
                               optimize=False)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    cxx11 = [c if c != csim.CXX_STANDARD else "-std=c++11" for c in cmd[:-2]]
    proc = subprocess.run([*cxx11, "-fsyntax-only"], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    run = subprocess.run([str(tmp_path / "strict"), str(tmp_path / manifest["test_vectors"])],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.endswith("mismatches 0: PASS\n"), run.stdout


@pytest.fixture(scope="module")
def fixed_design(tmp_path_factory):
    """The corruption target rendered from the shipped templates, built, with a stimulus."""
    ir = fixed_ir()
    out = tmp_path_factory.mktemp("hls-fixed")
    render(ir, out, GenerateOptions(fold="parallel"))
    stim = make_stimulus(ir, sequences=12, seed=3, max_steps=14)
    return ir, out, stim


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_fixed_design_passes(fixed_design, csim_cache):
    ir, out, stim = fixed_design
    assert sum(golden_run(ir, s[None]).saturated for s in stim.sequences) > 0
    assert csim.run_csim(out, stim, csim_cache).ok


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_mismatch_is_located(fixed_design, csim_cache):
    """A wrong expectation in the vector file is reported at its exact position."""
    _, out, stim = fixed_design
    outputs = [o.copy() for o in stim.outputs]
    argmax = [a.copy() for a in stim.argmax]
    right = int(outputs[2][3, 4])
    outputs[2][3, 4] += 1
    argmax[5][0] = (int(argmax[5][0]) + 1) % 5
    tampered = type(stim)(stim.sequences, outputs, argmax)
    result = csim.run_csim(out, tampered, csim_cache)
    assert not result.ok
    found = {(m.sequence, m.step, m.index): (m.expected, m.got) for m in result.mismatches}
    assert found == {(2, 3, 4): (right + 1, right),
                     (5, 0, -1): (int(argmax[5][0]), int(stim.argmax[5][0]))}


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_relative_design_path(fixed_design, tmp_path, monkeypatch):
    """g++ and the test bench run with cwd=design: a relative design path must still work,
    on a fresh build and on the cached one."""
    ir, out, stim = fixed_design
    shutil.copytree(out, tmp_path / "hls")
    monkeypatch.chdir(tmp_path)
    exe = csim.build_csim("hls")
    assert exe.is_absolute() and exe.parent.parent == tmp_path / "hls" / "csim"
    assert csim.run_csim("hls", stim).ok
    assert csim.run_csim("hls/", stim, build_dir="cache").ok
    assert (tmp_path / "cache").is_dir()


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_mismatch_count_is_the_true_total(fixed_design, csim_cache):
    """The test bench lists the first 1000 mismatches; the count is the summary's total."""
    ir, out, _ = fixed_design
    stim = make_stimulus(ir, sequences=60, seed=4, min_steps=6, max_steps=14)
    wrong = sum(int(o.size) for o in stim.outputs)
    assert wrong > 1000
    tampered = type(stim)(stim.sequences, [o + 1 for o in stim.outputs], stim.argmax)
    result = csim.run_csim(out, tampered, csim_cache)
    assert result.mismatch_count == wrong and result.to_dict()["mismatches"] == wrong
    assert len(result.mismatches) == 1000


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_testbench_rejects_bad_vector_file(fixed_design, csim_cache, tmp_path):
    _, out, _ = fixed_design
    exe = csim.build_csim(out, csim_cache)
    assert csim.build_csim(out, csim_cache) == exe  # cached
    bad = tmp_path / "bad.txt"
    bad.write_text("hadamhw-vectors 1\n1 7 5\n")
    proc = subprocess.run([str(exe), str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "has 7 input words" in proc.stderr


# (template file, text in it, replacement, fold): each a wrong arithmetic decision.
CORRUPTIONS = {
    "butterfly-sign-parallel": ("top.cpp.j2", "{{ stage.source }}[lo] - {{ stage.source }}[hi]",
                                "{{ stage.source }}[hi] - {{ stage.source }}[lo]", "parallel"),
    "butterfly-sign-stage": ("top.cpp.j2", "next[base + pair + {{ half_block }}] = even - odd;",
                             "next[base + pair + {{ half_block }}] = odd - even;", "stage"),
    "rounding": ("top.cpp.j2", "input_acc[i] * INPUT_MULT + ROUND_HALF;",
                 "input_acc[i] * INPUT_MULT;", "parallel"),
    "state-width": ("top.h.j2", "typedef {{ types.state_t }} state_t;",
                    "typedef ap_int<{{ widths.state - 1 }}> state_t;", "parallel"),
    # Ties must go to the lowest index; >= hands them to the highest.
    "argmax-tie": ("top.cpp.j2", "if (out[o] > best_value) {", "if (out[o] >= best_value) {",
                   "parallel"),
}


def test_fixed_stimulus_has_argmax_ties(fixed_design):
    """Precondition of the argmax-tie corruption: some readouts share their largest value
    (the 8-bit output requantization saturates)."""
    _, _, stim = fixed_design
    ties = sum(int(np.sum(row == row.max()) > 1) for out in stim.outputs for row in out)
    assert ties >= 2


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupted_template_is_caught(name, fixed_design, tmp_path, csim_cache):
    ir, _, stim = fixed_design
    template, old, new, fold = CORRUPTIONS[name]
    templates = tmp_path / "templates"
    shutil.copytree(hls_templates_dir(), templates)
    text = (templates / template).read_text()
    assert text.count(old) == 1, f"{template} no longer contains {old!r}"
    (templates / template).write_text(text.replace(old, new))
    out = tmp_path / "design"
    render(ir, out, GenerateOptions(fold=fold), template_dir=templates)
    result = csim.run_csim(out, stim, csim_cache)
    assert not result.ok and result.mismatches, name


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_cli_generate_and_csim(cli, tmp_path, csim_cache):
    ir_path = tmp_path / "model.ir.json"
    fixed_ir().save(ir_path)
    out = tmp_path / "design"
    code, stdout, _ = cli("generate", ir_path, "--target", "hls", "-o", out)
    assert code == 0 and "hadamrnn.cpp" in stdout
    code, stdout, stderr = cli("csim", out, "--sequences", "6", "--seed", "1", "--json",
                               "--build-dir", csim_cache)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["bit_exact"] and report["simulator"] == "hls-csim"
    assert report["sequences"] == 6 and report["mismatches"] == 0
    code, stdout, stderr = cli("csim", tmp_path / "nowhere")
    assert code == 2 and "no such design folder" in stderr
