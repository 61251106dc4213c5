"""`hadamhw import-ref`: checkpoints of the reference HadamRNN code.

State dicts are built here in the reference layout with random values; the imported model's
forward pass is held equal to a forward pass written here from the reference's formulas
(dense W from torch.sign and a Sylvester matrix built bit by bit, the reference quantizer
with torch.round), then lowered and run through the CLI; unsupported configurations must be
refused with a one-line error.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import yaml

from hadamhw.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from hadamhw.errors import HadamhwError
from hadamhw.importers.reference import import_reference

U_KEY = "input_layer.parametrizations.weight.original"
V_KEY = "output_layer.parametrizations.weight.original"
SIGN_KEY = "recurrent_layer.sign_vector"
SIGN_ALIAS = "recurrent_layer.parametrizations.weight.0.sign_vector"
W_KEY = "recurrent_layer.parametrizations.weight.original"
B_KEY = "recurrent_layer.bias"
C_KEY = "output_layer.bias"
E_KEY = "word_embedding.weight"

INPUT_SIZES = {"real": 3, "onehot": 10, "embedding": 6}
VOCAB = 11
OUTPUT_SIZE = 5
STEPS = 12


@dataclass(frozen=True)
class Case:
    name: str
    hidden: int
    basic_block: str | int  # 'full' or k (blocks of 2^k)
    qoutput: bool
    manytomany: bool
    input: str  # real | onehot | embedding
    bias: bool
    bias_final: bool
    num_bits: int | None

    @property
    def block_size(self) -> int:
        return self.hidden if self.basic_block == "full" else 1 << self.basic_block


# Every pair of option values meets in at least one case (checked below); 'float' adds
# NUM_BITS null, where the reference keeps U and V in float.
CASES = [
    Case("block-m2m-onehot", 16, 2, False, True, "onehot", False, False, 3),
    Case("full-last-onehot", 16, "full", True, False, "onehot", True, True, 4),
    Case("block-last-embedding", 32, 3, True, False, "embedding", True, False, 3),
    Case("full-m2m-embedding", 16, "full", False, True, "embedding", False, True, 4),
    Case("full-last-real", 16, "full", False, False, "real", True, False, 4),
    Case("full-last-real-qout", 32, "full", True, False, "real", False, True, 3),
    Case("block-m2m-real", 16, 2, True, True, "real", True, True, 4),
    Case("float", 16, 3, True, True, "real", True, True, None),
]
PAIRWISE = {
    "block": lambda c: c.basic_block == "full",
    "qoutput": lambda c: c.qoutput,
    "manytomany": lambda c: c.manytomany,
    "input": lambda c: c.input,
    "bias": lambda c: c.bias,
    "bias_final": lambda c: c.bias_final,
    "num_bits": lambda c: c.num_bits,
}


def test_cases_cover_every_pair_of_options():
    quantized = [c for c in CASES if c.num_bits is not None]
    values = {name: {get(c) for c in quantized} for name, get in PAIRWISE.items()}
    for a, b in itertools.combinations(PAIRWISE, 2):
        met = {(PAIRWISE[a](c), PAIRWISE[b](c)) for c in quantized}
        assert met == set(itertools.product(values[a], values[b])), (a, b)


# ----------------------------------------------------------------------------------------
# The reference layout and the reference forward pass, written from the formulas


def model_section(case: Case) -> dict:
    section = {
        "ACTIVATION": "$torch.nn.ReLU", "ACTIVATION_CONFIG": None, "ACTIVATION_FINAL": None,
        "BASIC_BLOCK": case.basic_block, "BIAS": case.bias, "BIAS_FINAL": case.bias_final,
        "HIDDEN_SIZE": case.hidden, "INPUT_SIZE": INPUT_SIZES[case.input],
        "MANYTOMANY": case.manytomany,
        "NAME": "BinadamSSMwithEmbeddings" if case.input == "embedding" else "BinadamSSM",
        "NUM_BITS": case.num_bits, "OUTPUT_SIZE": OUTPUT_SIZE, "SEED": 1,
        "SINGLE_LAYER": True, "QOUTPUT": case.qoutput,
    }
    if case.input == "embedding":
        section["VOCAB_SIZE"] = VOCAB
    return section


def reference_state(case: Case, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n, d_in = case.hidden, INPUT_SIZES[case.input]
    signs = torch.rand(1, n, generator=g) * 2 - 1
    state = {
        U_KEY: torch.randn(n, d_in, generator=g) * 0.3,
        SIGN_KEY: signs,
        SIGN_ALIAS: signs.clone(),
        W_KEY: torch.randn(n, n, generator=g),
        V_KEY: torch.randn(OUTPUT_SIZE, n, generator=g) * 0.2,
    }
    if case.bias:
        state[B_KEY] = torch.randn(n, generator=g) * 0.1
    if case.bias_final:
        state[C_KEY] = torch.randn(OUTPUT_SIZE, generator=g) * 0.1
    if case.input == "embedding":
        state[E_KEY] = torch.randn(VOCAB, d_in, generator=g)
    return state


def sylvester_by_bits(m: int) -> torch.Tensor:
    """H_m[i, j] = (-1)^popcount(i & j): the Sylvester matrix without Kronecker products."""
    i = torch.arange(m)
    parity = torch.tensor([[bin(int(a) & int(b)).count("1") % 2 for b in i] for a in i])
    return (1 - 2 * parity).double()


def codes_like_reference(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, float]:
    """The reference quantizer written out here (not taken from hadamhw): alpha = max|w|,
    q = clamp(round(w 2^(p-1) / alpha), -2^(p-1), 2^(p-1) - 1)."""
    alpha = max(abs(float(w.min())), abs(float(w.max())))
    levels = 2 ** (bits - 1)
    q = torch.clamp(torch.round(w * levels / alpha), -levels, levels - 1)
    return q.to(torch.int64), alpha


def quantize_like_reference(w: torch.Tensor, bits: int | None) -> torch.Tensor:
    if bits is None:
        return w
    q, alpha = codes_like_reference(w, bits)
    levels = 2 ** (bits - 1)
    return q.to(w.dtype) * alpha / levels


def reference_forward(state: dict, case: Case, x: torch.Tensor,
                      quantize: bool = True) -> torch.Tensor:
    s = {k: v.double() for k, v in state.items()}
    n, m = case.hidden, case.block_size
    bits = case.num_bits if quantize else None
    blocks = torch.block_diag(*[sylvester_by_bits(m) / math.sqrt(m)] * (n // m))
    w = torch.diag(torch.sign(s[SIGN_KEY].reshape(-1))) @ blocks
    u = quantize_like_reference(s[U_KEY], bits)
    v = quantize_like_reference(s[V_KEY], bits if case.qoutput else None)
    b = s.get(B_KEY, torch.zeros(n, dtype=torch.float64))
    c = s.get(C_KEY, torch.zeros(OUTPUT_SIZE, dtype=torch.float64))
    if case.input == "onehot":
        x = torch.nn.functional.one_hot(x, INPUT_SIZES["onehot"]).double()
    elif case.input == "embedding":
        x = s[E_KEY][x]
    h = torch.zeros(x.shape[0], n, dtype=torch.float64)
    outputs = []
    for t in range(x.shape[1]):
        h = h @ w.T + x[:, t].double() @ u.T + b
        outputs.append(torch.relu(h) @ v.T + c)
    return torch.stack(outputs, dim=1) if case.manytomany else outputs[-1]


def sample_inputs(case: Case, batch: int, steps: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if case.input == "real":
        return torch.randn(batch, steps, INPUT_SIZES["real"], generator=g)
    vocab = VOCAB if case.input == "embedding" else INPUT_SIZES["onehot"]
    return torch.randint(0, vocab, (batch, steps), generator=g)


def write_reference(folder, case: Case, state: dict | None = None, section: dict | None = None,
                    dataset: dict | None = None, payload=None):
    folder.mkdir(parents=True, exist_ok=True)
    state_path, yaml_path = folder / "reference.pth", folder / "config.yaml"
    torch.save(reference_state(case) if payload is None and state is None else
               (payload if payload is not None else state), state_path)
    document = {"PROJECT": "test", "MODEL": section or model_section(case)}
    if dataset is not None:
        document["DATASET"] = dataset
    yaml_path.write_text(yaml.safe_dump(document, sort_keys=False))
    return state_path, yaml_path


# ----------------------------------------------------------------------------------------
# Forward equality, one import per case


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """case name -> (case, reference state, imported model loaded back from its checkpoint)."""
    root = tmp_path_factory.mktemp("import_ref")
    out = {}
    for case in CASES:
        state = reference_state(case, seed=len(out))
        state_path, yaml_path = write_reference(root / case.name, case, state=state)
        kind = "onehot" if case.input == "onehot" else None
        result = import_reference(state_path, yaml_path, input_kind=kind)
        checkpoint = root / case.name / "model.pt"
        save_checkpoint(checkpoint, result.model, result.task, {}, result.provenance)
        model, _ = load_checkpoint(checkpoint)
        out[case.name] = (case, state, model, checkpoint)
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_equals_reference_formulas(imported, case):
    _, state, model, _ = imported[case.name]
    x = sample_inputs(case, batch=6, steps=STEPS, seed=3)
    want = reference_forward(state, case, x)
    scale = float(want.abs().max())
    with torch.no_grad():
        got32 = model(x).double()
        got64 = copy.deepcopy(model).double()(x if case.input != "real" else x.double())
    assert got32.shape == want.shape
    torch.testing.assert_close(got32, want, rtol=1e-5, atol=1e-5 * scale)
    torch.testing.assert_close(got64, want, rtol=1e-9, atol=1e-9 * scale)
    if case.num_bits is not None:
        # The comparison can tell a quantized model from an unquantized one.
        unquantized = reference_forward(state, case, x, quantize=False)
        assert float((unquantized - want).abs().max()) > 1e-3 * scale


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_mapping_to_model_config(imported, case):
    _, _, model, checkpoint = imported[case.name]
    c = model.config
    assert (c.hidden_size, c.input_size, c.output_size) == (
        case.hidden, INPUT_SIZES[case.input], OUTPUT_SIZE)
    assert c.m == case.block_size
    assert c.weight_bits == case.num_bits
    assert c.quantize_output == case.qoutput
    assert (c.bias, c.output_bias) == (case.bias, case.bias_final)
    assert c.readout == ("every" if case.manytomany else "last")
    assert c.input_kind == case.input
    assert c.vocab_size == (VOCAB if case.input == "embedding" else None)
    assert c.mode == "linear"
    payload = read_checkpoint(checkpoint)
    origin = payload["training"]["imported_from"]
    assert origin["state_dict"] == "reference.pth" and origin["config"] == "config.yaml"
    assert payload["task"] is None


def _same_codes_up_to_a_shift(lowered: np.ndarray, codes: np.ndarray) -> bool:
    """Lowering may put the codes on a finer grid (codes times 2^F); nothing else."""
    shift = round(math.log2(max(1, int(np.abs(lowered).max())) / max(1, int(np.abs(codes).max()))))
    return shift >= 0 and np.array_equal(lowered, codes << shift)


def test_quantized_codes_are_the_reference_codes(imported):
    """The lowered model's integer weights and scales are the reference quantizer's."""
    from hadamhw.ir.lower import lower

    for name in ("full-last-real", "full-last-real-qout", "block-last-embedding"):
        case, state, model, _ = imported[name]
        levels = 2 ** (case.num_bits - 1)
        ir, _ = lower(copy.deepcopy(model), sample_inputs(case, 16, STEPS, seed=5))
        # the expectation comes from this file's own quantizer, never from the importer
        u_codes, u_alpha = codes_like_reference(state[U_KEY].double(), case.num_bits)
        assert ir.scales.input_weight == pytest.approx(u_alpha / levels, rel=1e-7), name
        if case.input != "embedding":  # an embedding model's table is U E, requantized
            assert _same_codes_up_to_a_shift(ir.input_weight, u_codes.numpy()), name
        if case.qoutput:
            v_codes, v_alpha = codes_like_reference(state[V_KEY].double(), case.num_bits)
            assert np.array_equal(ir.output_weight, v_codes.numpy()), name
            assert ir.scales.output_weight == pytest.approx(v_alpha / levels, rel=1e-7), name
        else:  # float V: lowering quantizes it at its own fallback width
            assert ir.widths.output_weight > case.num_bits


def test_latent_on_a_rounding_boundary_keeps_the_reference_code(tmp_path):
    """A latent at an exact half step rounds half to even, whatever arithmetic re-reads it."""
    case = CASES[4]
    state = reference_state(case)
    u = torch.zeros_like(state[U_KEY])
    u[0, 0] = 1.0  # alpha = 1, step 1/8 at 4 bits
    u[1, 0] = 2.5 / 8  # exactly half way between codes 2 and 3: half-to-even gives 2
    u[2, 0] = 3.5 / 8  # half way between 3 and 4: gives 4
    u[3, 0] = -1.0  # the negative end: code -8
    state[U_KEY] = u
    state_path, yaml_path = write_reference(tmp_path, case, state=state)
    model = import_reference(state_path, yaml_path).model
    from hadamhw.nn.quant import quantize_codes

    for dtype in (torch.float32, torch.float64):
        q, _ = quantize_codes(model.input_layer.weight.detach().to(dtype), 4)
        assert q[:4, 0].tolist() == [7, 2, 4, -8]


# ----------------------------------------------------------------------------------------
# Variants of the layout


def test_wrappers_prefix_and_plain_keys_import_the_same_weights(tmp_path):
    case = CASES[6]
    state = reference_state(case, seed=9)
    bare_state, bare_yaml = write_reference(tmp_path / "bare", case, state=state)
    bare = import_reference(bare_state, bare_yaml).model.state_dict()
    prefixed = {f"module.{k}": v for k, v in state.items()}
    variants = {
        "state_dict": {"state_dict": state, "epoch": 3},
        "model_state_dict": {"model_state_dict": state, "optimizer": {"lr": 1e-3}},
        "module": prefixed,
    }
    for name, payload in variants.items():
        path, yaml_path = write_reference(tmp_path / name, case, payload=payload)
        got = import_reference(path, yaml_path).model.state_dict()
        assert got.keys() == bare.keys()
        for key in bare:
            assert torch.equal(got[key], bare[key]), (name, key)
    # The reference's own names for unparametrized layers (NUM_BITS null, QOUTPUT false).
    float_case = CASES[7]
    plain = reference_state(float_case)
    plain["input_layer.weight"] = plain.pop(U_KEY)
    plain["output_layer.weight"] = plain.pop(V_KEY)
    path, yaml_path = write_reference(tmp_path / "plain", float_case, state=plain)
    model = import_reference(path, yaml_path).model
    x = sample_inputs(float_case, 3, 5, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(model(x).double(),
                                   reference_forward(reference_state(float_case), float_case, x),
                                   rtol=1e-5, atol=1e-5)


def test_reference_copy_task_config_with_task_metadata(tmp_path):
    """The reference's copy-task YAML (SEQ_LENGTH = total length) gives hadamhw's delay."""
    case = Case("copy", 16, "full", True, True, "onehot", True, True, 4)
    section = model_section(case)
    section["OUTPUT_SIZE"] = 9
    state = reference_state(case)
    state[V_KEY] = state[V_KEY].new_ones(9, 16) * torch.linspace(-1, 1, 16)
    state[C_KEY] = torch.zeros(9)
    dataset = {"NAME": "CopyMemory", "SENT_LENGTH": 10, "SEQ_LENGTH": 40, "VOCABULARY": 10}
    state_path, yaml_path = write_reference(tmp_path, case, state=state, section=section,
                                            dataset=dataset)
    result = import_reference(state_path, yaml_path, task="copy")
    assert result.model.config.input_kind == "onehot"  # taken from the task
    assert result.task["name"] == "copy" and result.task["seq_len"] == 20
    assert any("SEQ_LENGTH 40" in note for note in result.notes)
    explicit = import_reference(state_path, yaml_path, task="copy", seq_len=7)
    assert explicit.task["seq_len"] == 7


# ----------------------------------------------------------------------------------------
# The CLI end to end: import-ref -> lower --calib-data -> golden eval


def test_cli_import_lower_eval(tmp_path, cli):
    case = Case("copy-cli", 16, 2, True, True, "onehot", True, True, 4)
    section = model_section(case)
    section["OUTPUT_SIZE"] = 9
    state = reference_state(case, seed=4)
    state[V_KEY] = torch.randn(9, 16)
    state[C_KEY] = torch.randn(9) * 0.1
    state_path, yaml_path = write_reference(tmp_path, case, state=state, section=section)
    model_path, ir_path = tmp_path / "model.pt", tmp_path / "model.ir.json"

    code, out, err = cli("import-ref", state_path, "--config", yaml_path, "-o", model_path,
                         "--input", "onehot")
    assert code == 0, err
    assert "Block-HadamRNN" in out and "lowering needs --calib-data" in out

    code, _, err = cli("lower", model_path, "-o", ir_path)
    assert code == 2 and "--calib-data" in err

    calib = np.random.default_rng(0).integers(0, 10, size=(64, 30)).astype(np.int64)
    np.save(tmp_path / "calib.npy", calib)
    code, out, err = cli("lower", model_path, "-o", ir_path, "--calib-data",
                         tmp_path / "calib.npy")
    assert code == 0, err
    ir = json.loads(ir_path.read_text())
    assert ir["block_size"] == 4 and ir["hidden_size"] == 16

    code, out, err = cli("eval", ir_path, "--task", "copy", "--seq-len", "10",
                         "--checkpoint", model_path, "--limit", "40", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sequences"] == 40
    assert 0.0 <= report["argmax_agreement"] <= 1.0
    assert "cross_entropy" in report["float"] and "cross_entropy" in report["integer"]

    # With a task recorded at import, lowering calibrates on the task's data.
    code, _, err = cli("import-ref", state_path, "--config", yaml_path, "-o",
                       tmp_path / "task.pt", "--task", "copy", "--seq-len", "10")
    assert code == 0, err
    code, out, err = cli("lower", tmp_path / "task.pt", "-o", tmp_path / "task.ir.json",
                         "--calib", "32")
    assert code == 0, err


# ----------------------------------------------------------------------------------------
# Refusals: one line, naming what is unsupported or wrong

BASE = CASES[1]  # full, many-to-one, one-hot, QOUTPUT, both biases


def _without(key):
    def edit(state):
        del state[key]
    return edit


def _set(key, value):
    def edit(state):
        state[key] = value
    return edit


def _zero_sign(state):
    state[SIGN_KEY] = state[SIGN_KEY].clone()
    state[SIGN_KEY][0, 5] = 0.0
    state[SIGN_ALIAS] = state[SIGN_KEY].clone()


def _second_layer(state):
    state["input_layer_2.parametrizations.weight.original"] = torch.randn(16, 16)
    state["recurrent_layer_2.sign_vector"] = torch.randn(1, 16)


def _extra_key(state):
    state["decoder.weight"] = torch.randn(3, 3)


def _sign_alias_differs(state):
    state[SIGN_ALIAS] = -state[SIGN_KEY]


REFUSALS = {
    # name: (MODEL overrides (None deletes), state edit, expected words)
    "two-layer-yaml": ({"SINGLE_LAYER": False}, None, ["two-layer", "SINGLE_LAYER"]),
    "two-layer-default": ({"SINGLE_LAYER": None}, None, ["two-layer", "reference default"]),
    "two-layer-keys": ({}, _second_layer, ["two-layer", "input_layer_2."]),
    "qrnn": ({"NAME": "QRNN"}, None, ["NAME 'QRNN'", "not supported"]),
    "spectral": ({"NAME": "SpectralQSSM"}, None, ["NAME 'SpectralQSSM'", "not supported"]),
    "unknown-model": ({"NAME": "LSTM"}, None, ["NAME 'LSTM'", "not supported"]),
    "missing-key": ({}, _without(B_KEY), ["no recurrent_layer.bias"]),
    "missing-signs": ({}, lambda s: (s.pop(SIGN_KEY), s.pop(SIGN_ALIAS)),
                      ["no recurrent_layer.sign_vector"]),
    "missing-embedding": ({"NAME": "BinadamSSMwithEmbeddings"}, None,
                          ["no word_embedding.weight"]),
    "u-shape": ({}, _set(U_KEY, torch.randn(16, 11)),
                [U_KEY, "shape (16, 11)", "(16, 10)"]),
    "v-shape": ({"OUTPUT_SIZE": 4}, None, [V_KEY, "(5, 16)", "(4, 16)"]),
    "sign-shape": ({}, _set(SIGN_KEY, torch.randn(1, 8)), [SIGN_KEY, "(1, 8)"]),
    "hidden-contradiction": ({"HIDDEN_SIZE": 32}, None, [U_KEY, "(32, 10)"]),
    "zero-sign": ({}, _zero_sign, ["sign_vector[5] is exactly 0", "row 5"]),
    "sign-alias": ({}, _sign_alias_differs, ["differ"]),
    "block-divides": ({"HIDDEN_SIZE": 12, "BASIC_BLOCK": 3}, None,
                      ["BASIC_BLOCK 3", "block size 8", "does not divide HIDDEN_SIZE 12"]),
    "full-not-pow2": ({"HIDDEN_SIZE": 12}, None, ["BASIC_BLOCK 'full'", "power of two"]),
    "block-zero": ({"BASIC_BLOCK": 0}, None, ["BASIC_BLOCK 0", "not supported"]),
    "block-missing": ({"BASIC_BLOCK": None}, None, ["BASIC_BLOCK is missing"]),
    "bits-one": ({"NUM_BITS": 1}, None, ["NUM_BITS 1", "ternary"]),
    "bits-missing": ({"NUM_BITS": None}, None, ["NUM_BITS is missing"]),
    "activation": ({"ACTIVATION": "$torch.nn.Tanh"}, None, ["ACTIVATION", "Tanh"]),
    "activation-final": ({"ACTIVATION_FINAL": "$torch.nn.Sigmoid"}, None,
                         ["ACTIVATION_FINAL", "Sigmoid"]),
    "bias-off-but-present": ({"BIAS": False}, None, ["recurrent_layer.bias", "BIAS is false"]),
    "unexpected-key": ({}, _extra_key, ["unexpected key", "decoder.weight"]),
    "not-finite": ({}, _set(C_KEY, torch.tensor([0.0, 1.0, float("nan"), 0.0, 0.0])),
                   [C_KEY, "non-finite", "(2,)"]),
    "hidden-missing": ({"HIDDEN_SIZE": None}, None, ["HIDDEN_SIZE is missing"]),
    "bool-type": ({"QOUTPUT": "yes"}, None, ["QOUTPUT must be true or false"]),
}


def _section(overrides: dict) -> dict:
    section = model_section(BASE)
    for key, value in overrides.items():
        if value is None:
            section.pop(key, None)
        else:
            section[key] = value
    return section


def _assert_one_line_error(cli, args, words):
    code, out, err = cli("import-ref", *args)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hadamhw import-ref: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("name", REFUSALS)
def test_unsupported_or_wrong_reference_is_refused(tmp_path, cli, name):
    overrides, edit, words = REFUSALS[name]
    state = reference_state(BASE)
    if edit is not None:
        edit(state)
    state_path, yaml_path = write_reference(tmp_path, BASE, state=state,
                                            section=_section(overrides))
    _assert_one_line_error(cli, [state_path, "--config", yaml_path, "-o", tmp_path / "m.pt",
                                 "--input", "onehot"], words)
    assert not (tmp_path / "m.pt").exists()


def test_refused_files_and_options(tmp_path, cli):
    state_path, yaml_path = write_reference(tmp_path, BASE)
    out = tmp_path / "m.pt"

    no_model = tmp_path / "no_model.yaml"
    no_model.write_text("PROJECT: x\nDATASET:\n  NAME: IMDB\n")
    _assert_one_line_error(cli, [state_path, "--config", no_model, "-o", out],
                           ["no_model.yaml", "no MODEL section"])
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("MODEL: [unclosed\n")
    _assert_one_line_error(cli, [state_path, "--config", bad_yaml, "-o", out],
                           ["bad.yaml", "not valid YAML"])
    _assert_one_line_error(cli, [state_path, "--config", tmp_path / "none.yaml", "-o", out],
                           ["none.yaml", "no such config file"])

    text = tmp_path / "notes.pt"
    text.write_text("these are not weights\n")
    _assert_one_line_error(cli, [text, "--config", yaml_path, "-o", out],
                           ["notes.pt", "not a readable PyTorch state dict"])
    for name, payload, words in (
        ("list.pt", [torch.zeros(2)], ["not a state dict", "list"]),
        ("mixed.pt", {"input_layer.weight": torch.zeros(2), "epoch": 3},
         ["not a state dict", "'epoch'"]),
        ("empty.pt", {}, ["state dict is empty"]),
    ):
        torch.save(payload, tmp_path / name)
        _assert_one_line_error(cli, [tmp_path / name, "--config", yaml_path, "-o", out],
                               [name, *words])
    _assert_one_line_error(cli, [tmp_path / "missing.pt", "--config", yaml_path, "-o", out],
                           ["missing.pt", "no such state dict file"])

    # A hadamhw checkpoint is not a reference state dict.
    from hadamhw.importers.reference import import_reference as do_import

    ours = tmp_path / "ours.pt"
    save_checkpoint(ours, do_import(state_path, yaml_path, input_kind="onehot").model, None)
    _assert_one_line_error(cli, [ours, "--config", yaml_path, "-o", out],
                           ["already a hadamhw checkpoint"])

    # Options that contradict the model.
    _assert_one_line_error(cli, [state_path, "--config", yaml_path, "-o", out, "--task",
                                 "pdigits"], ["task pdigits does not fit", "input size"])
    _assert_one_line_error(cli, [state_path, "--config", yaml_path, "-o", out, "--seq-len",
                                 "5"], ["--seq-len applies with --task"])
    embed = CASES[2]
    e_state, e_yaml = write_reference(tmp_path / "embed", embed)
    _assert_one_line_error(cli, [e_state, "--config", e_yaml, "-o", out, "--input", "onehot"],
                           ["'onehot' does not apply", "word embedding"])
    _assert_one_line_error(cli, [e_state, "--config", e_yaml, "-o", out, "--task", "copy"],
                           ["task copy does not fit", "input kind"])
    assert not out.exists()


def test_vocab_size_must_match_the_embedding(tmp_path):
    case = CASES[2]
    section = model_section(case)
    section["VOCAB_SIZE"] = VOCAB + 1
    state_path, yaml_path = write_reference(tmp_path, case, section=section)
    with pytest.raises(HadamhwError, match="VOCAB_SIZE is 12"):
        import_reference(state_path, yaml_path)


def test_case_insensitive_keys_and_lowercase_section(tmp_path):
    """The reference lower-cases every key of its YAML; so does the importer."""
    case = CASES[4]
    section = {k.lower(): v for k, v in model_section(case).items()}
    state_path, _ = write_reference(tmp_path, case)
    yaml_path = tmp_path / "lower.yaml"
    yaml_path.write_text(yaml.safe_dump({"model": section}))
    model = import_reference(state_path, yaml_path).model
    assert model.config.hidden_size == case.hidden
    assert model.config.m == case.block_size


# ----------------------------------------------------------------------------------------
# Imported models through lowering, Verilog generation and Verilator: bit-exact

SIM_CASES = ("block-m2m-onehot", "block-last-embedding", "full-last-real-qout")


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("name", SIM_CASES)
def test_imported_model_simulates_bit_exact(imported, tmp_path, name):
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import generate
    from hadamhw.ir.encode import encode_inputs
    from hadamhw.ir.lower import LoweringSettings, lower
    from hadamhw.ir.stimulus import expected, make_stimulus
    from hadamhw.verify.verilator_batch import run_batch

    case, _, model, _ = imported[name]
    calib = sample_inputs(case, 64, STEPS, seed=11)
    ir, _ = lower(copy.deepcopy(model), calib, LoweringSettings(state_bits=10))
    design = tmp_path / "design"
    generate(ir, design, GenerateOptions())
    # Inputs of the model's own domain (encoded as lowering encodes them), then random legal
    # integers with range-end values, of several lengths.
    x = encode_inputs(ir, sample_inputs(case, 6, STEPS, seed=12))
    domain = [x[i] for i in range(len(x))]
    random = make_stimulus(ir, sequences=10, seed=3, min_steps=1, max_steps=2 * STEPS)
    stimulus = expected(ir, domain + random.sequences)
    result = run_batch(design, stimulus, build_dir=tmp_path / "batch", seed=0, gaps=True)
    assert result.outputs_checked == sum(o.size + len(o) for o in stimulus.outputs)
    assert result.ok, [m.describe() for m in result.mismatches[:3]]
