"""Replaying a cycle stimulus (a counterexample of `hadamhw prove`) and comparing every
cycle's outputs with the spec.

The stimulus fixes every input port in every cycle (hadamhw.verify.cycle_stimulus). The
design runs it cycle-accurately, in the batch harness's cycle mode (sim/batch_harness.cpp
`--cycles`) or in cocotb (sim/hadamrnn_replay.py); both record the outputs of every cycle as
they are before the rising edge. `spec_cycles` says what they must be: the single-cycle
core's behaviour as the formal spec states it (templates/prove/spec.v.j2: a step's beat
enters a 4-slot FIFO one cycle after the step, s_axis_tready drops while 3 readout beats are
in flight, tvalid while the FIFO holds a beat) with the values of the golden model
(hadamhw.ir.golden) for the steps each stream's sequence has taken. From cycle 1 on (cycle
0 is the reset: the registers are not yet defined) every cycle compares s_axis_tready and
m_axis_tvalid, and on an offered beat every output word, the argmax (m_axis_tuser) and
m_axis_tlast: what the equivalence miter compares, so a counterexample shows the same
mismatch at the same step.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.schema import IntegerRNN
from hadamhw.verify.cycle_stimulus import CycleInput, CycleStimulus

FIFO_SLOTS = 4
REPLAY_TIMEOUT_S = 300


@dataclass(frozen=True)
class Beat:
    words: tuple[int, ...]
    argmax: int
    last: int
    step: int  # the time step of its sequence the beat reads out


@dataclass(frozen=True)
class Expected:
    """One cycle's outputs as the spec gives them (beat: the one offered, if any)."""

    s_axis_tready: int
    m_axis_tvalid: int
    beat: Beat | None


@dataclass(frozen=True)
class Observed:
    """One cycle's outputs as the design gave them."""

    s_axis_tready: int
    m_axis_tvalid: int
    m_axis_tlast: int
    m_axis_tuser: int
    m_axis_tid: int
    words: tuple[int, ...]


@dataclass(frozen=True)
class CycleMismatch:
    cycle: int
    output: str  # y3, argmax, m_axis_tlast, m_axis_tvalid, s_axis_tready
    expected: int
    got: int
    stream: int = 0
    sequence_step: int | None = None  # the time step of its sequence a beat reads out


