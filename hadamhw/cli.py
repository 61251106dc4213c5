"""The `hadamhw` command: train, info, lower, eval, generate, sim, report, import-ref, data."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading

from hadamhw.commands import COMMAND_MODULES
from hadamhw.commands.paths import os_error_message
from hadamhw.errors import HadamhwError


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (the sub-command parsers share it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# What exit status 1 means for each command that uses it; every command: 0 done (and true),
# 2 bad input, 130 / 143 interrupted by SIGINT / SIGTERM (temporary files removed).
STATUS_ONE = {
    "sim": "a mismatch between the hardware and the golden model",
    "csim": "a mismatch between the C simulation and the golden model",
    "sweep": "a trial failed or timed out (recorded with its reason; the others ran)",
    "report": "multipliers in the design; with --pnr also: it does not fit the device, does "
              "not route, or misses the --freq clock",
}


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that every cleanup (finally) runs."""


def _exit_codes(command: str) -> str:
    one = f"1 {STATUS_ONE[command]}; " if command in STATUS_ONE else ""
    return (f"exit status: 0 done; {one}2 bad input (one line on stderr); 130 interrupted "
            "(SIGINT), 143 terminated (SIGTERM), temporary files removed")


def build_parser() -> argparse.ArgumentParser:
    from hadamhw import __version__

    parser = _Parser(
        prog="hadamhw",
        description="HadamRNN / Block-HadamRNN from PyTorch to bit-exact verified hardware.",
    )
    parser.add_argument("--version", action="version", version=f"hadamhw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    for name, command in sub.choices.items():
        command.epilog = _exit_codes(name)
    return parser


@contextlib.contextmanager
def _sigterm_raises():
    """SIGTERM raises Terminated (in the main thread), so that it cleans up like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_raises():
            return int(args.func(args) or 0)
    except HadamhwError as exc:
        print(f"hadamhw {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        return 1
    except OSError as exc:  # a file-system error no up-front check foresaw
        print(f"hadamhw {args.command}: error: {os_error_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

