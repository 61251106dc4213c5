"""A non-editable install carries the templates and simulation files and works."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hadamhw.ir.random import random_ir

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_templates_and_generates(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(wheel_dir)], check=True,
                   capture_output=True)
    (wheel,) = wheel_dir.glob("hadamhw-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("hadamhw/templates/verilog/") for n in names)
    assert any(n.startswith("hadamhw/templates/hls/") for n in names)
    assert any(n.startswith("hadamhw/sim/") for n in names)
    # the published schemas travel with the loader that validates against them
    assert "hadamhw/ir/ir-v1.schema.json" in names
    assert "hadamhw/ir/design-manifest-v1.schema.json" in names
    # the fused recurrence compiles from its source on first use
    assert "hadamhw/nn/fused_recurrence.cpp" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    ir_path = tmp_path / "m.ir.json"
    random_ir(np.random.default_rng(0), 8, 4).save(ir_path)
    # Run from an unrelated folder with only the unpacked wheel (plus dependencies) on the
    # path: the source checkout's templates/ must not be what makes it work.
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import hadamhw, hadamhw.resources as r, sys; "
            "assert str(r.templates_dir()).startswith(sys.argv[1]), r.templates_dir(); "
            "from hadamhw.ir.json_schema import schema_path as p; "
            "assert str(p('ir')).startswith(sys.argv[1]), p('ir'); "
            "from hadamhw.cli import main; sys.exit(main(sys.argv[2:]))")
    for target in ("verilog", "hls"):
        out = tmp_path / target
        proc = subprocess.run([sys.executable, "-c", code, str(site), "generate",
                               str(ir_path), "--target", target, "-o", str(out)],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert (out / "manifest.json").is_file()
