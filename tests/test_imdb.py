"""IMDB: the data file (from the text release or the reference's pickle), the task, the
embedding model end to end (train -> lower -> generate -> sim, bit-exact), and the import of
BinadamSSMwithEmbeddings with the IMDB config."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hadamhw.checkpoint import read_checkpoint
from hadamhw.errors import HadamhwError
from hadamhw.tasks import get_task
from hadamhw.tasks.imdb_data import (
    build_vocabulary,
    encode,
    from_aclimdb,
    load_npz,
    pad_sequences,
    save_npz,
    tokenize,
)

POSITIVE = ["great", "wonderful", "loved", "superb"]
NEGATIVE = ["awful", "boring", "hated", "worst"]
FILLER = ["the", "movie", "was", "a", "and", "plot", "actor", "it's", "film", "story"]


def write_aclimdb(root: Path, per_label: int = 12, seed: int = 0) -> Path:
    """A miniature aclImdb release: train/test x pos/neg, <id>_<rating>.txt reviews whose
    label is told by one sentiment word near the end."""
    rng = random.Random(seed)
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_label):
                words = [rng.choice(FILLER) for _ in range(rng.randint(2, 14))]
                words.append(rng.choice(POSITIVE if label == "pos" else NEGATIVE))
                words += [rng.choice(FILLER) for _ in range(rng.randint(0, 2))]
                text = " ".join(words).capitalize() + ".<br /><br />The End"
                (folder / f"{i}_{9 if label == 'pos' else 2}.txt").write_text(text)
    return root


def random_npz(path: Path, train: int = 40, test: int = 20, steps: int = 12,
               vocab: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, vocab, (train, steps)).astype(np.int32),
              "y_train": rng.integers(0, 2, train).astype(np.int8),
              "x_test": rng.integers(0, vocab, (test, steps)).astype(np.int32),
              "y_test": rng.integers(0, 2, test).astype(np.int8),
              "num_words": np.int64(vocab)}
    save_npz(arrays, path)
    return path


# -- the data file --------------------------------------------------------------------------

def test_tokenize_and_pad_by_hand():
    assert tokenize("It's GREAT!<br /><br />10/10, isn't it?") == \
        ["it's", "great", "10", "10", "isn't", "it"]
    padded = pad_sequences([[1, 5, 6], [1, 2, 3, 4, 5, 6], []], 4)
    assert padded.tolist() == [[0, 1, 5, 6], [3, 4, 5, 6], [0, 0, 0, 0]]


def test_keras_numbering_by_hand():
    texts = [["b", "a", "b", "c"], ["a", "b", "d"], ["e"]]
    # counts: b 3, a 2, then c d e once (alphabetical); 7 words keep ids 4, 5, 6
    vocab = build_vocabulary(texts, num_words=7)
    assert vocab == {"b": 4, "a": 5, "c": 6}
    assert encode([["a", "zzz", "c"]], vocab) == [[1, 5, 2, 6]]  # start, word, unknown, word


def test_from_aclimdb(tmp_path):
    root = write_aclimdb(tmp_path / "aclImdb")
    arrays = from_aclimdb(root, seq_len=10, num_words=12)
    assert arrays["x_train"].shape == (24, 10) and arrays["x_test"].shape == (24, 10)
    assert arrays["x_train"].dtype == np.int32 and int(arrays["num_words"]) == 12
    assert sorted(np.unique(arrays["y_train"]).tolist()) == [0, 1]
    # shuffled: the two halves of the test split both hold both labels
    half = len(arrays["y_test"]) // 2
    assert 0 < arrays["y_test"][:half].mean() < 1 and 0 < arrays["y_test"][half:].mean() < 1
    x = arrays["x_train"]
    assert x.min() >= 0 and x.max() < 12
    for row in x:
        body = row[np.flatnonzero(row)[0]:] if row.any() else row
        assert (row[:len(row) - len(body)] == 0).all()  # zeros only in front
        assert not (body == 0).any()
    # a review shorter than T starts with the start id; a longer one was cut at the front
    short = [row for row in x if row[0] == 0]
    assert short and all(row[np.flatnonzero(row)[0]] == 1 for row in short)
    # the most frequent training word is id 4; "the" and "end" occur in every review
    vocab = build_vocabulary([tokenize((p).read_text()) for p in
                              sorted((root / "train").rglob("*.txt"))], 12)
    assert min(vocab.values()) == 4 and max(vocab.values()) == 11


def test_cli_data_imdb_from_aclimdb(cli, tmp_path):
    root = write_aclimdb(tmp_path / "aclImdb", per_label=5)
    out = tmp_path / "imdb.npz"
    code, stdout, err = cli("data", "imdb", "--from-aclimdb", root, "--seq-len", "16",
                            "--num-words", "20", "-o", out)
    assert code == 0, err
    assert "10 training and 10 test reviews, 16 steps, vocabulary 20" in stdout
    with np.load(out, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["num_words", "x_test", "x_train", "y_test", "y_train"]
    assert np.array_equal(load_npz(out)["x_train"],
                          from_aclimdb(root, 16, 20)["x_train"])  # deterministic
    code, _, err = cli("data", "imdb", "--from-aclimdb", tmp_path / "none", "-o", out)
    assert code == 2 and "no such folder" in err
    (tmp_path / "broken" / "train" / "pos").mkdir(parents=True)
    code, _, err = cli("data", "imdb", "--from-aclimdb", tmp_path / "broken", "-o", out)
    assert code == 2 and "no folder train/neg" in err
    code, _, err = cli("data", "imdb", "--from-aclimdb", root, "--num-words", "4", "-o", out)
    assert code == 2 and "--num-words must be an integer > 4" in err


def test_cli_data_imdb_from_pickle_needs_trust(cli, tmp_path):
    # the reference's file: pre-padded 2-D arrays, float labels; ids up to 10,000
    rng = np.random.default_rng(1)
    x_train = np.zeros((6, 8), dtype=np.int64)
    x_train[:, 3:] = rng.integers(1, 30, (6, 5))
    x_train[0, 3] = 29  # beyond --num-words 20: becomes the unknown id
    data = {"x_train": x_train, "y_train": np.array([0, 1, 0, 1, 1, 0], dtype=np.float32),
            "x_test": [[1, 4, 5], [1, 6, 7, 8, 9, 10, 11, 12, 13, 14]],  # unpadded lists
            "y_test": [1, 0]}
    pkl = tmp_path / "imdb_data.pkl"
    pkl.write_bytes(pickle.dumps(data))
    out = tmp_path / "imdb.npz"
    code, _, err = cli("data", "imdb", "--from-pickle", pkl, "-o", out)
    assert code == 2 and "--trust-pickle" in err and not out.exists()
    code, stdout, err = cli("data", "imdb", "--from-pickle", pkl, "--trust-pickle",
                            "--seq-len", "6", "--num-words", "20", "-o", out)
    assert code == 0, err
    assert "warning: unpickling" in err
    arrays = load_npz(out)
    expected = np.where(x_train[:, 2:] >= 20, 2, x_train[:, 2:])
    assert np.array_equal(arrays["x_train"], expected)
    assert arrays["x_test"].tolist() == [[0, 0, 0, 1, 4, 5], [9, 10, 11, 12, 13, 14]]
    assert arrays["y_train"].tolist() == [0, 1, 0, 1, 1, 0]
    code, _, err = cli("data", "imdb", "--from-aclimdb", tmp_path, "--trust-pickle", "-o", out)
    assert code == 2 and "--trust-pickle applies to --from-pickle only" in err


@pytest.mark.parametrize("edit,message", [
    (lambda a: a.pop("y_test"), "no array 'y_test'"),
    (lambda a: a.update(y_train=np.full(40, 2, np.int8)), "y_train[0] = 2; labels must be"),
    (lambda a: a.update(x_test=np.full((20, 12), 30, np.int32)), "token id 30, outside"),
    (lambda a: a.update(x_test=np.zeros((20, 11), np.int32)), "x_train has 12 steps but"),
    (lambda a: a.update(x_train=np.zeros(40, np.int32)), "must be a 2-D integer array"),
    (lambda a: a.update(num_words=np.float64(3)), "'num_words' must be a positive integer"),
])
def test_bad_npz_files(tmp_path, edit, message):
    path = random_npz(tmp_path / "ok.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    edit(arrays)
    bad = tmp_path / "bad.npz"
    save_npz(arrays, bad)
    with pytest.raises(HadamhwError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_npz(bad)


def test_pickled_npz_is_refused(tmp_path):
    bad = tmp_path / "objects.npz"
    np.savez(bad, x_train=np.array([[1, 2], [3]], dtype=object))
    with pytest.raises(HadamhwError, match="pickled objects, which are refused"):
        load_npz(bad)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(HadamhwError, match="not a readable .npz"):
        load_npz(tmp_path / "junk.npz")


# -- the task -----------------------------------------------------------------------------

def test_task_splits_and_binary_metrics(tmp_path):
    path = random_npz(tmp_path / "d.npz", train=40, test=21, steps=12)
    task = get_task("imdb", data=str(path), seq_len=5, embedding_dim=7)
    arrays = load_npz(path)
    x_test, y_test = task.split("test")
    x_val, _ = task.split("val")
    assert x_test.shape == (11, 5) and x_val.shape == (10, 5)  # first half test, rest val
    assert np.array_equal(x_test.numpy(), arrays["x_test"][:11, -5:])
    assert np.array_equal(y_test.numpy(), arrays["y_test"][:11])
    assert (task.input_kind, task.input_size, task.vocab_size, task.output_size,
            task.readout) == ("embedding", 7, 30, 1, "last")
    logits = torch.tensor([[2.0], [-1.0], [0.0]])
    targets = torch.tensor([1, 1, 0])
    assert task.predictions(logits).tolist() == [1, 0, 0]  # the class is the sign, 0 -> 0
    m = task.metrics(logits, targets)
    assert m["accuracy"] == pytest.approx(2 / 3)
    bce = -(np.log(1 / (1 + np.exp(-2.0))) + np.log(1 / (1 + np.exp(1.0))) + np.log(0.5)) / 3
    assert m["cross_entropy"] == pytest.approx(bce, rel=1e-6)
    rebuilt = get_task("imdb", data=str(path), seq_len=5, embedding_dim=7)
    from hadamhw.tasks import task_from_metadata
    again = task_from_metadata(task.metadata())
    assert again.metadata() == rebuilt.metadata() == task.metadata()
    with pytest.raises(HadamhwError, match="--seq-len 13: the data file"):
        get_task("imdb", data=str(path), seq_len=13)
    with pytest.raises(HadamhwError, match="needs --data FILE.npz"):
        get_task("imdb")


def test_train_errors_for_imdb(cli, tmp_path):
    code, _, err = cli("train", "--task", "copy", "--embedding-dim", "8", "-o", tmp_path / "m")
    assert code == 2 and "--embedding-dim applies to --task imdb" in err
    code, _, err = cli("train", "--task", "imdb", "-o", tmp_path / "m.pt")
    assert code == 2 and "needs --data FILE.npz" in err


# -- end to end ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imdb_model(tmp_path_factory):
    """A miniature IMDB pipeline: text release -> .npz -> trained embedding model."""
    from hadamhw.cli import main

    root = tmp_path_factory.mktemp("imdb")
    write_aclimdb(root / "aclImdb", per_label=30)
    npz = root / "imdb.npz"
    assert main(["data", "imdb", "--from-aclimdb", str(root / "aclImdb"), "--seq-len", "20",
                 "--num-words", "24", "-o", str(npz)]) == 0
    model = root / "imdb.pt"
    assert main(["train", "--task", "imdb", "--data", str(npz), "--hidden", "16",
                 "--embedding-dim", "8", "--steps", "60", "--batch-size", "16", "--lr", "1e-2",
                 "--val-every", "20", "--no-progress", "-o", str(model)]) == 0
    return root, npz, model


def test_imdb_train_lower_eval(imdb_model, cli):
    root, npz, model = imdb_model
    payload = read_checkpoint(model)
    config = payload["config"]
    assert (config["input_kind"], config["vocab_size"], config["input_size"],
            config["padding_idx"], config["output_size"]) == ("embedding", 24, 8, 0, 1)
    assert torch.equal(payload["state_dict"]["embedding.weight"][0], torch.zeros(8))
    assert payload["metrics"]["test"]["accuracy"] > 0.6  # the sentiment word is learnable
    ir_path = root / "imdb.ir.json"
    code, out, err = cli("lower", model, "-o", ir_path)
    assert code == 0, err
    assert "token table (U column + b per token, the ROM): 24 x 16 words of" in out
    ir = json.loads(ir_path.read_text())
    assert ir["input"]["kind"] == "token" and ir["input"]["size"] == 24
    code, out, err = cli("eval", ir_path, "--checkpoint", model, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["task"] == "imdb" and report["sequences"] == 30
    assert abs(report["float"]["accuracy"] - report["integer"]["accuracy"]) <= 1 / 30
    assert report["argmax_agreement"] >= 29 / 30  # the class agreement (sign of the logit)


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_imdb_hardware_bit_exact(imdb_model, cli):
    root, _, model = imdb_model
    rtl = root / "rtl"
    code, _, err = cli("generate", model, "--target", "verilog", "-o", rtl)
    assert code == 0, err
    manifest = json.loads((rtl / "manifest.json").read_text())
    ir = json.loads((rtl / "model.ir.json").read_text())
    assert manifest["token_table_bits"] == 24 * 16 * ir["widths"]["input_acc"]
    code, out, err = cli("sim", rtl, "--batch", "--task-data", "--sequences", "30", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["mismatches"] == 0 and result["sequences"] == 30
    # one logit per review, read at the last step, and its argmax word
    assert result["outputs_checked"] == 60


# -- importing the reference's IMDB model ----------------------------------------------------

def reference_imdb(folder: Path, vocab: int = 24, emb: int = 8, hidden: int = 16,
                   dataset: dict | None = None) -> tuple[Path, Path]:
    g = torch.Generator().manual_seed(0)
    embedding = torch.randn(vocab, emb, generator=g)
    embedding[0] = 0  # padding_idx=0
    signs = torch.rand(1, hidden, generator=g) * 2 - 1
    state = {"input_layer.parametrizations.weight.original": torch.randn(hidden, emb,
                                                                         generator=g) * 0.3,
             "recurrent_layer.sign_vector": signs,
             "recurrent_layer.bias": torch.randn(hidden, generator=g) * 0.1,
             "output_layer.parametrizations.weight.original": torch.randn(1, hidden,
                                                                          generator=g),
             "output_layer.bias": torch.zeros(1),
             "word_embedding.weight": embedding}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "ref.pth")
    document = {"PROJECT": "hadamRNN_quantized",
                "DATASET": dataset or {"NAME": "IMDB", "SEQ_LENGTH": 10},
                "MODEL": {"ACTIVATION": "$torch.nn.ReLU", "ACTIVATION_FINAL": None,
                          "BASIC_BLOCK": "full", "BIAS": True, "BIAS_FINAL": True,
                          "HIDDEN_SIZE": hidden, "INPUT_SIZE": emb, "MANYTOMANY": False,
                          "NAME": "BinadamSSMwithEmbeddings", "NUM_BITS": 4, "OUTPUT_SIZE": 1,
                          "SINGLE_LAYER": True, "QOUTPUT": True}}
    (folder / "imdb.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder / "ref.pth", folder / "imdb.yaml"


def test_import_reference_imdb_model(cli, tmp_path):
    state, config = reference_imdb(tmp_path)
    npz = random_npz(tmp_path / "imdb.npz", steps=12, vocab=24)
    out = tmp_path / "imported.pt"
    code, stdout, err = cli("import-ref", state, "--config", config, "--data", npz, "-o", out)
    assert code == 0, err
    assert "task imdb implied by DATASET.NAME IMDB" in stdout
    assert "T = 10 steps from DATASET.SEQ_LENGTH" in stdout
    payload = read_checkpoint(out)
    assert payload["task"]["name"] == "imdb" and payload["task"]["seq_len"] == 10
    assert payload["config"]["padding_idx"] == 0 and payload["config"]["vocab_size"] == 24
    code, out_text, err = cli("lower", out, "-o", tmp_path / "imported.ir.json", "--calib", "16")
    assert code == 0, err
    code, stdout, err = cli("eval", tmp_path / "imported.ir.json", "--checkpoint", out,
                            "--json")
    assert code == 0, err
    assert json.loads(stdout)["sequences"] == 10
    # without --data the import still works, and says how to record the task
    code, stdout, err = cli("import-ref", state, "--config", config, "-o", tmp_path / "b.pt")
    assert code == 0, err
    assert "give --data imdb.npz" in stdout and read_checkpoint(tmp_path / "b.pt")["task"] is None
    # a data file with another vocabulary does not fit
    other = random_npz(tmp_path / "other.npz", steps=12, vocab=30)
    code, _, err = cli("import-ref", state, "--config", config, "--data", other, "-o",
                       tmp_path / "c.pt")
    assert code == 2 and "its vocabulary is 30, the model's is 24" in err


def test_copymemory_config_implies_copy_task_and_onehot(cli, tmp_path):
    hidden = 16
    g = torch.Generator().manual_seed(1)
    signs = torch.rand(1, hidden, generator=g) * 2 - 1
    state = {"input_layer.parametrizations.weight.original": torch.randn(hidden, 10,
                                                                         generator=g),
             "recurrent_layer.sign_vector": signs,
             "recurrent_layer.bias": torch.randn(hidden, generator=g) * 0.1,
             "output_layer.parametrizations.weight.original": torch.randn(9, hidden,
                                                                          generator=g),
             "output_layer.bias": torch.zeros(9)}
    torch.save(state, tmp_path / "ref.pth")
    document = {"DATASET": {"NAME": "CopyMemory", "SENT_LENGTH": 10, "SEQ_LENGTH": 1000,
                            "VOCABULARY": 10},
                "MODEL": {"BASIC_BLOCK": "full", "BIAS": True, "BIAS_FINAL": True,
                          "HIDDEN_SIZE": hidden, "INPUT_SIZE": 10, "MANYTOMANY": True,
                          "NAME": "BinadamSSM", "NUM_BITS": 4, "OUTPUT_SIZE": 9,
                          "SINGLE_LAYER": True, "QOUTPUT": True}}
    (tmp_path / "copy.yaml").write_text(yaml.safe_dump(document))
    code, stdout, err = cli("import-ref", tmp_path / "ref.pth", "--config",
                            tmp_path / "copy.yaml", "-o", tmp_path / "copy.pt")
    assert code == 0, err
    assert "task copy implied by DATASET.NAME CopyMemory" in stdout
    payload = read_checkpoint(tmp_path / "copy.pt")
    assert payload["config"]["input_kind"] == "onehot"
    assert payload["task"]["name"] == "copy" and payload["task"]["seq_len"] == 980
    # an explicit, contradicting --input is refused in one line
    code, _, err = cli("import-ref", tmp_path / "ref.pth", "--config", tmp_path / "copy.yaml",
                       "--input", "real", "-o", tmp_path / "x.pt")
    assert code == 2 and "input kind" in err
