#!/usr/bin/env python3
"""Analytical cost of the datapath around the recurrent core, choice by choice.

For the sweep's fixed-seed random IRs (examples/sweeps/sweep_hw.toml: seed 0, 4-bit weights,
12-bit state, 3 four-bit inputs, 5 outputs), generates the Verilog for each requantization choice,
constant-product method and readout, and prints the manifest's adders and adder bits (the
sum of the adders' widths: about one LUT equivalent per bit on carry-chain FPGAs) of the
input projection, the requantization and the readout. Beside them it gives the butterfly
core's adder bits (n adders per level, each level's exact width from the IR) and the sum
of all four: a floor under the whole design's LUT equivalents, since the flip-flops, clamps,
muxes, FIFO and control come on top. No synthesis: it runs in seconds.

    python tools/datapath_costs.py --pairs 16:4,128:128
"""

from __future__ import annotations

import argparse
import json
import sys

from hadamhw.report.sweep import render_design, sweep_ir

# (label, requant, rotate digits, readout, lanes, cmvm)
CHOICES = [
    ("random 12-16 bit constants (S as in the first sweep), CSD trees", "random", None,
     "every", None, "csd"),
    ("lean constants, CSD trees", "lean", None, "every", None, "csd"),
    ("lean constants, da4ml", "lean", None, "every", None, "da4ml"),
    ("lean, M_r with 4 digits, da4ml", "lean", 4, "every", None, "da4ml"),
    ("lean, M_r with 3 digits, da4ml", "lean", 3, "every", None, "da4ml"),
    ("lean, da4ml, readout last at once", "lean", None, "last", None, "da4ml"),
    ("lean, da4ml, readout last, 1 lane", "lean", None, "last", 1, "da4ml"),
    ("lean, CSD, readout last, 1 lane", "lean", None, "last", 1, "csd"),
]


def core_adder_bits(ir) -> int:
    """Adder bits of the FWHT core: n adders in each of the k levels, at the level's width
    (the last level writes the rotated width, one bit more for the folded signs)."""
    w = ir.widths
    return ir.hidden_size * (sum(w.fwht[:ir.k - 1]) + w.rotated)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", default="16:4,128:128", help="n:m configurations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    pairs = [tuple(int(v) for v in item.split(":")) for item in args.pairs.split(",") if item]
    rows = []
    for n, m in pairs:
        for label, requant, digits, readout, lanes, cmvm in CHOICES:
            ir = sweep_ir(n, m, args.seed, requant=requant, rotate_digits=digits,
                          readout=readout)
            man, _ = render_design(ir, cmvm=cmvm, readout_lanes=lanes)
            rows.append({"n": n, "m": m, "choice": label, "rotate_mult": ir.requant.rotate_mult,
                         "shift": ir.requant.shift, "input_mult": ir.requant.input_mult,
                         "adders": man["adders_per_step"], "bits": man["adder_bits"],
                         "readout_cycles": man["readout_cycles"],
                         "core_bits": core_adder_bits(ir)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("| n | m | choice | M_r / M_a / S | adders input / requant / readout | "
          "adder bits input / requant / readout | adder bits total | readout cycles | "
          "core adder bits | core + datapath adder bits |")
    print("|---:|---:|---|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        a, b = r["adders"], r["bits"]
        print(f"| {r['n']} | {r['m']} | {r['choice']} | {r['rotate_mult']} / {r['input_mult']} / "
              f"{r['shift']} | {a['input']} / {a['requant']} / {a['readout']} | "
              f"{b['input']} / {b['requant']} / {b['readout']} | {b['total']} | "
              f"{r['readout_cycles'] or '–'} | {r['core_bits']} | "
              f"{r['core_bits'] + b['total']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
