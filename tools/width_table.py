"""Float vs integer model for several state widths: the accuracy table of the IR issue.

    python tools/width_table.py runs/copy_t100.pt runs/digits.pt --bits 8 10 12 16
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hadamhw.checkpoint import load_checkpoint
from hadamhw.evaluate import evaluate
from hadamhw.ir.lower import LoweringSettings, calibration_inputs, lower
from hadamhw.tasks import task_from_metadata


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 10, 12, 16])
    parser.add_argument("--calib", type=int, default=512)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    print("| model | task | state bits | float metric | integer metric | argmax agreement "
          "| saturation |")
    print("|---|---|---|---|---|---|---|")
    for path in args.checkpoints:
        model, payload = load_checkpoint(path)
        task = task_from_metadata(payload["task"], data=args.data)
        metric = "recall_accuracy" if task.name == "copy" else "accuracy"
        calib = calibration_inputs(task, args.calib)
        iq = task.input_quant.to_dict() if task.input_quant else None
        for bits in args.bits:
            ir, _ = lower(model, calib, LoweringSettings(state_bits=bits), input_quant=iq)
            r = evaluate(task, "test", model=model, ir=ir)
            extra = ""
            if task.name == "copy":
                extra = (f" (CE/baseline {r['float']['ce_over_baseline']:.4f} -> "
                         f"{r['integer']['ce_over_baseline']:.4f})")
            print(f"| {Path(path).name} | {task.name} | {bits} | {r['float'][metric]:.4%} | "
                  f"{r['integer'][metric]:.4%}{extra} | {r['argmax_agreement']:.4%} | "
                  f"{r['integer']['saturation_rate']:.4%} |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
