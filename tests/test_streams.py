"""Interleaved streams (`--streams P`) outside the batch harness: the command line, the
manifest, the HLS C simulation, the self-checking Verilog bench, the cocotb bench's
per-stream scoreboards and the Python API.

The Verilog datapath's own pairwise sweep and mutation tests are in test_verilog_batch.py
(batch harness) and test_cocotb_sim.py (cocotb bench, streams and pipeline as factors).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.design import generate as generate_design
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.resources import templates_dir
from tests.needs import need
from tests.test_verilog_batch import PAIRWISE, _ids, _make_ir, _options, _row


def _ir(seed: int = 21, n: int = 16, m: int = 16, readout: str = "every"):
    return random_ir(np.random.default_rng(seed), n, m, state_bits=12, output_size=5,
                     requant="lean", readout=readout)


# -- command line and manifest ---------------------------------------------------------------
@pytest.fixture
def ir_file(tmp_path) -> Path:
    path = tmp_path / "m.ir.json"
    _ir(n=8, m=4).save(path)
    return path


@pytest.mark.parametrize("argv, fragment", [
    (("--streams", "0"), "--streams"),
    (("--streams", "many"), "--streams"),
    (("--pipeline", "fast"), "--pipeline"),
    (("--target-mhz", "0"), "--target-mhz"),
    (("--target-mhz", "fast"), "--target-mhz"),
    (("--pipeline", "4", "--streams", "2"), "--streams"),
    (("--target", "hls", "--streams", "auto"), "--streams auto"),
    (("--target", "hls", "--streams", "2", "--pipeline", "3"), "--pipeline 3"),
])
def test_bad_stream_options_are_one_line_errors(cli, tmp_path, ir_file, argv, fragment):
    code, _, err = cli("generate", ir_file, *argv, "-o", tmp_path / "out")
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("hadamhw generate: error: "), err
    assert fragment in lines[0], err
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_manifest_records_streams_and_pipeline(cli, tmp_path, ir_file):
    code, out, err = cli("generate", ir_file, "--streams", "auto", "--pipeline",
                          "auto", "--target-mhz", "250", "-o", tmp_path / "rtl")
    assert code == 0, err
    man = json.loads((tmp_path / "rtl" / "manifest.json").read_text())
    P = man["streams"]
    assert P == man["loop_depth"] >= 2
    assert man["tid_bits"] == (P - 1).bit_length()
    assert man["cycles_per_step"] == 1 and man["cycles_per_step_per_stream"] == P
    assert man["latency_cycles"] >= man["loop_depth"]
    pipe = man["pipeline"]
    assert pipe["mode"] == "auto" and pipe["target_mhz"] == 250
    assert set(pipe["stages"]) >= {"input", "rotation", "readout"}
    ports = {p["name"]: p["width"] for p in man["ports"]}
    assert ports["s_axis_tid"] == ports["m_axis_tid"] == man["tid_bits"]
    assert f"streams: {P}" in out
    # one stream: no TID port, today's single-cycle core
    code, _, err = cli("generate", ir_file, "-o", tmp_path / "one")
    one = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert code == 0 and "s_axis_tid" not in {p["name"] for p in one["ports"]}
    assert "streams" not in one and one["cycles_per_step"] == 1


def test_manifest_validates_against_the_schema(tmp_path):
    import jsonschema

    from hadamhw.ir.json_schema import load_schema

    schema = load_schema("manifest")
    man = json.loads(vg.render(_ir(n=8, m=4), GenerateOptions(streams=3, pipeline="auto"))
                     ["manifest.json"])
    jsonschema.validate(man, schema)
    bad = {**man, "streams": 0}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# -- HLS: interleaved calls, C simulation bit-exact --------------------------------------------
@pytest.mark.hls
@pytest.mark.xdist_group("hls")
@pytest.mark.parametrize("streams, fold, readout", [(3, "parallel", "every"),
                                                     (4, "stage", "last")])
def test_hls_streams_csim_bit_exact(tmp_path, streams, fold, readout):
    from hadamhw.backends.hls import render
    from hadamhw.verify.csim import run_csim

    ir = _ir(seed=5, readout=readout)
    man = render(ir, tmp_path / "hls", GenerateOptions(fold=fold, streams=streams))
    assert man["streams"] == streams
    stim = make_stimulus(ir, sequences=4 * streams + 1, seed=2, min_steps=1, max_steps=12)
    result = run_csim(tmp_path / "hls", stim, tmp_path / "cache")
    assert result.ok, [m.describe() for m in result.mismatches[:3]]
    assert result.outputs_checked == sum(len(o) for o in stim.outputs) * (ir.output_size + 1)


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_hls_state_written_to_another_stream_is_caught(tmp_path):
    from hadamhw.backends.hls import render
    from hadamhw.verify.csim import run_csim

    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir() / "hls", tdir)
    top = tdir / "top.cpp.j2"
    old = '"state[sid][i]" if streams > 1'
    assert top.read_text().count(old) == 1
    top.write_text(top.read_text().replace(old, '"state[(sid + 1) % STREAMS][i]" if '
                                                 'streams > 1'))
    ir = _ir(seed=5)
    render(ir, tmp_path / "hls", GenerateOptions(streams=3), template_dir=tdir)
    stim = make_stimulus(ir, sequences=9, seed=2, min_steps=2, max_steps=8)
    assert not run_csim(tmp_path / "hls", stim, tmp_path / "cache").ok


# -- the self-checking Verilog bench with TID --------------------------------------------------
def _icarus_bench(design: Path, expect: str | None = None) -> subprocess.CompletedProcess:
    man = json.loads((design / "manifest.json").read_text())
    files = [*man["hdl_files"], man["verilog_testbench"]["file"]]
    subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", *files], cwd=design, check=True,
                   capture_output=True, text=True)
    extra = [f"+expect={expect}"] if expect else []
    return subprocess.run(["vvp", "-n", "tb.vvp", *extra], cwd=design, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.sim
@pytest.mark.needs("icarus")
def test_verilog_bench_interleaves_streams_and_checks_tid(tmp_path):
    ir = _ir(n=8, m=4)
    man = generate_design(ir, tmp_path, GenerateOptions(streams=4, pipeline="auto"))
    stim_file, expect_file = man["verilog_testbench"]["vectors"]
    # the stimulus interleaves the streams: consecutive beats name different TIDs
    tids = [int(line, 16) >> (man["input"]["words"] * man["input"]["word_bits"] + 1)
            for line in (tmp_path / stim_file).read_text().splitlines()
            if not line.startswith("//")]
    assert set(tids) == set(range(4)) and tids[:4] == [0, 1, 2, 3]
    run = _icarus_bench(tmp_path)
    assert "PASS" in run.stdout and run.returncode == 0, run.stdout
    # the same bench with one expected TID changed fails, naming m_axis_tid
    lines = (tmp_path / expect_file).read_text().splitlines()
    width = man["output"]["words"] * man["output"]["word_bits"] + man["argmax_bits"] + 1
    value = int(lines[3], 16) ^ (1 << width)
    lines[3] = f"{value:0{len(lines[3])}x}"
    (tmp_path / "bad.hex").write_text("\n".join(lines) + "\n")
    run = _icarus_bench(tmp_path, "bad.hex")
    assert run.returncode != 0 and "m_axis_tid" in run.stdout, run.stdout


# -- cocotb: one scoreboard per stream catches a wrong TID --------------------------------------
@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_cocotb_scoreboards_catch_a_wrong_output_tid(tmp_path):
    from hadamhw.verify.cocotb_sim import run_cocotb

    need("verilator")
    ir = _ir(n=8, m=4)
    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir() / "verilog", tdir)
    old = "{% if tid_bits %}{{ stream.fifo_tid }}, {% endif %}"
    hits = [p for p in tdir.rglob("*.j2") if old in p.read_text()]
    assert len(hits) == 1
    hits[0].write_text(hits[0].read_text().replace(old, "{% if tid_bits %}in_tid_q, {% endif %}"))
    generate_design(ir, tmp_path / "rtl", GenerateOptions(streams=4), template_dir=tdir)
    stim = make_stimulus(ir, sequences=12, seed=1, min_steps=2, max_steps=8)
    result = run_cocotb(tmp_path / "rtl", stim, simulator="verilator", seed=1,
                        tests=("test_stream/traffic=gaps_and_backpressure",))
    assert not result.ok


# -- the Python API --------------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_api_predict_with_streams_matches_the_golden_model(tmp_path):
    import hadamhw

    ir = _ir(n=8, m=4)
    design = hadamhw.generate(ir, tmp_path / "rtl", streams=3, pipeline="auto")
    assert design.manifest["streams"] == 3
    x = np.random.default_rng(0).integers(-8, 8, size=(7, 9, 3))
    np.testing.assert_array_equal(design.predict(x), design.golden(x))


# -- lint and multipliers of the streamed rows of the batch harness's pairwise sweep ----------
def _streamed_rows() -> list[tuple]:
    return [v for v in PAIRWISE
            if _row(v)["streams"] != 1 or _row(v)["pipeline"] != "none"]


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("values", _streamed_rows(),
                         ids=_ids)
def test_streamed_designs_lint_clean(values, tmp_path):
    from hadamhw.verify import tools

    ir = _make_ir(values, PAIRWISE.index(values))
    generate_design(ir, tmp_path, _options(values))
    assert tools.lint(tmp_path) == []


@pytest.mark.synth
@pytest.mark.parametrize("fold, streams", [("parallel", "auto"), ("stage", 3)])
def test_streamed_designs_have_no_multipliers(fold, streams, tmp_path):
    from tests.test_verilog_synth import yosys_stats

    ir = _ir(seed=9, n=16, m=4)
    man = generate_design(ir, tmp_path, GenerateOptions(fold=fold, streams=streams,
                                                    pipeline="auto"))
    coarse, final = yosys_stats(tmp_path, man["top"], man["hdl_files"])
    assert coarse.get("$mul", 0) == 0 and coarse.get("$macc", 0) == 0, coarse
    assert final.get("$mul", 0) == 0 and not any("MUL" in c.upper() for c in final), final
