"""The torch models: Hadamard weight, FWHT, quantizers, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from hadamhw.errors import HadamhwError
from hadamhw.nn import HadamardRecurrent, HadamRNN, ModelConfig, fake_quantize, fwht, sylvester

SHAPES = [(16, 16), (16, 4), (64, 8), (128, 128), (128, 2)]


def test_sylvester_small_by_hand():
    assert sylvester(2).tolist() == [[1, 1], [1, -1]]
    assert sylvester(4).tolist() == [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1],
                                     [1, -1, -1, 1]]


@pytest.mark.parametrize("n,m", SHAPES)
def test_weight_is_orthogonal(n, m):
    torch.manual_seed(n + m)
    layer = HadamardRecurrent(n, m).double()
    w = layer.weight().detach()
    assert torch.allclose(w.T @ w, torch.eye(n, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(w @ w.T, torch.eye(n, dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("n,m", SHAPES)
def test_weight_entries_and_density(n, m):
    torch.manual_seed(1)
    layer = HadamardRecurrent(n, m).double()
    w = layer.weight().detach()
    value = 1 / math.sqrt(m)
    on_block = torch.zeros(n, n, dtype=torch.bool)
    for start in range(0, n, m):
        on_block[start:start + m, start:start + m] = True
    assert torch.all(torch.isclose(w[on_block].abs(), torch.tensor(value, dtype=torch.float64),
                                   rtol=0, atol=1e-15))
    assert torch.all(w[~on_block] == 0)
    assert (w != 0).double().mean().item() == pytest.approx(m / n)
    signs = layer.signs().detach()
    # Row i carries sign s_i: the first column of every Sylvester block is all +1.
    first_col = torch.arange(n) // m * m
    assert torch.equal(torch.sign(w[torch.arange(n), first_col]), signs)


@pytest.mark.parametrize("n,m", SHAPES)
def test_fwht_equals_dense_product(n, m):
    torch.manual_seed(2)
    x = torch.randn(5, 3, n, dtype=torch.float64)
    dense = torch.block_diag(*[sylvester(m)] * (n // m))
    assert torch.allclose(fwht(x, m), x @ dense.T, atol=1e-9)


def test_fwht_gradient_equals_dense_gradient():
    torch.manual_seed(3)
    x = torch.randn(4, 32, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 32, dtype=torch.float64)
    (fwht(x, 8) * g).sum().backward()
    dense = torch.block_diag(*[sylvester(8)] * 4)
    assert torch.allclose(x.grad, g @ dense, atol=1e-9)


@pytest.mark.parametrize("kind", ["real", "onehot", "embedding"])
@pytest.mark.parametrize("mode,readout", [("linear", "every"), ("vanilla", "last")])
def test_fwht_path_equals_dense_path(kind, mode, readout):
    cfg = ModelConfig(input_size=6, hidden_size=32, output_size=5, block_size=8, mode=mode,
                      readout=readout, input_kind=kind, vocab_size=11)
    torch.manual_seed(4)
    fast = HadamRNN(cfg).double()
    dense = HadamRNN(cfg, use_fwht=False).double()
    dense.load_state_dict(fast.state_dict())
    if kind == "real":
        x = torch.randn(3, 9, 6, dtype=torch.float64)
    else:
        x = torch.randint(0, 6 if kind == "onehot" else 11, (3, 9))
    out_fast, out_dense = fast(x), dense(x)
    assert out_fast.shape == ((3, 9, 5) if readout == "every" else (3, 5))
    assert torch.allclose(out_fast, out_dense, atol=1e-9)


def reference_quantize(w: torch.Tensor, p: int) -> torch.Tensor:
    """The reference formula written out independently."""
    alpha = max(abs(w.min().item()), abs(w.max().item()))
    q = torch.clamp(torch.round(w * 2 ** (p - 1) / alpha), -(2 ** (p - 1)), 2 ** (p - 1) - 1)
    return q * alpha / 2 ** (p - 1)


@pytest.mark.parametrize("p", [1, 2, 4, 8])
def test_quantizer_matches_formula_and_levels(p):
    torch.manual_seed(p)
    w = torch.randn(64, 40, dtype=torch.float64)
    q = fake_quantize(w, p)
    assert torch.equal(q, reference_quantize(w, p))
    assert len(torch.unique(q)) <= 2 ** p


def test_quantizer_rounds_half_to_even():
    w = torch.tensor([1.0, 0.125, 0.375, -0.125], dtype=torch.float64)
    # alpha = 1, p = 3: w * 4 = 4, 0.5, 1.5, -0.5 -> clamp(4)=3, 0, 2, -0
    assert (fake_quantize(w, 3) * 4).tolist() == [3.0, 0.0, 2.0, 0.0]


def test_gradients_reach_signs_input_and_output():
    cfg = ModelConfig(input_size=3, hidden_size=16, output_size=4, block_size=4)
    torch.manual_seed(5)
    model = HadamRNN(cfg)
    model(torch.randn(2, 7, 3)).square().sum().backward()
    for name in ("recurrent.sign_latent", "recurrent.bias", "input_layer.weight",
                 "output_layer.weight", "output_layer.bias"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("kwargs,message", [
    (dict(hidden_size=12, block_size=8), "not a multiple of block size"),
    (dict(hidden_size=12, block_size=3), "power of two"),
    (dict(hidden_size=16, block_size=1), "power of two"),
    (dict(hidden_size=16, weight_bits=0), "weight bits"),
    (dict(hidden_size=16, mode="gru"), "mode"),
    (dict(hidden_size=16, input_kind="embedding"), "vocab_size"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(HadamhwError, match=message):
        ModelConfig(input_size=2, output_size=3, **kwargs)
