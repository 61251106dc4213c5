"""Measure the HLS C simulation: g++ build time and simulated steps per second.

    .venv/bin/python tools/bench_csim.py [--sizes 16 64 128] [--sequences 64] [--steps 200]

Each design is a random IR (hadamhw.ir.random) generated into a temporary folder, built once
(cold: a fresh build folder) and run on the given stimulus; the run is checked bit-exact.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hadamhw.backends import GenerateOptions
from hadamhw.backends.hls import render
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.verify.csim import build_csim, run_csim


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 128])
    p.add_argument("--sequences", type=int, default=64)
    p.add_argument("--steps", type=int, default=200, help="steps per sequence")
    p.add_argument("--state-bits", type=int, default=12)
    args = p.parse_args()
    print(f"{'n':>5} {'m':>5} {'fold':>8} {'build s':>8} {'run s':>7} {'steps/s':>10}  result")
    for n in args.sizes:
        for m in sorted({4, n}):
            ir = random_ir(np.random.default_rng(n), n, m, state_bits=args.state_bits)
            stim = make_stimulus(ir, sequences=args.sequences, seed=0,
                                 min_steps=args.steps, max_steps=args.steps)
            for fold in ("parallel", "stage"):
                with tempfile.TemporaryDirectory() as tmp:
                    design = Path(tmp) / "design"
                    render(ir, design, GenerateOptions(fold=fold))
                    start = time.perf_counter()
                    build_csim(design, Path(tmp) / "build")
                    build_s = time.perf_counter() - start
                    result = run_csim(design, stim, Path(tmp) / "build")
                rate = result.steps / result.seconds if result.seconds else float("nan")
                verdict = "bit-exact" if result.ok else f"{result.mismatch_count} MISMATCHES"
                print(f"{n:>5} {m:>5} {fold:>8} {build_s:>8.2f} {result.seconds:>7.3f} "
                      f"{rate:>10.0f}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
