"""The IMDB sentiment data as a padded integer array file (.npz, no pickle).

File format (`np.savez_compressed`, read with `np.load(..., allow_pickle=False)`):

    x_train (N, T) int32   token ids, pre-padded with 0 and pre-truncated to T
    y_train (N,)   int8    1 positive, 0 negative
    x_test  (M, T) int32
    y_test  (M,)   int8
    num_words ()   int64   vocabulary size: every id lies in [0, num_words)

Token ids follow Keras's `imdb.load_data` numbering (what the reference's imdb_data.pkl
holds): 0 padding, 1 start of review, 2 unknown word (out of the vocabulary), 3 unused, and
the word of frequency rank r (1 = most frequent) gets id r + 3, kept while < num_words
(10,000: the 9,996 most frequent words). Each review is [1, w_1, ..., w_L], then its last T
ids are kept and zeros are put in front up to T ('pre' truncation and padding).

Only numpy is needed here, so building a data file does not import torch.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError

PAD, START, OOV, INDEX_FROM = 0, 1, 2, 3
DEFAULT_NUM_WORDS = 10_000
DEFAULT_SEQ_LEN = 500
SHUFFLE_SEED = 113  # Keras shuffles each split with this seed; so do we
ARRAYS = ("x_train", "y_train", "x_test", "y_test")

_BREAK = re.compile(r"<br\s*/?>", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case words (letters, digits, inner apostrophes); HTML line breaks are spaces."""
    return _WORD.findall(_BREAK.sub(" ", text.lower()))


def pad_sequences(sequences: list[list[int]], seq_len: int) -> np.ndarray:
    """Keep the last seq_len ids of each sequence, zeros in front of shorter ones."""
    out = np.zeros((len(sequences), seq_len), dtype=np.int32)
    for i, seq in enumerate(sequences):
        tail = seq[-seq_len:] if seq_len else []
        if tail:
            out[i, seq_len - len(tail):] = tail
    return out


def _check_seq_len(seq_len: int) -> None:
    if not isinstance(seq_len, int) or seq_len < 1:
        raise HadamhwError(f"--seq-len must be a positive integer, got {seq_len!r}")


def _check_num_words(num_words: int) -> None:
    if not isinstance(num_words, int) or num_words <= INDEX_FROM + 1:
        raise HadamhwError(f"--num-words must be an integer > {INDEX_FROM + 1} (ids 0-3 are "
                           f"reserved), got {num_words!r}")


# -- the Stanford text release ------------------------------------------------------------

def _review_files(root: Path, split: str) -> list[tuple[Path, int]]:
    files = []
    for label_name, label in (("neg", 0), ("pos", 1)):
        folder = root / split / label_name
        if not folder.is_dir():
            raise HadamhwError(f"{root}: no folder {split}/{label_name} (expected the "
                               "aclImdb release: train/pos, train/neg, test/pos, test/neg)")
        # Files are <id>_<rating>.txt; sort by id so the order is the same everywhere.
        found = sorted(folder.glob("*.txt"), key=lambda p: (_review_id(p), p.name))
        files += [(p, label) for p in found]
    if not files:
        raise HadamhwError(f"{root}/{split}: no reviews (*.txt) found")
    return files


def _review_id(path: Path) -> int:
    head = path.stem.split("_", 1)[0]
    return int(head) if head.isdigit() else -1


def _read_reviews(files: list[tuple[Path, int]]) -> tuple[list[list[str]], np.ndarray]:
    texts = []
    for path, _ in files:
        try:
            texts.append(tokenize(path.read_text(encoding="utf-8", errors="replace")))
        except OSError as exc:
            raise HadamhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return texts, np.array([label for _, label in files], dtype=np.int8)


def build_vocabulary(texts: list[list[str]], num_words: int) -> dict[str, int]:
    """word -> id for the num_words - 4 most frequent words (ties: alphabetical)."""
    counts = Counter(word for text in texts for word in text)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    keep = num_words - INDEX_FROM - 1
    return {word: rank + INDEX_FROM for rank, (word, _) in enumerate(ranked[:keep], start=1)}


def encode(texts: list[list[str]], vocab: dict[str, int]) -> list[list[int]]:
    return [[START] + [vocab.get(word, OOV) for word in text] for text in texts]


def from_aclimdb(root: str | Path, seq_len: int = DEFAULT_SEQ_LEN,
                 num_words: int = DEFAULT_NUM_WORDS) -> dict[str, np.ndarray]:
    """Arrays from the aclImdb folder; the vocabulary is counted on the training reviews."""
    _check_seq_len(seq_len)
    _check_num_words(num_words)
    root = Path(root)
    if not root.is_dir():
        raise HadamhwError(f"{root}: no such folder (expected the unpacked aclImdb release)")
    train_texts, y_train = _read_reviews(_review_files(root, "train"))
    test_texts, y_test = _read_reviews(_review_files(root, "test"))
    vocab = build_vocabulary(train_texts, num_words)
    arrays = {"x_train": pad_sequences(encode(train_texts, vocab), seq_len), "y_train": y_train,
              "x_test": pad_sequences(encode(test_texts, vocab), seq_len), "y_test": y_test}
    # Files come sorted by label; shuffle each split (as Keras does) so that the first and
    # second halves of the test split (hadamhw's test and validation sets) mix both labels.
    for split in ("train", "test"):
        order = np.random.RandomState(SHUFFLE_SEED).permutation(len(arrays[f"y_{split}"]))
        arrays[f"x_{split}"] = arrays[f"x_{split}"][order]
        arrays[f"y_{split}"] = arrays[f"y_{split}"][order]
    arrays["num_words"] = np.int64(num_words)
    return arrays


