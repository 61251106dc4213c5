"""The golden model: a numpy int64 interpreter of the IR, vectorised over sequences.

It is the definition of correct for every backend. Its steps follow the semantics in
`hadamhw.ir.schema` one for one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import MAX_WIDTH, IntegerRNN


@dataclass
class GoldenResult:
    """Outputs of a batch run.

    outputs: (B, T, d_out) for readout 'every', (B, d_out) for 'last'; argmax likewise.
    states: (B, T, n) when requested. saturated: count of state elements clamped.
    ranges: per intermediate, the (min, max) seen, when tracing.
    """

    outputs: np.ndarray
    argmax: np.ndarray
    states: np.ndarray | None
    saturated: int
    state_elements: int
    ranges: dict | None = None

    @property
    def saturation_rate(self) -> float:
        return self.saturated / max(1, self.state_elements)


def fwht_stage(x: np.ndarray, half: int) -> np.ndarray:
    """One radix-2 stage: pairs elements `half` apart inside groups of 2*half."""
    lead = x.shape[:-1]
    n = x.shape[-1]
    y = x.reshape(*lead, n // (2 * half), 2, half)
    a, b = y[..., 0, :], y[..., 1, :]
    return np.stack((a + b, a - b), axis=-2).reshape(*lead, n)


def round_shift(v: np.ndarray, shift: int) -> np.ndarray:
    """(v + 2^(shift-1)) >> shift, arithmetic: round half up."""
    if shift == 0:
        return v
    return (v + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)


def saturate(v: np.ndarray, bits: int) -> np.ndarray:
    return np.clip(v, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def check_int64(ir: IntegerRNN) -> None:
    """Refuse an IR whose worst-case intermediates (or partial products) overflow int64."""
    w, rq = ir.widths, ir.requant
    need = {name: getattr(w, name) for name in ("input_acc", "rotated", "requant_sum",
                                                 "output_acc")}
    r_mag = ir.block_size << (w.state - 1)
    a_mag = 1 << (w.input_acc - 1)
    need["rotated * rotate_mult"] = (r_mag * rq.rotate_mult).bit_length() + 1
    need["input_acc * input_mult"] = (a_mag * rq.input_mult).bit_length() + 1
    if ir.output_requant is not None:
        need["output_acc * output mult"] = w.output_acc + ir.output_requant.mult.bit_length()
    for name, bits in need.items():
        if bits > MAX_WIDTH:
            raise HadamhwError(f"IR intermediate '{name}' needs {bits} bits, more than the "
                               f"int64 golden model supports ({MAX_WIDTH})")


def check_inputs(ir: IntegerRNN, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise HadamhwError(f"golden model inputs must be integers, got {x.dtype}")
    x = x.astype(np.int64)
    if ir.input.kind == "token":
        if x.ndim != 2:
            raise HadamhwError(f"token inputs must have shape (batch, steps), got {x.shape}")
    elif x.ndim != 3 or x.shape[-1] != ir.input.size:
        raise HadamhwError(
            f"integer inputs must have shape (batch, steps, {ir.input.size}), got {x.shape}")
    lo, hi = ir.input.range()
    if x.size and (x.min() < lo or x.max() > hi):
        if ir.input.kind == "token":
            raise HadamhwError(
                f"token ids must lie in [0, {hi}] (what the {ir.input.bits}-bit input port "
                f"carries), got [{int(x.min())}, {int(x.max())}]")
        raise HadamhwError(f"input values must lie in [{lo}, {hi}], got "
                           f"[{int(x.min())}, {int(x.max())}]")
    if x.shape[1] < 1:
        raise HadamhwError("sequences must have at least one step")
    return x


def token_table(ir: IntegerRNN) -> np.ndarray:
    """U with one zero column appended: column min(v, size) is the drive of token id v, so an
    id outside the vocabulary (size <= v < 2^bits) adds nothing to the bias."""
    U = ir.input_weight.astype(np.int64)
    return np.concatenate([U, np.zeros((ir.hidden_size, 1), dtype=np.int64)], axis=1)


def _track(ranges: dict | None, name: str, v: np.ndarray) -> None:
    if ranges is None or v.size == 0:
        return
    lo, hi = int(v.min()), int(v.max())
    old = ranges.get(name)
    ranges[name] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def run(ir: IntegerRNN, x: np.ndarray, return_states: bool = False,
        trace: bool = False) -> GoldenResult:
    """Run B sequences of T steps each (one `tlast` at the final step of each)."""
    check_int64(ir)
    x = check_inputs(ir, x)
    batch, steps = x.shape[:2]
    n = ir.hidden_size
    U = token_table(ir) if ir.input.kind == "token" else ir.input_weight.astype(np.int64)
    b = ir.input_bias.astype(np.int64)
    V = ir.output_weight.astype(np.int64)
    c = ir.output_bias.astype(np.int64)
    s = ir.signs.astype(np.int64)
    rq = ir.requant
    ranges: dict | None = {} if trace else None
    h = np.zeros((batch, n), dtype=np.int64)
    lo, hi = ir.state_range
    saturated = 0
    states = np.zeros((batch, steps, n), dtype=np.int64) if return_states else None
    outputs, argmaxes = [], []
    for t in range(steps):
        if ir.input.kind == "token":
            a = U[:, np.minimum(x[:, t], ir.input.size)].T + b
        else:
            a = x[:, t] @ U.T + b
        _track(ranges, "input_acc", a)
        f = h
        half = 1
        for j in range(ir.k):
            f = fwht_stage(f, half)
            _track(ranges, f"fwht[{j}]", f)
            half *= 2
        r = s * f
        _track(ranges, "rotated", r)
        v = r * rq.rotate_mult + a * rq.input_mult
        if rq.shift:
            v = v + (np.int64(1) << np.int64(rq.shift - 1))
        _track(ranges, "requant_sum", v)
        q = v >> np.int64(rq.shift)
        _track(ranges, "shifted", q)
        if ir.mode == "vanilla":
            q = np.maximum(q, 0)
        h = np.clip(q, lo, hi)
        saturated += int(np.count_nonzero(h != q))
        _track(ranges, "state", h)
        if states is not None:
            states[:, t] = h
        if ir.readout == "every" or t == steps - 1:
            y, am = readout(ir, h, V, c, ranges)
            outputs.append(y)
            argmaxes.append(am)
    if ir.readout == "every":
        out, am = np.stack(outputs, axis=1), np.stack(argmaxes, axis=1)
    else:
        out, am = outputs[-1], argmaxes[-1]
    return GoldenResult(out, am, states, saturated, batch * steps * n, ranges)


def readout(ir: IntegerRNN, h: np.ndarray, V: np.ndarray, c: np.ndarray,
            ranges: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    z = np.maximum(h, 0)
    _track(ranges, "readout_in", z)
    y = z @ V.T + c
    _track(ranges, "output_acc", y)
    orq = ir.output_requant
    if orq is not None:
        y = saturate(round_shift(y * orq.mult, orq.shift), orq.bits)
    _track(ranges, "output", y)
    # np.argmax returns the first maximum: ties go to the lowest index, as in hardware.
    return y, np.argmax(y, axis=-1)


def run_sequences(ir: IntegerRNN, sequences: list[np.ndarray]) -> list[GoldenResult]:
    """Run sequences of different lengths, grouped by length for vectorisation."""
    by_len: dict[int, list[int]] = {}
    for i, seq in enumerate(sequences):
        by_len.setdefault(len(seq), []).append(i)
    results: list[GoldenResult | None] = [None] * len(sequences)
    for _, idx in sorted(by_len.items()):
        res = run(ir, np.stack([sequences[i] for i in idx]))
        for j, i in enumerate(idx):
            results[i] = GoldenResult(res.outputs[j], res.argmax[j], None, 0, 0)
    return results  # type: ignore[return-value]
