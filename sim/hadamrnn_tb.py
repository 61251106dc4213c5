"""cocotb 2.x test bench for a generated hadamhw RTL core (the `<top>` of manifest.json).

cocotbext-axi's AxiStreamSource drives s_axis and its AxiStreamSink takes m_axis; their pause
generators make the input gaps and the output back-pressure. Each traffic pattern is its own
named test (`test_stream/traffic=<pattern>`); `test_reset_midstream` resets the core in the
middle of a sequence. What cocotbext-axi does not check is hadamhw's own:

- Scoreboard: every output beat against the golden model (words, argmax in tuser, tlast),
  one StreamScoreboard per stream, beats routed by AXI TID (stream 0 without a tid port);
- InterleavedDriver: a core with P > 1 streams (s_axis_tid) gets sequence i on stream
  i % P, beat by beat from randomly chosen streams (now and then the same one again, and at
  the end one stream alone), with the traffic's gaps; cocotbext-axi's source sends whole
  frames only, so it cannot interleave streams within their frames;
- InterfaceMonitor: the hold-stable rule (a beat offered on m_axis stays unchanged until
  taken), no beat after the last expected one, and a watchdog for a stalled core.

Run by hadamhw.verify.cocotb_sim, which passes the settings through the environment variable
HADAMHW_COCOTB_CONFIG: the path of a JSON file with

    design_dir   folder with manifest.json (port layout, readout, cycles per step)
    vectors      vector file (hadamhw.ir.stimulus.write_vectors): inputs + golden outputs
    result_dir   where each test writes <result_name(test)>.json (counts and mismatches)
    seed         seeds the pause generators and the idle-cycle noise
    gap_prob     probability that an idle run (tvalid = 0) starts before an input beat
    max_gap      longest such idle run, in cycles
    stall_prob   probability of m_axis_tready = 0 in a cycle
    reset_sequences  sequences checked after the mid-stream reset
    memory       designs with an external token table (manifest `token_table`): "fast" (the
                 AXI RAM answers every cycle) or "slow" (random AR back-pressure, and the R
                 channel paused in runs of 1..16 cycles: memory latency and rvalid gaps)

A design with an external token table (`--token-table external`) gets cocotbext-axi's
AxiRamRead on its m_axi_ar*/r* ports, the table image loaded at TOKEN_TABLE_BASE.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, First, RisingEdge
from cocotb.types import LogicArray
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from hadamhw.ir.stimulus import read_vectors

# cocotbext-axi 0.1.28 still calls cocotb 1.x APIs that cocotb 2.x deprecates; the warnings
# are the library's to fix and would bury the bench's own messages.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")

CLOCK_PERIOD_NS = 10
DRAIN_CYCLES = 8  # after the last expected beat: no further beat may appear


def _config() -> dict:
    path = os.environ.get("HADAMHW_COCOTB_CONFIG")
    if not path:
        raise RuntimeError("HADAMHW_COCOTB_CONFIG is not set; run the bench through "
                           "hadamhw.verify.cocotb_sim")
    return json.loads(Path(path).read_text())


def result_name(test: str) -> str:
    """File stem of a test's result record (test names hold '/')."""
    return test.replace("/", "-")


def _sign_extend(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def _to_int(handle, name: str) -> int:
    """Unsigned value of a port; X or Z is a design error worth its own message."""
    value = handle.value
    try:
        return value.to_unsigned() if isinstance(value, LogicArray) else int(value)
    except ValueError:
        raise Failure({"sequence": -1, "step": -1, "index": -2, "expected": 0, "got": 0,
                       "what": f"{name} X/Z",
                       "message": f"{name} is not a resolvable 0/1 value: "
                                  f"{handle.value}"}) from None


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
    streams: int = 1
    cycles_per_step_per_stream: int = 1

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
            streams=int(manifest.get("streams", 1) or 1),
            cycles_per_step_per_stream=int(manifest.get("cycles_per_step_per_stream", 1) or 1),
        )

    def stream_of(self, sequence: int) -> int:
        """The stream a sequence runs on (the same rule in the batch harness)."""
        return sequence % self.streams

    def pack_input(self, words) -> int:
        mask = (1 << self.input_bits) - 1
        value = 0
        for i, word in enumerate(words if hasattr(words, "__len__") else [words]):
            value |= (int(word) & mask) << (i * self.input_bits)
        return value

    def unpack_output(self, value: int) -> list[int]:
        mask = (1 << self.output_bits) - 1
        return [_sign_extend((value >> (j * self.output_bits)) & mask, self.output_bits)
                for j in range(self.output_words)]


