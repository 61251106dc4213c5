"""`hadamhw train`: train a HadamRNN / Block-HadamRNN on a task and write a checkpoint."""

from __future__ import annotations

import argparse

from hadamhw.errors import HadamhwError


def _weight_bits(text: str) -> int | None:
    if text.lower() in ("float", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1 or 'float', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"weight bits p must be >= 1, got {value}")
    return value


def register(sub) -> None:
    from hadamhw.tasks import TASKS

    p = sub.add_parser("train", help="train a HadamRNN / Block-HadamRNN on a task",
                       description="Train a model and write a self-describing checkpoint.")
    p.add_argument("--task", required=True, choices=TASKS, metavar="{" + ",".join(TASKS) + "}",
                   help="copy task, (permuted) sklearn digits, or (permuted) MNIST")
    p.add_argument("--seq-len", type=int, default=None,
                   help="copy task delay T (total length T + 20); default 100")
    p.add_argument("--hidden", type=int, default=128, help="hidden size n (default 128)")
    p.add_argument("--block-size", type=int, default=None,
                   help="Hadamard block size m, a power of two dividing n (default n: HadamRNN)")
    p.add_argument("--weight-bits", type=_weight_bits, default=4,
                   help="bits p of the quantized U and V (default 4; 'float' keeps them float)")
    p.add_argument("--mode", choices=("linear", "vanilla"), default="linear",
                   help="linear recurrence with ReLU readout (reference) or ReLU in the loop")
    p.add_argument("--epochs", type=int, default=None, help="epochs (image tasks)")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (overrides epochs)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--lr-decay", type=float, default=1.0,
                   help="StepLR factor applied every --decay-every steps (default 1: none)")
    p.add_argument("--decay-every", type=int, default=100)
    p.add_argument("--val-every", type=int, default=200, help="validate every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", required=True, help="checkpoint to write (model.pt)")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from hadamhw.checkpoint import save_checkpoint
    from hadamhw.tasks import get_task
    from hadamhw.train import TrainSettings, config_for_task, train

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.seq_len is not None and args.seq_len < 1:
        raise HadamhwError(f"--seq-len must be >= 1, got {args.seq_len}")
    if args.batch_size < 1:
        raise HadamhwError(f"--batch-size must be >= 1, got {args.batch_size}")
    bits = args.weight_bits
    task = get_task(args.task, seq_len=args.seq_len, seed=args.seed, data=args.data)
    config = config_for_task(task, args.hidden, args.block_size, bits, args.mode)
    settings = TrainSettings(steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
                             lr=args.lr, lr_decay=args.lr_decay, decay_every=args.decay_every,
                             seed=args.seed, val_every=args.val_every,
                             progress=not args.no_progress)
    model, metrics = train(task, config, settings)
    training = {k: v for k, v in vars(args).items() if k not in ("func", "output")}
    save_checkpoint(args.output, model, task.metadata(), metrics, training)
    test = metrics["test"]
    shown = ", ".join(f"{k} {v:.6g}" for k, v in test.items())
    print(f"test: {shown}")
    print(f"trained {metrics['steps']} steps in {metrics['train_seconds']:.1f} s; "
          f"wrote {args.output}")
    return 0
