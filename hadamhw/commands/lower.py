"""`hadamhw lower`: checkpoint -> integer IR JSON."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.common import add_lowering_arguments, is_ir_path, lower_checkpoint
from hadamhw.errors import HadamhwError


def register(sub) -> None:
    p = sub.add_parser("lower", help="quantize a trained checkpoint into the integer IR",
                       description="Calibrate the hidden-state range, choose the "
                                   "requantization and derive every width; write the IR JSON.")
    p.add_argument("checkpoint", help="model.pt from 'hadamhw train' or 'hadamhw import-ref'")
    p.add_argument("-o", "--output", required=True, help="IR file to write (model.ir.json)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_lowering_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    path = Path(args.checkpoint)
    if path.is_file() and is_ir_path(path):  # refused before torch is imported
        raise HadamhwError(f"{path}: is an integer IR already; 'hadamhw lower' takes a "
                           "checkpoint (model.pt)")
    from hadamhw.ir.lower import format_summary

    ir, summary, _, _ = lower_checkpoint(path, args)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    ir.save(args.output)
    if args.json:
        print(json.dumps({"output": args.output, "widths": ir.to_dict()["widths"],
                          "requant": ir.to_dict()["requant"], **summary}, indent=2))
    else:
        print(format_summary(ir, summary))
        print(f"wrote {args.output}")
    return 0
