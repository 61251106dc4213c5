"""GLUE SST-2 and QQP as padded BERT WordPiece ids, in the .npz format of `hadamhw data imdb`.

The reference (deel-ai-papers/hadamRNN, src/dataset_tools/glue.py) loads GLUE through
Hugging Face `datasets` and tokenizes with `AutoTokenizer.from_pretrained("bert-base-uncased")`
called as `tokenizer(text, truncation=True, padding="max_length", max_length=128)`. Here the
same WordPiece tokenization runs offline from the vocabulary file the user supplies
(bert-base-uncased's vocab.txt: 30,522 lines), with the `tokenizers` wheel:

- lower-casing, accent stripping, control-character cleaning and CJK splitting as
  bert-base-uncased's normalizer does (`BertWordPieceTokenizer(vocab, lowercase=True)`);
- [CLS] first and [SEP] last; a QQP pair is the one string `question1 + "[SEP][SEP]" +
  question2`, as the reference builds it, so its ids are [CLS] q1 [SEP] [SEP] q2 [SEP];
- truncation keeps the first seq_len - 2 word pieces (then [SEP]); padding with [PAD] after
  the sequence (Hugging Face's `padding="max_length"`, BERT pads on the right). Unlike the
  IMDB file (Keras's pre-padding), a GLUE row starts at step 0 and ends in padding.

The GLUE test split has no labels, so the reference trains on train.tsv and reports
dev.tsv (its 'validation' split): here dev.tsv becomes x_test / y_test, in file order.
Rows are read as `datasets` reads GLUE (tab-separated, no quoting, columns by header name).

Only numpy and `tokenizers` are needed, so building a data file does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError

DEFAULT_SEQ_LEN = 128  # the reference's task2maxlength for sst2 and qqp
PAD_TOKEN, UNK_TOKEN, SEP_TOKEN = "[PAD]", "[UNK]", "[SEP]"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN, "[CLS]", SEP_TOKEN)  # a vocabulary must hold these
SPLITS = {"train": "train.tsv", "test": "dev.tsv"}  # .npz split -> GLUE file
ENCODE_CHUNK = 10_000  # rows per tokenizer batch: bounds the memory of the encodings


@dataclass(frozen=True)
class GlueFormat:
    """What a GLUE task's TSV holds: the text columns and the label column."""

    name: str
    text_columns: tuple[str, ...]
    label_column: str
    what: str  # one example, for messages and the summary

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.text_columns, self.label_column)


FORMATS = {
    "sst2": GlueFormat("sst2", ("sentence",), "label", "sentence"),
    "qqp": GlueFormat("qqp", ("question1", "question2"), "is_duplicate", "question pair"),
}


@dataclass
class TsvRows:
    """The texts and labels of one TSV file, and the rows that were skipped."""

    texts: list[tuple[str, ...]]
    labels: np.ndarray
    skipped: list[int]  # line numbers (1-based) of rows with the wrong column count


def glue_format(task: str) -> GlueFormat:
    if task not in FORMATS:
        raise HadamhwError(f"unknown GLUE task {task!r}; choose one of {', '.join(FORMATS)}")
    return FORMATS[task]


# -- the TSV files ----------------------------------------------------------------------------

def _header_columns(header: str, fmt: GlueFormat, path: Path) -> tuple[list[int], int, int]:
    """Positions of the text columns and of the label column, and the column count."""
    names = header.split("\t")
    positions = []
    for column in fmt.columns:
        if column not in names:
            raise HadamhwError(f"{path} line 1: the header has no column '{column}' (GLUE "
                               f"{fmt.name} rows need {', '.join(fmt.columns)}; got "
                               f"{header[:80]!r})")
        positions.append(names.index(column))
    return positions[:-1], positions[-1], len(names)


def _label(value: str, path: Path, line: int, fmt: GlueFormat) -> int:
    if value not in ("0", "1"):
        raise HadamhwError(f"{path} line {line}: {fmt.label_column} {value[:20]!r} is not 0 "
                           "or 1")
    return int(value)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise HadamhwError(f"{path}: no such file (a GLUE task folder holds train.tsv and "
                           "dev.tsv)")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is no column name
    except UnicodeDecodeError as exc:
        raise HadamhwError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None
    except OSError as exc:
        raise HadamhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return text.split("\n")


def read_tsv(path: str | Path, fmt: GlueFormat, skip_bad_rows: bool = False) -> TsvRows:
    """The examples of a GLUE TSV file. A row whose column count differs from the header's
    is an error, or is skipped with skip_bad_rows (as `datasets`' GLUE loader drops rows with
    missing fields); blank lines are ignored."""
    path = Path(path)
    lines = _lines(path)
    text_at, label_at, width = _header_columns(lines[0].rstrip("\r"), fmt, path)
    texts, labels, skipped = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != width:
            if not skip_bad_rows:
                raise HadamhwError(f"{path} line {number}: {len(fields)} columns, the header "
                                   f"has {width}; --skip-bad-rows drops such rows")
            skipped.append(number)
            continue
        texts.append(tuple(fields[i] for i in text_at))
        labels.append(_label(fields[label_at], path, number, fmt))
    if not texts:
        raise HadamhwError(f"{path}: no {fmt.what}s (the file holds a header only"
                           f"{', or only bad rows' if skipped else ''})")
    return TsvRows(texts, np.array(labels, dtype=np.int8), skipped)