@dataclass
class ReplayResult:
    simulator: str
    cycles: int
    mismatches: list[CycleMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


# -- the spec, cycle by cycle ----------------------------------------------------------------
def sequence_readout(ir: IntegerRNN, steps: list[tuple[int, ...]]) -> tuple[tuple[int, ...], int]:
    """The golden readout after the last of `steps` (a sequence from h = 0)."""
    x = np.array(steps, dtype=np.int64)
    x = x[None, :, 0] if ir.input.kind == "token" else x[None]
    res = golden_run(ir, x)
    out, am = res.outputs[0], res.argmax[0]
    if ir.readout == "every":
        out, am = out[-1], am[-1]
    return tuple(int(v) for v in out), int(am)


@dataclass
class SpecModel:
    """The spec's registers (spec.v.j2): pending readouts, the FIFO, the sequence so far."""

    ir: IntegerRNN
    pending: int = 0
    fifo: deque = field(default_factory=deque)
    sequence: list = field(default_factory=list)  # the steps since h = 0
    fresh: bool = True
    readout: Beat | None = None  # the step just taken: its beat enters the FIFO next cycle

    def outputs(self) -> Expected:
        head = self.fifo[0] if self.fifo else None
        return Expected(int(self.pending != FIFO_SLOTS - 1), int(head is not None), head)

    def clock(self, c: CycleInput) -> None:
        if c.rst:
            self.pending, self.fifo, self.sequence = 0, deque(), []
            self.fresh, self.readout = True, None
            return
        now = self.outputs()
        in_fire = c.s_axis_tvalid and now.s_axis_tready
        out_fire = now.m_axis_tvalid and c.m_axis_tready
        if out_fire:
            self.fifo.popleft()
        if self.readout is not None:
            self.fifo.append(self.readout)
        reads = in_fire and (self.ir.readout == "every" or c.s_axis_tlast)
        self.pending += int(bool(reads)) - int(bool(out_fire))
        self.readout = None
        if in_fire:
            self._step(c, reads)

    def _step(self, c: CycleInput, reads: bool) -> None:
        if self.fresh:
            self.sequence = []
        self.sequence.append(c.s_axis_tdata)
        self.fresh = bool(c.s_axis_tlast)
        if reads:
            words, am = sequence_readout(self.ir, self.sequence)
            self.readout = Beat(words, am, int(c.s_axis_tlast), len(self.sequence) - 1)


def spec_cycles(ir: IntegerRNN, cycles: tuple[CycleInput, ...]) -> list[Expected | None]:
    """The spec's outputs in every cycle; None in cycle 0 (before the reset's edge)."""
    model = SpecModel(ir)
    out: list[Expected | None] = []
    for k, c in enumerate(cycles):
        out.append(model.outputs() if k > 0 else None)
        model.clock(c)
    return out


def compare(ir: IntegerRNN, stim: CycleStimulus, observed: list[Observed]) -> list[CycleMismatch]:
    """Every difference between the design's outputs and the spec's, cycle by cycle."""
    if len(observed) != len(stim.cycles):
        raise HadamhwError(f"the replay recorded {len(observed)} of {len(stim.cycles)} cycles")
    found: list[CycleMismatch] = []
    for k, (want, got) in enumerate(zip(spec_cycles(ir, stim.cycles), observed, strict=True)):
        if want is not None:
            found += _cycle_mismatches(k, want, got)
    return found


def _cycle_mismatches(k: int, want: Expected, got: Observed) -> list[CycleMismatch]:
    found = [CycleMismatch(k, name, w, g) for name, w, g in (
        ("s_axis_tready", want.s_axis_tready, got.s_axis_tready),
        ("m_axis_tvalid", want.m_axis_tvalid, got.m_axis_tvalid)) if w != g]
    beat = want.beat
    if beat is None or not got.m_axis_tvalid:
        return found
    pairs = [(f"y{o}", w, g) for o, (w, g) in enumerate(zip(beat.words, got.words, strict=True))]
    pairs += [("argmax", beat.argmax, got.m_axis_tuser), ("m_axis_tlast", beat.last,
                                                           got.m_axis_tlast)]
    return found + [CycleMismatch(k, name, w, g, 0, beat.step) for name, w, g in pairs if w != g]


# -- running the design ----------------------------------------------------------------------
def write_cycle_file(stim: CycleStimulus, path: Path) -> Path:
    words = len(stim.cycles[0].s_axis_tdata)
    lines = ["hadamhw-cycles 1", f"{len(stim.cycles)} {words}"]
    lines += [" ".join(str(int(v)) for v in (c.rst, c.s_axis_tvalid, c.s_axis_tlast,
                                             c.m_axis_tready, c.s_axis_tid, *c.s_axis_tdata))
              for c in stim.cycles]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_records(path: Path, out_words: int) -> list[Observed]:
    """The `C` lines of a replay (batch harness or cocotb), in cycle order."""
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0] != "C":
            continue
        values = [int(v) for v in parts[2:]]
        if len(values) != 5 + out_words:
            raise HadamhwError(f"{path}: a replay record with {len(values)} values, expected "
                               f"{5 + out_words}")
        rows.append(Observed(*values[:5], tuple(values[5:])))
    return rows


def _design(design: str | Path | DesignFolder) -> DesignFolder:
    """A design whose handshake the spec model states: the single-cycle core (what
    `hadamhw prove` covers); other architectures would show spurious mismatches."""
    design = read_design(design, target="verilog", purpose="the replay",
                         fields=("top", "input", "output"), file_fields=("hdl_files",))
    man = design.manifest
    arch = (man.get("fold", "parallel"), man.get("streams", 1) or 1, man.get("readout_lanes"),
            man.get("cycles_per_step", 1), man.get("pipeline") in (None, "none"))
    if arch != ("parallel", 1, None, 1, True):
        raise HadamhwError(f"{design.path}: --stimulus replays the single-cycle design only "
                           "(fold parallel, one stream, no pipeline, readout at once), the "
                           "designs 'hadamhw prove' covers")
    return design


