"""Canonical signed digit (CSD) decomposition: constant multiplication as shifts and adds.

A constant c is written as sum_i d_i 2^i with digits d_i in {-1, 0, +1} and no two adjacent
non-zero digits (the non-adjacent form). It has the fewest non-zero digits of any signed-digit
form, so x * c costs (non-zero digits - 1) adders/subtractors and no multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Digit:
    """One non-zero digit: contributes sign * 2^shift."""

    shift: int
    sign: int  # +1 or -1


def csd_digits(value: int) -> list[Digit]:
    """Non-zero CSD digits of an integer (any sign), lowest shift first; [] for 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        value = int(value)
    digits: list[Digit] = []
    shift = 0
    rest = value
    while rest != 0:
        if rest & 1:
            # rest mod 4 == 1 -> digit +1, == 3 -> digit -1: leaves the next bit clear.
            sign = 2 - (rest & 3)
            digits.append(Digit(shift, sign))
            rest -= sign
        rest >>= 1
        shift += 1
    return digits


def csd_value(digits: list[Digit]) -> int:
    """The integer a digit list stands for (inverse of csd_digits)."""
    return sum(d.sign << d.shift for d in digits)


def nonzero_digits(value: int) -> int:
    return len(csd_digits(value))


@dataclass(frozen=True)
class Term:
    """One summand of a shift-add network: sign * (signal << shift)."""

    signal: str
    shift: int
    sign: int


def product_terms(signal: str, constant: int, negate: bool = False) -> list[Term]:
    """Terms of signal * constant (or of -signal * constant) as shifted signals."""
    flip = -1 if negate else 1
    return [Term(signal, d.shift, d.sign * flip) for d in csd_digits(constant)]


def adders_for(terms: list[Term], constant: int = 0) -> int:
    """Two-input adders/subtractors that sum `terms` plus a constant.

    A sum with no positive term and no constant starts from 0 - x: one more subtractor.
    """
    count = len(terms) + (1 if constant else 0)
    if count == 0:
        return 0
    leading_negation = not constant and all(t.sign < 0 for t in terms)
    return count - 1 + (1 if leading_negation else 0)