@dataclass(frozen=True)
class ExpectedBeat:
    sequence: int
    readout: int  # readout index within the sequence (the time step for readout 'every')
    words: tuple[int, ...]
    argmax: int
    last: bool


@dataclass(frozen=True)
class ReceivedBeat:
    data: int
    argmax: int
    last: bool
    stream: int  # AXI TID; 0 without a tid port


def expected_beats(layout: Layout, outputs, argmaxes, sequences: list[int]) -> list[ExpectedBeat]:
    """The output beats of `sequences` (indices into outputs/argmaxes), in order."""
    beats = []
    for s in sequences:
        out, am = outputs[s], argmaxes[s]
        for r in range(len(out)):
            last = layout.readout == "last" or r == len(out) - 1
            beats.append(ExpectedBeat(s, r, tuple(int(v) for v in out[r]), int(am[r]), last))
    return beats


def sequence_frame(layout: Layout, steps, stream: int = 0) -> AxiStreamFrame:
    """One sequence as one AXI-Stream frame: a beat per time step, tlast on the last."""
    return AxiStreamFrame([layout.pack_input(row) for row in steps], tid=stream)


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


def _protocol(beat: ExpectedBeat | None, what: str) -> dict:
    beat = beat or ExpectedBeat(-1, -1, (), 0, True)
    record = _mismatch(beat, -2, 1, 0, what)
    record["message"] = (what if beat.sequence < 0 else
                         f"sequence {beat.sequence}, step {beat.readout}: {what}")
    return record


# -- scoreboards -----------------------------------------------------------------------------
@dataclass
class StreamScoreboard:
    """The expected beats of one stream, checked in order against what the sink received."""

    layout: Layout
    expected: list[ExpectedBeat]
    pos: int = 0
    words_checked: int = 0
    beats_checked: int = 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.expected)

    def pending(self) -> ExpectedBeat | None:
        return self.expected[self.pos] if self.pos < len(self.expected) else None

    def check(self, beat: ReceivedBeat) -> list[dict]:
        """The mismatches of one received beat (empty when it is bit-exact)."""
        want = self.pending()
        if want is None:
            return [_protocol(self.expected[-1] if self.expected else None,
                              "an output beat appeared after every expected output was "
                              "received")]
        words = self.layout.unpack_output(beat.data)
        found = [_mismatch(want, j, w, g, "output")
                 for j, (w, g) in enumerate(zip(want.words, words, strict=True)) if w != g]
        if beat.argmax != want.argmax:
            found.append(_mismatch(want, -1, want.argmax, beat.argmax, "argmax"))
        if beat.last != want.last:
            found.append(_mismatch(want, -2, int(want.last), int(beat.last), "m_axis_tlast"))
        self.pos += 1
        self.beats_checked += 1
        self.words_checked += len(words) + 1
        return found


@dataclass
class Scoreboard:
    """One StreamScoreboard per stream id; each received beat goes to the one of its TID."""

    streams: dict[int, StreamScoreboard]
    finished: Event = field(default_factory=Event)

    @classmethod
    def single(cls, layout: Layout, expected: list[ExpectedBeat]) -> Scoreboard:
        board = cls({0: StreamScoreboard(layout, expected)})
        board._update()
        return board

    @classmethod
    def per_stream(cls, layout: Layout, outputs, argmaxes, sequences: list[int]) -> Scoreboard:
        """One scoreboard per stream, each with its own sequences' beats in order."""
        board = cls({st: StreamScoreboard(layout, expected_beats(
            layout, outputs, argmaxes, [s for s in sequences if layout.stream_of(s) == st]))
            for st in range(layout.streams)})
        board._update()
        return board

    @property
    def done(self) -> bool:
        return all(s.done for s in self.streams.values())

    @property
    def beats_checked(self) -> int:
        return sum(s.beats_checked for s in self.streams.values())

    @property
    def words_checked(self) -> int:
        return sum(s.words_checked for s in self.streams.values())

    @property
    def beats_expected(self) -> int:
        return sum(len(s.expected) for s in self.streams.values())

    def pending(self) -> ExpectedBeat | None:
        return next((s.pending() for s in self.streams.values() if not s.done), None)

    def check(self, beat: ReceivedBeat) -> list[dict]:
        """The mismatches of one received beat, routed by its stream (empty: bit-exact)."""
        board = self.streams.get(beat.stream)
        if board is None:
            found = [_protocol(self.pending(), f"an output beat with TID {beat.stream}, a "
                                               "stream that was never sent")]
        else:
            found = board.check(beat)
        self._update()
        return found

    def _update(self) -> None:
        if self.done:
            self.finished.set()


