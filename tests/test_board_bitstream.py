"""A whole iCEBreaker bitstream for a tiny design: synthesis, place and route at 12 MHz, the
timing check and icepack (about 20 s once the tools' WebAssembly is cached)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hadamhw import api
from hadamhw.board import build
from hadamhw.board.top import core_view
from hadamhw.ir.random import random_ir

pytestmark = [pytest.mark.synth, pytest.mark.needs("nextpnr-ice40")]


def test_icebreaker_bitstream_meets_timing(tmp_path):
    ir = random_ir(np.random.default_rng(5), 8, input_size=2, output_size=3, readout="last",
                   requant="lean")
    design = api.generate(ir, tmp_path / "rtl")
    out = tmp_path / "board"
    summary = build(design.path, "icebreaker", out, steps=16)
    bitstream = out / "icebreaker.bin"
    assert bitstream.is_file() and bitstream.stat().st_size > 100_000  # the UP5K's image
    assert summary["fmax_mhz"] >= summary["clock_mhz"] == 12.0 and not summary["pll"]
    assert summary["utilization"]["ICESTORM_RAM"]["used"] >= 1  # the frame buffers
    assert summary["synth"]["dsp"] == 0 and summary["synth"]["ffs"] > 0
    assert summary["hash"] == core_view(design).digest.hex()
    assert json.loads((out / "board.json").read_text()) == summary
    flash = (out / "flash.sh").read_text()
    assert "openFPGALoader -b icebreaker -f icebreaker.bin" in flash
