"""The deep fold's checks can fail: its block-RAM addressing rendered from corrupted templates.

Each variant copies templates/verilog and changes one addressing decision of
templates/verilog/fold/ (the skewed read word of the second half, the write word, the
ping-pong buffer a half reads, the buffer toggle at the end of a stage). The design still
builds and lints; only simulation can tell. The IR (n = m = 16, F = 1: a skewed layout of 8
words per bank, 4 stages) and the stimulus (6 to 14 steps) make every variant change
outputs; the same copy without a corruption must render identically and pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends.verilog_fold import plan_for
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.resources import templates_dir
from tests.needs import need

pytestmark = pytest.mark.sim

UNITS = 1
# variant -> (template file, text to replace, replacement)
VARIANTS = {
    # The second half reads the first half's (unskewed) word: the skew is lost.
    "read-skew": ("fold/memory.v.j2",
                  "rd1_addr = {buf_q, {{ rot.read_word[1] }}};",
                  "rd1_addr = {buf_q, {{ rot.read_word[0] }}};"),
    # Results go to word ~c instead of word c of the other buffer.
    "write-word": ("fold/memory.v.j2", "wr_addr  = {wb_buf_q, wb_c_q};",
                   "wr_addr  = {wb_buf_q, ~wb_c_q};"),
    # The first half reads the buffer being written instead of the one written last stage.
    "read-buffer": ("fold/memory.v.j2", "rd0_addr = {buf_q, ", "rd0_addr = {~buf_q, "),
    # The ping-pong buffer never changes: every stage reads the step's input vector.
    "buffer-toggle": ("fold/control.v.j2", "buf_q <= ~buf_q;", "buf_q <= buf_q;"),
}


def _ir():
    return random_ir(np.random.default_rng(17), 16, 16, state_bits=12, input_size=2,
                     output_size=4, saturating=False)


def _stimulus():
    return make_stimulus(_ir(), sequences=12, seed=11, min_steps=6, max_steps=14)


def _templates(tmp: Path, variant: str | None) -> Path:
    copy = tmp / f"templates-{variant or 'clean'}"
    if not copy.is_dir():
        shutil.copytree(templates_dir() / "verilog", copy)
        if variant is not None:
            name, old, new = VARIANTS[variant]
            path = copy / name
            text = path.read_text()
            assert text.count(old) == 1, f"{name} no longer holds the text {variant} corrupts"
            path.write_text(text.replace(old, new))
    return copy


def _design(tmp: Path, variant: str | None) -> tuple[Path, dict, dict]:
    """(design folder, corrupted render, clean render)."""
    from hadamhw.backends.verilog import render

    options = GenerateOptions(fold=UNITS)
    files = render(_ir(), options, template_dir=_templates(tmp, variant))
    clean = render(_ir(), options)
    out = tmp / f"design-{variant or 'clean'}"
    if not out.is_dir():
        out.mkdir()
        for name, text in files.items():
            (out / name).write_text(text)
    return out, files, clean


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fold-can-fail")


def test_the_ir_has_a_skewed_layout():
    plan = plan_for(_ir(), UNITS)
    assert plan.skew and plan.words == 8 and plan.k == 4


def _assert_value_mismatch(result) -> None:
    assert not result.ok, "the corrupted design passed: the check cannot fail"
    first = result.mismatches[0]
    assert first.sequence >= 0 and first.step >= 0
    assert first.expected != first.got


@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_batch_reports_ram_addressing_corruption(variant, tmp):
    from hadamhw.verify.verilator_batch import run_batch

    need("verilator")
    design, files, clean = _design(tmp, variant)
    result = run_batch(design, _stimulus(), seed=2)
    if variant is None:
        assert files == clean
        assert result.ok, result.mismatches[0].describe() if result.mismatches else "no output"
        return
    assert [name for name in clean if files[name] != clean[name]] == ["hadamrnn.v"]
    _assert_value_mismatch(result)


def test_cocotb_reports_ram_addressing_corruption(tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb

    need("verilator")
    design = _design(tmp, "read-skew")[0]
    _assert_value_mismatch(run_cocotb(design, _stimulus(), simulator="verilator", seed=3))


@pytest.mark.needs("icarus")
@pytest.mark.parametrize("variant", [None, "write-word", "buffer-toggle"])
def test_generated_testbench_reports_ram_addressing_corruption(variant, tmp):
    """The design's own Verilog bench (FuseSoC's sim target) on Icarus."""
    design = _design(tmp, variant)[0]
    man = json.loads((design / "manifest.json").read_text())
    sources = [*man["hdl_files"], man["verilog_testbench"]["file"]]
    subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", *sources], cwd=design, check=True,
                   capture_output=True, timeout=300)
    proc = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=design, capture_output=True, text=True,
                          timeout=300)
    if variant is None:
        assert proc.returncode == 0 and "PASS: " in proc.stdout, proc.stdout
    else:
        assert proc.returncode != 0 and "MISMATCH" in proc.stdout, proc.stdout