# -- traffic ---------------------------------------------------------------------------------
def random_gaps(rng: random.Random, prob: float, max_run: int) -> Iterator[bool]:
    """Source pauses: before a cycle, an idle run of 1..max_run cycles starts with `prob`."""
    while True:
        if max_run > 0 and rng.random() < prob:
            yield from itertools.repeat(True, rng.randint(1, max_run))
        yield False


def random_stalls(rng: random.Random, prob: float) -> Iterator[bool]:
    """Sink pauses: tready low in a cycle with probability `prob`."""
    while True:
        yield prob > 0 and rng.random() < prob


def one_in(period: int) -> Iterator[bool]:
    """Ready one cycle in `period`: the output FIFO fills, s_axis_tready must drop."""
    return itertools.cycle([True] * (period - 1) + [False])


class Traffic(Enum):
    """Handshake patterns: (source pauses, sink pauses). Each is a named cocotb test."""

    full_rate = "no gaps, no back-pressure: one step per cycle for a parallel core"
    input_gaps = "random idle runs on s_axis, m_axis always ready"
    backpressure = "s_axis always valid, random m_axis_tready"
    gaps_and_backpressure = "random idle runs and random back-pressure together"
    slow_sink = "m_axis_tready one cycle in four: the output FIFO fills"

    def generators(self, config: dict, seed: str):
        """(source pause generator, sink pause generator); None: never paused."""
        gap_prob, max_gap = float(config.get("gap_prob", 0.3)), int(config.get("max_gap", 3))
        stall_prob = float(config.get("stall_prob", 0.3))
        gaps = random_gaps(random.Random(f"{seed}:source"), gap_prob, max_gap)
        stalls = random_stalls(random.Random(f"{seed}:sink"), stall_prob)
        return {
            Traffic.full_rate: (None, None),
            Traffic.input_gaps: (gaps, None),
            Traffic.backpressure: (None, stalls),
            Traffic.gaps_and_backpressure: (gaps, stalls),
            Traffic.slow_sink: (None, one_in(4) if stall_prob > 0 else None),
        }[self]


# -- the bench -------------------------------------------------------------------------------
class InterfaceMonitor:
    """Passive checks at every rising edge: hold-stable, beat counts, a stall watchdog."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.dut = bench.dut
        self.held: tuple[int, int, int, int] | None = None
        self.cycles = 0
        self.inputs_taken = 0
        self.outputs_taken = 0
        self.idle = 0
        self.watch = False  # the watchdog runs while a test expects traffic
        cocotb.start_soon(self._run())

    async def _run(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            self.cycles += 1
            if not dut.rst.value.is_resolvable or int(dut.rst.value):
                self.held, self.idle = None, 0
                continue
            try:
                self._sample()
            except Failure as exc:
                self.bench.fail(exc.record)

    def _sample(self) -> None:
        dut = self.dut
        in_fire = _to_int(dut.s_axis_tvalid, "s_axis_tvalid") and \
            _to_int(dut.s_axis_tready, "s_axis_tready")
        valid = _to_int(dut.m_axis_tvalid, "m_axis_tvalid")
        ready = _to_int(dut.m_axis_tready, "m_axis_tready")
        beat = None
        if valid:
            beat = (_to_int(dut.m_axis_tdata, "m_axis_tdata"),
                    _to_int(dut.m_axis_tuser, "m_axis_tuser"),
                    _to_int(dut.m_axis_tlast, "m_axis_tlast"),
                    _to_int(dut.m_axis_tid, "m_axis_tid") if self.bench.has_tid else 0)
        if self.held is not None:
            if not valid:
                raise Failure(_protocol(self.bench.scoreboard.pending(), "m_axis_tvalid "
                                        "dropped before the beat was accepted"))
            if beat != self.held:
                raise Failure(_protocol(self.bench.scoreboard.pending(), "m_axis_tdata/tuser/"
                                        "tlast/tid changed while tvalid was high and tready low"))
        self.held = beat if valid and not ready else None
        self.inputs_taken += bool(in_fire)
        self.outputs_taken += bool(valid and ready)
        self.idle = 0 if in_fire or (valid and ready) else self.idle + 1
        if self.watch and self.idle > self.bench.stall_limit:
            waiting = ("an output beat" if self.bench.source.idle() and
                       (self.bench.driver is None or self.bench.driver.done()) else
                       "an input handshake")
            raise Failure(_protocol(self.bench.scoreboard.pending(),
                                    f"no handshake for {self.idle} cycles while waiting for "
                                    f"{waiting} (the core stalled)"))


def memory_pauses(rng: random.Random, prob: float, max_run: int) -> Iterator[bool]:
    """Pauses of a slow memory channel: a run of 1..max_run paused cycles starts with `prob`."""
    while True:
        if rng.random() < prob:
            yield from itertools.repeat(True, rng.randint(1, max_run))
        yield False


def token_memory(dut, manifest: dict, config: dict, seed: str):
    """The AXI RAM holding an external token table's image (None without one)."""
    table = manifest.get("token_table")
    if not table:
        return None
    from cocotbext.axi import AxiRamRead, AxiReadBus

    image = (Path(config["design_dir"]) / table["image"]).read_bytes()
    base = int(table["base_default"])
    size = -(-(base + len(image)) // 4096) * 4096
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=size)
    ram.write(base, image)
    if config.get("memory", "fast") == "slow":
        rng = random.Random(seed)
        ram.ar_channel.set_pause_generator(random_stalls(rng, 0.5))
        ram.r_channel.set_pause_generator(memory_pauses(rng, 0.15, 16))
    return ram


