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


class ImdbTask(FixedSplitsTask):
    padding_id: ClassVar[int | None] = PAD

    def __init__(self, data: str | Path | None, seq_len: int | None = None, seed: int = 0,
                 embedding_dim: int = DEFAULT_EMBEDDING_DIM) -> None:
        if data is None:
            raise HadamhwError("task imdb needs --data FILE.npz (build it with 'hadamhw data "
                               "imdb --from-aclimdb DIR -o imdb.npz')")
        if not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise HadamhwError(f"--embedding-dim must be a positive integer, got "
                               f"{embedding_dim!r}")
        arrays = load_npz(data)
        steps = arrays["x_train"].shape[1]
        if seq_len is None:
            seq_len = steps
        if not 1 <= seq_len <= steps:
            raise HadamhwError(f"--seq-len {seq_len}: the data file {data} has {steps} steps; "
                               f"choose 1..{steps} (the last steps are kept)")
        if len(arrays["y_test"]) < 2:
            raise HadamhwError(f"{data}: needs at least 2 test reviews (a test and a "
                               "validation half)")
        super().__init__(name="imdb", seq_len=seq_len, input_kind="embedding",
                         input_size=embedding_dim, output_size=1, readout="last", seed=seed,
                         options={"data": str(data), "embedding_dim": embedding_dim},
                         vocab_size=int(arrays["num_words"]))

        def tensors(split: str, rows: slice = slice(None)):
            x = arrays[f"x_{split}"][rows, steps - seq_len:].astype(np.int64)
            return torch.from_numpy(x), torch.from_numpy(
                arrays[f"y_{split}"][rows].astype(np.int64))

        half = (len(arrays["y_test"]) + 1) // 2
        self._data = {"train": tensors("train"), "test": tensors("test", slice(0, half)),
                      "val": tensors("test", slice(half, None))}

    def loss(self, logits, targets):
        return nn.functional.binary_cross_entropy_with_logits(
            logits[..., 0], targets.to(logits.dtype))

    def predictions(self, logits):
        return (logits[..., 0] > 0).long()
