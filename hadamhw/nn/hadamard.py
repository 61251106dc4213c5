"""The Hadamard recurrent weight W = diag(sign(u)) . blockdiag(H_m, ..., H_m) / sqrt(m)."""

from __future__ import annotations

import math

import torch
from torch import nn

from hadamhw.errors import HadamhwError


def check_block_size(hidden_size: int, block_size: int) -> int:
    """Validate (n, m) and return k = log2(m)."""
    if hidden_size < 1:
        raise HadamhwError(f"hidden size must be positive, got {hidden_size}")
    if block_size < 2 or block_size & (block_size - 1):
        raise HadamhwError(f"block size must be a power of two >= 2, got {block_size}")
    if hidden_size % block_size:
        raise HadamhwError(
            f"hidden size {hidden_size} is not a multiple of block size {block_size}"
        )
    return block_size.bit_length() - 1


def sylvester(m: int) -> torch.Tensor:
    """Sylvester Hadamard matrix H_m (Kronecker powers of [[1, 1], [1, -1]]), float64."""
    h = torch.ones(1, 1, dtype=torch.float64)
    base = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64)
    while h.shape[0] < m:
        h = torch.kron(base, h)
    return h


def _fwht_stages(x: torch.Tensor, block_size: int) -> torch.Tensor:
    """The radix-2 reference: log2(m) butterfly stages, pairing elements `half` apart."""
    n = x.shape[-1]
    lead = x.shape[:-1]
    half = 1
    while half < block_size:
        y = x.reshape(*lead, n // (2 * half), 2, half)
        a, b = y.unbind(-2)
        x = torch.stack((a + b, a - b), dim=-2).reshape(*lead, n)
        half *= 2
    return x


# Largest Hadamard factor applied as one dense product. Small factors keep the arithmetic
# near n (a + b) per vector instead of n m; fewer, larger factors keep the number of torch
# operations (whose fixed cost dominates at training batch sizes) low. 32 measured best
# at n = 128 and 512 (tools/bench_train.py, then the training path; training now runs the
# fused recurrence, hadamhw/nn/fused.py, where it can: this is its fallback and reference).
MAX_FACTOR = 32


def kron_factors(block_size: int, max_factor: int = MAX_FACTOR) -> tuple[int, int]:
    """Split m = outer * inner into powers of two: (1, m) while m <= max_factor (one dense
    product), else as equal as the bound inner <= max_factor allows (inner >= outer)."""
    k = block_size.bit_length() - 1
    max_k = max_factor.bit_length() - 1
    inner_k = k if k <= max_k else min(k - k // 2, max_k)
    return 1 << (k - inner_k), 1 << inner_k


_FACTOR_CACHE: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def _hadamard_factor(size: int, like: torch.Tensor) -> torch.Tensor:
    key = (size, like.dtype, like.device)
    factor = _FACTOR_CACHE.get(key)
    if factor is None:
        factor = sylvester(size).to(dtype=like.dtype, device=like.device)
        _FACTOR_CACHE[key] = factor
    return factor


def _fwht_kron(x: torch.Tensor, block_size: int) -> torch.Tensor:
    """H_m = H_outer (x) H_inner: view each block as an (outer, inner) matrix X, then
    H_m vec(X) = vec(H_outer X H_inner) (Sylvester matrices are symmetric). The inner
    product is one GEMM over all rows; the outer one recurses while it is too large."""
    shape = x.shape
    outer, inner = kron_factors(block_size)
    if outer == 1:
        blocks = x.reshape(-1, inner)
        return (blocks @ _hadamard_factor(inner, x)).reshape(shape)
    grid = x.reshape(-1, outer, inner) @ _hadamard_factor(inner, x)
    if outer <= MAX_FACTOR:
        grid = torch.matmul(_hadamard_factor(outer, x), grid)
    else:
        grid = _fwht_kron(grid.transpose(-1, -2), outer).transpose(-1, -2)
    return grid.reshape(shape)


class _FWHTFunction(torch.autograd.Function):
    # H_m is symmetric, so the gradient of the transform is the transform of the gradient;
    # one custom node replaces the autograd nodes of the products and reshapes.
    @staticmethod
    def forward(ctx, x: torch.Tensor, block_size: int) -> torch.Tensor:  # noqa: D102
        ctx.block_size = block_size
        return _fwht_kron(x, block_size)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        return _fwht_kron(grad, ctx.block_size), None


def fwht(x: torch.Tensor, block_size: int) -> torch.Tensor:
    """Blockwise unnormalised Walsh-Hadamard transform along the last dimension.

    Equals x @ blockdiag(H_m, ...).T. Computed as Kronecker-factored matrix products
    (`_fwht_kron`), which on CPU beat both the dense n x n product and the O(n log m)
    radix-2 stages (`_fwht_stages`, kept as the reference); the products of +-1 matrices
    are exact for integer-valued inputs in float.
    """
    if block_size == 1:
        return x
    return _FWHTFunction.apply(x, block_size)


class SignSTE(torch.autograd.Function):
    """sign() forward (0 maps to +1 so W stays orthogonal), identity gradient backward."""

    @staticmethod
    def forward(ctx, u: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return grad


class HadamardRecurrent(nn.Module):
    """h -> W h + b with W = diag(sign(u)) blockdiag(H_m)/sqrt(m); trained parameters u and b."""

    def __init__(self, hidden_size: int, block_size: int | None = None, bias: bool = True,
                 use_fwht: bool = True) -> None:
        super().__init__()
        block_size = hidden_size if block_size is None else block_size
        self.k = check_block_size(hidden_size, block_size)
        self.hidden_size = hidden_size
        self.block_size = block_size
        self.use_fwht = use_fwht
        self.sign_latent = nn.Parameter(torch.randn(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size)) if bias else None
        self.scale = 1.0 / math.sqrt(block_size)

    def signs(self) -> torch.Tensor:
        return SignSTE.apply(self.sign_latent)

    def weight(self) -> torch.Tensor:
        """The dense n x n matrix W (for tests, export and the dense reference path)."""
        blocks = [sylvester(self.block_size).to(self.sign_latent.dtype)] * (
            self.hidden_size // self.block_size
        )
        return self.signs()[:, None] * torch.block_diag(*blocks) * self.scale

    def rotate(self, h: torch.Tensor, scaled_signs: torch.Tensor | None = None) -> torch.Tensor:
        """W h without the bias, batched over the leading dimensions.

        scaled_signs = signs() / sqrt(m) may be passed in to hoist it out of a time loop.
        """
        if self.use_fwht:
            if scaled_signs is None:
                scaled_signs = self.signs() * self.scale
            return scaled_signs * fwht(h, self.block_size)
        return h @ self.weight().T

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = self.rotate(h)
        return out if self.bias is None else out + self.bias
