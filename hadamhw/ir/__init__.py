"""The integer IR (schema, JSON), lowering from torch, and the golden interpreter."""

from hadamhw.ir.golden import GoldenResult, run
from hadamhw.ir.schema import (
    FORMAT,
    VERSION,
    InputSpec,
    IntegerRNN,
    OutputRequant,
    Requant,
    Scales,
    Widths,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "GoldenResult",
    "InputSpec",
    "IntegerRNN",
    "OutputRequant",
    "Requant",
    "Scales",
    "Widths",
    "run",
]
