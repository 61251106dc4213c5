"""The notebook API: load or lower, generate, and predict on the compiled hardware model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import hadamhw
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_inputs, random_ir


def _ir(**kw):
    kw = {"state_bits": 10, "saturating": True, "output_size": 4, **kw}
    return random_ir(np.random.default_rng(kw.pop("seed", 5)), 16, 4, **kw)


def test_import_stays_light():
    code = ("import sys, hadamhw; "
            "heavy = [m for m in ('torch', 'numpy', 'hadamhw.api') if m in sys.modules]; "
            "assert not heavy, heavy; "
            "assert callable(hadamhw.generate) and 'hadamhw.api' in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hadamhw.nope  # noqa: B018


def test_load_an_ir_and_its_errors(tmp_path):
    ir = _ir()
    path = tmp_path / "m.ir.json"
    ir.save(path)
    assert hadamhw.load(path).to_json() == ir.to_json()
    with pytest.raises(HadamhwError, match="no such file"):
        hadamhw.load(tmp_path / "missing.ir.json")
    with pytest.raises(HadamhwError, match="apply to checkpoints only"):
        hadamhw.load(path, state_bits=8)
    with pytest.raises(HadamhwError, match="no such checkpoint"):
        hadamhw.lower(tmp_path / "missing.pt")


def test_lower_a_checkpoint_like_the_cli(tmp_path, cli):
    ckpt = tmp_path / "copy.pt"
    assert cli("train", "--task", "copy", "--seq-len", "4", "--hidden", "8", "--steps", "5",
               "--no-progress", "-o", ckpt)[0] == 0
    assert cli("lower", ckpt, "--state-bits", "9", "--calib", "64", "-o",
               tmp_path / "cli.ir.json")[0] == 0
    ir = hadamhw.lower(ckpt, state_bits=9, calib=64)
    assert ir.widths.state == 9
    assert ir.to_json() == hadamhw.load(tmp_path / "cli.ir.json").to_json()
    assert hadamhw.load(ckpt, state_bits=9, calib=64).to_json() == ir.to_json()
    # the lowering's requantization options too (n = m = 8: log2 m odd, M_r has CSD digits)
    assert cli("lower", ckpt, "--calib", "64", "--state-scale", "calibrated",
               "--rotate-digits", "2", "-o", tmp_path / "cal.ir.json")[0] == 0
    cal = hadamhw.lower(ckpt, calib=64, state_scale="calibrated", rotate_digits=2)
    assert cal.to_json() == hadamhw.load(tmp_path / "cal.ir.json").to_json()
    assert cal.to_json() != hadamhw.lower(ckpt, calib=64).to_json()
    with pytest.raises(HadamhwError, match="state-scale"):
        hadamhw.lower(ckpt, calib=64, state_scale="linear")


def test_generate_writes_a_design(tmp_path):
    design = hadamhw.generate(_ir(), tmp_path / "rtl", fold="stage", top="rnn16")
    assert design.top == "rnn16" and design.target == "verilog"
    assert design.manifest["fold"] == "stage"
    assert {"rnn16.v", "rnn16.core", "rnn16_tb.v", "manifest.json"} <= set(design.files)
    assert "fold='stage'" in repr(design)
    again = hadamhw.open_design(tmp_path / "rtl")
    assert again.ir.to_json() == design.ir.to_json()
    with pytest.raises(HadamhwError, match="no manifest.json"):
        hadamhw.open_design(tmp_path)
    with pytest.raises(HadamhwError, match="--fold"):
        hadamhw.generate(_ir(), tmp_path / "x", fold="diagonal")


def test_a_temporary_design_lives_with_its_object():
    design = hadamhw.generate(_ir())
    path = design.path
    assert (path / "manifest.json").is_file()
    del design
    import gc

    gc.collect()
    assert not path.exists()


def test_inputs_are_checked_and_real_inputs_quantized():
    from hadamhw.ir.encode import encode_inputs
    from hadamhw.verify.predict import integer_batch

    ir = _ir(input_size=3)
    with pytest.raises(HadamhwError, match=r"batch of shape \(batch, steps, 3\)"):
        integer_batch(ir, np.zeros((4, 3), dtype=np.int64))
    lo, hi = ir.input.range()
    with pytest.raises(HadamhwError, match=f"input value {hi + 1} is outside"):
        integer_batch(ir, np.full((1, 2, 3), hi + 1))
    with pytest.raises(HadamhwError, match="at least one sequence"):
        integer_batch(ir, np.zeros((0, 2, 3), dtype=np.int64))
    real = np.random.default_rng(0).normal(size=(2, 5, 3))
    assert (integer_batch(ir, real) == encode_inputs(ir, real)).all()
    token = _ir(input_kind="token", input_size=10)
    with pytest.raises(HadamhwError, match="token ids"):
        integer_batch(token, np.zeros((2, 3)))


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("kw, fold", [
    ({}, "parallel"),
    ({"readout": "last", "input_kind": "token", "input_size": 10, "seed": 6}, "stage"),
    ({"seed": 7}, 2),  # the deep fold
])
def test_verilog_predict_equals_golden_on_a_random_batch(kw, fold, tmp_path):
    ir = _ir(**kw)
    design = hadamhw.generate(ir, tmp_path / "rtl", fold=fold)
    x = random_inputs(np.random.default_rng(1), ir, 40, 13)
    y, argmax = design.predict(x, return_argmax=True)
    golden, golden_argmax = design.golden(x, return_argmax=True)
    want = (40, 13, ir.output_size) if ir.readout == "every" else (40, ir.output_size)
    assert y.shape == golden.shape == want and y.dtype == np.int64
    assert (y == golden).all() and (argmax == golden_argmax).all()
    assert design.last_prediction.simulator == "verilator-batch"


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_simulate_checks_random_sequences(tmp_path):
    design = hadamhw.generate(_ir(), tmp_path / "rtl")
    one = design.simulate(30, seed=2)
    two = design.simulate(30, seed=2, jobs=2)
    assert one.ok and two.ok and one.simulator == "verilator-batch"
    assert (one.sequences, one.steps, one.outputs_checked) == \
        (two.sequences, two.steps, two.outputs_checked)


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_verilog_predict_reports_what_the_hardware_computes(tmp_path):
    """predict returns the core's integers, not the golden model's: a core whose readout
    bias is off by one gives outputs off by one."""
    ir = _ir(seed=8)
    design = hadamhw.generate(ir, tmp_path / "rtl")
    top = design.path / "hadamrnn.v"
    text = top.read_text()
    decl = next(line for line in text.splitlines() if "wire signed" in line and " out_0 = " in
                line)
    top.write_text(text.replace(decl, decl.replace(" = ", " = 1 + ", 1)))
    x = random_inputs(np.random.default_rng(2), ir, 6, 5)
    y = design.predict(x)
    golden = design.golden(x)
    assert (y[..., 1:] == golden[..., 1:]).all()
    assert not (y[..., 0] == golden[..., 0]).any()


@pytest.mark.hls
def test_hls_predict_equals_golden_on_a_random_batch(tmp_path):
    ir = _ir(readout="last", seed=9)
    design = hadamhw.generate(ir, tmp_path / "hls", target="hls")
    x = random_inputs(np.random.default_rng(3), ir, 30, 9)
    y, argmax = design.predict(x, return_argmax=True)
    golden, golden_argmax = design.golden(x, return_argmax=True)
    assert y.shape == (30, ir.output_size)
    assert (y == golden).all() and (argmax == golden_argmax).all()
    assert design.last_prediction.simulator == "hls-csim"
    with pytest.raises(HadamhwError, match="synthesizes Verilog"):
        design.report()
