"""Choosing the requantization constants M_r, M_a and the shift S (no IR format of its own).

The one requantization h' = sat(round_shift(r M_r + a M_a, S)) costs what its constants cost:
every non-zero canonical-signed-digit (CSD) digit of M_r or M_a is one adder per state
element and time step. The lean choice:

- M_a = 2^e: the lowering picks the state scale s_h = s_a 2^j (j an integer), the smallest
  such scale that still holds the calibrated range, so a * M_a is wiring. The state range
  then uses between half and all of its B_h bits: it loses at most one bit.
- M_r / 2^S = 1/sqrt(m): a pure shift when log2 m is even. When it is odd, 1/sqrt(2) is left
  over and M_r is the best approximation of sqrt(2) 2^(S - (k+1)/2) with `digits` non-zero
  CSD digits; its per-step gain error eps = M_r sqrt(m) / 2^S - 1 compounds through the
  orthogonal loop, and `gain_horizon` says for how many steps a full-scale state stays
  within one state step of the exact gain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import nonzero_digits

MAX_ROTATE_DIGITS = 12
SEARCH_BITS = 30  # fraction bits searched for the digit-limited sqrt(2)
DEFAULT_ROTATE_DIGITS = 5


@cache
def sqrt2_constant(digits: int) -> tuple[int, int]:
    """(c, p): c with at most `digits` CSD digits and c / 2^p closest to sqrt(2), c odd.

    Candidates come from a search over signed-digit expansions: each digit is the power of
    two just below or just above the remainder (or the expansion stops), which contains
    the best approximation with that many digits for every precision up to SEARCH_BITS.
    Ties go to fewer digits, then to the smaller constant.
    """
    if not 1 <= digits <= MAX_ROTATE_DIGITS:
        raise HadamhwError(f"--rotate-digits must be in [1, {MAX_ROTATE_DIGITS}], got {digits}")
    target = math.sqrt(2.0) * (1 << SEARCH_BITS)
    best: tuple[float, int, int] | None = None
    for c in _expansions(target, digits):
        if c <= 0:
            continue
        key = (abs(c - target), nonzero_digits(c), c)
        if best is None or key < best:
            best = key
    assert best is not None
    c, p = best[2], SEARCH_BITS
    while c % 2 == 0 and p > 0:
        c, p = c // 2, p - 1
    return c, p


def _expansions(x: float, digits: int) -> set[int]:
    """Integers sum_i s_i 2^a_i (at most `digits` terms, a_i >= 0) approximating x."""
    out = {0}
    if digits == 0 or abs(x) < 0.5:
        return out
    sign = 1 if x > 0 else -1
    a = max(0, math.floor(math.log2(abs(x))))
    for power in {1 << a, 1 << (a + 1)}:
        for rest in _expansions(x - sign * power, digits - 1):
            out.add(sign * power + rest)
    return out


def gain_horizon(gain_error: float, state_bits: int) -> int | None:
    """Steps T for which a full-scale state's drift |(1+eps)^T - 1| h_max stays below one
    state step; None when the gain is exact."""
    if gain_error == 0:
        return None
    h_max = (1 << (state_bits - 1)) - 1
    # (1 + |eps|)^T - 1 < 1 / h_max  <=>  T < log(1 + 1/h_max) / log(1 + |eps|)
    bound = math.log1p(1.0 / h_max) / math.log1p(abs(gain_error))
    return max(0, math.ceil(bound) - 1)


@dataclass(frozen=True)
class RequantChoice:
    rotate_mult: int
    input_mult: int
    shift: int
    rotate_digits: int  # non-zero CSD digits of rotate_mult
    rotate_gain_error: float
    input_log2: int  # input_mult = 2^input_log2

    def as_meta(self, state_bits: int) -> dict:
        return {
            "state_scale": "pow2",
            "input_mult_log2": self.input_log2,
            "rotate_digits": self.rotate_digits,
            "rotate_gain_error": self.rotate_gain_error,
            "gain_horizon_steps": gain_horizon(self.rotate_gain_error, state_bits),
        }


def lean_requant(block_size: int, input_step_log2: int, rotate_digits: int) -> RequantChoice:
    """Constants for M_a / 2^S = 2^-input_step_log2 and M_r / 2^S ~ 1/sqrt(block_size).

    input_step_log2 = log2(s_h / s_a), the state step in accumulator steps (the lowering's
    is >= 0; a negative one gives M_a = 2^(S + |j|), a gain above one).
    """
    k = block_size.bit_length() - 1
    if k % 2 == 0:
        rot_c, rot_exp = 1, -(k // 2)  # M_r / 2^S = 1 * 2^(-k/2)
    else:
        c, p = sqrt2_constant(rotate_digits)
        rot_c, rot_exp = c, -((k + 1) // 2) - p  # sqrt(2) 2^-(k+1)/2 ~ c 2^-(p + (k+1)/2)
    shift = max(1, input_step_log2, -rot_exp)
    rotate_mult = rot_c << (shift + rot_exp)
    input_mult = 1 << (shift - input_step_log2)
    gain = rotate_mult / 2.0**shift * math.sqrt(block_size) - 1.0
    return RequantChoice(rotate_mult=rotate_mult, input_mult=input_mult, shift=shift,
                         rotate_digits=nonzero_digits(rotate_mult), rotate_gain_error=gain,
                         input_log2=shift - input_step_log2)
