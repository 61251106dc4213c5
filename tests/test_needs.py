"""A missing tool skips a test on a developer's machine and fails it when CI is set.

The proof runs pytest in a child process with Icarus hidden from PATH (a folder of links to
every other program on PATH), once without and once with CI=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import needs

ROOT = Path(__file__).resolve().parents[1]
ICARUS_TEST = "tests/test_verilog_generate.py::test_icarus_accepts_verilog_2005"


def _path_without(folder: Path, hidden: set[str]) -> str:
    """A PATH with every program of the current one except `hidden`."""
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = folder / entry.name
            if entry.name in hidden or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(folder)


def _pytest(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", ICARUS_TEST, "-p", "no:cacheprovider",
                           "-p", "no:xdist", "-rfEs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_missing_icarus_skips_without_ci_and_fails_with_ci(tmp_path):
    path = _path_without(tmp_path / "bin", {"iverilog", "vvp"})
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["PATH"] = path
    local = _pytest(env)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "2 skipped" in local.stdout and "icarus not found" in local.stdout
    assert "external tools NOT found" in local.stdout  # the header names it
    assert "icarus (Icarus Verilog (iverilog, vvp))" in local.stdout  # and the summary

    ci = _pytest({**env, "CI": "1"})
    assert ci.returncode != 0, ci.stdout
    assert "required tool missing (CI is set, so this is a failure, not a skip): icarus: " \
        "Icarus Verilog (iverilog, vvp) is not on PATH" in ci.stdout
    assert "2 error" in ci.stdout and "passed" not in ci.stdout


def test_need_skips_or_fails(monkeypatch):
    monkeypatch.setitem(needs.TOOLS, "nothing", ("a tool nobody has", lambda: "not here"))
    needs.missing.cache_clear()
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nothing not found: not here"):
        needs.need("nothing")
    for value in ("1", "true"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match="required tool missing .* nothing"):
            needs.need("nothing")
    monkeypatch.setenv("CI", "0")
    with pytest.raises(pytest.skip.Exception):
        needs.need("nothing")
    needs.missing.cache_clear()
