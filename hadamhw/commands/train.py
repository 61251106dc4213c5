"""`hadamhw train`: train a HadamRNN / Block-HadamRNN on a task and write a checkpoint."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from hadamhw.commands.options import COUNT, SEED, SEQ_LEN, float_range, int_range, power_of_two
from hadamhw.commands.paths import check_output_file, user_path
from hadamhw.errors import HadamhwError

DEFAULT_CHECKPOINT_EVERY = 1000
# Options a resumed run may change; every other option is the checkpoint's.
RESUME_MAY_CHANGE = ("steps", "epochs", "threads", "no_progress", "checkpoint",
                     "checkpoint_every", "data", "resume")
_DEFAULTS: dict = {}


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
    p.add_argument("--task", choices=TASKS, metavar="{" + ",".join(TASKS) + "}",
                   help="copy task, (permuted) sklearn digits, (permuted) MNIST, IMDB, or "
                        "GLUE SST-2 / QQP (reference: sst2 --hidden 128 --embedding-dim 256; "
                        "qqp --hidden 512 --block-size 128 --embedding-dim 256)")
    p.add_argument("--seq-len", type=SEQ_LEN, default=None,
                   help="copy task delay T (total length T + 20; default 100); imdb: steps "
                        "kept of each review (default: all of the data file's); sst2, qqp: "
                        "the data file's")
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
                   help="folder with the MNIST IDX files, or the imdb / sst2 / qqp .npz file "
                        "('hadamhw data')")
    p.add_argument("--embedding-dim", type=COUNT, default=None,
                   help="imdb, sst2, qqp: width of the word embedding (default: the "
                        "reference's, 512 for imdb, 256 for sst2 and qqp)")
    p.add_argument("--threads", type=COUNT, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar: one line per validation on stderr (for logs)")
    p.add_argument("-o", "--output", type=user_path, required=True,
                   help="checkpoint to write (model.pt); checked before training starts")
    g = p.add_argument_group("checkpoints and resuming")
    g.add_argument("--resume", metavar="CKPT", type=user_path, default=None,
                   help="continue the run saved in CKPT (a --checkpoint file); task, model "
                        "and optimizer settings come from it, --steps/--epochs may extend it")
    g.add_argument("--checkpoint", metavar="PATH", type=user_path, default=None,
                   help="resume checkpoint to keep up to date (default: beside -o, "
                        "MODEL.resume.pt; when resuming: the CKPT resumed from)")
    g.add_argument("--checkpoint-every", type=int_range(0), default=DEFAULT_CHECKPOINT_EVERY,
                   metavar="N", help="write the resume checkpoint every N steps (default "
                   f"{DEFAULT_CHECKPOINT_EVERY}; 0: only when stopped by Ctrl-C or SIGTERM)")
    g.add_argument("--force", action="store_true",
                   help="start a new run even though a resume checkpoint of an earlier one "
                        "is where this run keeps its own (it is overwritten)")
    p.set_defaults(func=run)
    _DEFAULTS.update({a.dest: a.default for a in p._actions})


def default_checkpoint_path(output: str | Path) -> Path:
    output = Path(output)
    stem = output.name[:-3] if output.name.endswith(".pt") else output.name
    return output.with_name(f"{stem}.resume.pt")


def _resumed_setup(args):
    """Task, config, settings and training record of the run saved in --resume."""
    from hadamhw.checkpoint import read_resume_checkpoint
    from hadamhw.nn.model import ModelConfig
    from hadamhw.tasks import task_from_metadata
    from hadamhw.train import TrainSettings

    payload = read_resume_checkpoint(args.resume)
    stored = dict(payload.get("training") or {})
    for name, value in vars(args).items():
        if name in RESUME_MAY_CHANGE or name == "func" or name == "output":
            continue
        if value != _DEFAULTS.get(name) and name in stored and value != stored[name]:
            flag = "--" + name.replace("_", "-")
            raise HadamhwError(f"{flag} {value} differs from the resumed run's "
                               f"{stored[name]!r}; a resumed run keeps its settings (only "
                               "--steps/--epochs, --threads, --checkpoint* may change)")
    task = task_from_metadata(payload["task"], data=args.data)
    config = ModelConfig.from_dict(payload["config"])
    settings = TrainSettings.from_dict(payload["resume"]["settings"])
    if args.steps is not None:
        settings.steps, settings.epochs = args.steps, None
        stored.update(steps=args.steps, epochs=None)
    elif args.epochs is not None:
        settings.steps, settings.epochs = None, args.epochs
        stored.update(steps=None, epochs=args.epochs)
    settings.progress = not args.no_progress
    stored["resumed"] = int(stored.get("resumed", 0)) + 1
    return task, config, settings, stored, payload["resume"]


def _keep_earlier_run(checkpoint: Path, args) -> None:
    """A new run must not overwrite the resume checkpoint of an interrupted one unasked."""
    if checkpoint.exists() and not args.force:
        raise HadamhwError(f"{checkpoint}: a resume checkpoint of an earlier run is there; "
                           f"continue that run with --resume {checkpoint}, or give --force "
                           "to start a new one over it")


class _StopOnSignal:
    """First Ctrl-C / SIGTERM: finish the step, save, stop. A second Ctrl-C aborts."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer
        self.saved: dict = {}
        self.signum = 0  # the signal that stopped the run: its exit status is 128 + it

    def _handler(self, signum, frame) -> None:
        if self.trainer.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.trainer.request_stop()
        self.signum = self.signum or signum
        print(f"\n{signal.Signals(signum).name}: stopping after this step and saving "
              "(Ctrl-C again to abort without saving)", file=sys.stderr, flush=True)

    def __enter__(self):
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


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
    if args.checkpoint:
        check_output_file(args.checkpoint, "resume checkpoint", example="model.resume.pt")
    if not args.resume:
        check_model_shape(args.hidden, args.block_size)
        _keep_earlier_run(Path(args.checkpoint or default_checkpoint_path(args.output)), args)

    import torch

    from hadamhw.checkpoint import atomic_save, checkpoint_payload, save_final_checkpoint
    from hadamhw.tasks import EMBEDDING_TASKS, get_task
    from hadamhw.train import Trainer, TrainingStopped, TrainSettings, config_for_task

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.resume:
        task, config, settings, training, resume = _resumed_setup(args)
    else:
        if args.task is None:
            raise HadamhwError("--task is required (or --resume CKPT to continue a run)")
        if args.embedding_dim is not None and args.task not in EMBEDDING_TASKS:
            raise HadamhwError("--embedding-dim applies to --task imdb, sst2 or qqp")
        options = {} if args.embedding_dim is None else {"embedding_dim": args.embedding_dim}
        task = get_task(args.task, seq_len=args.seq_len, seed=args.seed, data=args.data,
                        **options)
        config = config_for_task(task, args.hidden, args.block_size, args.weight_bits,
                                 args.mode)
        settings = TrainSettings(steps=args.steps, epochs=args.epochs,
                                 batch_size=args.batch_size, lr=args.lr,
                                 lr_decay=args.lr_decay, decay_every=args.decay_every,
                                 seed=args.seed, val_every=args.val_every,
                                 progress=not args.no_progress)
        training = {k: v for k, v in vars(args).items()
                    if k not in ("func", "output", "resume", "checkpoint")}
        resume = None
    checkpoint = Path(args.checkpoint or args.resume or default_checkpoint_path(args.output))
    check_output_file(checkpoint, "resume checkpoint", example="model.resume.pt")
    trainer = Trainer(task, config, settings, resume=resume)
    written = {"any": resume is not None}

    def save_resume(tr: Trainer) -> None:
        at_end = tr.step >= tr.total and not tr.stop_requested
        if at_end and not written["any"]:
            return  # a short run that never needed a resume file leaves none behind
        payload = checkpoint_payload(
            tr.model, task.metadata(), {"history": tr.history, "partial": {
                "step": tr.step, "total_steps": tr.total}}, training,
            state_dict=tr.best_state_dict(), resume=tr.resume_state())
        try:
            atomic_save(payload, checkpoint)
            written["any"] = True
        except OSError as exc:
            print(f"warning: cannot write the resume checkpoint {checkpoint} "
                  f"({exc.strerror or exc}); training goes on", file=sys.stderr)

    try:
        stopper = _StopOnSignal(trainer)
        with stopper:
            model, metrics = trainer.run(save_resume, args.checkpoint_every)
    except TrainingStopped as stop:
        print(f"stopped at step {stop.step} of {stop.total}; state saved in {checkpoint}; "
              f"continue with: hadamhw train --resume {checkpoint} -o {args.output}",
              file=sys.stderr)
        return 128 + (stopper.signum or signal.SIGINT)
    test = metrics["test"]
    shown = ", ".join(f"{k} {v:.6g}" for k, v in test.items())
    print(f"test: {shown}")
    save_final_checkpoint(args.output,
                          checkpoint_payload(model, task.metadata(), metrics, training))
    print(f"trained {metrics['steps']} steps in {metrics['train_seconds']:.1f} s; "
          f"wrote {args.output}")
    if written["any"]:
        print(f"resume checkpoint (to train further with --resume): {checkpoint}")
    return 0