# -- the reference's pickle ---------------------------------------------------------------

def from_pickle(path: str | Path, seq_len: int = DEFAULT_SEQ_LEN,
                num_words: int = DEFAULT_NUM_WORDS) -> dict[str, np.ndarray]:
    """Arrays from the reference's imdb_data.pkl (a dict of x_train, y_train, x_test, y_test
    as `keras.datasets.imdb.load_data` returns them, padded or not).

    Unpickling runs code from the file: call this only for a file you trust.
    """
    import pickle

    _check_seq_len(seq_len)
    _check_num_words(num_words)
    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh)  # noqa: S301 -- behind --trust-pickle only
    except Exception as exc:  # a broken pickle raises nearly anything
        raise HadamhwError(f"{path}: cannot unpickle ({type(exc).__name__}: "
                           f"{str(exc)[:120]})") from None
    if not isinstance(data, dict) or any(k not in data for k in ARRAYS):
        raise HadamhwError(f"{path}: expected a dict with {', '.join(ARRAYS)}")
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        try:
            rows = [[int(v) for v in row] for row in x]
            labels = np.asarray(y).astype(np.int64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise HadamhwError(f"{path}: x_{split} / y_{split} are not integer sequences "
                               f"({exc})") from None
        if len(rows) != len(labels):
            raise HadamhwError(f"{path}: {len(rows)} x_{split} rows but {len(labels)} labels")
        # Keras maps ids >= num_words to the unknown id; a padded array already has 0s.
        rows = [[v if v < num_words else OOV for v in row] for row in rows]
        arrays[f"x_{split}"] = pad_sequences([_strip_padding(r) for r in rows], seq_len)
        arrays[f"y_{split}"] = labels.astype(np.int8)
    arrays["num_words"] = np.int64(num_words)
    validate(arrays, str(path))
    return arrays


def _strip_padding(row: list[int]) -> list[int]:
    """A pre-padded row without its leading zeros (an unpadded one is unchanged)."""
    first = next((i for i, v in enumerate(row) if v != PAD), len(row))
    return row[first:]


# -- the .npz file --------------------------------------------------------------------------

def validate(arrays: dict, where: str) -> None:
    """Shapes, dtypes, label values and token range of the five arrays."""
    for key in (*ARRAYS, "num_words"):
        if key not in arrays:
            raise HadamhwError(f"{where}: no array '{key}' (an IMDB file holds "
                               f"{', '.join(ARRAYS)} and num_words)")
    num_words = arrays["num_words"]
    if np.ndim(num_words) != 0 or not np.issubdtype(np.asarray(num_words).dtype, np.integer) \
            or int(num_words) < 1:
        raise HadamhwError(f"{where}: 'num_words' must be a positive integer scalar")
    num_words = int(num_words)
    seq_len = None
    for split in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise HadamhwError(f"{where}: 'x_{split}' must be a 2-D integer array "
                               f"(sequences, steps), got {x.dtype} {x.shape}")
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise HadamhwError(f"{where}: 'y_{split}' must be {len(x)} integer labels, got "
                               f"{y.dtype} {y.shape}")
        if len(x) == 0:
            raise HadamhwError(f"{where}: 'x_{split}' has no sequences")
        if seq_len is not None and x.shape[1] != seq_len:
            raise HadamhwError(f"{where}: x_train has {seq_len} steps but x_test has "
                               f"{x.shape[1]}")
        seq_len = x.shape[1]
        bad = np.flatnonzero((y != 0) & (y != 1))
        if len(bad):
            raise HadamhwError(f"{where}: y_{split}[{bad[0]}] = {y[bad[0]]}; labels must be "
                               "0 or 1")
        if x.min() < 0 or x.max() >= num_words:
            value = x.min() if x.min() < 0 else x.max()
            raise HadamhwError(f"{where}: 'x_{split}' holds token id {value}, outside "
                               f"[0, {num_words}) (num_words)")


def save_npz(arrays: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:  # a file object: savez would append .npz to a bare name
        np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such IMDB data file (build one with 'hadamhw data "
                           "imdb --from-aclimdb DIR -o imdb.npz')")
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise HadamhwError(f"{path}: not a readable .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as exc:
        raise HadamhwError(f"{path}: holds pickled objects, which are refused ({exc})") \
            from None
    except (OSError, EOFError) as exc:
        raise HadamhwError(f"{path}: not a readable .npz file ({exc})") from None
    validate(arrays, str(path))
    return arrays


def summary(arrays: dict) -> str:
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    lengths = (x_train != PAD).sum(axis=1)
    unknown = float((x_train == OOV).sum()) / max(1, int((x_train != PAD).sum()))
    return (f"{len(x_train)} training and {len(x_test)} test reviews, {x_train.shape[1]} steps, "
            f"vocabulary {int(arrays['num_words'])}; positive: "
            f"{float(np.mean(arrays['y_train'])):.1%} train, "
            f"{float(np.mean(arrays['y_test'])):.1%} test; training reviews median "
            f"{int(np.median(lengths))} ids (truncated: "
            f"{float(np.mean(lengths == x_train.shape[1])):.1%}); unknown words {unknown:.1%}")

