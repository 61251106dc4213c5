"""Shared fixtures. Threads are limited so that pytest-xdist workers share 2 cores well."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


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
