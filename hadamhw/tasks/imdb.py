"""IMDB sentiment: token ids through a word embedding, one logit, binary cross-entropy.

The reference's set-up (deel-ai-papers/hadamRNN, config/imdb): vocabulary 10,000, embedding
512 with padding id 0, T = 500, readout at the last step, BCE with logits; the test reviews
split into a test half (the first) and a validation half (the second). The class is the
logit's sign: positive when the logit is > 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from hadamhw.errors import HadamhwError
from hadamhw.tasks.base import FixedSplitsTask
from hadamhw.tasks.imdb_data import PAD, load_npz

DEFAULT_EMBEDDING_DIM = 512


class TokenFileTask(FixedSplitsTask):
    """One logit (BCE) over token sequences read from a data file in the .npz format of
    `hadamhw.tasks.imdb_data`: x_train / y_train train, the first half of x_test / y_test
    tests and the second half validates."""

    padding_id: ClassVar[int | None] = PAD

    def __init__(self, name: str, data: str | Path | None, seq_len: int | None, seed: int,
                 embedding_dim: int) -> None:
        if data is None:
            raise HadamhwError(f"task {name} needs --data FILE.npz (build it with "
                               f"'{self.build_command(name)}')")
        if not Path(data).is_file():
            raise HadamhwError(f"{data}: no such {name} data file (build one with "
                               f"'{self.build_command(name)}')")
        if not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise HadamhwError(f"--embedding-dim must be a positive integer, got "
                               f"{embedding_dim!r}")
        arrays = load_npz(data)
        steps = arrays["x_train"].shape[1]
        seq_len = self.checked_seq_len(seq_len, steps, data)
        if len(arrays["y_test"]) < 2:
            raise HadamhwError(f"{data}: needs at least 2 test sequences (a test and a "
                               "validation half)")
        super().__init__(name=name, seq_len=seq_len, input_kind="embedding",
                         input_size=embedding_dim, output_size=1, readout="last", seed=seed,
                         options={"data": str(data), "embedding_dim": embedding_dim},
                         vocab_size=int(arrays["num_words"]))
        kept = self.kept_steps(steps, seq_len)

        def tensors(split: str, rows: slice = slice(None)):
            x = arrays[f"x_{split}"][rows, kept].astype(np.int64)
            return torch.from_numpy(x), torch.from_numpy(
                arrays[f"y_{split}"][rows].astype(np.int64))

        half = (len(arrays["y_test"]) + 1) // 2
        self._data = {"train": tensors("train"), "test": tensors("test", slice(0, half)),
                      "val": tensors("test", slice(half, None))}

    def build_command(self, name: str) -> str:
        """The command that writes this task's data file, for messages."""
        return "hadamhw data imdb --from-aclimdb DIR -o imdb.npz"

    def checked_seq_len(self, seq_len: int | None, steps: int, data) -> int:
        """The steps T the task keeps of the file's `steps` (None: all of them)."""
        if seq_len is None:
            return steps
        if not 1 <= seq_len <= steps:
            raise HadamhwError(f"--seq-len {seq_len}: the data file {data} has {steps} steps; "
                               f"choose 1..{steps} (the last steps are kept)")
        return seq_len

    def kept_steps(self, steps: int, seq_len: int) -> slice:
        # Pre-padded rows (IMDB): the last steps hold the words.
        return slice(steps - seq_len, steps)

    def loss(self, logits, targets):
        return nn.functional.binary_cross_entropy_with_logits(
            logits[..., 0], targets.to(logits.dtype))

    def predictions(self, logits):
        return (logits[..., 0] > 0).long()


class ImdbTask(TokenFileTask):
    def __init__(self, data: str | Path | None, seq_len: int | None = None, seed: int = 0,
                 embedding_dim: int = DEFAULT_EMBEDDING_DIM) -> None:
        super().__init__("imdb", data, seq_len, seed, embedding_dim)
