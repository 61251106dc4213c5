"""cocotb 2.x test bench for a generated hadamhw RTL core (the `<top>` of manifest.json).

Run by hadamhw.verify.cocotb_sim, which passes the settings through the environment variable
HADAMHW_COCOTB_CONFIG: the path of a JSON file with

    design_dir   folder with manifest.json (port layout, readout, cycles per step)
    vectors      vector file (hadamhw.verify.stimulus.write_vectors): inputs + golden outputs
    result_dir   where each test writes <test name>.json (counts and mismatches)
    seed         seeds the input gaps and the output back-pressure
    gap_prob     probability of idle cycles (tvalid = 0) before an input beat
    max_gap      longest such idle run, in cycles
    stall_prob   probability of m_axis_tready = 0 in a cycle
    reset_sequences  sequences checked after the mid-stream reset

Every clock cycle runs in two phases: inputs change just after the falling edge, and the
handshakes (tvalid && tready) are sampled in the ReadOnly phase of that same time step, once
the combinational outputs have settled; the registers take them at the next rising edge.
This keeps sampling unambiguous on both Verilator and Icarus.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotb.types import LogicArray

from hadamhw.verify.stimulus import read_vectors

CLOCK_PERIOD_NS = 10


def _config() -> dict:
    path = os.environ.get("HADAMHW_COCOTB_CONFIG")
    if not path:
        raise RuntimeError("HADAMHW_COCOTB_CONFIG is not set; run the bench through "
                           "hadamhw.verify.cocotb_sim")
    return json.loads(Path(path).read_text())


def _to_int(handle, name: str) -> int:
    """Unsigned value of a port; X or Z is a design error worth its own message."""
    value = handle.value
    try:
        return value.to_unsigned() if isinstance(value, LogicArray) else int(value)
    except ValueError:
        raise AssertionError(f"{name} is not a resolvable 0/1 value: {value}") from None


def _sign_extend(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


@dataclass(frozen=True)
class Layout:
    """How words pack into s_axis_tdata / m_axis_tdata (manifest.json's contract)."""

    input_words: int
    input_bits: int
    output_words: int
    output_bits: int
    argmax_bits: int
    readout: str
    cycles_per_step: int
    latency_cycles: int

    @classmethod
    def from_manifest(cls, manifest: dict) -> Layout:
        return cls(
            input_words=int(manifest["input"]["words"]),
            input_bits=int(manifest["input"]["word_bits"]),
            output_words=int(manifest["output"]["words"]),
            output_bits=int(manifest["output"]["word_bits"]),
            argmax_bits=int(manifest["argmax_bits"]),
            readout=manifest["readout"],
            cycles_per_step=int(manifest.get("cycles_per_step", 1)),
            latency_cycles=int(manifest.get("latency_cycles", 1)),
        )

    def pack_input(self, words) -> int:
        mask = (1 << self.input_bits) - 1
        value = 0
        for i, word in enumerate(words):
            value |= (int(word) & mask) << (i * self.input_bits)
        return value

    def unpack_output(self, value: int) -> list[int]:
        mask = (1 << self.output_bits) - 1
        return [_sign_extend((value >> (j * self.output_bits)) & mask, self.output_bits)
                for j in range(self.output_words)]


@dataclass(frozen=True)
class InputBeat:
    sequence: int
    step: int
    data: int
    last: bool


@dataclass(frozen=True)
class ExpectedBeat:
    sequence: int
    readout: int  # readout index within the sequence (the time step for readout 'every')
    words: tuple[int, ...]
    argmax: int
    last: bool


def input_beats(layout: Layout, sequences) -> list[InputBeat]:
    beats = []
    for s, seq in enumerate(sequences):
        for t, row in enumerate(seq):
            beats.append(InputBeat(s, t, layout.pack_input(row), t == len(seq) - 1))
    return beats


def expected_beats(layout: Layout, outputs, argmaxes) -> list[ExpectedBeat]:
    beats = []
    for s, (out, am) in enumerate(zip(outputs, argmaxes, strict=True)):
        for r in range(len(out)):
            last = layout.readout == "last" or r == len(out) - 1
            beats.append(ExpectedBeat(s, r, tuple(int(v) for v in out[r]), int(am[r]), last))
    return beats


class Failure(AssertionError):
    """A design error found by the bench; `record` is what the runner reports."""

    def __init__(self, record: dict) -> None:
        super().__init__(record["message"])
        self.record = record


def _mismatch(beat: ExpectedBeat, index: int, expected: int, got: int, what: str) -> dict:
    if index >= 0:
        label = f"output {index}"
    elif index == -1:
        label = "argmax (m_axis_tuser)"
    else:
        label = what
    return {"sequence": beat.sequence, "step": beat.readout, "index": index,
            "expected": expected, "got": got, "what": what,
            "message": f"sequence {beat.sequence}, step {beat.readout}, {label}: "
                       f"expected {expected}, got {got}"}


class Driver:
    """s_axis source: one beat at a time, random idle runs, garbage data while idle."""

    def __init__(self, dut, layout: Layout, rng: random.Random, gap_prob: float,
                 max_gap: int) -> None:
        self.dut = dut
        self.layout = layout
        self.rng = rng
        self.gap_prob = gap_prob
        self.max_gap = max_gap
        self.queue: list[InputBeat] = []
        self.pos = 0
        self.idle = 0
        self.current: InputBeat | None = None
        self.accepted = 0
        self.data_mask = (1 << (layout.input_words * layout.input_bits)) - 1

    def load(self, beats: list[InputBeat]) -> None:
        self.queue, self.pos, self.current = list(beats), 0, None

    @property
    def done(self) -> bool:
        return self.current is None and self.pos >= len(self.queue)

    def drive(self) -> None:
        """Just after a falling edge: present the held beat, a new one, or an idle cycle."""
        if self.current is None and self.pos < len(self.queue):
            if self.idle == 0 and self.max_gap and self.rng.random() < self.gap_prob:
                self.idle = self.rng.randint(1, self.max_gap)
            if self.idle:
                self.idle -= 1
            else:
                self.current = self.queue[self.pos]
                self.pos += 1
        dut = self.dut
        if self.current is None:
            dut.s_axis_tvalid.value = 0
            # Data must be ignored while tvalid is low: give it something to ignore.
            dut.s_axis_tdata.value = self.rng.getrandbits(self.data_mask.bit_length())
            dut.s_axis_tlast.value = self.rng.getrandbits(1)
        else:
            dut.s_axis_tvalid.value = 1
            dut.s_axis_tdata.value = self.current.data
            dut.s_axis_tlast.value = int(self.current.last)

    def sample(self) -> bool:
        """In ReadOnly: True when the presented beat is taken at the coming rising edge."""
        if self.current is not None and _to_int(self.dut.s_axis_tready, "s_axis_tready"):
            self.current = None
            self.accepted += 1
            return True
        return False

    def stop(self) -> None:
        self.queue, self.pos, self.current, self.idle = [], 0, None, 0
        self.dut.s_axis_tvalid.value = 0
        self.dut.s_axis_tlast.value = 0


class Monitor:
    """m_axis sink: random back-pressure, AXI hold-stable check, beats to the scoreboard."""

    def __init__(self, dut, layout: Layout, rng: random.Random, stall_prob: float,
                 scoreboard: Scoreboard) -> None:
        self.dut = dut
        self.layout = layout
        self.rng = rng
        self.stall_prob = stall_prob
        self.scoreboard = scoreboard
        self.ready = 1
        self.held: tuple[int, int, int] | None = None  # beat offered but not taken

    def drive(self, force_ready: int | None = None) -> None:
        if force_ready is None:
            self.ready = 0 if self.rng.random() < self.stall_prob else 1
        else:
            self.ready = force_ready
        self.dut.m_axis_tready.value = self.ready

    def sample(self) -> bool:
        """In ReadOnly: check and consume an output beat; True when one was taken."""
        dut = self.dut
        valid = _to_int(dut.m_axis_tvalid, "m_axis_tvalid")
        if not valid:
            if self.held is not None:
                self.scoreboard.protocol("m_axis_tvalid dropped before the beat was accepted")
            return False
        beat = (_to_int(dut.m_axis_tdata, "m_axis_tdata"),
                _to_int(dut.m_axis_tuser, "m_axis_tuser"),
                _to_int(dut.m_axis_tlast, "m_axis_tlast"))
        if self.held is not None and beat != self.held:
            self.scoreboard.protocol("m_axis_tdata/tuser/tlast changed while tvalid was high "
                                     "and tready low")
        if not self.ready:
            self.held = beat
            return False
        self.held = None
        self.scoreboard.check(*beat)
        return True


@dataclass
class Scoreboard:
    layout: Layout
    expected: list[ExpectedBeat] = field(default_factory=list)
    pos: int = 0
    words_checked: int = 0
    beats_checked: int = 0
    mismatches: list[dict] = field(default_factory=list)

    def load(self, beats: list[ExpectedBeat]) -> None:
        self.expected, self.pos = list(beats), 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.expected)

    def pending(self) -> ExpectedBeat | None:
        return self.expected[self.pos] if self.pos < len(self.expected) else None

    def protocol(self, what: str, expected: int = 1, got: int = 0) -> None:
        beat = self.pending() or (self.expected[-1] if self.expected else
                                  ExpectedBeat(0, 0, (), 0, True))
        record = _mismatch(beat, -2, expected, got, what)
        record["message"] = f"sequence {beat.sequence}, step {beat.readout}: {what}"
        self.fail([record])

    def check(self, data: int, argmax: int, last: int) -> None:
        beat = self.pending()
        if beat is None:
            self.protocol("an output beat appeared after every expected output was received")
        words = self.layout.unpack_output(data)
        found = [_mismatch(beat, j, want, got, "output")
                 for j, (want, got) in enumerate(zip(beat.words, words, strict=True))
                 if want != got]
        if argmax != beat.argmax:
            found.append(_mismatch(beat, -1, beat.argmax, argmax, "argmax"))
        if last != int(beat.last):
            found.append(_mismatch(beat, -2, int(beat.last), last, "m_axis_tlast"))
        self.pos += 1
        self.beats_checked += 1
        self.words_checked += len(words) + 1
        if found:
            self.fail(found)

    def fail(self, records: list[dict]) -> None:
        self.mismatches.extend(records)
        raise Failure(records[0])


