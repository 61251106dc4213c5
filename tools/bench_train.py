"""Training throughput: FWHT path vs dense-matmul path (time-steps per second).

    python tools/bench_train.py [--sizes 128 512] [--steps 10] [--threads 2]

A time-step is one step of one sequence, forward and backward (batch x length per update).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from hadamhw.nn import HadamRNN, ModelConfig


def measure(n: int, use_fwht: bool, batch: int, length: int, updates: int) -> float:
    torch.manual_seed(0)
    cfg = ModelConfig(input_size=10, hidden_size=n, output_size=9, input_kind="onehot")
    model = HadamRNN(cfg, use_fwht=use_fwht)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randint(0, 10, (batch, length))
    y = torch.randint(0, 9, (batch, length))
    loss_fn = torch.nn.CrossEntropyLoss()

    def update():
        loss = loss_fn(model(x).reshape(-1, 9), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    update()  # warm-up
    start = time.perf_counter()
    for _ in range(updates):
        update()
    return updates * batch * length / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--length", type=int, default=120)
    p.add_argument("--updates", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch}, length {args.length}, {args.updates} updates, "
          f"{args.threads} threads")
    print("| n | FWHT time-steps/s | dense time-steps/s | FWHT / dense |")
    print("|---|---|---|---|")
    for n in args.sizes:
        fast = measure(n, True, args.batch, args.length, args.updates)
        dense = measure(n, False, args.batch, args.length, args.updates)
        print(f"| {n} | {fast:,.0f} | {dense:,.0f} | {fast / dense:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
