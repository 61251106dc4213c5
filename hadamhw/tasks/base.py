"""What every task provides: data splits, loss, metrics, and how inputs become integers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn


@dataclass
class InputQuant:
    """Real inputs x are exact multiples of `scale`: x = x_int * scale, x_int in `bits` bits."""

    bits: int
    scale: float
    signed: bool = False

    def to_dict(self) -> dict:
        return {"bits": self.bits, "scale": self.scale, "signed": self.signed}


@dataclass
class Task:
    """Base class; subclasses fill the data."""

    name: str
    seq_len: int
    input_kind: str  # "real" | "onehot" | "embedding"
    input_size: int  # features, one-hot width, or embedding width
    output_size: int
    readout: str  # "every" | "last"
    seed: int = 0
    input_quant: InputQuant | None = None
    options: dict = field(default_factory=dict)
    vocab_size: int | None = None  # token alphabet of an "embedding" input

    # Selects the best validation checkpoint; a class constant, not an init field.
    primary_metric: ClassVar[str] = "accuracy"
    # Token id whose embedding is held at zero (embedding inputs), None for none.
    padding_id: ClassVar[int | None] = None

    def metadata(self) -> dict:
        """Enough to rebuild the task (stored in checkpoints)."""
        return {
            "name": self.name,
            "seq_len": self.seq_len,
            "seed": self.seed,
            "input_kind": self.input_kind,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "readout": self.readout,
            "input_quant": None if self.input_quant is None else self.input_quant.to_dict(),
            "options": dict(self.options),
            **({} if self.vocab_size is None else {"vocab_size": self.vocab_size}),
        }

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator:
        raise NotImplementedError

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Fixed (inputs, targets) for 'val' or 'test'."""
        raise NotImplementedError

    def steps_per_epoch(self, batch_size: int) -> int | None:
        return None

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           targets.reshape(-1))

    def metrics(self, logits: torch.Tensor, targets: torch.Tensor) -> dict:
        """Metrics from float logits (the float model)."""
        return {
            "cross_entropy": float(self.loss(logits, targets)),
            **self.metrics_from_predictions(self.predictions(logits), targets),
        }

    def predictions(self, logits: torch.Tensor) -> torch.Tensor:
        """Class indices from logits (argmax; a one-logit task uses its sign)."""
        return logits.argmax(-1)

    def metrics_from_predictions(self, predictions: torch.Tensor, targets: torch.Tensor) -> dict:
        return {"accuracy": float((predictions == targets).float().mean())}


class FixedSplitsTask(Task):
    """A task whose splits are tensors held in memory (`self._data`: split name -> (inputs,
    targets)); training draws shuffled batches of 'train', an epoch at a time."""

    _data: dict[str, tuple[torch.Tensor, torch.Tensor]]

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return self._data[name]

    def steps_per_epoch(self, batch_size: int) -> int:
        return -(-len(self._data["train"][1]) // batch_size)

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator:
        x, y = self._data["train"]
        while True:
            perm = torch.randperm(len(y), generator=generator)
            for i in range(0, len(y), batch_size):
                idx = perm[i:i + batch_size]
                yield x[idx], y[idx]
