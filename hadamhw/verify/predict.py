"""Run a compiled hardware model on a batch of inputs and return what it computed.

The counterpart of `hadamhw.ir.golden.run` for generated designs: a Verilog design runs in the
Verilator batch harness (sim/batch_harness.cpp, compiled once per design and cached), an HLS
design in its g++ C simulation (`<top>_tb.cpp`). Both are started in record mode: they write
every output beat they produce instead of comparing it, so the integers returned here are the
hardware's own, not the golden model's. The harnesses still check the protocol (one readout
per step or per sequence, tlast, the hold-stable rule); a violation is an error.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.stimulus import Stimulus, write_vectors, write_vectors_binary

RUN_TIMEOUT_S = 3600


@dataclass
class Prediction:
    """Integer outputs shaped like hadamhw.ir.golden.run's: (B, T, d_out) and (B, T) for
    readout 'every', (B, d_out) and (B,) for readout 'last'."""

    outputs: np.ndarray
    argmax: np.ndarray
    simulator: str
    seconds: float


def golden_outputs(ir: IntegerRNN, x, *, return_argmax: bool = False):
    """The golden model's integer outputs for a batch x as predict takes it (the reference
    of every predict: the Verilator harness, the C simulation, a board)."""
    from hadamhw.ir.golden import run

    res = run(ir, integer_batch(ir, x))
    outputs, argmax = np.asarray(res.outputs), np.asarray(res.argmax)
    return (outputs, argmax) if return_argmax else outputs


def integer_batch(ir: IntegerRNN, x) -> np.ndarray:
    """x as the design's integer inputs: (B, T) token ids or (B, T, d_in) integers.

    Real-valued inputs (a float array) are quantized with the IR's input scale, as
    `hadamhw eval` does for task data; integers must already lie in the input range.
    """
    from hadamhw.ir.encode import encode_inputs

    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
    want = 2 if ir.input.kind == "token" else 3
    if x.ndim != want or (want == 3 and x.shape[2] != ir.input.size):
        shape = "(batch, steps)" if want == 2 else f"(batch, steps, {ir.input.size})"
        raise HadamhwError(f"inputs of shape {x.shape}: the design takes a batch of shape "
                           f"{shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise HadamhwError(f"inputs of shape {x.shape}: need at least one sequence of at "
                           "least one step")
    if np.issubdtype(x.dtype, np.floating) and ir.input.kind == "int":
        return encode_inputs(ir, x)
    if not np.issubdtype(x.dtype, np.integer):
        raise HadamhwError(f"inputs of dtype {x.dtype}: expected integers"
                           + (" (token ids)" if ir.input.kind == "token" else " or floats"))
    lo, hi = ir.input.range()
    if x.min() < lo or x.max() > hi:
        bad = int(x.min()) if x.min() < lo else int(x.max())
        raise HadamhwError(f"input value {bad} is outside the design's input range "
                           f"[{lo}, {hi}]")
    return x.astype(np.int64)


def _placeholder_stimulus(ir: IntegerRNN, x: np.ndarray) -> Stimulus:
    """The sequences with zero 'expected' values: the vector file's layout, nothing checked."""
    reads = x.shape[1] if ir.readout == "every" else 1
    zeros = np.zeros((reads, ir.output_size), dtype=np.int64)
    return Stimulus([x[i] for i in range(len(x))], [zeros] * len(x),
                    [np.zeros(reads, dtype=np.int64)] * len(x))


def _read_beats(path: Path, ir: IntegerRNN, batch: int, reads: int,
                words: int) -> tuple[np.ndarray, np.ndarray]:
    outputs = np.zeros((batch, reads, ir.output_size), dtype=np.int64)
    argmax = np.zeros((batch, reads), dtype=np.int64)
    seen = np.zeros((batch, reads), dtype=bool)
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0] != "B":
            continue
        seq, read = int(parts[1]), int(parts[2])
        values = [int(v) for v in parts[3:3 + words + 1]]
        if not (0 <= seq < batch and 0 <= read < reads) or len(values) != words + 1:
            raise HadamhwError(f"{path.name}: malformed output line {line!r}")
        outputs[seq, read], argmax[seq, read] = values[:words], values[words]
        seen[seq, read] = True
    if not seen.all():
        seq, read = (int(v) for v in np.argwhere(~seen)[0])
        raise HadamhwError(f"the hardware produced no output for sequence {seq}, readout "
                           f"{read}")
    if ir.readout == "last":
        return outputs[:, 0], argmax[:, 0]
    return outputs, argmax


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              cwd=cwd)
    except subprocess.TimeoutExpired:
        raise HadamhwError(f"{what} timed out after {RUN_TIMEOUT_S} s") from None


