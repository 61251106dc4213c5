"""Turning task inputs (floats or token ids) into the IR's integer inputs."""

from __future__ import annotations

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN


def encode_inputs(ir: IntegerRNN, x) -> np.ndarray:
    """Token ids pass through; real inputs become round(x / scale), saturated to the width.

    Token ids from input.size up to 2^bits - 1 are legal (they drive the bias only, see
    hadamhw.ir.schema); ids the input port cannot carry are refused.
    """
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
    if ir.input.kind == "token":
        if x.size and not np.issubdtype(x.dtype, np.integer):
            raise HadamhwError(f"token inputs must be integers, got {x.dtype}")
        lo, hi = ir.input.range()
        if x.size and (x.min() < lo or x.max() > hi):
            raise HadamhwError(f"token ids must lie in [0, {hi}] (the {ir.input.bits}-bit "
                               f"input port), got [{int(x.min())}, {int(x.max())}]")
        return x.astype(np.int64)
    lo, hi = ir.input.range()
    return np.clip(np.round(x.astype(np.float64) / ir.input.scale), lo, hi).astype(np.int64)
