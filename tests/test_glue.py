"""GLUE SST-2 and QQP: the data file (TSVs + a WordPiece vocabulary -> .npz), the tasks, the
pipelines end to end on miniature data (data -> train -> lower -> generate -> sim, bit-exact;
QQP as a Block-HadamRNN, m < n), and the import of the reference's GLUE configs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from hadamhw.checkpoint import read_checkpoint
from hadamhw.errors import HadamhwError
from hadamhw.tasks import get_task, task_from_metadata
from hadamhw.tasks.glue_data import FORMATS, bert_tokenizer, from_glue_tsv, read_tsv
from hadamhw.tasks.imdb_data import load_npz
from tests.test_imdb import reference_imdb

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "a", "movie", "film", "was", "is", "it", "and", "plot", "story", "act",
         "great", "wonderful", "loved", "superb", "awful", "boring", "hated", "worst",
         "what", "how", "do", "i", "to", "learn", "best", "way", "cook", "play", "speak",
         "python", "rice", "guitar", "french", "chess", "cafe", ".", "?", ",", "##s", "##ing"]
VOCAB = SPECIALS + WORDS  # ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, then WORDS from 5
ID = {token: i for i, token in enumerate(VOCAB)}
POSITIVE, NEGATIVE = ["great", "wonderful", "loved", "superb"], ["awful", "boring", "hated",
                                                                 "worst"]
FILLER = ["the", "movie", "was", "a", "and", "plot", "Acting", "films", "story", "it"]
TOPICS = ["python", "rice", "guitar", "french", "chess"]
QQP_HEADER = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate"


def write_vocab(path: Path, tokens: list[str] = VOCAB) -> Path:
    path.write_text("\n".join(tokens) + "\n")
    return path


def write_sst2(root: Path, train: int = 40, dev: int = 20, seed: int = 0) -> Path:
    """A miniature GLUE SST-2 folder: a sentence's label is told by one sentiment word;
    capitals, an accent, word pieces and an unknown word exercise the tokenizer."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name, count in (("train.tsv", train), ("dev.tsv", dev)):
        rows = ["sentence\tlabel"]
        for i in range(count):
            label = i % 2
            words = [rng.choice(FILLER) for _ in range(rng.randint(1, 5))]
            words.append(rng.choice(POSITIVE if label else NEGATIVE))
            words += rng.choice([[], ["."], ["Café", "zzyzx"]])
            rows.append(" ".join(words) + " \t" + str(label))
        (root / name).write_text("\n".join(rows) + "\n")
    return root


