"""scikit-learn's bundled 8x8 digits (1797 images, pixels 0-16): 64 steps, one pixel each."""

from __future__ import annotations

import numpy as np

from hadamhw.tasks.classification import PixelSequenceTask

SPLIT_SEED = 1234  # fixed split, independent of the training seed
VAL_SIZE = 180
TEST_SIZE = 360


def load_digit_splits() -> tuple[dict, dict]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images.reshape(len(data.images), -1).astype(np.int64)
    labels = data.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    test, val, train = (order[:TEST_SIZE], order[TEST_SIZE:TEST_SIZE + VAL_SIZE],
                        order[TEST_SIZE + VAL_SIZE:])
    return ({"train": images[train], "val": images[val], "test": images[test]},
            {"train": labels[train], "val": labels[val], "test": labels[test]})


def digits_task(permute: bool = False, seed: int = 0) -> PixelSequenceTask:
    images, labels = load_digit_splits()
    # The permutation is a fixed property of the task (seed 0), not of the training run.
    return PixelSequenceTask("pdigits" if permute else "digits", images, labels, max_pixel=16,
                             bits=5, permute=permute, seed=0 if permute else seed)
