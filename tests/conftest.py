"""Shared fixtures. Threads are limited so that pytest-xdist workers share 2 cores well.

External tools: `@pytest.mark.needs("icarus")` (and the markers hls, synth) skip a test
where the tool is missing, or fail it when CI is set; see tests/needs.py.
"""

from __future__ import annotations

import os

import pytest

from tests.needs import MARKER_TOOLS, TOOLS, in_ci, need, summary

os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", f"needs(*tools): external tools the test runs ({', '.join(TOOLS)}); "
                   "skipped without them, failed without them when CI is set")


def pytest_runtest_setup(item) -> None:
    # Before any fixture: a missing tool must not surface as a build error further in.
    tools = [tool for mark in item.iter_markers("needs") for tool in mark.args]
    for marker, implied in MARKER_TOOLS.items():
        if item.get_closest_marker(marker) is not None:
            tools += implied
    need(*dict.fromkeys(tools))


def pytest_report_header(config) -> list[str]:
    lines = summary()
    if not lines:
        return ["external tools: all found"]
    verdict = "tests that need them FAIL (CI is set)" if in_ci() else \
        "tests that need them are skipped (set CI=1 to fail them)"
    return [f"external tools NOT found, {verdict}:"] + [f"  {line}" for line in lines]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = summary()
    if lines:
        terminalreporter.write_sep("=", "external tools not found")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    import torch

    torch.set_num_threads(1)
    yield


@pytest.fixture
def cli(capsys):
    """Run `hadamhw ARGS` in-process; returns (exit code, stdout, stderr)."""
    from hadamhw.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop what fixtures printed
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def read_only_folder(tmp_path_factory):
    """A folder that takes no new files: one without write permission, or, for root (whom
    permission bits do not stop), /sys, where no regular file can be created."""
    from pathlib import Path

    from hadamhw.commands.paths import _cannot_create_in

    folder = tmp_path_factory.mktemp("read-only")
    folder.chmod(0o555)
    if _cannot_create_in(folder) is not None:
        yield folder
        folder.chmod(0o755)
        return
    folder.chmod(0o755)
    system = Path("/sys")
    if system.is_dir() and _cannot_create_in(system) is not None:
        yield system
        return
    pytest.skip("no folder here refuses new files")