class Bench:
    def __init__(self, dut, config: dict, name: str) -> None:
        self.dut = dut
        self.config = config
        self.name = name
        manifest = json.loads((Path(config["design_dir"]) / "manifest.json").read_text())
        self.layout = Layout.from_manifest(manifest)
        self.sequences, self.outputs, self.argmax = read_vectors(config["vectors"])
        self.seed = int(config.get("seed", 0))
        self.noise = random.Random(f"{self.seed}:{name}:noise")
        self.has_tid = hasattr(dut, "s_axis_tid")
        dut.rst.value = 1
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk,
                                      dut.rst, byte_lanes=1)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst,
                                  byte_lanes=1)
        # They follow rst from its next edge on; until start() releases them, they wait (the
        # core's outputs are undefined before its first reset).
        self.source.assert_reset(True)
        self.sink.assert_reset(True)
        self.memory = token_memory(dut, manifest, config, f"{self.seed}:{name}:memory")
        self.scoreboard = Scoreboard.single(self.layout, [])
        self.monitor = InterfaceMonitor(self)
        self.failed = Event()
        self.failure: dict | None = None
        self.mismatches: list[dict] = []
        self.words_checked = self.beats_checked = 0
        # A stall this long cannot come from random pauses (p = 0.3^limit).
        self.stall_limit = 64 + 4 * (self.layout.cycles_per_step * self.layout.streams
                                     + self.layout.latency_cycles)
        self.driver = None  # the interleaving driver of a multi-stream run
        self.driver_gaps: Iterator[bool] | None = None
        self.cycles = 0
        self.steps_sent = 0
        cocotb.start_soon(self._collect())
        cocotb.start_soon(self._idle_noise())

    def fail(self, record: dict) -> None:
        """Record the first design error; the running test raises it."""
        if self.failure is None:
            self.failure = record
            if record not in self.mismatches:
                self.mismatches.append(record)
            self.failed.set()

    async def _collect(self) -> None:
        """Sink frames to the scoreboard, beat by beat (tlast ends a frame, so each beat's
        tlast is 'last beat of its frame')."""
        while True:
            frame = await self.sink.recv(compact=False)
            for i, data in enumerate(frame.tdata):
                stream = frame.tid[i] if self.has_tid and frame.tid else 0
                beat = ReceivedBeat(int(data), int(frame.tuser[i]), i == len(frame.tdata) - 1,
                                    int(stream))
                found = self.scoreboard.check(beat)
                if found:
                    self.mismatches.extend(found)
                    self.fail(found[0])
                    return

    async def _idle_noise(self) -> None:
        """tdata and tlast must be ignored while tvalid is low: give the core noise to ignore."""
        width = len(self.dut.s_axis_tdata)
        while True:
            await FallingEdge(self.dut.clk)
            if not int(self.dut.s_axis_tvalid.value):
                self.dut.s_axis_tdata.value = self.noise.getrandbits(width)
                self.dut.s_axis_tlast.value = self.noise.getrandbits(1)
                if self.has_tid:
                    self.dut.s_axis_tid.value = self.noise.getrandbits(len(self.dut.s_axis_tid))

    async def start(self) -> None:
        """Clock and a three-cycle reset (the source and the sink follow rst)."""
        dut = self.dut
        # cocotb 2.x: the clock keeps its own driver task.
        Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
        await self.reset(3)
        self.source.assert_reset(False)
        self.sink.assert_reset(False)

    async def reset(self, cycles: int) -> None:
        """Hold rst for `cycles` rising edges; the source drops its frame in flight."""
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        self.source.clear()
        self.sink.clear()

    def set_traffic(self, traffic: Traffic | None) -> None:
        source, sink = (None, None) if traffic is None else \
            traffic.generators(self.config, f"{self.seed}:{self.name}")
        self.source.set_pause_generator(source)
        self.sink.set_pause_generator(sink)
        # the interleaving driver's own gaps: the same pattern, its own random sequence
        self.driver_gaps = None if traffic is None else \
            traffic.generators(self.config, f"{self.seed}:{self.name}:streams")[0]
        if source is None:
            self.source.pause = False
        if sink is None:
            self.sink.pause = False

    async def run(self, sequences: list[int]) -> None:
        """Send `sequences` (indices) as frames and check every output beat."""
        start = self.monitor.cycles
        if self.layout.streams > 1:
            self.scoreboard = Scoreboard.per_stream(self.layout, self.outputs, self.argmax,
                                                    sequences)
            self.monitor.watch = True
            self.driver = cocotb.start_soon(self._interleave(sequences))
        else:
            self.scoreboard = Scoreboard.single(
                self.layout, expected_beats(self.layout, self.outputs, self.argmax, sequences))
            self.monitor.watch = True
            for s in sequences:
                self.source.send_nowait(sequence_frame(self.layout, self.sequences[s]))
        await First(self.scoreboard.finished.wait(), self.failed.wait())
        self.monitor.watch = False
        self._tally()
        self.raise_failure()
        self.cycles += self.monitor.cycles - start
        self.steps_sent += sum(len(self.sequences[s]) for s in sequences)
        await self.drain()

    async def _interleave(self, sequences: list[int]) -> None:
        """Drive s_axis beat by beat from P streams (the source is idle meanwhile): at each
        rising edge a taken beat advances its stream, and the next beat comes from a random
        stream with steps left (a quarter of the time the same stream again), after the
        traffic's gaps; an offered beat stays until it is taken."""
        dut, layout = self.dut, self.layout
        queues = [[s for s in sequences if layout.stream_of(s) == st]
                  for st in range(layout.streams)]
        step = [0] * layout.streams
        rng = random.Random(f"{self.seed}:{self.name}:order")
        offer: int | None = None
        previous = 0
        # The idle source, restarted by the last reset, writes tvalid low once at its first
        # edge: let that edge pass before driving.
        await RisingEdge(dut.clk)
        while True:
            await RisingEdge(dut.clk)
            if offer is not None:
                if not (int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value)):
                    continue
                seq = queues[offer][0]
                step[offer] += 1
                if step[offer] == len(self.sequences[seq]):
                    queues[offer].pop(0)
                    step[offer] = 0
                offer = None
            active = [st for st in range(layout.streams) if queues[st]]
            if not active:
                dut.s_axis_tvalid.value = 0
                return
            if self.driver_gaps is not None and next(self.driver_gaps):
                dut.s_axis_tvalid.value = 0
                continue
            st = previous if previous in active and rng.random() < 0.25 else rng.choice(active)
            seq = queues[st][0]
            rows = self.sequences[seq]
            dut.s_axis_tdata.value = layout.pack_input(rows[step[st]])
            dut.s_axis_tlast.value = int(step[st] == len(rows) - 1)
            dut.s_axis_tid.value = st
            dut.s_axis_tvalid.value = 1
            offer = previous = st

    async def drain(self) -> None:
        """After the last expected beat, with m_axis_tready high: no further beat."""
        self.sink.clear_pause_generator()
        self.sink.pause = False
        taken = self.monitor.outputs_taken
        for _ in range(DRAIN_CYCLES + self.layout.latency_cycles +
                       2 * self.layout.cycles_per_step):
            await RisingEdge(self.dut.clk)
        if self.monitor.outputs_taken != taken:
            self.fail(_protocol(None, f"{self.monitor.outputs_taken - taken} output beat(s) "
                                      "appeared after every expected output was received"))
        self.raise_failure()

    def _tally(self) -> None:
        self.words_checked += self.scoreboard.words_checked
        self.beats_checked += self.scoreboard.beats_checked

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise Failure(self.failure)

    def write_result(self, extra: dict | None = None) -> None:
        result_dir = Path(self.config["result_dir"])
        result_dir.mkdir(parents=True, exist_ok=True)
        if self.failure is not None and not self.scoreboard.finished.is_set():
            self._tally()  # counts up to the failure
        record = {
            "test": self.name,
            "sequences": len(self.sequences),
            "steps": self.steps_sent,
            "beats_checked": self.beats_checked,
            "outputs_checked": self.words_checked,
            "cycles": self.cycles,
            "mismatches": self.mismatches,
            **(extra or {}),
        }
        (result_dir / f"{result_name(self.name)}.json").write_text(json.dumps(record, indent=1))


