"""p-bit symmetric per-tensor quantization-aware linear layers (straight-through round)."""

from __future__ import annotations

import torch
from torch import nn

from hadamhw.errors import HadamhwError


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return grad


def check_bits(bits: int | None, what: str = "weight bits") -> None:
    if bits is not None and (not isinstance(bits, int) or bits < 1):
        raise HadamhwError(f"{what} must be an integer >= 1 (or None for float), got {bits!r}")


def quantize_codes(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer codes q and the scale alpha / 2^(p-1) such that the weight is q * scale.

    alpha = max|w|; q = clamp(round(w 2^(p-1) / alpha), -2^(p-1), 2^(p-1) - 1), rounding
    half to even as torch.round does.
    """
    levels = 2 ** (bits - 1)
    alpha = w.abs().max().clamp_min(torch.finfo(w.dtype).tiny)
    q = torch.clamp(RoundSTE.apply(w * levels / alpha), -levels, levels - 1)
    return q, alpha / levels


def fake_quantize(w: torch.Tensor, bits: int | None) -> torch.Tensor:
    if bits is None:
        return w
    q, scale = quantize_codes(w, bits)
    return q * scale


class QuantLinear(nn.Linear):
    """nn.Linear whose weight is fake-quantized to `bits` bits in the forward pass."""

    def __init__(self, in_features: int, out_features: int, bits: int | None = 4,
                 bias: bool = True) -> None:
        check_bits(bits)
        super().__init__(in_features, out_features, bias=bias)
        self.bits = bits

    def quantized_weight(self) -> torch.Tensor:
        return fake_quantize(self.weight, self.bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.quantized_weight(), self.bias)
