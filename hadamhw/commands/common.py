"""Shared argument handling: load a checkpoint or an IR and get an IR out of either."""

from __future__ import annotations

import argparse
from pathlib import Path

from hadamhw.commands.inputs import IR, expect_model
from hadamhw.commands.options import COUNT, float_range, int_range
from hadamhw.commands.paths import user_path
from hadamhw.errors import HadamhwError


def add_lowering_arguments(p: argparse.ArgumentParser, state_default: int | None = None) -> None:
    from hadamhw.ir.requant import DEFAULT_ROTATE_DIGITS, MAX_ROTATE_DIGITS

    g = p.add_argument_group("lowering (when given a checkpoint)")
    # The ranges are LoweringSettings.validate's, checked here before anything is loaded.
    g.add_argument("--state-bits", type=int_range(2, 32), default=state_default,
                   help="hidden-state width B_h, 2..32 (default 12)")
    g.add_argument("--calib", type=COUNT, default=512,
                   help="calibration sequences from the task's training data (default 512)")
    g.add_argument("--calib-data", type=user_path, default=None, metavar="FILE.npy",
                   help="calibrate on these input sequences instead of task data")
    g.add_argument("--percentile", type=float_range(0, 100), default=100.0,
                   help="percentile of |h| mapped to full scale, in (0, 100] "
                        "(default 100: the maximum)")
    g.add_argument("--precision", type=int_range(4, 30), default=16,
                   help="significant bits of the requantization constants, 4..30 (default 16)")
    g.add_argument("--state-scale", choices=("pow2", "calibrated"), default="pow2",
                   help="pow2 (default): the state step is a power-of-two multiple of the "
                        "input accumulator's, so M_a is a shift (the state range uses half to "
                        "all of its bits); calibrated: exactly the calibrated range, M_a with "
                        "--precision significant bits")
    g.add_argument("--rotate-digits", type=int_range(1, MAX_ROTATE_DIGITS), default=None,
                   metavar="D",
                   help="non-zero CSD digits of M_r ~ 2^S/sqrt(m) when log2 m is odd (pow2 "
                        f"state scale; default {DEFAULT_ROTATE_DIGITS}); each digit is one "
                        "adder per state element and step")
    g.add_argument("--output-bits", type=int_range(2, 32), default=None,
                   help="requantize the logits to this many bits, 2..32 (default: full width)")
    g.add_argument("--data", type=user_path, default=None,
                   help="folder with MNIST IDX files (MNIST tasks)")


def lowering_options(args) -> dict:
    """The lowering options of a parsed command line, as keyword arguments of
    hadamhw.api.lower_checkpoint."""
    return {"state_bits": args.state_bits, "calib": args.calib, "calib_data": args.calib_data,
            "percentile": args.percentile, "precision": args.precision,
            "output_bits": args.output_bits, "data": args.data,
            "state_scale": getattr(args, "state_scale", "pow2"),
            "rotate_digits": getattr(args, "rotate_digits", None)}


def lower_checkpoint(path: Path, args, command: str = "lower"):
    """Lower a checkpoint with the CLI's lowering options; returns (ir, summary, model, task)."""
    from hadamhw.api import lower_checkpoint as lower_with

    done = lower_with(path, command=command, **lowering_options(args))
    return done.ir, done.summary, done.model, done.task


def load_ir(path: str | Path, args=None, command: str = "generate"):
    """An IR from a .json file, or lowered from a checkpoint with the CLI's options."""
    from hadamhw.ir.schema import IntegerRNN

    path = Path(path)
    if expect_model(path, command) == IR:
        if args is not None and getattr(args, "state_bits", None) is not None:
            raise HadamhwError("--state-bits applies when lowering a checkpoint; an IR file "
                               "has its widths fixed (run 'hadamhw lower' again)")
        return IntegerRNN.load(path)
    if args is None:
        from hadamhw.api import lower_checkpoint as lower_with

        return lower_with(path, command=command).ir
    return lower_checkpoint(path, args, command)[0]


def add_strict_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true",
                   help="refuse a design whose files changed since 'hadamhw generate' (their "
                        "sha256 differs from manifest.json) or whose manifest records no "
                        "digests (for CI); without it a changed file is named on stderr and "
                        "in the JSON (modified_files), and the files are used as they are")


def open_design_folder(path: str | Path, command: str, strict: bool = False):
    """The design folder a command works on, read once; what changed in it is said on
    stderr, one line per file."""
    import sys

    from hadamhw.design import DesignFolder

    design = DesignFolder(path, strict=strict)
    for note in design.notes():
        print(f"hadamhw {command}: warning: {note}", file=sys.stderr)
    return design