@cocotb.test()
@cocotb.parametrize(traffic=list(Traffic))
async def test_stream(dut, traffic: Traffic) -> None:
    """Every sequence back to back under one handshake pattern, bit-exact."""
    bench = Bench(dut, _config(), f"test_stream/traffic={traffic.name}")
    try:
        await bench.start()
        bench.set_traffic(traffic)
        await bench.run(list(range(len(bench.sequences))))
    finally:
        bench.write_result()


@cocotb.test()
async def test_reset_midstream(dut) -> None:
    """Reset in the middle of a sequence, with an output held back: state and valids clear.

    The interrupted sequence is sent as one frame; the source is paused after about half of
    it (the frame's tlast is never sent) and the reset drops the rest. The sequences checked
    after the reset expect a zero initial state, so a reset that left any state behind shows
    up as a mismatch.
    """
    config = _config()
    bench = Bench(dut, config, "test_reset_midstream")
    layout = bench.layout
    try:
        await bench.start()
        bench.set_traffic(None)
        longest = max(range(len(bench.sequences)), key=lambda s: len(bench.sequences[s]))
        seq = list(bench.sequences[longest])
        steps = (seq * 4)[:max(4, len(seq))]  # at least 4 beats: the cut falls before tlast
        prefix = len(steps) // 2 - 1  # beats taken with m_axis_tready high
        bench.source.send_nowait(sequence_frame(layout, steps))
        bound = len(steps) * (layout.cycles_per_step + 4) + 8 * bench.stall_limit
        for _ in range(bound):
            await FallingEdge(dut.clk)
            if bench.monitor.inputs_taken >= prefix:
                break
        assert bench.monitor.inputs_taken >= prefix, \
            "the core did not accept the first steps of a sequence"
        # The source has the next beat on the bus already: it is the last one taken. Its
        # output (readout 'every') is left pending with m_axis_tready low.
        bench.source.pause = True
        bench.sink.pause = True
        for _ in range(bound):
            await FallingEdge(dut.clk)
            if bench.monitor.inputs_taken > prefix:
                break
        for _ in range(layout.latency_cycles + 2 * layout.cycles_per_step + 4):
            await FallingEdge(dut.clk)
        # A core with an output FIFO (the deep fold: two beats in flight) may already be full
        # with outputs held back: then it refuses the beat on the bus, which the reset drops.
        taken = bench.monitor.inputs_taken
        held = not int(dut.s_axis_tready.value) and int(dut.m_axis_tvalid.value)
        assert taken == prefix + 1 or (taken == prefix and held), \
            f"expected {prefix + 1} input beats before the reset (or {prefix} with the " \
            f"outputs held back and s_axis_tready low), saw {taken}"
        await bench.reset(2)
        bench.source.pause = False
        # Right after reset, with nothing sent: no output may be valid.
        for cycle in range(layout.latency_cycles + layout.cycles_per_step + 4):
            await RisingEdge(dut.clk)
            if int(dut.m_axis_tvalid.value):
                beat = ExpectedBeat(longest, prefix, (), 0, False)
                record = _mismatch(beat, -2, 0, 1, "m_axis_tvalid after reset")
                record["message"] = (f"sequence {longest}, step {prefix}: m_axis_tvalid is "
                                     f"high {cycle + 1} cycle(s) after a mid-stream reset "
                                     "with no new input")
                bench.fail(record)
                bench.raise_failure()
        bench.sink.pause = False
        count = max(1, min(int(config.get("reset_sequences", 4)), len(bench.sequences)))
        # Start with the interrupted sequence itself, then the ones after it.
        await bench.run([(longest + i) % len(bench.sequences) for i in range(count)])
    finally:
        bench.write_result()
