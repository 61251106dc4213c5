"""`hadamhw lower`: checkpoint -> integer IR JSON."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.common import add_lowering_arguments, lower_checkpoint
from hadamhw.commands.paths import check_output_file, user_path, write_text_atomic


def register(sub) -> None:
    p = sub.add_parser("lower", help="quantize a trained checkpoint into the integer IR",
                       description="Calibrate the hidden-state range, choose the "
                                   "requantization and derive every width; write the IR JSON.")
    p.add_argument("checkpoint", type=user_path,
                   help="model.pt from 'hadamhw train' or 'hadamhw import-ref'")
    p.add_argument("-o", "--output", type=user_path, required=True,
                   help="IR file to write (model.ir.json)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_lowering_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    check_output_file(args.output, "IR file", example="model.ir.json")
    # lower_checkpoint refuses an IR file before torch is imported
    ir, summary, _, _ = lower_checkpoint(Path(args.checkpoint), args)
    from hadamhw.ir.lower import format_summary

    write_text_atomic(args.output, ir.to_json())
    if args.json:
        print(json.dumps({"output": args.output, "widths": ir.to_dict()["widths"],
                          "requant": ir.to_dict()["requant"], **summary}, indent=2))
    else:
        print(format_summary(ir, summary))
        print(f"wrote {args.output}")
    return 0
