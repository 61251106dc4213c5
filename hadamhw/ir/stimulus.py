"""Stimulus for hardware checks: input sequences of varied lengths and golden expectations.

Vector file (text, whitespace-separated integers, shared by the Verilator harness and the
HLS C++ test bench):

    hadamhw-vectors 1
    <sequences> <input_words> <output_words>
    then per sequence:
    <steps> <readouts>
    <steps lines: input_words integers (a token id, or the input vector)>
    <readouts lines: output_words integers, then the argmax>

`readouts` is `steps` for readout 'every' and 1 for 'last'.

The Verilator harness also reads a binary form (`write_vectors_binary`): the line
`hadamhw-vectors-bin 1`, then the same integers in the same order as little-endian int64.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_inputs
from hadamhw.ir.schema import IntegerRNN

VECTOR_MAGIC = "hadamhw-vectors 1"
BINARY_VECTOR_MAGIC = b"hadamhw-vectors-bin 1\n"


@dataclass
class Stimulus:
    sequences: list[np.ndarray]  # (T_i,) token ids or (T_i, d_in) integers
    outputs: list[np.ndarray]  # (R_i, d_out) expected outputs of each readout step
    argmax: list[np.ndarray]  # (R_i,)

    @property
    def steps(self) -> int:
        return sum(len(s) for s in self.sequences)


def expected(ir: IntegerRNN, sequences: list[np.ndarray]) -> Stimulus:
    """Golden outputs for sequences of any lengths (grouped by length, vectorised)."""
    outputs: list = [None] * len(sequences)
    argmax: list = [None] * len(sequences)
    by_len: dict[int, list[int]] = {}
    for i, seq in enumerate(sequences):
        by_len.setdefault(len(seq), []).append(i)
    for _, idx in sorted(by_len.items()):
        res = golden_run(ir, np.stack([sequences[i] for i in idx]))
        for j, i in enumerate(idx):
            out, am = res.outputs[j], res.argmax[j]
            if ir.readout == "last":
                out, am = out[None], np.asarray(am)[None]
            outputs[i], argmax[i] = out, am
    return Stimulus(list(sequences), outputs, argmax)


def make_stimulus(ir: IntegerRNN, sequences: int = 8, seed: int = 0, min_steps: int = 1,
                  max_steps: int = 12, extreme: float = 0.25) -> Stimulus:
    """Random sequences with random lengths in [min_steps, max_steps]."""
    if sequences < 1:
        raise HadamhwError(f"need at least one sequence, got {sequences}")
    if not 1 <= min_steps <= max_steps:
        raise HadamhwError(f"bad sequence length range [{min_steps}, {max_steps}]")
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(sequences):
        steps = int(rng.integers(min_steps, max_steps + 1))
        seqs.append(random_inputs(rng, ir, 1, steps, extreme=extreme)[0])
    return expected(ir, seqs)


def input_words(ir: IntegerRNN) -> int:
    return 1 if ir.input.kind == "token" else ir.input.size


def write_vectors(ir: IntegerRNN, stim: Stimulus, path: str | Path) -> None:
    lines = [VECTOR_MAGIC, f"{len(stim.sequences)} {input_words(ir)} {ir.output_size}"]
    for seq, out, am in zip(stim.sequences, stim.outputs, stim.argmax, strict=True):
        lines.append(f"{len(seq)} {len(out)}")
        for row in np.asarray(seq).reshape(len(seq), -1):
            lines.append(" ".join(str(int(v)) for v in row))
        for row, a in zip(out, am, strict=True):
            lines.append(" ".join(str(int(v)) for v in row) + f" {int(a)}")
    Path(path).write_text("\n".join(lines) + "\n")


def write_vectors_binary(ir: IntegerRNN, stim: Stimulus, path: str | Path) -> None:
    """The vector file's integers as little-endian int64 (no text to format or parse: a
    hundred thousand steps are written in milliseconds and read by the harness at once)."""
    d_in = input_words(ir)
    parts = [np.array([len(stim.sequences), d_in, ir.output_size], dtype="<i8")]
    for seq, out, am in zip(stim.sequences, stim.outputs, stim.argmax, strict=True):
        seq, out = np.asarray(seq), np.asarray(out)
        parts.append(np.array([len(seq), len(out)], dtype="<i8"))
        parts.append(seq.reshape(len(seq), d_in).astype("<i8").ravel())
        rows = np.concatenate([out.reshape(len(out), -1), np.asarray(am).reshape(-1, 1)], axis=1)
        parts.append(rows.astype("<i8").ravel())
    Path(path).write_bytes(BINARY_VECTOR_MAGIC + np.concatenate(parts).tobytes())


def read_vectors(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    tokens = Path(path).read_text().split()
    if " ".join(tokens[:2]) != VECTOR_MAGIC:
        raise HadamhwError(f"{path}: not a hadamhw vector file")
    pos = 2
    count, d_in, d_out = (int(t) for t in tokens[pos:pos + 3])
    pos += 3
    seqs, outs, ams = [], [], []
    for _ in range(count):
        steps, reads = int(tokens[pos]), int(tokens[pos + 1])
        pos += 2
        seqs.append(np.array(tokens[pos:pos + steps * d_in], dtype=np.int64).reshape(steps, d_in))
        pos += steps * d_in
        block = np.array(tokens[pos:pos + reads * (d_out + 1)], dtype=np.int64)
        block = block.reshape(reads, d_out + 1)
        outs.append(block[:, :d_out])
        ams.append(block[:, d_out])
        pos += reads * (d_out + 1)
    return seqs, outs, ams