def write_qqp(root: Path, train: int = 40, dev: int = 20, seed: int = 0) -> Path:
    """A miniature GLUE QQP folder: a pair is a duplicate when both ask about one topic."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    asks = ["how do i learn {} ?", "what is the best way to learn {} ?", "how to play {} ?",
            "what is {} ?"]
    for name, count in (("train.tsv", train), ("dev.tsv", dev)):
        rows = [QQP_HEADER]
        for i in range(count):
            first, second = rng.sample(TOPICS, 2)
            label = i % 2
            q1 = rng.choice(asks).format(first)
            q2 = rng.choice(asks).format(first if label else second).capitalize()
            rows.append(f"{i}\t{2 * i}\t{2 * i + 1}\t{q1}\t{q2}\t{label}")
        (root / name).write_text("\r\n".join(rows) + "\r\n")  # Windows line ends are fine
    return root


def ids(*tokens: str) -> list[int]:
    return [ID[t] for t in tokens]


# -- tokenization -----------------------------------------------------------------------------

def test_bert_tokenization_by_hand(tmp_path):
    from hadamhw.tasks.glue_data import encode, read_vocabulary

    vocab = read_vocabulary(write_vocab(tmp_path / "vocab.txt"))
    x = encode(bert_tokenizer(vocab, 10), [("The FILMS, Café zzyzx",), ("",),
                                           ("the movie was great and the plot was superb",)])
    # lower-cased, accent stripped, '##s' word piece, unknown word, padding after [SEP]
    assert x[0].tolist() == ids("[CLS]", "the", "film", "##s", ",", "cafe", "[UNK]", "[SEP]",
                                "[PAD]", "[PAD]")
    assert x[1].tolist() == ids("[CLS]", "[SEP]") + [0] * 8
    # truncation keeps the first 8 word pieces, then [SEP]
    assert x[2].tolist() == ids("[CLS]", "the", "movie", "was", "great", "and", "the", "plot",
                                "was", "[SEP]")
    pair = encode(bert_tokenizer(vocab, 16), [("what is chess?", "How to play chess?")])
    assert pair[0].tolist() == ids("[CLS]", "what", "is", "chess", "?", "[SEP]", "[SEP]", "how",
                                   "to", "play", "chess", "?", "[SEP]", "[PAD]", "[PAD]",
                                   "[PAD]")
    cut = encode(bert_tokenizer(vocab, 8), [("what is chess?", "How to play chess?")])
    assert cut[0].tolist() == ids("[CLS]", "what", "is", "chess", "?", "[SEP]", "[SEP]",
                                  "[SEP]")


def test_read_tsv_columns_by_name_and_line_ends(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("\ufefflabel\tsentence\r\n1\tit \"was\" great\r\n\r\n0\tawful\r\n")
    rows = read_tsv(path, FORMATS["sst2"])
    # a byte-order mark and Windows line ends are fine; no quoting (as GLUE is read): quotes
    # stay; a blank line is no row
    assert rows.texts == [('it "was" great',), ("awful",)] and rows.labels.tolist() == [1, 0]


def test_from_glue_tsv_sst2_and_qqp(tmp_path):
    vocab = write_vocab(tmp_path / "vocab.txt")
    arrays, record = from_glue_tsv("sst2", write_sst2(tmp_path / "SST-2"), vocab, seq_len=12)
    assert arrays["x_train"].shape == (40, 12) and arrays["x_test"].shape == (20, 12)
    assert arrays["x_train"].dtype == np.int32 and int(arrays["num_words"]) == len(VOCAB)
    assert (arrays["x_train"][:, 0] == ID["[CLS]"]).all()
    # dev.tsv is the test split, in file order
    dev = read_tsv(tmp_path / "SST-2" / "dev.tsv", FORMATS["sst2"])
    assert arrays["y_test"].tolist() == dev.labels.tolist() == [i % 2 for i in range(20)]
    for row in arrays["x_train"]:  # [CLS] ... [SEP], then padding only
        length = int((row != 0).sum())
        assert row[length - 1] == ID["[SEP]"] and (row[length:] == 0).all()
    assert record["skipped"] == {"train.tsv": [], "dev.tsv": []}
    arrays, _ = from_glue_tsv("qqp", write_qqp(tmp_path / "QQP"), vocab, seq_len=24)
    assert arrays["x_train"].shape == (40, 24)
    first = arrays["x_train"][0]
    seps = np.flatnonzero(first == ID["[SEP]"])
    assert len(seps) == 3 and seps[1] == seps[0] + 1  # q1 [SEP] [SEP] q2 [SEP]


# -- the command and its errors --------------------------------------------------------------

def test_cli_data_glue(cli, tmp_path):
    vocab = write_vocab(tmp_path / "vocab.txt")
    root = write_sst2(tmp_path / "SST-2", train=10, dev=6)
    out = tmp_path / "sst2.npz"
    code, stdout, err = cli("data", "glue", "--task", "sst2", "--from-tsv", root, "--vocab",
                            vocab, "--seq-len", "16", "-o", out)
    assert code == 0, err
    assert "sst2: 10 training and 6 test (dev) sentences, 16 steps, vocabulary 46" in stdout
    with np.load(out, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["num_words", "x_test", "x_train", "y_test", "y_train"]
    assert np.array_equal(load_npz(out)["x_train"],
                          from_glue_tsv("sst2", root, vocab, 16)[0]["x_train"])  # same again
    code, stdout, err = cli("data", "glue", "--task", "qqp", "--from-tsv",
                            write_qqp(tmp_path / "QQP", train=8, dev=4), "--vocab", vocab,
                            "-o", tmp_path / "qqp.npz")
    assert code == 0, err
    assert "qqp: 8 training and 4 test (dev) question pairs, 128 steps" in stdout


def _bad_row(root: Path) -> None:
    (root / "dev.tsv").write_text("sentence\tlabel\ngood\t1\ntoo\tmany\t1\n")


def _write(name: str, text: str | bytes):
    def damage(root: Path, vocab: Path) -> None:
        path = vocab if name == "vocab.txt" else root / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return damage


BAD_INPUTS = {  # what is wrong -> (damage, the message)
    "no train.tsv": (lambda root, vocab: (root / "train.tsv").unlink(),
                     "train.tsv: no such file"),
    "bad column count": (lambda root, vocab: _bad_row(root),
                         "dev.tsv line 3: 3 columns, the header has 2; --skip-bad-rows drops "
                         "such rows"),
    "bad label": (_write("train.tsv", "sentence\tlabel\nfine\t2\n"),
                  "train.tsv line 2: label '2' is not 0 or 1"),
    "bad header": (_write("train.tsv", "text\tlabel\nfine\t1\n"),
                   "train.tsv line 1: the header has no column 'sentence'"),
    "empty": (_write("dev.tsv", "sentence\tlabel\n\n"),
              "dev.tsv: no sentences (the file holds a header only)"),
    "no [CLS]": (_write("vocab.txt", "\n".join(t for t in VOCAB if t != "[CLS]")),
                 "vocab.txt: the vocabulary has no [CLS] (a BERT WordPiece vocabulary holds "
                 "[PAD], [UNK], [CLS], [SEP])"),
    "no specials": (_write("vocab.txt", "\n".join(WORDS)),
                    "the vocabulary has no [PAD], [UNK], [CLS], [SEP]"),
    "[PAD] last": (_write("vocab.txt", "\n".join(VOCAB[1:] + ["[PAD]"])),
                   "[PAD] is on line 46, expected line 1 (id 0)"),
    "no vocab": (lambda root, vocab: vocab.unlink(), "vocab.txt: no such vocabulary file"),
    "not UTF-8": (_write("train.tsv", b"sentence\tlabel\n\xff\t1\n"),
                  "train.tsv: not UTF-8 text"),
}


@pytest.mark.parametrize("what", list(BAD_INPUTS))
def test_cli_data_glue_bad_inputs(cli, tmp_path, what):
    damage, message = BAD_INPUTS[what]
    vocab = write_vocab(tmp_path / "vocab.txt")
    root = write_sst2(tmp_path / "SST-2", train=4, dev=2)
    damage(root, vocab)
    out = tmp_path / "sst2.npz"
    code, _, err = cli("data", "glue", "--task", "sst2", "--from-tsv", root, "--vocab", vocab,
                       "-o", out)
    assert code == 2 and message in err and not out.exists(), err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback


def test_cli_data_glue_options(cli, tmp_path):
    vocab = write_vocab(tmp_path / "vocab.txt")
    root = write_sst2(tmp_path / "SST-2", train=4, dev=2)
    out = tmp_path / "sst2.npz"
    args = ("data", "glue", "--task", "sst2", "--vocab", vocab, "-o", out)
    code, _, err = cli(*args, "--from-tsv", tmp_path / "none")
    assert code == 2 and "none: no such folder" in err
    code, _, err = cli(*args, "--from-tsv", root, "--seq-len", "2")
    assert code == 2 and "--seq-len must be an integer >= 3" in err
    code, _, err = cli("data", "glue", "--task", "qqp", "--from-tsv", root, "--vocab", vocab,
                       "-o", out)
    assert code == 2 and "the header has no column 'question1'" in err
    code, _, err = cli("data", "glue", "--task", "sst2", "--vocab", vocab, "--from-tsv", root,
                       "-o", tmp_path)
    assert code == 2 and "is a folder; give a file name for the data file" in err
    _bad_row(root)
    code, stdout, err = cli(*args, "--from-tsv", root, "--skip-bad-rows")
    assert code == 0, err
    assert "1 training" not in stdout and "1 test (dev) sentences" in stdout
    assert "skipped 1 bad rows of dev.tsv (first: line 3)" in stdout


def test_without_tokenizers(cli, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import tokenizers: ImportError
    code, _, err = cli("data", "glue", "--task", "sst2", "--from-tsv",
                       write_sst2(tmp_path / "SST-2", train=2, dev=2), "--vocab",
                       write_vocab(tmp_path / "vocab.txt"), "-o", tmp_path / "sst2.npz")
    assert code == 2 and "needs the 'tokenizers' package" in err
    assert "pip install 'hadamhw[glue]'" in err


# -- the tasks --------------------------------------------------------------------------------

def test_glue_tasks(tmp_path):
    vocab = write_vocab(tmp_path / "vocab.txt")
    arrays, _ = from_glue_tsv("sst2", write_sst2(tmp_path / "SST-2", dev=21), vocab, 12)
    from hadamhw.tasks.imdb_data import save_npz

    path = tmp_path / "sst2.npz"
    save_npz(arrays, path)
    task = get_task("sst2", data=str(path))
    assert (task.name, task.seq_len, task.input_kind, task.input_size, task.vocab_size,
            task.output_size, task.readout, task.padding_id) == \
        ("sst2", 12, "embedding", 256, len(VOCAB), 1, "last", 0)  # the reference's 256
    x_test, y_test = task.split("test")
    x_val, _ = task.split("val")
    assert x_test.shape == (11, 12) and x_val.shape == (10, 12)  # dev: test half, val half
    assert np.array_equal(x_test.numpy(), arrays["x_test"][:11])  # all steps, from step 0
    assert np.array_equal(y_test.numpy(), arrays["y_test"][:11])
    again = task_from_metadata(task.metadata())
    assert again.metadata() == task.metadata() and again.name == "sst2"
    assert get_task("qqp", data=str(path), embedding_dim=8).name == "qqp"
    assert get_task("sst2", data=str(path), seq_len=12).seq_len == 12
    with pytest.raises(HadamhwError, match="--seq-len 10: the data file .* has 12 steps, "
                                           "fixed when it was built"):
        get_task("sst2", data=str(path), seq_len=10)
    with pytest.raises(HadamhwError, match="task qqp needs --data FILE.npz .*hadamhw data "
                                           "glue --task qqp"):
        get_task("qqp")
    with pytest.raises(HadamhwError, match="no such sst2 data file"):
        get_task("sst2", data=str(tmp_path / "none.npz"))


def test_train_options_for_glue(cli, tmp_path):
    code, _, err = cli("train", "--task", "copy", "--embedding-dim", "8", "-o", tmp_path / "m")
    assert code == 2 and "--embedding-dim applies to --task imdb, sst2 or qqp" in err
    code, _, err = cli("train", "--task", "sst2", "-o", tmp_path / "m.pt")
    assert code == 2 and "task sst2 needs --data FILE.npz" in err
    code, out, _ = cli("train", "--help")
    assert "qqp --hidden 512 --block-size 128 --embedding-dim 256" in " ".join(out.split())


# -- end to end -------------------------------------------------------------------------------

PIPELINES = {  # task -> (writer, steps T, model options)
    "sst2": (write_sst2, 12, ["--hidden", "16"]),
    "qqp": (write_qqp, 20, ["--hidden", "16", "--block-size", "4"]),
}


@pytest.fixture(scope="module", params=list(PIPELINES))
def glue_model(request, tmp_path_factory):
    """A miniature GLUE pipeline: TSVs + vocabulary -> .npz -> trained embedding model."""
    from hadamhw.cli import main

    task = request.param
    writer, steps, options = PIPELINES[task]
    root = tmp_path_factory.mktemp(task)
    vocab = write_vocab(root / "vocab.txt")
    writer(root / "tsv", train=300, dev=16)
    npz = root / f"{task}.npz"
    assert main(["data", "glue", "--task", task, "--from-tsv", str(root / "tsv"), "--vocab",
                 str(vocab), "--seq-len", str(steps), "-o", str(npz)]) == 0
    model = root / f"{task}.pt"
    assert main(["train", "--task", task, "--data", str(npz), *options, "--embedding-dim",
                 "8", "--steps", "100", "--batch-size", "16", "--lr", "1e-2", "--val-every",
                 "50", "--no-progress", "-o", str(model)]) == 0
    return task, root, model


def test_glue_train_lower_eval(glue_model, cli):
    task, root, model = glue_model
    payload = read_checkpoint(model)
    config = payload["config"]
    block = 4 if task == "qqp" else None  # None: m = n, a HadamRNN
    assert (config["input_kind"], config["vocab_size"], config["input_size"],
            config["padding_idx"], config["output_size"], config["block_size"]) == \
        ("embedding", len(VOCAB), 8, 0, 1, block)
    assert payload["task"]["name"] == task
    if task == "sst2":  # the sentiment word is learnable through the padding steps
        assert payload["metrics"]["test"]["accuracy"] >= 0.75
    ir_path = root / f"{task}.ir.json"
    code, out, err = cli("lower", model, "-o", ir_path)
    assert code == 0, err
    assert f"token table (U column + b per token, the ROM): {len(VOCAB)} x 16 words" in out
    code, out, err = cli("eval", ir_path, "--checkpoint", model, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["task"] == task and report["sequences"] == 8  # the first half of dev
    assert report["argmax_agreement"] >= 7 / 8


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_glue_hardware_bit_exact(glue_model, cli):
    task, root, model = glue_model
    rtl = root / "rtl"
    code, _, err = cli("generate", model, "--target", "verilog", "-o", rtl)
    assert code == 0, err
    manifest = json.loads((rtl / "manifest.json").read_text())
    ir = json.loads((rtl / "model.ir.json").read_text())
    assert manifest["token_table_bits"] == len(VOCAB) * 16 * ir["widths"]["input_acc"]
    code, out, err = cli("sim", rtl, "--batch", "--task-data", "--sequences", "8", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["mismatches"] == 0 and result["sequences"] == 8
    assert result["outputs_checked"] == 16  # one logit per example and its argmax word


# -- importing the reference's GLUE models -------------------------------------------------------

@pytest.mark.parametrize("task,basic_block,block", [("sst2", "full", 16), ("qqp", 2, 4)])
def test_import_reference_glue_configs(cli, tmp_path, task, basic_block, block):
    # the reference's configs: sst2 BASIC_BLOCK 'full' (HadamRNN), qqp 7 (m = 128; here 2)
    vocab = write_vocab(tmp_path / "vocab.txt")
    writer = write_sst2 if task == "sst2" else write_qqp
    arrays, _ = from_glue_tsv(task, writer(tmp_path / "tsv", train=6, dev=4), vocab, 12)
    from hadamhw.tasks.imdb_data import save_npz

    npz = tmp_path / f"{task}.npz"
    save_npz(arrays, npz)
    state, config = reference_imdb(tmp_path / "ref", vocab=len(VOCAB),
                                   dataset={"NAME": "GLUE", "TASK": task})
    document = yaml.safe_load(config.read_text())
    document["MODEL"]["BASIC_BLOCK"] = basic_block
    config.write_text(yaml.safe_dump(document))
    out = tmp_path / f"{task}.pt"
    code, stdout, err = cli("import-ref", state, "--config", config, "--data", npz, "-o", out)
    assert code == 0, err
    assert f"task {task} implied by DATASET.NAME GLUE, TASK {task}" in stdout
    payload = read_checkpoint(out)
    assert payload["task"]["name"] == task and payload["task"]["seq_len"] == 12
    assert payload["task"]["input_size"] == 8 and payload["config"]["block_size"] == block
    code, _, err = cli("lower", out, "-o", tmp_path / f"{task}.ir.json", "--calib", "4")
    assert code == 0, err
    # without --data: imported, with a note saying how to record the task
    code, stdout, err = cli("import-ref", state, "--config", config, "-o", tmp_path / "b.pt")
    assert code == 0, err
    assert f"give --data {task}.npz to record the {task} task" in stdout
    # a GLUE task hadamhw does not have: no task implied
    document["DATASET"]["TASK"] = "cola"
    config.write_text(yaml.safe_dump(document))
    code, stdout, err = cli("import-ref", state, "--config", config, "--data", npz, "-o",
                            tmp_path / "c.pt")
    assert code == 0, err
    assert "no task named" in stdout and read_checkpoint(tmp_path / "c.pt")["task"] is None
