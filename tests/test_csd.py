"""Canonical signed digit decomposition of the constants the Verilog backend multiplies by."""

from __future__ import annotations

import numpy as np
import pytest

from hadamhw.ir.csd import (
    Digit,
    Term,
    adders_for,
    csd_digits,
    csd_value,
    nonzero_digits,
    product_terms,
)


def _check_form(value: int) -> None:
    digits = csd_digits(value)
    assert csd_value(digits) == value
    shifts = [d.shift for d in digits]
    assert shifts == sorted(shifts)
    assert all(d.sign in (-1, 1) for d in digits)
    # non-adjacent form: no two non-zero digits next to each other
    assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:], strict=False))
    # never more non-zero digits than the plain binary form of |value|
    assert len(digits) <= bin(abs(value)).count("1")


def test_small_values_exhaustive():
    for value in range(-4096, 4097):
        _check_form(value)


def test_large_random_values():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        bits = int(rng.integers(1, 62))
        value = int(rng.integers(-(1 << bits), 1 << bits))
        _check_form(value)
    _check_form((1 << 61) - 1)
    _check_form(-(1 << 61))


def test_known_decompositions():
    assert csd_digits(0) == []
    assert csd_digits(1) == [Digit(0, 1)]
    assert csd_digits(-1) == [Digit(0, -1)]
    assert csd_digits(7) == [Digit(0, -1), Digit(3, 1)]  # 8 - 1
    assert csd_digits(3) == [Digit(0, -1), Digit(2, 1)]  # 4 - 1
    assert csd_digits(-8) == [Digit(3, -1)]
    assert csd_digits(119) == [Digit(0, -1), Digit(3, -1), Digit(7, 1)]  # 128 - 8 - 1
    assert nonzero_digits(119) == 3 < bin(119).count("1")
    # 46341 ~ 2^16 / sqrt(2), the rotation constant of a 2-point block
    assert csd_value(csd_digits(46341)) == 46341


def test_product_terms_and_negation():
    terms = product_terms("x", 11)  # 11 = 16 - 4 - 1
    assert sum(t.sign << t.shift for t in terms) == 11
    assert all(t.signal == "x" for t in terms)
    negated = product_terms("x", 11, negate=True)
    assert sum(t.sign << t.shift for t in negated) == -11
    assert product_terms("x", 0) == []


@pytest.mark.parametrize("terms,constant,expected", [
    ([], 0, 0),
    ([], 5, 0),
    ([Term("x", 0, 1)], 0, 0),
    ([Term("x", 0, -1)], 0, 1),  # 0 - x
    ([Term("x", 0, -1)], 3, 1),
    ([Term("x", 0, 1), Term("x", 2, -1)], 0, 1),
    ([Term("x", 0, -1), Term("y", 1, -1)], 0, 2),
    ([Term("x", 0, 1), Term("y", 1, 1)], 9, 2),
])
def test_adders_for(terms, constant, expected):
    assert adders_for(terms, constant) == expected