# -- the WordPiece tokenizer ------------------------------------------------------------------

def require_tokenizers() -> None:
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        raise HadamhwError("GLUE data needs the 'tokenizers' package (it works offline from "
                           "the vocabulary file): pip install 'hadamhw[glue]'") from None


def read_vocabulary(path: str | Path) -> dict[str, int]:
    """token -> id of a WordPiece vocab.txt (one token a line, the id is the line number)."""
    require_tokenizers()
    from tokenizers.models import WordPiece

    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such vocabulary file (bert-base-uncased's vocab.txt, "
                           "one WordPiece token a line)")
    try:
        vocab = WordPiece.read_file(str(path))
    except Exception as exc:  # the Rust reader raises a plain Exception
        raise HadamhwError(f"{path}: cannot read the vocabulary ({exc})") from None
    missing = [token for token in SPECIAL_TOKENS if token not in vocab]
    if missing:
        raise HadamhwError(f"{path}: the vocabulary has no {', '.join(missing)} (a BERT "
                           f"WordPiece vocabulary holds {', '.join(SPECIAL_TOKENS)})")
    if vocab[PAD_TOKEN] != 0:
        raise HadamhwError(f"{path}: {PAD_TOKEN} is on line {vocab[PAD_TOKEN] + 1}, expected "
                           "line 1 (id 0): the model holds token 0's embedding at zero, as the "
                           "reference's nn.Embedding(padding_idx=0) does")
    return vocab


def bert_tokenizer(vocab: dict[str, int], seq_len: int):
    """bert-base-uncased's tokenization with truncation and padding to seq_len steps."""
    from tokenizers import BertWordPieceTokenizer

    tokenizer = BertWordPieceTokenizer(vocab, lowercase=True)
    tokenizer.enable_truncation(max_length=seq_len)
    tokenizer.enable_padding(length=seq_len, pad_id=vocab[PAD_TOKEN], pad_token=PAD_TOKEN)
    return tokenizer


def joined_text(texts: tuple[str, ...]) -> str:
    """One input string: a sentence, or a question pair with two separators between."""
    return (SEP_TOKEN + SEP_TOKEN).join(texts)


def encode(tokenizer, texts: list[tuple[str, ...]]) -> np.ndarray:
    """(examples, steps) ids of texts, with the tokenizer's truncation and padding."""
    out = np.empty((len(texts), tokenizer.padding["length"]), dtype=np.int32)
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunk = [joined_text(t) for t in texts[start:start + ENCODE_CHUNK]]
        encodings = tokenizer.encode_batch(chunk)
        out[start:start + len(chunk)] = [e.ids for e in encodings]
    return out


def _check_seq_len(seq_len: int) -> None:
    # [CLS] and [SEP] take two steps; a QQP pair needs three separators besides.
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 3:
        raise HadamhwError(f"--seq-len must be an integer >= 3 ([CLS], a word piece, [SEP]), "
                           f"got {seq_len!r}")


def from_glue_tsv(task: str, root: str | Path, vocab_path: str | Path,
                  seq_len: int = DEFAULT_SEQ_LEN,
                  skip_bad_rows: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """The .npz arrays of a GLUE task folder, and a record of what was read."""
    fmt = glue_format(task)
    _check_seq_len(seq_len)
    root = Path(root)
    if not root.is_dir():
        raise HadamhwError(f"{root}: no such folder (expected a GLUE task folder with "
                           "train.tsv and dev.tsv)")
    vocab = read_vocabulary(vocab_path)
    tokenizer = bert_tokenizer(vocab, seq_len)
    arrays: dict[str, np.ndarray] = {}
    skipped: dict[str, list[int]] = {}
    for split, name in SPLITS.items():
        rows = read_tsv(root / name, fmt, skip_bad_rows)
        arrays[f"x_{split}"] = encode(tokenizer, rows.texts)
        arrays[f"y_{split}"] = rows.labels
        skipped[name] = rows.skipped
    arrays["num_words"] = np.int64(max(vocab.values()) + 1)
    record = {"task": task, "skipped": skipped, "pad": vocab[PAD_TOKEN],
              "unk": vocab[UNK_TOKEN]}
    return arrays, record


def summary(arrays: dict, record: dict) -> str:
    fmt = glue_format(record["task"])
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    steps = x_train.shape[1]
    lengths = (x_train != record["pad"]).sum(axis=1)
    # a row that ends in its own [SEP] without padding may have been cut
    full = float(np.mean(lengths == steps))
    unknown = float((x_train == record["unk"]).sum()) / max(1, int(lengths.sum()))
    dropped = "".join(f"; skipped {len(lines)} bad rows of {name} (first: line {lines[0]})"
                      for name, lines in record["skipped"].items() if lines)
    return (f"{fmt.name}: {len(x_train)} training and {len(x_test)} test (dev) {fmt.what}s, "
            f"{steps} steps, vocabulary {int(arrays['num_words'])}; positive: "
            f"{float(np.mean(arrays['y_train'])):.1%} train, "
            f"{float(np.mean(arrays['y_test'])):.1%} test; training rows median "
            f"{int(np.median(lengths))} ids, {full:.1%} fill all {steps} steps (possibly "
            f"truncated); unknown word pieces {unknown:.2%}{dropped}")
