"""Training loop: Adam, periodic validation, progress bar, deterministic on CPU, resumable.

A run can stop at any step and continue from its resume state (`Trainer.resume_state`):
model, optimizer and scheduler states, the RNG state, the step counter, the best
validation weights so far and the history. Resuming replays the task's batch stream up to
the saved step, so an interrupted and resumed run ends with exactly the weights of an
uninterrupted one.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import torch
from tqdm import tqdm

from hadamhw.errors import HadamhwError
from hadamhw.nn.model import HadamRNN, ModelConfig
from hadamhw.tasks.base import Task

RESUME_VERSION = 1


@dataclass
class TrainSettings:
    steps: int | None = None
    epochs: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: float = 1.0  # multiplied into the learning rate every `decay_every` steps
    decay_every: int = 100
    seed: int = 0
    val_every: int = 200
    clip: float | None = 1.0
    progress: bool = True

    def total_steps(self, task: Task) -> int:
        if self.steps is not None:
            if self.steps < 1:
                raise HadamhwError(f"--steps must be >= 1, got {self.steps}")
            return self.steps
        per_epoch = task.steps_per_epoch(self.batch_size)
        if per_epoch is None:
            raise HadamhwError(f"task {task.name!r} has no epochs; give --steps")
        epochs = 1 if self.epochs is None else self.epochs
        if epochs < 1:
            raise HadamhwError(f"--epochs must be >= 1, got {epochs}")
        return epochs * per_epoch

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def config_for_task(task: Task, hidden: int, block_size: int | None, weight_bits: int | None,
                    mode: str) -> ModelConfig:
    return ModelConfig(input_size=task.input_size, hidden_size=hidden,
                       output_size=task.output_size, block_size=block_size,
                       weight_bits=weight_bits, mode=mode, readout=task.readout,
                       input_kind=task.input_kind, vocab_size=task.vocab_size,
                       padding_idx=task.padding_id)


@torch.no_grad()
def predict(model: HadamRNN, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    model.eval()
    outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(outs)


def evaluate(model: HadamRNN, task: Task, split: str) -> dict:
    x, y = task.split(split)
    return task.metrics(predict(model, x), y)


def _clone_state(module_or_dict) -> dict:
    state = module_or_dict.state_dict() if hasattr(module_or_dict, "state_dict") \
        else module_or_dict
    return {k: v.detach().clone() for k, v in state.items()}


class TrainingStopped(Exception):
    """The run stopped at a step boundary because `Trainer.request_stop()` was called."""

    def __init__(self, step: int, total: int) -> None:
        super().__init__(f"training stopped at step {step} of {total}")
        self.step = step
        self.total = total


class Trainer:
    """One training run, resumable at any step.

    `on_checkpoint(trainer)` is called every `checkpoint_every` steps (0: never), at the end
    of the run, and when a stop was requested (`request_stop()`, e.g. from a signal
    handler: the run then stops after the current step, so the state saved is always that
    of a whole step, and raises TrainingStopped).
    """

    stop_requested = False

    def request_stop(self) -> None:
        self.stop_requested = True

    def __init__(self, task: Task, config: ModelConfig, settings: TrainSettings,
                 resume: dict | None = None) -> None:
        self.task = task
        self.config = config
        self.settings = settings
        self.total = settings.total_steps(task)
        torch.manual_seed(settings.seed)
        self.model = HadamRNN(config)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.lr)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, settings.decay_every,
                                                         gamma=settings.lr_decay)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.batches = task.train_batches(settings.batch_size, self.generator)
        self.step = 0
        self.history: list[dict] = []
        self.best: dict | None = None  # {"score", "step", "state_dict"}
        self.elapsed = 0.0  # training seconds of earlier sessions
        self.last_loss: float | None = None
        if resume is not None:
            self._restore(resume)

    # -- resume state -------------------------------------------------------------------
    def resume_state(self) -> dict:
        """Everything needed to continue this run: plain values and tensors only."""
        return {
            "version": RESUME_VERSION,
            "step": self.step,
            "total_steps": self.total,
            "settings": self.settings.to_dict(),
            "model": _clone_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "batches": self.generator.get_state()},
            "best": self.best,
            "history": list(self.history),
            "train_seconds": self.elapsed + self._session_seconds(),
        }

    def _restore(self, state: dict) -> None:
        if state.get("version") != RESUME_VERSION:
            raise HadamhwError(f"resume state version {state.get('version')!r} is not "
                               f"supported (this hadamhw writes version {RESUME_VERSION})")
        step = int(state["step"])
        if step > self.total:
            raise HadamhwError(f"the checkpoint is at step {step}, beyond the {self.total} "
                               "steps asked for; give a larger --steps to train further")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            detail = " ".join(str(exc).strip().splitlines()[:2])[:300]
            raise HadamhwError(f"resume state does not fit the model ({detail})") from None
        # Replay the batch stream: the iterator's position (epoch permutation, offset) is
        # not serialisable, but regenerating it from the seed is exact and cheap.
        for _ in range(step):
            next(self.batches)
        saved = state["rng"]["batches"]
        if not torch.equal(self.generator.get_state(), saved):
            raise HadamhwError("the task's training batches differ from those of the saved "
                               "run (different data or hadamhw version); cannot resume "
                               "exactly")
        torch.set_rng_state(state["rng"]["torch"])
        self.step = step
        self.best = state.get("best")
        self.history = list(state.get("history", []))
        self.elapsed = float(state.get("train_seconds", 0.0))

    def best_state_dict(self) -> dict:
        """The best validated weights so far, else the current ones."""
        return self.best["state_dict"] if self.best is not None else _clone_state(self.model)

    def _session_seconds(self) -> float:
        return time.monotonic() - self._start if hasattr(self, "_start") else 0.0

    # -- the loop -----------------------------------------------------------------------
    def _better(self, score: float) -> bool:
        if self.best is None:
            return True
        if self.task.primary_metric == "cross_entropy":
            return score < self.best["score"]
        return score > self.best["score"]

    def _validate(self, loss: float) -> None:
        val = evaluate(self.model, self.task, "val")
        self.history.append({"step": self.step, "loss": loss, **val,
                             "seconds": self.elapsed + self._session_seconds()})
        score = val[self.task.primary_metric]
        if self._better(score):
            self.best = {"score": score, "step": self.step,
                         "state_dict": _clone_state(self.model)}

    def _validation_line(self) -> str:
        entry = self.history[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in entry.items()
                          if k not in ("step", "seconds", "baseline_cross_entropy"))
        return f"step {entry['step']}/{self.total} ({entry['seconds']:.0f} s): {shown}"

    def run(self, on_checkpoint: Callable[[Trainer], None] | None = None,
            checkpoint_every: int = 0) -> tuple[HadamRNN, dict]:
        settings, task, model = self.settings, self.task, self.model
        self._start = time.monotonic()
        bar = tqdm(total=self.total, initial=self.step, disable=not settings.progress,
                   unit="step", dynamic_ncols=True)
        self.stop_requested = False
        try:
            while self.step < self.total:
                model.train()
                x, y = next(self.batches)
                loss = task.loss(model(x), y)
                if not math.isfinite(loss.item()):
                    raise HadamhwError(f"training diverged at step {self.step + 1} "
                                       f"(loss {loss.item()}); lower --lr")
                self.optimizer.zero_grad()
                loss.backward()
                if settings.clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
                self.optimizer.step()
                self.scheduler.step()
                self.step += 1
                self.last_loss = loss.item()
                bar.update(1)
                if self.step % settings.val_every == 0 or self.step == self.total:
                    self._validate(self.last_loss)
                    bar.set_postfix(loss=f"{self.last_loss:.4g}",
                                    val=f"{self.history[-1][task.primary_metric]:.4g}")
                    if not settings.progress:  # no bar: one line per validation (logs)
                        print(self._validation_line(), file=sys.stderr, flush=True)
                if (on_checkpoint is not None and checkpoint_every
                        and self.step % checkpoint_every == 0 and self.step < self.total):
                    on_checkpoint(self)
                if self.stop_requested:
                    if on_checkpoint is not None:
                        on_checkpoint(self)
                    raise TrainingStopped(self.step, self.total)
        finally:
            bar.close()
        if on_checkpoint is not None:
            on_checkpoint(self)
        model.load_state_dict(self.best_state_dict())
        elapsed = self.elapsed + self._session_seconds()
        test = evaluate(model, task, "test")
        metrics = {"test": test, "val": evaluate(model, task, "val"), "history": self.history,
                   "train_seconds": elapsed, "steps": self.total,
                   "best_step": None if self.best is None else self.best["step"]}
        return model, metrics


def train(task: Task, config: ModelConfig, settings: TrainSettings) -> tuple[HadamRNN, dict]:
    """Train from scratch without checkpoints (the library entry point)."""
    return Trainer(task, config, settings).run()
