"""The FuseSoC core and the self-checking test bench written beside every Verilog design.

Fast tests read the generated files; the `sim` tests run FuseSoC itself (`fusesoc
--cores-root OUT run --target lint|sim`) on generated designs, and show that the test bench
fails on a wrong expected value and the lint target on a lint warning.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hadamhw.backends import GenerateOptions
from hadamhw.ir.random import random_ir
from tests.needs import need

FUSESOC_TIMEOUT_S = 600


def _ir(readout: str = "every", kind: str = "int"):
    return random_ir(np.random.default_rng(21), 8, 4, readout=readout, input_kind=kind,
                     input_size=10 if kind == "token" else 3, output_size=3, state_bits=10,
                     saturating=True)


def _generate(out: Path, fold: str = "parallel", top: str = "hadamrnn", **kw) -> dict:
    from hadamhw.design import generate

    return generate(_ir(**kw), out, GenerateOptions(fold=fold, top=top))


# -- generated files -------------------------------------------------------------------------
@pytest.mark.parametrize("fold", ["parallel", "stage", 2])
def test_core_lists_the_manifest_files_in_compile_order(fold, tmp_path):
    man = _generate(tmp_path, fold=fold, top="rnn8")
    core_text = (tmp_path / "rnn8.core").read_text()
    assert core_text.startswith("CAPI=2:\n")
    core = yaml.safe_load(core_text)
    assert man["fusesoc"] == {"core": "rnn8.core", "vlnv": core["name"],
                              "targets": list(core["targets"])}
    assert core["name"].startswith("hadamhw:rnn:rnn8:")
    assert core["filesets"]["rtl"]["files"] == man["hdl_files"]
    bench = man["verilog_testbench"]
    tb_files = core["filesets"]["tb"]["files"]
    assert tb_files[0] == bench["file"] == "rnn8_tb.v"
    assert [next(iter(f)) for f in tb_files[1:]] == bench["vectors"]
    for entry in tb_files[1:]:
        ((name, attrs),) = entry.items()
        assert attrs == {"file_type": "user", "copyto": name}
    targets = core["targets"]
    assert targets["lint"]["flow"] == "lint"
    assert targets["lint"]["toplevel"] == "rnn8"
    assert targets["sim"]["toplevel"] == bench["top"] == "rnn8_tb"
    assert targets["sim"]["filesets"] == ["rtl", "tb"]
    assert {targets[t]["flow_options"]["arch"] for t in ("synth", "synth_ice40",
                                                         "synth_xilinx")} == {
        "ecp5", "ice40", "xilinx"}
    for name in (*man["hdl_files"], bench["file"], *bench["vectors"]):
        assert (tmp_path / name).is_file(), name


def test_vectors_hold_the_golden_outputs(tmp_path):
    """Every line of the vector files unpacks to the golden model's beat."""
    from hadamhw.backends.verilog_tb import stimulus
    from hadamhw.ir.schema import IntegerRNN

    man = _generate(tmp_path)
    ir = IntegerRNN.load(tmp_path / "model.ir.json")
    stim = stimulus(ir)
    stim_path, expect_path = (tmp_path / name for name in man["verilog_testbench"]["vectors"])

    def words(path: Path) -> list[int]:
        return [int(line, 16) for line in path.read_text().splitlines()
                if not line.startswith("//")]

    ins, outs = words(stim_path), words(expect_path)
    wb, d = man["input"]["word_bits"], man["input"]["words"]
    ob, d_out, ab = man["output"]["word_bits"], man["output"]["words"], man["argmax_bits"]

    def signed(v: int, bits: int) -> int:
        return v - (1 << bits) if v >> (bits - 1) & 1 else v

    expected_in = [(t == len(seq) - 1, list(row)) for seq in stim.sequences
                   for t, row in enumerate(seq)]
    assert len(ins) == len(expected_in) == man["verilog_testbench"]["input_beats"]
    for value, (last, row) in zip(ins, expected_in, strict=True):
        assert value >> (d * wb) == last
        assert [signed(value >> (j * wb) & ((1 << wb) - 1), wb) for j in range(d)] == row
    expected_out = [(r == len(out) - 1, list(out[r]), int(am[r]))
                    for out, am in zip(stim.outputs, stim.argmax, strict=True)
                    for r in range(len(out))]
    assert len(outs) == len(expected_out) == man["verilog_testbench"]["output_beats"]
    for value, (last, row, am) in zip(outs, expected_out, strict=True):
        assert value >> (d_out * ob + ab) == last
        assert value >> (d_out * ob) & ((1 << ab) - 1) == am
        assert [signed(value >> (j * ob) & ((1 << ob) - 1), ob) for j in range(d_out)] == row