def replay_batch(design: str | Path | DesignFolder, stim: CycleStimulus, *,
                 build_dir: Path | None = None) -> ReplayResult:
    """The stimulus in the batch harness's cycle mode, compared with the spec."""
    from hadamhw.verify.verilator_batch import build

    design = _design(design)
    man = design.manifest
    exe = build(design, build_dir).executable
    with tempfile.TemporaryDirectory(prefix="hadamhw-replay-") as tmp:
        cycles = write_cycle_file(stim, Path(tmp) / "cycles.txt")
        results = Path(tmp) / "records.txt"
        cmd = [str(exe), "--cycles", str(cycles), str(results), str(man["input"]["word_bits"]),
               str(man["output"]["word_bits"]), str(man["output"]["words"])]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=REPLAY_TIMEOUT_S)
        if proc.returncode != 0:
            raise HadamhwError(f"{exe.name} --cycles failed (status {proc.returncode}): "
                               f"{proc.stderr.strip()[:300]}")
        observed = read_records(results, int(man["output"]["words"]))
    return ReplayResult("verilator-batch", len(stim.cycles), compare(design.ir, stim, observed))


def replay_cocotb(design: str | Path | DesignFolder, stim: CycleStimulus, *,
                  simulator: str = "verilator", build_dir: Path | None = None) -> ReplayResult:
    """The stimulus in cocotb (sim/hadamrnn_replay.py), compared with the spec."""
    from hadamhw.verify.cocotb_sim import run_cycle_replay

    design = _design(design)
    with tempfile.TemporaryDirectory(prefix="hadamhw-replay-") as tmp:
        cycles = write_cycle_file(stim, Path(tmp) / "cycles.txt")
        results = Path(tmp) / "records.txt"
        run_cycle_replay(design, cycles, results, simulator=simulator, build_dir=build_dir)
        observed = read_records(results, int(design.manifest["output"]["words"]))
    return ReplayResult(f"{simulator}-cocotb", len(stim.cycles),
                        compare(design.ir, stim, observed))


# -- the report ------------------------------------------------------------------------------
def output_label(output: str) -> str:
    if output.startswith("y") and output[1:].isdigit():
        return f"output word {output[1:]} ({output})"
    return {"argmax": "argmax (m_axis_tuser)"}.get(output, output)


def describe(m: CycleMismatch, prop: str) -> str:
    """One line: the property, the step (cycle from reset), the stream and the output."""
    beat = (f" (the beat of sequence step {m.sequence_step})" if m.sequence_step is not None
            else "")
    return (f"{prop}: step {m.cycle} (cycle from reset), stream {m.stream}, "
            f"{output_label(m.output)}{beat}: expected {m.expected}, got {m.got}")


def same_output(m: CycleMismatch, output: str) -> bool:
    """Whether a mismatch is of the output a counterexample names (m_axis_tdata: any word)."""
    return m.output == output or (output == "m_axis_tdata" and m.output.startswith("y"))


def reproduced(result: ReplayResult, stim: CycleStimulus) -> CycleMismatch | None:
    """The mismatch the counterexample names (its step and output), if the replay shows it."""
    cex = stim.counterexample
    if cex is None:
        return None
    return next((m for m in result.mismatches if m.cycle == cex.step
                 and m.stream == cex.stream and same_output(m, cex.output)), None)


def report_lines(result: ReplayResult, stim: CycleStimulus, name: str) -> list[str]:
    """What `hadamhw sim --stimulus` prints."""
    cex = stim.counterexample
    prop = cex.property if cex is not None else "replay"
    head = f"replay of {name} ({result.simulator}, {result.cycles} cycles)"
    if result.ok:
        return [f"{head}: no mismatch; the design agrees with the spec on every cycle"]
    hit = reproduced(result, stim)
    lines = [f"{head}: {len(result.mismatches)} mismatch(es)"]
    if hit is not None:
        lines.append(f"  MISMATCH {describe(hit, prop)} (the counterexample's "
                     f"{cex.assertion}, reproduced)")
    elif cex is not None:
        what = ("the register " if cex.assertion.startswith("same_") else "") + \
            output_label(cex.output)
        lines.append(f"  the counterexample names {what} at step {cex.step}; the outputs "
                     "differ here:")
    lines += [f"  MISMATCH {describe(m, prop)}" for m in result.mismatches[:10] if m != hit]
    return lines
