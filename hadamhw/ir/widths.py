"""Worst-case interval arithmetic: every intermediate width follows from declared ranges."""

from __future__ import annotations

import numpy as np


def signed_bits(lo: int, hi: int) -> int:
    """Fewest two's-complement bits holding every integer in [lo, hi] (at least 1)."""
    bits = 1
    while lo < -(1 << (bits - 1)) or hi > (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def unsigned_bits(hi: int) -> int:
    """Fewest bits holding [0, hi] unsigned (at least 1)."""
    return max(1, int(hi).bit_length())


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def input_range(bits: int, signed: bool) -> tuple[int, int]:
    return signed_range(bits) if signed else (0, (1 << bits) - 1)


def matvec_interval(weight: np.ndarray, lo: int, hi: int, bias: np.ndarray) -> tuple[int, int]:
    """Range of (weight @ x + bias) over every x with lo <= x_j <= hi, taken over all rows."""
    w = np.asarray(weight, dtype=object)
    pos = np.where(w > 0, w, 0)
    neg = np.where(w < 0, w, 0)
    b = np.asarray(bias, dtype=object)
    row_hi = (pos * hi + neg * lo).sum(axis=1) + b
    row_lo = (pos * lo + neg * hi).sum(axis=1) + b
    return int(min(row_lo)), int(max(row_hi))


def table_interval(table: np.ndarray, bias: np.ndarray) -> tuple[int, int]:
    """Range of table[:, token] + bias over every row and token."""
    t = np.asarray(table, dtype=object) + np.asarray(bias, dtype=object)[:, None]
    return int(t.min()), int(t.max())
