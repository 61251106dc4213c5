"""IR-level arithmetic the builders share: the requantization without its common power of
two, the token drive table, the butterfly order of the golden model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hadamhw.ir.schema import IntegerRNN


@dataclass(frozen=True)
class RequantPlan:
    """The IR's requantization without the power of two its products share.

    With t = min(trailing zeros of M_r, of M_a), floor((r M_r + a M_a + 2^(S-1)) / 2^S)
    equals floor((r (M_r >> t) + d) / 2^(S-t)) where d = a (M_a >> t) + floor(2^(S-1) / 2^t)
    is the drive: the input section delivers d with the rounding constant folded into its
    bias, and the requantization adds r (M_r >> t), a shift when M_r is a power of two.
    Every builder and the string sections of hadamhw.backends use this one plan.
    """

    common: int
    rotate: int
    input: int
    round_const: int
    shift: int


def requant_plan(ir: IntegerRNN) -> RequantPlan:
    rq = ir.requant

    def zeros(v: int) -> int:
        return (v & -v).bit_length() - 1 if v else rq.shift

    t = min(zeros(rq.rotate_mult), zeros(rq.input_mult), rq.shift)
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    return RequantPlan(t, rq.rotate_mult >> t, rq.input_mult >> t, half >> t, rq.shift - t)


def drive_table(ir: IntegerRNN, plan: RequantPlan) -> np.ndarray:
    """Token inputs: d[i, token] = (U[i, token] + b_i) M_a' + round, as Python ints; one
    more column for ids >= size (the bias only, as if U's column were zero)."""
    u = np.asarray(ir.input_weight, dtype=object)
    b = np.asarray(ir.input_bias, dtype=object)[:, None]
    table = np.concatenate([u, np.zeros((u.shape[0], 1), dtype=object)], axis=1) + b
    return table * plan.input + plan.round_const


def butterflies(n: int, m: int) -> list[list[tuple[int, int]]]:
    """Per stage j = 1..k of golden.fwht_stage: (a, b) element pairs; a gets a + b, b
    gets a - b."""
    stages = []
    half = 1
    while half < m:
        stages.append([(g + i, g + i + half) for g in range(0, n, 2 * half)
                       for i in range(half)])
        half *= 2
    return stages
