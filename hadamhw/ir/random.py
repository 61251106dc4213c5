"""Random valid IRs for property tests and backend sweeps (not for users' models)."""

from __future__ import annotations

import math

import numpy as np

from hadamhw.ir.schema import InputSpec, IntegerRNN, OutputRequant, Requant


def random_ir(rng: np.random.Generator, hidden_size: int = 16, block_size: int | None = None,
              *, mode: str = "linear", readout: str = "every", state_bits: int = 12,
              input_kind: str = "int", input_size: int = 3, input_bits: int = 4,
              input_signed: bool = True, weight_bits: int = 4, output_size: int = 5,
              saturating: bool = False, output_bits: int | None = None,
              shift: int | None = None, requant: str = "random",
              rotate_digits: int | None = None) -> IntegerRNN:
    """A random IR whose state stays in range (or, with `saturating`, often saturates).

    requant "random": any constants near 1/sqrt(m) and the input gain (exercises every
    path of the generators); "lean": what the lowering chooses by default, M_a a power of
    two and M_r a shift, or a short CSD constant when log2 m is odd (rotate_digits). The
    weights, biases and signs are the same for both.
    """
    n = hidden_size
    m = n if block_size is None else block_size
    lo_w, hi_w = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    if input_kind == "token":
        spec = InputSpec(kind="token", size=input_size,
                         bits=max(1, (input_size - 1).bit_length()))
        x_mag = 1
    else:
        spec = InputSpec(kind="int", size=input_size, bits=input_bits, signed=input_signed,
                         scale=1.0 / (1 << (input_bits - 1)))
        x_mag = 1 << (input_bits - (1 if input_signed else 0))
    U = rng.integers(lo_w, hi_w + 1, size=(n, input_size))
    b = rng.integers(-4 * (hi_w + 1), 4 * (hi_w + 1) + 1, size=n)
    V = rng.integers(lo_w, hi_w + 1, size=(output_size, n))
    c = rng.integers(-64, 65, size=output_size)
    S = int(rng.integers(8, 17)) if shift is None else shift
    # Slightly off 1/sqrt(m) in either direction: any constant is legal; this one is realistic.
    rotate_mult = max(0, round(2**S / math.sqrt(m) * (1 + rng.uniform(-0.02, 0.02))))
    acc_mag = max(1, int(np.abs(U).sum(axis=1).max()) * x_mag + int(np.abs(b).max()))
    target = (1 << (state_bits - 1)) / acc_mag  # input alone reaches about full scale
    gain = rng.uniform(4.0, 16.0) if saturating else rng.uniform(0.05, 0.4)
    input_mult = max(1, round(target * gain * 2**S))
    if requant == "lean":
        from hadamhw.ir.requant import DEFAULT_ROTATE_DIGITS, lean_requant

        # as the lowering: the state step is at least the accumulator step (j >= 0), except
        # where the IR is meant to saturate
        step_log2 = math.ceil(-math.log2(target * gain))
        if not saturating:
            step_log2 = max(0, step_log2)
        choice = lean_requant(m, step_log2, rotate_digits or DEFAULT_ROTATE_DIGITS)
        S, rotate_mult, input_mult = choice.shift, choice.rotate_mult, choice.input_mult
    elif requant != "random":
        raise ValueError(f"requant must be 'random' or 'lean', got {requant!r}")
    orq = None
    if output_bits is not None:
        orq = OutputRequant(mult=int(rng.integers(1, 1 << 12)), shift=int(rng.integers(4, 20)),
                            bits=output_bits)
    return IntegerRNN.build(
        state_bits=state_bits, hidden_size=n, block_size=m, output_size=output_size, mode=mode,
        readout=readout, input=spec, signs=rng.choice([-1, 1], size=n), input_weight=U,
        input_bias=b, output_weight=V, output_bias=c,
        requant=Requant(rotate_mult=rotate_mult, input_mult=input_mult, shift=S),
        output_requant=orq, meta={"name": "random"},
    )


def random_inputs(rng: np.random.Generator, ir: IntegerRNN, sequences: int, steps: int,
                  extreme: float = 0.25) -> np.ndarray:
    """Random legal inputs; a fraction `extreme` of the values sit at the range ends.

    Token ids are drawn from the vocabulary [0, size); the extremes are its first and last
    id and, when the input port can carry more ids, the first and last id outside it (which
    drive the bias only).
    """
    lo, hi = ir.input.range()
    ends_at = [lo, hi]
    if ir.input.kind == "token":
        hi = ir.input.size - 1
        ends_at = sorted({0, hi, *((hi + 1, ends_at[1]) if ir.input.bias_only_tokens else ())})
    shape = (sequences, steps) if ir.input.kind == "token" else (sequences, steps, ir.input.size)
    x = rng.integers(lo, hi + 1, size=shape)
    ends = rng.random(shape) < extreme
    x[ends] = rng.choice(ends_at, size=int(ends.sum()))
    return x.astype(np.int64)