class Bench:
    def __init__(self, dut, config: dict, name: str) -> None:
        self.dut = dut
        self.config = config
        self.name = name
        manifest = json.loads((Path(config["design_dir"]) / "manifest.json").read_text())
        self.layout = Layout.from_manifest(manifest)
        self.sequences, self.outputs, self.argmax = read_vectors(config["vectors"])
        seed = int(config.get("seed", 0))
        self.scoreboard = Scoreboard(self.layout)
        self.driver = Driver(dut, self.layout, random.Random(f"{seed}:{name}:driver"),
                             float(config.get("gap_prob", 0.3)), int(config.get("max_gap", 3)))
        self.monitor = Monitor(dut, self.layout, random.Random(f"{seed}:{name}:monitor"),
                               float(config.get("stall_prob", 0.3)), self.scoreboard)
        # A stall this long cannot come from random back-pressure (p = stall_prob^limit).
        self.stall_limit = 64 + 4 * (self.layout.cycles_per_step + self.layout.latency_cycles)
        self.cycles = 0
        self.steps_sent = 0

    async def start(self) -> None:
        dut = self.dut
        dut.rst.value = 1
        dut.s_axis_tvalid.value = 0
        dut.s_axis_tdata.value = 0
        dut.s_axis_tlast.value = 0
        dut.m_axis_tready.value = 0
        # cocotb 2.x: the clock keeps its own driver task.
        Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
        await self.reset(3)

    async def reset(self, cycles: int) -> None:
        """Hold rst for `cycles` rising edges with both interfaces idle."""
        dut = self.dut
        await FallingEdge(dut.clk)
        self.driver.stop()
        self.monitor.held = None
        dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst.value = 0

    async def run(self, beats_in: list[InputBeat], beats_out: list[ExpectedBeat]) -> None:
        """Stream beats_in and check every output against beats_out, cycle by cycle."""
        self.driver.load(beats_in)
        self.scoreboard.load(beats_out)
        idle = 0
        first = True
        while not (self.driver.done and self.scoreboard.done):
            if not first:
                await FallingEdge(self.dut.clk)
            first = False
            self.driver.drive()
            self.monitor.drive()
            await ReadOnly()
            took_in = self.driver.sample()
            took_out = self.monitor.sample()
            self.cycles += 1
            idle = 0 if took_in or took_out else idle + 1
            if idle > self.stall_limit:
                waiting = "an input handshake" if not self.driver.done else "an output beat"
                self.scoreboard.protocol(f"no handshake for {idle} cycles while waiting for "
                                         f"{waiting} (the core stalled)")
        self.steps_sent += len(beats_in)
        await self.drain()

    async def drain(self) -> None:
        """After the last expected beat: no further output may appear."""
        for _ in range(self.layout.latency_cycles + 2 * self.layout.cycles_per_step + 4):
            await FallingEdge(self.dut.clk)
            self.driver.drive()
            self.monitor.drive(force_ready=1)
            await ReadOnly()
            self.monitor.sample()
        await FallingEdge(self.dut.clk)

    def write_result(self, extra: dict | None = None) -> None:
        result_dir = Path(self.config["result_dir"])
        result_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "test": self.name,
            "sequences": len(self.sequences),
            "steps": self.steps_sent,
            "beats_checked": self.scoreboard.beats_checked,
            "outputs_checked": self.scoreboard.words_checked,
            "cycles": self.cycles,
            "mismatches": self.scoreboard.mismatches,
            **(extra or {}),
        }
        (result_dir / f"{self.name}.json").write_text(json.dumps(record, indent=1))


