"""`hadamhw train`: train a HadamRNN / Block-HadamRNN on a task and write a checkpoint."""

from __future__ import annotations

import argparse

from hadamhw.commands.options import COUNT, SEED, SEQ_LEN, float_range, int_range, power_of_two
from hadamhw.commands.paths import check_output_file, user_path
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
    p.add_argument("--seq-len", type=SEQ_LEN, default=None,
                   help="copy task delay T (total length T + 20); default 100")
    p.add_argument("--hidden", type=int_range(2), default=128,
                   help="hidden size n (default 128; a power of two without --block-size)")
    p.add_argument("--block-size", type=power_of_two(2), default=None,
                   help="Hadamard block size m, a power of two dividing n (default n: HadamRNN)")
    p.add_argument("--weight-bits", type=_weight_bits, default=4,
                   help="bits p of the quantized U and V (default 4; 'float' keeps them float)")
    p.add_argument("--mode", choices=("linear", "vanilla"), default="linear",
                   help="linear recurrence with ReLU readout (reference) or ReLU in the loop")
    p.add_argument("--epochs", type=COUNT, default=None, help="epochs (image tasks)")
    p.add_argument("--steps", type=COUNT, default=None,
                   help="optimizer steps (overrides epochs)")
    p.add_argument("--batch-size", type=COUNT, default=128)
    p.add_argument("--lr", type=float_range(0), default=1e-3,
                   help="Adam learning rate (default 1e-3)")
    p.add_argument("--lr-decay", type=float_range(0, 1), default=1.0,
                   help="StepLR factor in (0, 1] applied every --decay-every steps "
                        "(default 1: none)")
    p.add_argument("--decay-every", type=COUNT, default=100)
    p.add_argument("--val-every", type=COUNT, default=200, help="validate every N steps")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--data", type=user_path, default=None,
                   help="folder with the MNIST IDX files")
    p.add_argument("--threads", type=COUNT, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", type=user_path, required=True,
                   help="checkpoint to write (model.pt); checked before training starts")
    p.set_defaults(func=run)


def check_model_shape(hidden: int, block_size: int | None) -> None:
    """n and m as the options give them, blamed on the option the user gave."""
    if block_size is None:
        if hidden & (hidden - 1):
            below = 1 << (hidden.bit_length() - 1)
            keep = hidden & -hidden  # the largest power of two dividing n
            block = (f", or keep n = {hidden} as a Block-HadamRNN with --block-size {keep} "
                     "(m: a power of two dividing n)") if keep >= 2 else ""
            raise HadamhwError(
                f"--hidden {hidden}: without --block-size the model is a HadamRNN (m = n), "
                f"and n must be a power of two: use --hidden {below} or {2 * below}{block}")
    elif hidden % block_size:
        raise HadamhwError(f"--hidden {hidden} is not a multiple of block size {block_size} "
                           "(--block-size)")


def run(args) -> int:
    # Checked before anything is loaded: a bad -o must never cost a training run.
    check_output_file(args.output, "checkpoint", example="model.pt")
    check_model_shape(args.hidden, args.block_size)

    import torch

    from hadamhw.checkpoint import save_checkpoint
    from hadamhw.tasks import get_task
    from hadamhw.train import TrainSettings, config_for_task, train

    if args.threads:
        torch.set_num_threads(args.threads)
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
