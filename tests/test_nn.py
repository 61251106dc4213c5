"""The torch models: Hadamard weight, FWHT, quantizers, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from hadamhw.errors import HadamhwError
from hadamhw.nn import HadamardRecurrent, HadamRNN, ModelConfig, fake_quantize, fwht, sylvester
from hadamhw.nn.hadamard import _fwht_stages, kron_factors

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


# Block sizes that exercise one dense factor (m <= 32), two factors, and the recursion on
# the outer factor (m = 2048 = 64 x 32, outer factor above MAX_FACTOR).
KRON_SHAPES = [(8, 2), (64, 32), (128, 128), (256, 16), (1024, 1024), (4096, 2048)]


@pytest.mark.parametrize("n,m", KRON_SHAPES)
def test_kron_fwht_equals_radix2_and_dense_exactly(n, m):
    g = torch.Generator().manual_seed(n + m)
    # Integer-valued float32 inputs: every partial sum is an integer below 2^24, so both
    # computations are exact and must agree bit for bit, in any summation order.
    x = torch.randint(-1000, 1000, (3, 2, n), generator=g).float()
    kron = fwht(x, m)
    assert torch.equal(kron, _fwht_stages(x, m))
    if n <= 1024:
        dense = torch.block_diag(*[sylvester(m).float()] * (n // m))
        assert torch.equal(kron, x @ dense.T)


@pytest.mark.parametrize("n,m", KRON_SHAPES)
def test_kron_fwht_gradient_equals_radix2_and_dense(n, m):
    g = torch.Generator().manual_seed(7 * n + m)
    x = torch.randn(4, n, dtype=torch.float64, generator=g, requires_grad=True)
    upstream = torch.randn(4, n, dtype=torch.float64, generator=g)
    (fwht(x, m) * upstream).sum().backward()
    assert torch.allclose(x.grad, _fwht_stages(upstream, m), rtol=0, atol=1e-9)
    if n <= 1024:
        dense = torch.block_diag(*[sylvester(m)] * (n // m))
        assert torch.allclose(x.grad, upstream @ dense, rtol=0, atol=1e-9)


def test_kron_fwht_gradcheck():
    x = torch.randn(2, 256, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: fwht(v, 128), (x,))


@pytest.mark.parametrize("m,factors", [(2, (1, 2)), (32, (1, 32)), (64, (8, 8)),
                                       (128, (8, 16)), (1024, (32, 32)), (4096, (128, 32))])
def test_kron_factors(m, factors):
    assert kron_factors(m) == factors
    assert factors[0] * factors[1] == m


def test_fwht_by_hand():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    # H_4 rows: [1,1,1,1], [1,-1,1,-1], [1,1,-1,-1], [1,-1,-1,1]
    assert fwht(x, 4).tolist() == [[10.0, -2.0, -4.0, 0.0]]
    assert fwht(x, 2).tolist() == [[3.0, -1.0, 7.0, -1.0]]


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
