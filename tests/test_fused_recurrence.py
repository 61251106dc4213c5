"""The fused recurrence (hadamhw/nn/fused.py, fused_recurrence.cpp) against the PyTorch loop.

The extension compiles once into the cache (~/.cache/hadamhw/torch-ext) on first use; the
PyTorch loop (HADAMHW_NO_EXT=1, or the model's own fallback) is the reference.
"""

from __future__ import annotations

import io

import pytest
import torch

from hadamhw.nn import HadamRNN, ModelConfig, fused
from hadamhw.nn.hadamard import _fwht_stages, fwht

pytestmark = pytest.mark.needs("g++")


@pytest.fixture(autouse=True)
def _extension_on(monkeypatch):
    monkeypatch.delenv("HADAMHW_NO_EXT", raising=False)


@pytest.fixture(scope="module")
def ext():
    module = fused.extension()
    assert module is not None, f"the extension did not build: {fused._state.get('error')}"
    return module


def loop(drive, signs, bias, m, vanilla, relu_out):
    """The recurrence written out with the Kronecker-factored transform of the torch path."""
    h = drive.new_zeros(drive.shape[0], drive.shape[2])
    states = []
    for d in (drive if bias is None else drive + bias).unbind(1):
        h = signs * fwht(h, m) + d
        if vanilla:
            h = torch.relu(h)
        states.append(h)
    hs = torch.stack(states, 1)
    return torch.relu(hs) if relu_out else hs


