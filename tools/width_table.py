"""Float vs integer model for several state widths and requantization choices.

The accuracy table of the lowering: each checkpoint is lowered with each state width and
each choice of the requantization constants and evaluated on its test set, float against
integer (the golden model).

    python tools/width_table.py /work/models/copy_t100.pt /work/models/digits.pt \\
        --bits 8 10 12 16 --rotate-digits 3 4 5 6 --state-scale pow2 calibrated

--state-scale pow2 is the default lowering (M_a a power of two); calibrated keeps the old
constants with --precision significant bits. --rotate-digits only matters where log2 m is
odd (M_r = a short CSD constant); for even log2 m each state width is lowered once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hadamhw.api import lower
from hadamhw.checkpoint import load_checkpoint
from hadamhw.evaluate import evaluate
from hadamhw.ir.requant import DEFAULT_ROTATE_DIGITS
from hadamhw.tasks import task_from_metadata


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 10, 12, 16])
    parser.add_argument("--state-scale", nargs="+", default=["pow2"],
                        choices=("pow2", "calibrated"))
    parser.add_argument("--rotate-digits", type=int, nargs="+", default=[DEFAULT_ROTATE_DIGITS])
    parser.add_argument("--calib", type=int, default=512)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    print("| model | task | n / m | state bits | requant | M_r (gain error) | float metric | "
          "integer metric | argmax agreement | saturation |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in args.checkpoints:
        model, payload = load_checkpoint(path)
        task = task_from_metadata(payload["task"], data=args.data)
        metric = "recall_accuracy" if task.name == "copy" else "accuracy"
        cfg = model.config
        odd = (cfg.m.bit_length() - 1) % 2 == 1
        for bits in args.bits:
            choices = []
            for scale in args.state_scale:
                digits = args.rotate_digits if scale == "pow2" and odd else [None]
                choices += [(scale, d) for d in digits]
            for scale, digits in choices:
                ir = lower(path, state_bits=bits, calib=args.calib, data=args.data,
                           state_scale=scale, rotate_digits=digits or DEFAULT_ROTATE_DIGITS)
                summary = ir.meta["calibration"]
                r = evaluate(task, "test", model=model, ir=ir)
                extra = ""
                if task.name == "copy":
                    extra = (f" (CE/baseline {r['float']['ce_over_baseline']:.4f} -> "
                             f"{r['integer']['ce_over_baseline']:.4f})")
                label = ("pow2" + (f", {digits} digits" if digits else "") if scale == "pow2"
                         else "calibrated, 16 bits")
                print(f"| {Path(path).name} | {task.name} | {cfg.hidden_size} / {cfg.m} | "
                      f"{bits} | {label} | {ir.requant.rotate_mult}/2^{ir.requant.shift} "
                      f"({summary['rotate_gain_error']:+.1e}) | {r['float'][metric]:.2%} | "
                      f"{r['integer'][metric]:.2%}{extra} | {r['argmax_agreement']:.2%} | "
                      f"{r['integer']['saturation_rate']:.3%} |")
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
