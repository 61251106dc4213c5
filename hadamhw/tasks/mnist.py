"""sMNIST / pMNIST from the standard MNIST IDX files in a user-supplied folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.tasks.classification import PixelSequenceTask

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
VAL_SIZE = 5000
PERMUTATION_SEED = 0


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) of unsigned bytes."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise HadamhwError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise HadamhwError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise HadamhwError(f"{path}: IDX data type 0x{raw[2]:02x} is not unsigned byte")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim < 1 or len(raw) < header:
        raise HadamhwError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise HadamhwError(
            f"{path}: IDX header promises {expected} bytes of data for shape {shape}, "
            f"file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _locate(data_dir: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise HadamhwError(f"MNIST file {stem}[.gz] not found in {data_dir}")


def load_mnist(data_dir: str | Path) -> tuple[dict, dict]:
    if data_dir is None:
        raise HadamhwError("MNIST tasks need --data DIR pointing to the MNIST IDX files")
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise HadamhwError(f"{data_dir}: is a file; --data names the folder holding the "
                           "MNIST IDX files")
    if not data_dir.is_dir():
        raise HadamhwError(f"MNIST data folder {data_dir} does not exist")
    arrays = {key: read_idx(_locate(data_dir, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3:
            raise HadamhwError(f"MNIST {split} images: expected 3 dimensions, got {images.ndim}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise HadamhwError(
                f"MNIST {split}: {len(images)} images but labels of shape {labels.shape}"
            )
        if labels.max(initial=0) > 9:
            raise HadamhwError(f"MNIST {split} labels: value {labels.max()} is not a digit")
    train_x = arrays["train_images"].reshape(len(arrays["train_images"]), -1).astype(np.int64)
    train_y = arrays["train_labels"].astype(np.int64)
    test_x = arrays["test_images"].reshape(len(arrays["test_images"]), -1).astype(np.int64)
    if test_x.shape[1] != train_x.shape[1]:
        raise HadamhwError("MNIST train and test images have different sizes")
    val = min(VAL_SIZE, len(train_y) // 6)
    return (
        {"train": train_x[val:], "val": train_x[:val], "test": test_x},
        {"train": train_y[val:], "val": train_y[:val],
         "test": arrays["test_labels"].astype(np.int64)},
    )


def mnist_task(data_dir, permute: bool = False, seed: int = 0) -> PixelSequenceTask:
    images, labels = load_mnist(data_dir)
    return PixelSequenceTask("pmnist" if permute else "smnist", images, labels, max_pixel=255,
                             bits=8, permute=permute, seed=PERMUTATION_SEED if permute else seed,
                             options={"data": str(data_dir)})
