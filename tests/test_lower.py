"""Lowering: a trained model to the IR; the integer model tracks the float model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hadamhw.checkpoint import load_checkpoint, save_checkpoint
from hadamhw.errors import HadamhwError
from hadamhw.ir import IntegerRNN, run
from hadamhw.ir.encode import encode_inputs
from hadamhw.ir.lower import LoweringSettings, calibration_inputs, lower
from hadamhw.nn import HadamRNN, ModelConfig
from hadamhw.tasks import get_task


@pytest.fixture(scope="module")
def copy_checkpoint(tmp_path_factory):
    from hadamhw.cli import main

    path = tmp_path_factory.mktemp("lower") / "copy.pt"
    assert main(["train", "--task", "copy", "--seq-len", "6", "--hidden", "32", "--block-size",
                 "8", "--steps", "300", "--lr", "3e-3", "--val-every", "50", "--no-progress",
                 "-o", str(path)]) == 0
    return path


def test_lowered_copy_model_tracks_float(copy_checkpoint):
    model, payload = load_checkpoint(copy_checkpoint)
    task = get_task("copy", seq_len=6)
    ir, summary = lower(model, calibration_inputs(task, 128), LoweringSettings(state_bits=12))
    assert ir.input.kind == "token" and ir.input.size == 10 and ir.block_size == 8
    assert ir.widths.fwht == (13, 14, 15)
    assert IntegerRNN.from_json(ir.to_json()).to_json() == ir.to_json()
    x, _ = task.split("test")
    res = run(ir, encode_inputs(ir, x[:200]))
    with torch.no_grad():
        ref = model.double()(x[:200]).numpy()
    assert (res.argmax == ref.argmax(-1)).mean() > 0.95
    assert summary["calibration_saturation_rate"] < 1e-3
    # The rounding error random-walks through the loop: 4 more state bits shrink it ~16x,
    # down to the floor that M_r's 5-digit gain error (-1.1e-4 per step, m = 8) leaves.
    # (Calibrated on the compared inputs themselves, so no saturation hides the trend.)
    errors = []
    for bits in (12, 16):
        ir, _ = lower(model, x[:200], LoweringSettings(state_bits=bits))
        real = run(ir, encode_inputs(ir, x[:200])).outputs * ir.scales.output
        errors.append(np.abs(real - ref).max() / np.abs(ref).max())
    assert errors[1] < 0.005 and errors[1] < errors[0] / 6


def test_lowering_real_inputs_is_exact_on_the_input_grid():
    cfg = ModelConfig(input_size=1, hidden_size=16, output_size=10, block_size=4,
                      readout="last")
    torch.manual_seed(0)
    model = HadamRNN(cfg)
    task = get_task("digits")
    ir, _ = lower(model, calibration_inputs(task, 64), LoweringSettings(state_bits=16),
                  input_quant=task.input_quant.to_dict())
    assert ir.input.kind == "int" and ir.input.bits == 5 and not ir.input.signed
    x, _ = task.split("test")
    xi = encode_inputs(ir, x)
    assert np.array_equal(xi * ir.input.scale, x.numpy())  # pixels 0..16 exactly
    res = run(ir, xi[:50])
    with torch.no_grad():
        ref = model.double()(x[:50].double()).numpy()
    assert (res.argmax == ref.argmax(-1)).mean() >= 0.96


def test_even_and_odd_log_block_sizes():
    for m, exact in ((16, True), (8, False)):
        cfg = ModelConfig(input_size=2, hidden_size=16, output_size=3, block_size=m)
        ir, summary = lower(HadamRNN(cfg), torch.randn(8, 5, 2),
                            LoweringSettings(state_scale="calibrated"))
        k = m.bit_length() - 1
        if exact:  # 1/sqrt(m) is a power of two: M_r is a pure shift
            assert ir.requant.rotate_mult == 1 << (ir.requant.shift - k // 2)
            assert summary["rotate_gain_error"] == 0.0
        else:
            assert abs(summary["rotate_gain_error"]) < 2**-15


@pytest.mark.parametrize("m", [4, 8, 16, 32])
def test_pow2_state_scale_makes_the_input_multiplier_a_shift(m):
    from hadamhw.ir.csd import nonzero_digits

    cfg = ModelConfig(input_size=2, hidden_size=32, output_size=3, block_size=m)
    torch.manual_seed(m)
    x = torch.randn(16, 6, 2)
    for digits in (2, 5):
        ir, summary = lower(HadamRNN(cfg), x, LoweringSettings(rotate_digits=digits))
        rq, k = ir.requant, m.bit_length() - 1
        lowering = ir.meta["lowering"]
        assert rq.input_mult & (rq.input_mult - 1) == 0  # a power of two
        assert rq.input_mult == 1 << lowering["input_mult_log2"]
        assert summary["input_gain_error"] == pytest.approx(0.0, abs=1e-12)
        # the state range loses at most one bit: the calibrated maximum uses (B_h-2, B_h-1]
        assert 10.0 < lowering["state_range_bits_used"] <= 12.0 + 1e-9
        if k % 2 == 0:
            assert rq.rotate_mult == 1 << (rq.shift - k // 2)
            assert lowering["rotate_gain_error"] == 0.0
            assert lowering["gain_horizon_steps"] is None
        else:
            assert nonzero_digits(rq.rotate_mult) <= digits
            gain = rq.rotate_mult * np.sqrt(m) / 2**rq.shift - 1
            assert lowering["rotate_gain_error"] == pytest.approx(gain)
            assert abs(gain) < {2: 0.061, 5: 1.1e-4}[digits]


def test_sqrt2_constants_and_gain_horizon():
    from hadamhw.ir.requant import gain_horizon, sqrt2_constant

    # hand-checked: 3/2, 23/16 = 1 + 1/2 - 1/16, 91/64, 181/128 = 1 + 1/2 - 1/16 - 1/32 + 1/128
    assert [sqrt2_constant(d) for d in (2, 3, 4, 5)] == [(3, 1), (23, 4), (91, 6), (181, 7)]
    for d in range(1, 9):  # more digits never approximate worse
        c, p = sqrt2_constant(d)
        if d > 1:
            c0, p0 = sqrt2_constant(d - 1)
            assert abs(c / 2**p - 2**0.5) <= abs(c0 / 2**p0 - 2**0.5)
    assert gain_horizon(0.0, 12) is None
    eps = 1e-6
    horizon = gain_horizon(eps, 12)
    h_max = 2**11 - 1
    assert ((1 + eps) ** horizon - 1) * h_max < 1 <= ((1 + eps) ** (horizon + 1) - 1) * h_max


def test_lowering_settings_are_validated():
    cfg = ModelConfig(input_size=2, hidden_size=8, output_size=3)
    for settings, message in ((LoweringSettings(state_bits=1), "--state-bits"),
                              (LoweringSettings(percentile=0), "--percentile"),
                              (LoweringSettings(precision=2), "--precision"),
                              (LoweringSettings(rotate_digits=0), "--rotate-digits"),
                              (LoweringSettings(state_scale="free"), "--state-scale")):
        with pytest.raises(HadamhwError, match=message):
            lower(HadamRNN(cfg), torch.randn(2, 3, 2), settings)


def test_lower_and_eval_cli(cli, copy_checkpoint, tmp_path):
    out = tmp_path / "m.ir.json"
    code, text, err = cli("lower", copy_checkpoint, "-o", out, "--state-bits", "10")
    assert code == 0, err
    assert "widths: state 10" in text and "expected saturation rate" in text
    ir = IntegerRNN.load(out)
    assert ir.widths.state == 10 and ir.meta["task"]["name"] == "copy"
    code, text, err = cli("eval", out, "--checkpoint", copy_checkpoint, "--json",
                          "--limit", "100")
    assert code == 0, err
    report = json.loads(text)
    assert {"float", "integer", "argmax_agreement"} <= report.keys()
    assert report["integer"]["saturation_rate"] >= 0
    code, text, err = cli("eval", copy_checkpoint, "--limit", "50")
    assert code == 0 and "integer (12-bit state)" in text
    code, _, err = cli("eval", out, "--state-bits", "8")
    assert code == 2 and "--state-bits applies when lowering" in err


def test_lower_cli_requant_options(cli, copy_checkpoint, tmp_path):
    """--rotate-digits and --state-scale reach the lowering; bad values are one-line errors."""
    out = tmp_path / "d3.ir.json"
    code, text, err = cli("lower", copy_checkpoint, "-o", out, "--rotate-digits", "3")
    assert code == 0, err
    ir = IntegerRNN.load(out)  # block size 8: log2 m odd, M_r = 23 * 2^x (3 digits)
    assert ir.meta["lowering"]["rotate_digits"] == 3
    assert ir.requant.rotate_mult >> (ir.requant.rotate_mult & -ir.requant.rotate_mult
                                      ).bit_length() - 1 == 23
    assert "lean requant: M_a = 2^" in text and "3 CSD digit(s)" in text
    code, text, err = cli("lower", copy_checkpoint, "-o", tmp_path / "c.json",
                          "--state-scale", "calibrated")
    assert code == 0, err
    assert IntegerRNN.load(tmp_path / "c.json").meta["lowering"]["state_scale"] == "calibrated"
    code, _, err = cli("lower", copy_checkpoint, "-o", tmp_path / "x.json",
                       "--rotate-digits", "0")
    assert code == 2, err
    assert "argument --rotate-digits: expected an integer in [1, 12], got '0'" in err


def test_lower_with_calibration_file(cli, copy_checkpoint, tmp_path):
    tokens = np.random.default_rng(0).integers(0, 10, (16, 26))
    np.save(tmp_path / "calib.npy", tokens)
    code, text, err = cli("lower", copy_checkpoint, "-o", tmp_path / "a.json",
                          "--calib-data", tmp_path / "calib.npy")
    assert code == 0, err
    assert "16 sequences x 26 steps" in text
    np.save(tmp_path / "bad.npy", tokens + 20)
    code, _, err = cli("lower", copy_checkpoint, "-o", tmp_path / "b.json",
                       "--calib-data", tmp_path / "bad.npy")
    assert code == 2 and "token ids must lie in [0, 10)" in err


def test_lower_needs_calibration_source(cli, tmp_path):
    path = tmp_path / "bare.pt"
    save_checkpoint(path, HadamRNN(ModelConfig(input_size=2, hidden_size=8, output_size=3)),
                    None)
    code, _, err = cli("lower", path, "-o", tmp_path / "x.json")
    assert code == 2 and "--calib-data" in err


@pytest.mark.slow
def test_integer_accuracy_digits_and_copy(cli, tmp_path):
    """12-bit state: within 0.5 points of float on digits, >= 98% copy recall."""
    assert cli("train", "--task", "digits", "--hidden", "64", "--epochs", "15",
               "--batch-size", "64", "--lr", "3e-3", "--no-progress",
               "-o", tmp_path / "d.pt")[0] == 0
    code, text, err = cli("eval", tmp_path / "d.pt", "--json")
    assert code == 0, err
    report = json.loads(text)
    assert abs(report["float"]["accuracy"] - report["integer"]["accuracy"]) <= 0.005
    assert report["integer"]["accuracy"] >= 0.9
    assert cli("train", "--task", "copy", "--seq-len", "20", "--hidden", "64", "--steps", "800",
               "--lr", "3e-3", "--val-every", "100", "--no-progress",
               "-o", tmp_path / "c.pt")[0] == 0
    code, text, err = cli("eval", tmp_path / "c.pt", "--json")
    assert code == 0, err
    # as test_train_cli.test_copy_task_learns: 0.982-0.993 over seeds, float and integer
    assert json.loads(text)["integer"]["recall_accuracy"] >= 0.98
