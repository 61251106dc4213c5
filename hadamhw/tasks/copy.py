"""The copy task in the reference format.

Total length L = T + 20: ten random digits (1-8) at steps 0-9, blanks (0), the marker (9)
at step L - 10, blanks after it. Targets are blank (0) except the last ten steps, which
carry the ten digits in order. Inputs are token ids (one-hot, vocabulary 10); 9 classes.
"""

from __future__ import annotations

import math

import torch

from hadamhw.tasks.base import Task

VOCAB = 10
CLASSES = 9
NUM_DIGITS = 10
MARKER = 9


def copy_batch(batch: int, delay: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    length = delay + 2 * NUM_DIGITS
    digits = torch.randint(1, 9, (batch, NUM_DIGITS), generator=generator)
    x = torch.zeros(batch, length, dtype=torch.long)
    y = torch.zeros(batch, length, dtype=torch.long)
    x[:, :NUM_DIGITS] = digits
    x[:, length - NUM_DIGITS] = MARKER
    y[:, length - NUM_DIGITS:] = digits
    return x, y


class CopyTask(Task):
    primary_metric = "cross_entropy"

    def __init__(self, seq_len: int = 100, seed: int = 0, val_size: int = 512,
                 test_size: int = 2000) -> None:
        super().__init__(name="copy", seq_len=seq_len, input_kind="onehot", input_size=VOCAB,
                         output_size=CLASSES, readout="every", seed=seed,
                         options={"val_size": val_size, "test_size": test_size})
        self.length = seq_len + 2 * NUM_DIGITS
        self._splits: dict = {}

    @property
    def baseline_cross_entropy(self) -> float:
        """Cross-entropy of the best memoryless strategy: 10 ln 8 / L."""
        return NUM_DIGITS * math.log(8) / self.length

    def train_batches(self, batch_size, generator):
        while True:
            yield copy_batch(batch_size, self.seq_len, generator)

    def split(self, name):
        if name not in self._splits:
            offset = {"val": 1_000_003, "test": 2_000_003}[name]
            g = torch.Generator().manual_seed(self.seed + offset)
            size = self.options[f"{name}_size"]
            self._splits[name] = copy_batch(size, self.seq_len, g)
        return self._splits[name]

    def metrics(self, logits, targets):
        out = super().metrics(logits, targets)
        out["baseline_cross_entropy"] = self.baseline_cross_entropy
        out["ce_over_baseline"] = out["cross_entropy"] / self.baseline_cross_entropy
        return out

    def metrics_from_predictions(self, predictions, targets):
        recall = predictions[:, -NUM_DIGITS:] == targets[:, -NUM_DIGITS:]
        return {
            "accuracy": float((predictions == targets).float().mean()),
            "recall_accuracy": float(recall.float().mean()),
            "sequences_all_correct": float(recall.all(dim=1).float().mean()),
        }