def test_generation_stays_deterministic(tmp_path):
    from hadamhw.backends.verilog import render

    first, second = render(_ir()), render(_ir())
    assert first == second
    assert {"hadamrnn.core", "hadamrnn_tb.v", "hadamrnn_tb_in.hex",
            "hadamrnn_tb_expect.hex"} <= set(first)


# -- FuseSoC runs ----------------------------------------------------------------------------
def _fusesoc() -> str:
    found = shutil.which("fusesoc", path=str(Path(sys.executable).parent))
    found = found or shutil.which("fusesoc")
    if found is None:
        pytest.skip("fusesoc is not installed (pip install 'hadamhw[dev]')")
    return found


def _run(design: Path, target: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    from hadamhw.verify.tools import verilator_env

    man = json.loads((design / "manifest.json").read_text())
    cmd = [_fusesoc(), "--cores-root", str(design), "run", "--target", target,
           *([a for a in extra if a == "--setup"]), man["fusesoc"]["vlnv"],
           *([a for a in extra if a != "--setup"])]
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(cmd, cwd=cwd, env=verilator_env(), capture_output=True, text=True,
                          timeout=FUSESOC_TIMEOUT_S)


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fusesoc-designs")
    made = {}

    def get(name: str, **kw) -> Path:
        if name not in made:
            made[name] = root / name
            _generate(made[name], **kw)
        return made[name]

    return get


@pytest.mark.sim
def test_fusesoc_lint_target_passes_and_can_fail(designs, tmp_path):
    need("verilator")
    design = designs("every")
    proc = _run(design, "lint", tmp_path / "clean")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "broken"
    shutil.copytree(design, broken)
    top = broken / "hadamrnn.v"
    top.write_text(top.read_text().replace("endmodule", "  wire lint_bait;\nendmodule", 1))
    proc = _run(broken, "lint", tmp_path / "broken-run")
    assert proc.returncode != 0
    assert "lint_bait" in proc.stdout + proc.stderr


@pytest.mark.sim
@pytest.mark.parametrize("name, kw", [
    ("every", {}),
    ("last-token-stage", {"readout": "last", "kind": "token", "fold": "stage"}),
    ("every-fold1", {"fold": 1}),  # the deep fold: state in RAM, 2-slot output FIFO
])
def test_fusesoc_sim_target_replays_the_golden_vectors(name, kw, designs, tmp_path):
    need("icarus")
    design = designs(name, **kw)
    beats = json.loads((design / "manifest.json").read_text())["verilog_testbench"]["output_beats"]
    proc = _run(design, "sim", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS: " in proc.stdout and f", {beats} output beats" in proc.stdout


@pytest.mark.sim
def test_fusesoc_sim_target_fails_on_a_wrong_expected_value(designs, tmp_path):
    need("icarus")
    broken = tmp_path / "design"
    shutil.copytree(designs("every"), broken)
    man = json.loads((broken / "manifest.json").read_text())
    expect = broken / man["verilog_testbench"]["vectors"][1]
    lines = expect.read_text().splitlines()
    beat = 3  # line 0 is the comment
    value = int(lines[beat + 1], 16) ^ 1  # lowest bit of output word 0
    lines[beat + 1] = f"{value:0{len(lines[beat + 1])}x}"
    expect.write_text("\n".join(lines) + "\n")
    proc = _run(broken, "sim", tmp_path / "run")
    assert proc.returncode != 0
    assert f"MISMATCH beat {beat}, output 0" in proc.stdout
    assert "FAIL: 1 mismatch" in proc.stdout


@pytest.mark.sim
def test_fusesoc_sim_target_on_verilator(designs, tmp_path):
    need("verilator")
    proc = _run(designs("every"), "sim", tmp_path, "--tool", "verilator")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "PASS: " in proc.stdout


@pytest.mark.sim
def test_fusesoc_synth_target_sets_up_a_yosys_run(designs, tmp_path):
    """The Yosys targets set up (Edalize drives Yosys through Tcl, which the YoWASP build
    lacks: the run itself needs a native Yosys, e.g. from OSS CAD Suite)."""
    design = designs("every")
    man = json.loads((design / "manifest.json").read_text())
    proc = _run(design, "synth_ice40", tmp_path, "--setup")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (work,) = (tmp_path / "build").glob("*/synth_ice40")
    procs = (work / "edalize_yosys_procs.tcl").read_text()
    read = [line.split("/")[-1].rstrip("}") for line in procs.splitlines()
            if line.startswith("read_verilog")]
    assert read == man["hdl_files"]  # in compile order
    assert "synth_ice40" in procs and "set top hadamrnn" in procs
    assert "yosys" in (work / "Makefile").read_text()
