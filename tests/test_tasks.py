"""Tasks: the copy-task layout, digits splits, MNIST IDX reading and its errors."""

from __future__ import annotations

import gzip
import math
import struct

import numpy as np
import pytest
import torch

from hadamhw.errors import HadamhwError
from hadamhw.tasks import get_task
from hadamhw.tasks.copy import copy_batch
from hadamhw.tasks.mnist import load_mnist, read_idx


def test_copy_task_hand_checked_example():
    g = torch.Generator().manual_seed(0)
    x, y = copy_batch(1, 3, g)  # delay T = 3: L = 23
    digits = x[0, :10].tolist()
    assert x.shape == (1, 23) and y.shape == (1, 23)
    assert all(1 <= d <= 8 for d in digits)
    expected_x = digits + [0, 0, 0] + [9] + [0] * 9
    expected_y = [0] * 13 + digits
    assert x[0].tolist() == expected_x
    assert y[0].tolist() == expected_y


def test_copy_task_metadata_and_baseline():
    task = get_task("copy", seq_len=100)
    assert task.length == 120
    assert task.input_size == 10 and task.output_size == 9 and task.readout == "every"
    assert task.baseline_cross_entropy == pytest.approx(10 * math.log(8) / 120)
    x, y = task.split("test")
    x2, _ = get_task("copy", seq_len=100).split("test")
    assert torch.equal(x, x2)  # fixed test set
    assert (x[:, 110] == 9).all() and (y[:, :110] == 0).all()


def test_copy_metrics_perfect_predictions():
    task = get_task("copy", seq_len=5, test_size=4)
    x, y = task.split("test")
    m = task.metrics_from_predictions(y.clone(), y)
    assert m["recall_accuracy"] == 1.0 and m["accuracy"] == 1.0
    wrong = y.clone()
    wrong[:, -1] = 0
    assert task.metrics_from_predictions(wrong, y)["recall_accuracy"] == pytest.approx(0.9)


def test_digits_split_is_fixed_and_disjoint():
    task = get_task("digits")
    sizes = {s: len(task.split(s)[1]) for s in ("train", "val", "test")}
    assert sizes == {"train": 1257, "val": 180, "test": 360}
    x, _ = task.split("test")
    assert x.shape == (360, 64, 1)
    assert torch.all((x * 16) == torch.round(x * 16))  # exact multiples of 1/16
    assert task.input_quant.bits == 5 and task.input_quant.scale == 1 / 16
    p1, p2 = get_task("pdigits", seed=3), get_task("pdigits", seed=9)
    assert np.array_equal(p1.order, p2.order) and not np.array_equal(p1.order, np.arange(64))


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d)
                                                         for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def make_mnist(folder, train=60, test=20, size=4, compress=False):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}",
              rng.integers(0, 256, (train, size, size)), compress)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", rng.integers(0, 10, train), compress)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}",
              rng.integers(0, 256, (test, size, size)), compress)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", rng.integers(0, 10, test), compress)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_from_small_idx_files(tmp_path, compress):
    make_mnist(tmp_path, compress=compress)
    images, labels = load_mnist(tmp_path)
    assert images["train"].shape == (50, 16) and images["val"].shape == (10, 16)
    assert images["test"].shape == (20, 16) and labels["test"].shape == (20,)
    task = get_task("pmnist", data=str(tmp_path))
    x, y = task.split("test")
    assert x.shape == (20, 16, 1) and task.seq_len == 16
    assert task.input_quant.bits == 8


def test_idx_header_checks(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03")
    with pytest.raises(HadamhwError, match="not an IDX file"):
        read_idx(bad)
    trunc = tmp_path / "trunc"
    write_idx(trunc, np.zeros((3, 4, 4)))
    trunc.write_bytes(trunc.read_bytes()[:-5])
    with pytest.raises(HadamhwError, match="promises 48 bytes"):
        read_idx(trunc)
    gz = tmp_path / "x.gz"
    gz.write_bytes(b"not gzip")
    with pytest.raises(HadamhwError, match="cannot read"):
        read_idx(gz)


def test_mnist_missing_and_inconsistent(tmp_path):
    with pytest.raises(HadamhwError, match="--data"):
        get_task("smnist")
    with pytest.raises(HadamhwError, match="not found"):
        load_mnist(tmp_path)
    make_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(7))
    with pytest.raises(HadamhwError, match="20 images but labels"):
        load_mnist(tmp_path)


def test_unknown_task():
    with pytest.raises(HadamhwError, match="unknown task"):
        get_task("imagenet")
