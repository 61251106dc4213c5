"""Pixel-by-pixel image classification: sequential and permuted digits / MNIST."""

from __future__ import annotations

import numpy as np
import torch

from hadamhw.tasks.base import FixedSplitsTask, InputQuant


class PixelSequenceTask(FixedSplitsTask):
    """Images fed one pixel per step, class read at the last step.

    `images` are integer pixels (N, P) in [0, max_pixel]; the model sees pixel / max_pixel,
    which the input quantizer maps back to the exact integer.
    """

    def __init__(self, name: str, images: dict, labels: dict, max_pixel: int, bits: int,
                 permute: bool, seed: int, options: dict | None = None) -> None:
        pixels = images["train"].shape[1]
        super().__init__(name=name, seq_len=pixels, input_kind="real", input_size=1,
                         output_size=10, readout="last", seed=seed,
                         input_quant=InputQuant(bits=bits, scale=1.0 / max_pixel),
                         options=options or {})
        order = np.arange(pixels)
        if permute:
            order = np.random.default_rng(seed).permutation(pixels)
        self.order = order
        self.max_pixel = max_pixel
        self._data = {
            split: (
                torch.from_numpy(images[split][:, order].astype(np.float32) / max_pixel)
                .unsqueeze(-1),
                torch.from_numpy(labels[split].astype(np.int64)),
            )
            for split in ("train", "val", "test")
        }