def predict_verilog(design_dir: str | Path | DesignFolder, x, *, build_dir: str | Path | None = None
                    ) -> Prediction:
    """Outputs of a generated Verilog design for the batch x (Verilator, full-rate streaming)."""
    import time

    from hadamhw.verify.verilator_batch import build, cycle_budget

    folder = read_design(design_dir, target="verilog", purpose="predict",
                         file_fields=("hdl_files",))
    design, man, ir = folder.path, folder.manifest, folder.ir
    xi = integer_batch(ir, x)
    exe = build(folder, build_dir).executable
    reads = xi.shape[1] if ir.readout == "every" else 1
    steps = int(xi.shape[0] * xi.shape[1])
    max_cycles = cycle_budget(man, steps, len(xi), gaps=False)
    with tempfile.TemporaryDirectory(prefix="hadamhw-predict-") as tmp:
        vectors, results, beats = (Path(tmp) / n for n in ("vectors.bin", "results.txt",
                                                           "beats.txt"))
        write_vectors_binary(ir, _placeholder_stimulus(ir, xi), vectors)
        started = time.monotonic()
        proc = _run([str(exe), str(vectors), str(results), "0", "0", str(max_cycles),
                     str(man["input"]["word_bits"]), str(man["output"]["word_bits"]),
                     str(int(man.get("streams", 1) or 1)), str(beats)], f"{exe.name}")
        seconds = time.monotonic() - started
        if proc.returncode != 0 or not results.is_file() or not beats.is_file():
            raise HadamhwError(f"{exe.name} failed (status {proc.returncode}): "
                               f"{proc.stderr.strip()[:500]}")
        problems = [line for line in results.read_text().splitlines() if line.startswith("M")]
        if problems:
            seq, step, index = (int(v) for v in problems[0].split()[1:4])
            what = {-1: "a missing or extra beat", -2: "a wrong m_axis_tlast",
                    -3: "m_axis changed while stalled",
                    -4: "a beat whose m_axis_tid names no stream expecting one",
                    }.get(index, f"output {index}")
            raise HadamhwError(f"{design}: the core broke the AXI4-Stream protocol at "
                               f"sequence {seq}, step {step}: {what} ({len(problems)} "
                               "problem(s))")
        outputs, argmax = _read_beats(beats, ir, len(xi), reads, ir.output_size)
    return Prediction(outputs, argmax, "verilator-batch", seconds)


def predict_hls(design_dir: str | Path | DesignFolder, x, *, build_dir: str | Path | None = None
                ) -> Prediction:
    """Outputs of a generated HLS design for the batch x (its g++ C simulation)."""
    import time

    from hadamhw.verify.csim import build_csim, read_hls_design

    folder = read_hls_design(design_dir)
    design, ir = folder.path, folder.ir
    xi = integer_batch(ir, x)
    exe = build_csim(folder, build_dir)
    reads = xi.shape[1] if ir.readout == "every" else 1
    with tempfile.TemporaryDirectory(prefix="hadamhw-predict-") as tmp:
        vectors, beats = Path(tmp) / "vectors.txt", Path(tmp) / "beats.txt"
        write_vectors(ir, _placeholder_stimulus(ir, xi), vectors)
        started = time.monotonic()
        proc = _run([str(exe), str(vectors), str(beats)], "the C simulation", cwd=design)
        seconds = time.monotonic() - started
        if proc.returncode not in (0, 1) or not beats.is_file():
            raise HadamhwError(f"{design}: C simulation failed: "
                               f"{proc.stderr.strip() or f'exit status {proc.returncode}'}")
        if proc.returncode == 1:  # in record mode only a readout at the wrong step counts
            first = next((line for line in proc.stdout.splitlines()
                          if line.startswith("mismatch")), "a readout at the wrong step")
            raise HadamhwError(f"{design}: the C model's readout steps are wrong: {first}")
        outputs, argmax = _read_beats(beats, ir, len(xi), reads, ir.output_size)
    return Prediction(outputs, argmax, "hls-csim", seconds)


def predict(design_dir: str | Path | DesignFolder, x, *,
            build_dir: str | Path | None = None) -> Prediction:
    """Outputs of a generated design (Verilog or HLS, from its manifest) for the batch x."""
    design = read_design(design_dir)
    if design.target == "hls":
        return predict_hls(design, x, build_dir=build_dir)
    return predict_verilog(design, x, build_dir=build_dir)
