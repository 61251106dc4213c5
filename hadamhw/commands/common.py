"""Shared argument handling: load a checkpoint or an IR and get an IR out of either."""

from __future__ import annotations

import argparse
from pathlib import Path

from hadamhw.commands.inputs import IR, expect_checkpoint, expect_model
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


def lowering_settings(args):
    from hadamhw.ir.lower import DEFAULT_STATE_BITS, LoweringSettings
    from hadamhw.ir.requant import DEFAULT_ROTATE_DIGITS

    return LoweringSettings(
        state_bits=DEFAULT_STATE_BITS if args.state_bits is None else args.state_bits,
        calib=args.calib, precision=args.precision, percentile=args.percentile,
        output_bits=args.output_bits,
        state_scale=getattr(args, "state_scale", "pow2"),
        rotate_digits=(DEFAULT_ROTATE_DIGITS if getattr(args, "rotate_digits", None) is None
                       else args.rotate_digits))


def lower_checkpoint(path: Path, args, command: str = "lower"):
    """Lower a checkpoint with the CLI's lowering options; returns (ir, summary, model, task)."""
    expect_checkpoint(path, command)  # before torch is imported: an IR is refused without it
    from hadamhw.checkpoint import load_checkpoint
    from hadamhw.ir.lower import calibration_inputs, load_calibration_file, lower
    from hadamhw.tasks import task_from_metadata

    model, payload = load_checkpoint(path)
    task_meta = payload.get("task")
    task = task_from_metadata(task_meta, data=args.data) if task_meta else None
    settings = lowering_settings(args)
    if args.calib_data:
        calib_x = load_calibration_file(args.calib_data, model)
    elif task is not None:
        calib_x = calibration_inputs(task, settings.calib, settings.seed)
    else:
        raise HadamhwError(f"{path}: the checkpoint names no task to calibrate on; "
                           "give --calib-data FILE.npy")
    input_quant = None
    if task is not None and task.input_quant is not None:
        input_quant = task.input_quant.to_dict()
    meta = {"name": path.stem, "source": path.name, "task": task_meta}
    ir, summary = lower(model, calib_x, settings, input_quant=input_quant, meta=meta)
    return ir, summary, model, task


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
        args = argparse.Namespace(state_bits=None, calib=512, calib_data=None,
                                  percentile=100.0, precision=16, output_bits=None, data=None,
                                  state_scale="pow2", rotate_digits=None)
    return lower_checkpoint(path, args, command)[0]