def inputs(n, m, gather, seed, batch=3, steps=7, vocab=5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    rows = (vocab, n) if gather else (batch, steps, n)
    drive = torch.randn(*rows, dtype=dtype, generator=g).requires_grad_()
    signs = (torch.randn(n, dtype=dtype, generator=g).sign() / m ** 0.5).requires_grad_()
    bias = torch.randn(n, dtype=dtype, generator=g).requires_grad_()
    tokens = torch.randint(0, vocab, (batch, steps), generator=g) if gather else None
    upstream = torch.randn(batch, steps, n, dtype=dtype, generator=g)
    return drive, signs, bias, tokens, upstream


# m = n and m < n (Block-HadamRNN); log2 m odd and even. m < 16 takes the plain stages, m >= 16
# the vector ones, then passes of 1, 2 or 3 stages: m = 32: 1, 64: 2, 128: 3, 256: 2 + 2,
# 512: 3 + 2.
SHAPES = [(8, 2), (16, 4), (24, 8), (64, 16), (64, 32), (64, 64), (256, 128), (512, 256),
          (512, 512)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,m", SHAPES + [(1024, 1024), (4096, 2048)])
def test_transform_equals_radix2_exactly(ext, n, m, dtype):
    # integer-valued inputs: every partial sum is exact, in any order
    x = torch.randint(-1000, 1000, (5, n), generator=torch.Generator().manual_seed(n + m))
    assert torch.equal(ext.fwht_rows(x.to(dtype), m), _fwht_stages(x.to(dtype), m))


@pytest.mark.parametrize("gather", [False, True], ids=["drive", "onehot"])
@pytest.mark.parametrize("mode", ["linear", "relu_out", "vanilla"])
@pytest.mark.parametrize("n,m", SHAPES)
def test_states_and_gradients_equal_the_loop(ext, n, m, mode, gather):
    drive, signs, bias, tokens, upstream = inputs(n, m, gather, seed=n * m)
    vanilla, relu_out = mode == "vanilla", mode == "relu_out"
    out = fused.recurrence(drive, signs, bias, m, vanilla, relu_out, tokens=tokens)
    ref = loop(drive[tokens] if gather else drive, signs, bias, m, vanilla, relu_out)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)
    grads = torch.autograd.grad((out * upstream).sum(), (drive, signs, bias))
    ref_grads = torch.autograd.grad((ref * upstream).sum(), (drive, signs, bias))
    for name, got, want in zip(("drive", "signs", "bias"), grads, ref_grads, strict=True):
        assert torch.allclose(got, want, rtol=1e-11, atol=1e-11), name


@pytest.mark.parametrize("gather", [False, True], ids=["drive", "onehot"])
@pytest.mark.parametrize("mode", ["linear", "relu_out", "vanilla"])
@pytest.mark.parametrize("n,m", [(8, 4), (32, 32)])
def test_gradcheck(ext, n, m, mode, gather):
    drive, signs, bias, tokens, _ = inputs(n, m, gather, seed=7, batch=2, steps=4)
    vanilla, relu_out = mode == "vanilla", mode == "relu_out"

    def run(d, s, b):
        return fused.recurrence(d, s, b, m, vanilla, relu_out, tokens=tokens)

    assert torch.autograd.gradcheck(run, (drive, signs, bias))


def test_without_bias_and_without_sign_gradient(ext):
    drive, signs, _, _, upstream = inputs(32, 8, False, seed=3)
    signs = signs.detach()
    out = fused.recurrence(drive, signs, None, 8, False, False)
    ref = loop(drive, signs, None, 8, False, False)
    (got,) = torch.autograd.grad((out * upstream).sum(), drive)
    (want,) = torch.autograd.grad((ref * upstream).sum(), drive)
    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert torch.allclose(got, want, rtol=1e-11, atol=1e-11)


def test_threads_split_the_batch(ext):
    drive, signs, bias, tokens, upstream = inputs(64, 16, True, seed=5, batch=9)
    results = []
    threads = torch.get_num_threads()
    try:
        for count in (1, 3):
            torch.set_num_threads(count)
            out = fused.recurrence(drive, signs, bias, 16, False, True, tokens=tokens)
            results.append((out, *torch.autograd.grad((out * upstream).sum(),
                                                      (drive, signs, bias))))
    finally:
        torch.set_num_threads(threads)
    for one, three in zip(*results, strict=True):
        assert torch.allclose(one, three, rtol=1e-12, atol=1e-12)


def test_backward_is_not_differentiable_again(ext):
    drive, signs, bias, _, _ = inputs(16, 4, False, seed=2)
    out = fused.recurrence(drive, signs, bias, 4, False, False)
    (grad,) = torch.autograd.grad(out.square().sum(), drive, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|not differentiable"):
        grad.sum().backward()


# --------------------------------------------------------------------------- in the model


def model_pair(kind, mode, readout, n=32, m=8, seed=0):
    cfg = ModelConfig(input_size=6, hidden_size=n, output_size=5, block_size=m, mode=mode,
                      readout=readout, input_kind=kind, vocab_size=11)
    torch.manual_seed(seed)
    model = HadamRNN(cfg).double()
    with torch.no_grad():  # a bias away from 0 keeps states off the relu's kink
        model.recurrent.bias.copy_(torch.randn(n, dtype=torch.float64))
    if kind == "real":
        x = torch.randn(3, 9, 6, dtype=torch.float64)
    else:
        x = torch.randint(0, 6 if kind == "onehot" else 11, (3, 9))
    return model, x


def nonzero_min(states):
    magnitude = states.detach().abs()
    return magnitude[magnitude != 0].min()


def run_model(model, x, return_states):
    model.zero_grad()
    result = model(x, return_states=return_states)
    logits, states = result if return_states else (result, None)
    loss = logits.square().sum() + (states.sin().sum() if return_states else 0)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return logits, states, grads


@pytest.mark.parametrize("kind", ["real", "onehot", "embedding"])
@pytest.mark.parametrize("mode", ["linear", "vanilla"])
@pytest.mark.parametrize("readout,return_states", [("every", False), ("every", True),
                                                   ("last", False)])
def test_model_equals_the_pytorch_loop(ext, monkeypatch, kind, mode, readout, return_states):
    model, x = model_pair(kind, mode, readout)
    # no state near the relu's kink, where rounding could decide a mask (vanilla: 0 exactly)
    for flag in ("0", "1"):
        monkeypatch.setenv("HADAMHW_NO_EXT", flag)
        assert nonzero_min(model(x, return_states=True)[1]) > 1e-6
    want = run_model(model, x, return_states)
    monkeypatch.delenv("HADAMHW_NO_EXT")
    got = run_model(model, x, return_states)
    assert torch.allclose(got[0], want[0], rtol=1e-11, atol=1e-11)
    if return_states:
        assert torch.allclose(got[1], want[1], rtol=1e-11, atol=1e-11)
    assert got[2].keys() == want[2].keys()
    assert {"recurrent.sign_latent", "recurrent.bias", "input_layer.weight"} <= got[2].keys()
    for name in want[2]:
        assert torch.allclose(got[2][name], want[2][name], rtol=1e-10, atol=1e-10), name


def test_float32_model_is_close_to_the_loop(ext, monkeypatch):
    model, x = model_pair("onehot", "linear", "every", n=64, m=64)
    model = model.float()
    want = run_model(model, x, False)
    monkeypatch.setenv("HADAMHW_NO_EXT", "1")
    got = run_model(model, x, False)
    assert torch.allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    for name in want[2]:
        assert torch.allclose(got[2][name], want[2][name], rtol=1e-3, atol=1e-5), name


def recurrence_node(model, x) -> str:
    return type(model.states(x).grad_fn).__name__


def test_switch_selects_the_path(ext, monkeypatch):
    model, x = model_pair("onehot", "linear", "every")
    assert recurrence_node(model, x) == "FusedRecurrenceBackward"
    monkeypatch.setenv("HADAMHW_NO_EXT", "1")
    assert fused.extension() is None
    assert recurrence_node(model, x) == "StackBackward0"
    monkeypatch.setenv("HADAMHW_NO_EXT", "0")
    assert recurrence_node(model, x) == "FusedRecurrenceBackward"


def test_other_dtypes_and_the_dense_path_loop(ext):
    model, x = model_pair("real", "linear", "every")
    assert recurrence_node(model.to(torch.bfloat16), x.to(torch.bfloat16)) == "StackBackward0"
    model, x = model_pair("real", "linear", "every")
    dense = HadamRNN(model.config, use_fwht=False).double()
    assert recurrence_node(dense, x) == "StackBackward0"


def test_build_failure_falls_back_with_one_line(monkeypatch, capsys):
    def no_compiler():
        raise RuntimeError("Error building extension 'x': c++: not found\nmore detail")

    monkeypatch.setattr(fused, "_state", {})
    monkeypatch.setattr(fused, "_build", no_compiler)
    model, x = model_pair("onehot", "vanilla", "every")
    assert recurrence_node(model, x) == "StackBackward0"
    model(x).sum().backward()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "fused recurrence unavailable (Error building extension 'x': c++: not found)" in err
    assert fused.extension() is None and capsys.readouterr().err == ""  # said once


def test_out_of_range_tokens_raise_as_before(ext):
    model, x = model_pair("onehot", "linear", "every")
    with pytest.raises(IndexError):
        model(torch.full((2, 3), 6))


def test_checkpoints_are_unchanged(ext):
    model, x = model_pair("onehot", "linear", "every")
    assert sorted(model.state_dict()) == [
        "input_layer.weight", "output_layer.bias", "output_layer.weight", "recurrent.bias",
        "recurrent.sign_latent"]
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = HadamRNN(model.config).double()
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))