@cocotb.test()
async def test_stream(dut) -> None:
    """Every sequence back to back (random lengths, gaps and back-pressure), bit-exact."""
    bench = Bench(dut, _config(), "test_stream")
    try:
        await bench.start()
        await bench.run(input_beats(bench.layout, bench.sequences),
                        expected_beats(bench.layout, bench.outputs, bench.argmax))
    finally:
        bench.write_result()


@cocotb.test()
async def test_reset_midstream(dut) -> None:
    """Reset in the middle of a sequence, with an output held back: state and valids clear.

    The sequences checked after the reset expect a zero initial state, so a reset that left
    any state behind shows up as a mismatch.
    """
    config = _config()
    bench = Bench(dut, config, "test_reset_midstream")
    try:
        await bench.start()
        layout = bench.layout
        # The interrupted sequence: the longest one, stopped halfway, without its tlast.
        longest = max(range(len(bench.sequences)), key=lambda s: len(bench.sequences[s]))
        seq = bench.sequences[longest]
        prefix = [InputBeat(longest, t, layout.pack_input(row), False)
                  for t, row in enumerate(seq[:max(1, len(seq) // 2)])]
        dut = bench.dut
        # Feed the prefix with outputs always accepted and not checked.
        bench.driver.load(prefix)
        for _ in range(len(prefix) * (layout.cycles_per_step + 4) + 8 * bench.stall_limit):
            if bench.driver.done:
                break
            await FallingEdge(dut.clk)
            bench.driver.drive()
            bench.monitor.drive(force_ready=1)
            await ReadOnly()
            bench.driver.sample()
        assert bench.driver.done, "the core did not accept the first steps of a sequence"
        # One more step with m_axis_tready low: for readout 'every' an output is left pending.
        if len(seq) > len(prefix):
            bench.driver.load([InputBeat(longest, len(prefix),
                                         layout.pack_input(seq[len(prefix)]), False)])
        for _ in range(layout.latency_cycles + 2 * layout.cycles_per_step + 4):
            await FallingEdge(dut.clk)
            bench.driver.drive()
            bench.monitor.drive(force_ready=0)
            await ReadOnly()
            bench.driver.sample()
        await bench.reset(2)
        # Right after reset, with nothing sent: no output may be valid.
        for cycle in range(layout.latency_cycles + layout.cycles_per_step + 4):
            await FallingEdge(dut.clk)
            bench.monitor.drive(force_ready=0)
            await ReadOnly()
            if _to_int(dut.m_axis_tvalid, "m_axis_tvalid"):
                beat = ExpectedBeat(longest, len(prefix), (), 0, False)
                record = _mismatch(beat, -2, 0, 1, "m_axis_tvalid after reset")
                record["message"] = (f"sequence {longest}, step {len(prefix)}: m_axis_tvalid "
                                     f"is high {cycle + 1} cycle(s) after a mid-stream reset "
                                     "with no new input")
                bench.scoreboard.fail([record])
        count = max(1, min(int(config.get("reset_sequences", 4)), len(bench.sequences)))
        # Start with the interrupted sequence itself, then the ones after it.
        order = [(longest + i) % len(bench.sequences) for i in range(count)]
        beats_in, beats_out = [], []
        for s in order:
            beats_in += [b for b in input_beats(layout, bench.sequences) if b.sequence == s]
            beats_out += [b for b in expected_beats(layout, bench.outputs, bench.argmax)
                          if b.sequence == s]
        await FallingEdge(dut.clk)
        await bench.run(beats_in, beats_out)
    finally:
        bench.write_result()
