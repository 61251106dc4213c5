"""The `hadamhw` command: train, info, lower, eval, generate, sim, report, import-ref, data."""

from __future__ import annotations

import argparse
import importlib
import sys

from hadamhw.commands import COMMAND_MODULES
from hadamhw.errors import HadamhwError


def build_parser() -> argparse.ArgumentParser:
    from hadamhw import __version__

    parser = argparse.ArgumentParser(
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


if __name__ == "__main__":
    sys.exit(main())

