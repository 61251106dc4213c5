#!/usr/bin/env python3
"""Simulation throughput: time-steps per second through cocotb and through the batch harness.

For each hidden size, a random IR (block size n, 12-bit state) is generated as Verilog and the
same kind of stimulus is streamed through the cocotb bench (Verilator) and through the direct
Verilator C++ harness (`hadamhw sim --batch`). Builds are cached and not timed; the rates are
simulated time steps over the simulators' own run time.

    .venv/bin/python tools/bench_sim.py [--sizes 64 128] [--fold parallel] [--gaps]
        [--streams P|auto --pipeline none|auto] [--batch-only] [--jobs J]

With --streams, the design interleaves P sequences (sequence i on stream i % P; the harness
feeds the streams in turn, or in random order with --gaps) and the harness runs P sequences
at once; the rate is still simulated time steps per second of the harness's own run time.
With --jobs J, J harness processes share the sequences (`hadamhw sim --batch --jobs J`); the
rate is then over the wall time of all of them, processes started and inputs read included.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hadamhw.backends import FOLDS
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.report.sweep import generate_design
from hadamhw.verify.cocotb_sim import run_cocotb
from hadamhw.verify.verilator_batch import run_batch


def _rate(result) -> float:
    if not result.ok:
        first = result.mismatches[0].describe() if result.mismatches else "no outputs"
        sys.exit(f"{result.simulator}: not bit-exact ({first}); no throughput to report")
    return result.steps / result.seconds


def bench(n: int, fold: str, gaps: bool, cocotb_sequences: int, batch_sequences: int,
          steps: int, work: Path, streams: int | str = 1, pipeline: str = "none",
          cocotb: bool = True, jobs: int = 1) -> dict:
    ir = random_ir(np.random.default_rng(n), n, n, state_bits=12, input_size=4,
                   output_size=10)
    design = work / f"n{n}-{fold}-P{streams}-{pipeline}"
    man = generate_design(ir, design, fold=fold, streams=streams, pipeline=pipeline)
    lo, hi = steps // 2, steps + steps // 2
    cocotb_stim = make_stimulus(ir, cocotb_sequences, seed=1, min_steps=lo, max_steps=hi)
    batch_stim = make_stimulus(ir, batch_sequences, seed=2, min_steps=lo, max_steps=hi)
    started = time.monotonic()
    # First calls build (cached across runs); the timed figures are the simulations' own.
    pattern = "gaps_and_backpressure" if gaps else "full_rate"
    row = {"n": n, "streams": man.get("streams", 1), "cocotb": None, "cocotb_steps": 0,
           "cocotb_cycles_per_s": None}
    if cocotb:
        sim = run_cocotb(design, cocotb_stim, gaps=gaps, tests=(f"test_stream/traffic={pattern}",))
        row.update({"cocotb": _rate(sim), "cocotb_steps": sim.steps,
                    "cocotb_cycles_per_s": sim.cycles / sim.seconds})
    batch = run_batch(design, batch_stim, gaps=gaps, jobs=jobs)
    return {**row,
            "batch": _rate(batch), "batch_steps": batch.steps,
            "batch_cycles_per_s": batch.cycles / batch.seconds,
            "batch_cpu": batch.steps / batch.cpu_seconds if batch.cpu_seconds else None,
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
    p.add_argument("--streams", default="1",
                   help="interleaved streams of the design: P or auto (default 1)")
    p.add_argument("--pipeline", choices=("none", "auto"), default="none",
                   help="pipeline registers of the design (default none)")
    p.add_argument("--batch-only", action="store_true", help="skip the cocotb bench")
    p.add_argument("--jobs", type=int, default=1,
                   help="batch harness processes side by side (default 1); the batch rate "
                        "is then over their wall time")
    args = p.parse_args(argv)
    streams = args.streams if args.streams == "auto" else int(args.streams)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hadamhw-bench-") as tmp:
        for n in args.sizes:
            rows.append(bench(n, args.fold, args.gaps, args.cocotb_sequences,
                              args.batch_sequences, args.steps, Path(tmp), streams,
                              args.pipeline, not args.batch_only, args.jobs))
            r = rows[-1]
            print(f"n={r['n']}: done in {r['wall']:.0f} s (builds included)", file=sys.stderr)
    mode = "with gaps and back-pressure" if args.gaps else "full rate"
    print(f"fold {args.fold}, {mode}, streams {args.streams}, pipeline {args.pipeline}, "
          f"batch harness processes {args.jobs}; "
          "time-steps/s (simulator run time, builds excluded; steps/cpu-s: over the "
          "harness's processor time, which a loaded machine does not stretch)")
    print(f"{'n':>5} {'P':>3} {'cocotb steps/s':>15} {'batch steps/s':>15} {'batch/cocotb':>13}"
          f" {'cocotb cyc/s':>13} {'batch cyc/s':>13} {'batch steps/cpu-s':>18}")

    def num(value, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    for r in rows:
        ratio = None if r["cocotb"] is None else r["batch"] / r["cocotb"]
        print(f"{r['n']:>5} {r['streams']:>3} {num(r['cocotb'], ',.0f'):>15} "
              f"{r['batch']:>15,.0f} {num(ratio, '.1f'):>12}x "
              f"{num(r['cocotb_cycles_per_s'], ',.0f'):>13} {r['batch_cycles_per_s']:>13,.0f} "
              f"{num(r['batch_cpu'], ',.0f'):>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
