"""Training throughput: FWHT path vs dense-matmul path (time-steps per second).

    python tools/bench_train.py [--sizes 128 512] [--updates 5] [--repeats 3] [--threads 1]

A time-step is one step of one sequence, forward and backward (batch x length per update).
Each update is timed on its own and the fastest of `repeats` x `updates` counts: on a
machine shared with other jobs the fastest update is the one least disturbed by them.

Columns: the FWHT path (the default, `use_fwht=True`): the fused recurrence, the whole time
loop forward and backward in C++ with a radix-2 transform (hadamhw/nn/fused.py), or with
HADAMHW_NO_EXT=1 (or where the extension cannot be built) the PyTorch loop with
Kronecker-factored Walsh-Hadamard products; the first line of output says which ran. Then
the dense path of the model (`use_fwht=False`: W = diag(s) H / sqrt(m) rebuilt every time
step, always the PyTorch loop, the baseline the project's targets refer to); and a dense
path that builds W once per forward, the fairest dense competitor.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from hadamhw.nn import HadamRNN, ModelConfig, fused


class HoistedDenseRNN(HadamRNN):
    """The dense path with W built once per forward instead of once per time step."""

    def forward(self, x, return_states=False):
        weight = self.recurrent.weight()
        self.recurrent.weight = lambda: weight  # shadows the method for this call only
        try:
            return super().forward(x, return_states)
        finally:
            del self.recurrent.weight


def measure(n: int, path: str, batch: int, length: int, updates: int, repeats: int) -> float:
    torch.manual_seed(0)
    cfg = ModelConfig(input_size=10, hidden_size=n, output_size=9, input_kind="onehot")
    model = (HoistedDenseRNN(cfg, use_fwht=False) if path == "hoisted"
             else HadamRNN(cfg, use_fwht=path == "fwht"))
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
    fastest = float("inf")
    for _ in range(repeats * updates):
        start = time.perf_counter()
        update()
        fastest = min(fastest, time.perf_counter() - start)
    return batch * length / fastest


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--length", type=int, default=120)
    p.add_argument("--updates", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    path = ("fused C++ recurrence" if fused.extension() is not None
            else "PyTorch loop (HADAMHW_NO_EXT set or the extension unavailable)")
    print(f"batch {args.batch}, length {args.length}, fastest of {args.repeats} x "
          f"{args.updates} updates, {args.threads} thread(s); FWHT path: {path}")
    print("| n | FWHT time-steps/s | dense (W per step) | dense (W per forward) "
          "| FWHT / dense | FWHT / dense per forward |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        rates = {path: measure(n, path, args.batch, args.length, args.updates, args.repeats)
                 for path in ("fwht", "dense", "hoisted")}
        print(f"| {n} | {rates['fwht']:,.0f} | {rates['dense']:,.0f} | "
              f"{rates['hoisted']:,.0f} | {rates['fwht'] / rates['dense']:.2f} | "
              f"{rates['fwht'] / rates['hoisted']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
