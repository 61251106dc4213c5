#!/usr/bin/env python3
"""Simulation throughput: time-steps per second through cocotb and through the batch harness.

For each hidden size, a random IR (block size n, 12-bit state) is generated as Verilog and the
same kind of stimulus is streamed through the cocotb bench (Verilator) and through the direct
Verilator C++ harness (`hadamhw sim --batch`). Builds are cached and not timed; the rates are
simulated time steps over the simulators' own run time.

    .venv/bin/python tools/bench_sim.py [--sizes 64 128] [--fold parallel] [--gaps]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hadamhw.backends import FOLDS, GenerateOptions
from hadamhw.backends.verilog import generate
from hadamhw.ir.random import random_ir
from hadamhw.verify.cocotb_sim import run_cocotb
from hadamhw.verify.stimulus import make_stimulus
from hadamhw.verify.verilator_batch import run_batch


def _rate(result) -> float:
    if not result.ok:
        first = result.mismatches[0].describe() if result.mismatches else "no outputs"
        sys.exit(f"{result.simulator}: not bit-exact ({first}); no throughput to report")
    return result.steps / result.seconds


def bench(n: int, fold: str, gaps: bool, cocotb_sequences: int, batch_sequences: int,
          steps: int, work: Path) -> dict:
    ir = random_ir(np.random.default_rng(n), n, n, state_bits=12, input_size=4,
                   output_size=10)
    design = work / f"n{n}-{fold}"
    generate(ir, design, GenerateOptions(fold=fold))
    lo, hi = steps // 2, steps + steps // 2
    cocotb_stim = make_stimulus(ir, cocotb_sequences, seed=1, min_steps=lo, max_steps=hi)
    batch_stim = make_stimulus(ir, batch_sequences, seed=2, min_steps=lo, max_steps=hi)
    started = time.monotonic()
    # First calls build (cached across runs); the timed figures are the simulations' own.
    pattern = "gaps_and_backpressure" if gaps else "full_rate"
    cocotb = run_cocotb(design, cocotb_stim, gaps=gaps,
                        tests=(f"test_stream/traffic={pattern}",))
    batch = run_batch(design, batch_stim, gaps=gaps)
    return {"n": n, "cocotb": _rate(cocotb), "cocotb_steps": cocotb.steps,
            "cocotb_cycles_per_s": cocotb.cycles / cocotb.seconds,
            "batch": _rate(batch), "batch_steps": batch.steps,
            "batch_cycles_per_s": batch.cycles / batch.seconds,
            "wall": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    p.add_argument("--fold", choices=FOLDS, default="parallel")
    p.add_argument("--gaps", action="store_true",
                   help="random input gaps and output back-pressure (default: full rate)")
    p.add_argument("--cocotb-sequences", type=int, default=40)
    p.add_argument("--batch-sequences", type=int, default=1000)
    p.add_argument("--steps", type=int, default=100, help="mean sequence length (100)")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hadamhw-bench-") as tmp:
        for n in args.sizes:
            rows.append(bench(n, args.fold, args.gaps, args.cocotb_sequences,
                              args.batch_sequences, args.steps, Path(tmp)))
            r = rows[-1]
            print(f"n={r['n']}: done in {r['wall']:.0f} s (builds included)", file=sys.stderr)
    mode = "with gaps and back-pressure" if args.gaps else "full rate"
    print(f"fold {args.fold}, {mode}; time-steps/s (simulator run time, builds excluded)")
    print(f"{'n':>5} {'cocotb steps/s':>15} {'batch steps/s':>15} {'batch/cocotb':>13}"
          f" {'cocotb cyc/s':>13} {'batch cyc/s':>13}")
    for r in rows:
        print(f"{r['n']:>5} {r['cocotb']:>15,.0f} {r['batch']:>15,.0f} "
              f"{r['batch'] / r['cocotb']:>12.1f}x {r['cocotb_cycles_per_s']:>13,.0f} "
              f"{r['batch_cycles_per_s']:>13,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
