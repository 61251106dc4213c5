"""Golden-model throughput (time-steps x sequences per second) vs per-step Python loops.

    python tools/bench_golden.py [--sizes 64 512] [--batch 256] [--steps 50]

Compared: the vectorised golden model (one numpy call per step for the whole batch), a
per-sequence numpy loop (one sequence at a time), and a pure-Python scalar loop (per
element, per step; measured on a few sequences and extrapolated).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from hadamhw.ir import run
from hadamhw.ir.random import random_inputs, random_ir


def scalar_steps_per_second(ir, x, budget: float = 2.0) -> float:
    n, m = ir.hidden_size, ir.block_size
    U, b, s, rq = ir.input_weight.tolist(), ir.input_bias.tolist(), ir.signs.tolist(), ir.requant
    lo, hi = ir.state_range
    done, start = 0, time.perf_counter()
    for seq in x:
        h = [0] * n
        for xt in seq:
            f = list(h)
            half = 1
            while half < m:  # in-place radix-2 butterflies, element by element
                for base in range(0, n, 2 * half):
                    for i in range(base, base + half):
                        f[i], f[i + half] = f[i] + f[i + half], f[i] - f[i + half]
                half *= 2
            for i in range(n):
                a = sum(U[i][j] * int(xt[j]) for j in range(len(xt))) + b[i]
                v = s[i] * f[i] * rq.rotate_mult + a * rq.input_mult + (1 << (rq.shift - 1))
                h[i] = min(max(v >> rq.shift, lo), hi)
            done += 1
            if time.perf_counter() - start > budget:
                return done / (time.perf_counter() - start)
    return done / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 512])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    args = p.parse_args()
    print(f"batch {args.batch}, {args.steps} steps per sequence")
    print("| n | golden (batched) | per-sequence numpy loop | scalar Python loop | "
          "batched / per-sequence | batched / scalar |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        rng = np.random.default_rng(0)
        ir = random_ir(rng, n, None, input_size=4, state_bits=12)
        x = random_inputs(rng, ir, args.batch, args.steps)
        start = time.perf_counter()
        run(ir, x)
        batched = args.batch * args.steps / (time.perf_counter() - start)
        count = max(1, args.batch // 8)
        start = time.perf_counter()
        for i in range(count):
            run(ir, x[i:i + 1])
        per_seq = count * args.steps / (time.perf_counter() - start)
        scalar = scalar_steps_per_second(ir, x)
        print(f"| {n} | {batched:,.0f} | {per_seq:,.0f} | {scalar:,.0f} | "
              f"{batched / per_seq:.1f}x | {batched / scalar:.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
