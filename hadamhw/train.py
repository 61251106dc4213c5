"""Training loop: Adam, periodic validation, progress bar, deterministic on CPU."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from tqdm import tqdm

from hadamhw.errors import HadamhwError
from hadamhw.nn.model import HadamRNN, ModelConfig
from hadamhw.tasks.base import Task


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


def config_for_task(task: Task, hidden: int, block_size: int | None, weight_bits: int | None,
                    mode: str) -> ModelConfig:
    return ModelConfig(input_size=task.input_size, hidden_size=hidden,
                       output_size=task.output_size, block_size=block_size,
                       weight_bits=weight_bits, mode=mode, readout=task.readout,
                       input_kind=task.input_kind)


@torch.no_grad()
def predict(model: HadamRNN, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    model.eval()
    outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(outs)


def evaluate(model: HadamRNN, task: Task, split: str) -> dict:
    x, y = task.split(split)
    return task.metrics(predict(model, x), y)


def train(task: Task, config: ModelConfig, settings: TrainSettings) -> tuple[HadamRNN, dict]:
    torch.manual_seed(settings.seed)
    model = HadamRNN(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, settings.decay_every,
                                                gamma=settings.lr_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    batches = task.train_batches(settings.batch_size, generator)
    total = settings.total_steps(task)
    history = []
    best = None
    start = time.monotonic()
    bar = tqdm(range(1, total + 1), disable=not settings.progress, unit="step",
               dynamic_ncols=True)
    for step in bar:
        model.train()
        x, y = next(batches)
        loss = task.loss(model(x), y)
        if not math.isfinite(loss.item()):
            raise HadamhwError(f"training diverged at step {step} (loss {loss.item()}); "
                               "lower --lr")
        optimizer.zero_grad()
        loss.backward()
        if settings.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
        optimizer.step()
        scheduler.step()
        if step % settings.val_every == 0 or step == total:
            val = evaluate(model, task, "val")
            history.append({"step": step, "loss": loss.item(), **val})
            bar.set_postfix(loss=f"{loss.item():.4g}",
                            val=f"{val[task.primary_metric]:.4g}")
            score = val[task.primary_metric]
            better = (best is None or (score < best[0] if task.primary_metric == "cross_entropy"
                                       else score > best[0]))
            if better:
                best = (score, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if best is not None:
        model.load_state_dict(best[1])
    elapsed = time.monotonic() - start
    test = evaluate(model, task, "test")
    metrics = {"test": test, "val": evaluate(model, task, "val"), "history": history,
               "train_seconds": elapsed, "steps": total}
    return model, metrics
