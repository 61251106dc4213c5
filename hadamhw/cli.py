"""The `hadamhw` command: train, info, lower, eval, generate, sim, report, import-ref, data."""

from __future__ import annotations

import argparse
import importlib
import sys

from hadamhw.commands import COMMAND_MODULES
from hadamhw.commands.paths import os_error_message
from hadamhw.errors import HadamhwError


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (the sub-command parsers share it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HadamhwError as exc:
        print(f"hadamhw {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:  # a file-system error no up-front check foresaw
        print(f"hadamhw {args.command}: error: {os_error_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

