"""argparse types for numeric options: each states its range, so a value outside it is
refused while the arguments are parsed, before any work, in one line naming the option:

    hadamhw eval: error: argument --limit: expected an integer >= 1, got '-3'
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _range_text(low: float | None, high: float | None, low_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}]"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"<= {high:g}"
    return ""


def int_range(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer in [low, high] (either bound may be open-ended)."""
    expected = f"an integer {_range_text(low, high, False)}".rstrip()

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def float_range(low: float | None = None, high: float | None = None, *,
                low_open: bool = True) -> Callable[[str], float]:
    """A finite number above low (or from low, when not low_open) and up to high."""
    expected = f"a number {_range_text(low, high, low_open)}".rstrip()

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        below = low is not None and (value <= low if low_open else value < low)
        if not math.isfinite(value) or below or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def power_of_two(low: int = 2) -> Callable[[str], int]:
    """A power of two >= low."""
    def parse(text: str) -> int:
        value = int_range(low)(text)
        if value & (value - 1):
            raise argparse.ArgumentTypeError(
                f"expected a power of two >= {low}, got {text!r}")
        return value

    parse.__name__ = "power of two"
    return parse


def fold_option(text: str) -> str | int:
    """--fold: 'parallel', 'stage', or F butterfly units (a power of two >= 1)."""
    if text in ("parallel", "stage"):
        return text
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
    if value < 1 or value & (value - 1):
        raise argparse.ArgumentTypeError(
            f"expected 'parallel', 'stage' or a number of butterfly units (a power of two "
            f">= 1), got {text!r}")
    return value


fold_option.__name__ = "fold"

def int_or_word(words: tuple[str, ...], low: int, high: int) -> Callable[[str], int | str]:
    """One of `words`, or an integer in [low, high]."""
    expected = f"{', '.join(repr(w) for w in words)} or an integer in [{low}, {high}]"
    number = int_range(low, high)

    def parse(text: str) -> int | str:
        if text in words:
            return text
        try:
            return number(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    parse.__name__ = "value"
    return parse


def address(text: str) -> int:
    """A byte address: decimal or 0x-prefixed hexadecimal, >= 0."""
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a byte address (e.g. 0x80000000), "
                                         f"got {text!r}")
    return value


address.__name__ = "address"


# The ranges shared by several commands.
COUNT = int_range(1)  # sequences, steps, epochs, samples: at least one
SEED = int_range(0, 2**32 - 1)  # numpy's and torch's generators take unsigned 32-bit seeds
SEQ_LEN = int_range(1)
