"""Commands on an IR or a generated design never import torch.

Each command runs in a child process whose sitecustomize makes `import torch` fail, as on a
machine with the hardware tools but without torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hadamhw.ir.random import random_ir

NO_TORCH = "import sys\nsys.modules['torch'] = None  # import torch now raises ImportError\n"


@pytest.fixture
def run_without_torch(tmp_path):
    shim = tmp_path / "no-torch"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)}

    def run(*args) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "hadamhw.cli", *map(str, args)],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def test_the_shim_really_hides_torch(run_without_torch, tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(tmp_path / "no-torch")})
    assert proc.returncode != 0 and "halted" in proc.stderr


def test_help_info_and_lower_refusal_without_torch(run_without_torch, tmp_path):
    ir_path = tmp_path / "m.ir.json"
    random_ir(np.random.default_rng(0), 8, 4, input_kind="token", input_size=5).save(ir_path)
    assert run_without_torch("--help").returncode == 0
    lower_help = run_without_torch("lower", "--help")
    assert lower_help.returncode == 0 and "--calib-data" in lower_help.stdout
    info = run_without_torch("info", ir_path)
    assert info.returncode == 0, info.stderr
    assert "hadamhw integer IR v1" in info.stdout and "ids 5..7 drive the bias only" in info.stdout
    info_json = run_without_torch("info", ir_path, "--json")
    assert json.loads(info_json.stdout)["shapes"]["input_weight"] == [8, 5]
    lower = run_without_torch("lower", ir_path, "-o", tmp_path / "x.json")
    assert lower.returncode == 2 and "is an integer IR file, not a checkpoint" in lower.stderr


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.synth
@pytest.mark.hls
@pytest.mark.needs("verilator")
def test_generate_sim_csim_report_without_torch(run_without_torch, tmp_path):
    ir_path = tmp_path / "m.ir.json"
    random_ir(np.random.default_rng(1), 8, 4, output_bits=8).save(ir_path)
    rtl, hls = tmp_path / "rtl", tmp_path / "hls"
    for target, out in (("verilog", rtl), ("hls", hls)):
        proc = run_without_torch("generate", ir_path, "--target", target, "-o", out)
        assert proc.returncode == 0, proc.stderr
    for args in (("sim", rtl, "--batch", "--sequences", "20"),
                 ("sim", rtl, "--sequences", "2", "--max-steps", "4"),
                 ("sim", ir_path, "--batch", "--sequences", "5"),
                 ("csim", hls, "--sequences", "4")):
        proc = run_without_torch(*args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "bit-exact" in proc.stdout
    report = run_without_torch("report", rtl, "--fpga", "generic", "--quiet", "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["mul_cells"] == 0


def test_no_command_module_imports_torch_at_registration():
    """Importing the CLI and building its parser loads no torch module."""
    code = ("import sys; from hadamhw.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
