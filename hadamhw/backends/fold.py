"""The deep fold: F butterfly units walk the blockwise Walsh-Hadamard transform through
block RAM in the constant-geometry (Pease) order. Shared by the Verilog and HLS backends.

One stage of the transform is n/2 butterflies; in the constant-geometry order butterfly
p = (block, i) reads elements (block*m + i, block*m + i + m/2) and writes its sum and
difference to (block*m + 2i, block*m + 2i + 1), the same wiring every stage (see
hadamhw.backends.verilog_sections.pease_butterflies). F units run butterflies
cF .. cF + F - 1 in cycle c of a stage, so a stage takes S = n/(2F) cycles and a step
k = log2(m) stages.

Storage. The vector lives in 2F banks of S words (one element per bank and word), as two
*halves* of F banks each; a half is one memory of F-element words with one read and one
write port (simple dual-port block RAM), twice as deep as S: stage j reads buffer b and
writes buffer 1 - b (ping-pong). Element e sits in bank `bank(e)` at word e >> f
(2F = 2^f):

- F <= m/4 (several cycles per block): bank(e) = (e mod 2F) XOR (e[k-1] << (f-1)), the low
  bits with the half bit flipped in the upper half of each block (a skew). The two operands
  of a cycle's butterflies then come from different halves, and its 2F results, elements
  2cF .. 2cF + 2F - 1, land in 2F different banks;
- F >= m/2 (whole blocks per cycle): bank(e) = e mod 2F, no skew: a cycle reads and writes
  whole blocks at word c.

Addressing is a bit permutation of the cycle counter c = {block, cc} (cc: the cycle inside
the block, C = m/(2F) cycles per block): half h reads word {block, h ^ cc[0], cc >> 1};
both halves write word c. Operand a of unit u comes from half cc[0], b from the other
(a 2:1 multiplexer per operand), and half h writes the results of half h ^ cc[top] (a 2:1
multiplexer per half). Without the skew the wiring is fixed.

Result slot t = 2u (sum) or 2u + 1 (difference) of cycle c holds element 2cF + t in every
case, so per-element constants (signs, drives, U and V codes) are ROM words at address c.

Timing. A read issued in cycle c returns its data in c + 1 (the butterflies, registered),
[c + 2: the product f M_r' when M_r' is no power of two, registered], then the results are
written (the requantization on the last stage), so a word is readable again `pipeline` + 1
cycles after its read was issued (`pipeline` = 2 or 3 register stages). The next stage
reads its words in another order; `gap` idle cycles after each stage's S reads keep every
read behind the write of its word (read-after-write through the RAM), so a step takes
k (S + gap) cycles. After the last write the readout accumulates (1 cycle), the beat enters
the 2-slot output FIFO (1 cycle) and a serial argmax scans its `outputs` words (1 cycle
each, plus one) before m_axis_tvalid. Two beats in flight must cover that tail, which
bounds the rate of short steps that read out (`cycles_per_step`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hadamhw.errors import HadamhwError

if TYPE_CHECKING:
    from hadamhw.backends import GenerateOptions
    from hadamhw.ir.schema import IntegerRNN

# Output FIFO slots = readout beats in flight (the handshake's limit).
FIFO_SLOTS = 2


def parse_fold(value: str | int) -> str | int:
    """A --fold value: 'parallel', 'stage', or a number of butterfly units (a power of two)."""
    if isinstance(value, str) and value in ("parallel", "stage"):
        return value
    expected = (f"--fold must be 'parallel', 'stage' or a number of butterfly units (a "
                f"power of two), got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise HadamhwError(expected)
    try:
        units = int(value, 10) if isinstance(value, str) else value
    except ValueError:
        raise HadamhwError(expected) from None
    if units < 1 or units & (units - 1):
        raise HadamhwError(f"--fold {value}: the number of butterfly units must be a power of "
                           "two >= 1")
    return units


def check_units(units: int, n: int) -> None:
    if units > n // 2:
        raise HadamhwError(f"--fold {units}: a model with n = {n} has {n // 2} butterflies per "
                           f"stage; use a power of two from 1 to {n // 2} ('stage' = {n // 2})")


@dataclass(frozen=True)
class FoldPlan:
    """Geometry and schedule of F = `units` butterfly units for n, m (module docstring)."""

    n: int
    m: int
    units: int
    pipeline: int = 2  # register stages from the RAM read to the RAM write (2 or 3)
    outputs: int = 1  # words the serial argmax scans

    def __post_init__(self) -> None:
        check_units(self.units, self.n)
        if self.units == self.n // 2:
            raise HadamhwError(f"internal: fold {self.units} = n/2 is the stage fold")

    # -- geometry -------------------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.m.bit_length() - 1

    @property
    def f(self) -> int:
        """log2 of the bank count 2F."""
        return self.units.bit_length()

    @property
    def banks(self) -> int:
        return 2 * self.units

    @property
    def words(self) -> int:
        """S: words per bank and buffer, = cycles of reads per stage."""
        return self.n // self.banks

    @property
    def skew(self) -> bool:
        return 4 * self.units <= self.m

    @property
    def block_cycles(self) -> int:
        """C = m/(2F): cycles per block (skewed layout only)."""
        return self.m // self.banks

    @property
    def cc_bits(self) -> int:
        return self.block_cycles.bit_length() - 1 if self.skew else 0

    def bank(self, e: int) -> int:
        low = e % self.banks
        if self.skew and (e >> (self.k - 1)) & 1:
            low ^= self.units
        return low

    def location(self, e: int) -> tuple[int, int, int]:
        """(half, lane, word) of element e."""
        q = self.bank(e)
        return q // self.units, q % self.units, e >> self.f

    # -- one cycle --------------------------------------------------------------------------
    def read_word(self, half: int, c: int) -> int:
        if not self.skew:
            return c
        cc = c % self.block_cycles
        top = (half ^ (cc & 1)) * (self.block_cycles // 2)
        return c - cc + top + (cc >> 1)

    def operands(self, c: int, u: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((half, lane) of operand a, (half, lane) of operand b) of unit u in cycle c."""
        if self.skew:
            h = c & 1
            return (h, u), (h ^ 1, u)
        half_m = self.m // 2
        a = (u // half_m) * self.m + u % half_m
        b = a + half_m
        return (a // self.units, a % self.units), (b // self.units, b % self.units)

    def write_swap(self, c: int) -> int:
        """1 when half h writes the results of half 1 - h in cycle c."""
        if not self.skew:
            return 0
        return ((c % self.block_cycles) >> (self.cc_bits - 1)) & 1

    def butterfly_elements(self, c: int, u: int) -> tuple[int, int, int, int]:
        """(a, b, sum, difference) element indices of unit u in cycle c."""
        p = c * self.units + u
        half_m = self.m // 2
        base = (p // half_m) * self.m
        i = p % half_m
        return base + i, base + i + half_m, base + 2 * i, base + 2 * i + 1

    # -- schedule ---------------------------------------------------------------------------
    @property
    def write_latency(self) -> int:
        """Cycles from issuing the read of word c to the first cycle that may read what the
        stage wrote there."""
        return self.pipeline + 1

    @property
    def gap(self) -> int:
        """Idle cycles after each stage's reads: the next stage's read of a word must come
        write_latency cycles after the read that produced it (checked word by word)."""
        need = 0
        for c in range(self.words):
            for half in (0, 1):
                need = max(need, self.read_word(half, c) + self.write_latency
                           - self.words - c)
        return need

    @property
    def stage_cycles(self) -> int:
        return self.words + self.gap

    @property
    def step_cycles(self) -> int:
        """Busy cycles of one step: k stages."""
        return self.k * self.stage_cycles

    @property
    def argmax_cycles(self) -> int:
        """The serial argmax: one word fetched a cycle, compared the cycle after."""
        return 1 if self.outputs == 1 else self.outputs + 1

    @property
    def tail_cycles(self) -> int:
        """From the last read of a step to its m_axis_tvalid: the pipeline, the readout's
        accumulation, the FIFO write and the serial argmax."""
        return self.pipeline + 2 + self.argmax_cycles + 1

    @property
    def cycles_per_step(self) -> int:
        """Input handshake to the next possible one, at full rate: the most cycles between
        two, whatever the sequence lengths. A step that reads out is taken only while fewer
        than FIFO_SLOTS beats are in flight: readout step t + 2 waits for the beat of readout
        step t, (step - gap) + tail cycles after step t began. That bounds short steps only
        (step_cycles < tail_cycles + 1 - gap); where it alternates between two values their
        mean is up to half a cycle less."""
        in_flight = self.step_cycles - self.gap + self.tail_cycles + 1
        return max(self.step_cycles, -(-in_flight // FIFO_SLOTS), self.argmax_cycles)

    @property
    def overhead_cycles(self) -> int:
        """Cycles per step beyond n log2(m) / (2F)."""
        return self.cycles_per_step - self.n * self.k // (2 * self.units)

    @property
    def latency_cycles(self) -> int:
        """Input handshake to m_axis_tvalid (from an idle core)."""
        return self.step_cycles - self.gap + self.tail_cycles

    def ram_bits(self, word_bits: int) -> int:
        """Both halves, both buffers."""
        return 2 * self.n * word_bits


def simulate_rotation(plan: FoldPlan, h: np.ndarray) -> np.ndarray:
    """The fold's k stages over its bank layout, cycle by cycle (a model of the RTL's
    addressing, for the tests): returns the blockwise FWHT of h in natural order."""
    S, F = plan.words, plan.units
    mem = np.zeros((2, 2, S, F), dtype=object)  # buffer, half, word, lane
    for e, v in enumerate(h):
        half, lane, word = plan.location(e)
        mem[0, half, word, lane] = int(v)
    buf = 0
    for _ in range(plan.k):
        for c in range(S):
            rd = [[mem[buf, half, plan.read_word(half, c), lane] for lane in range(F)]
                  for half in (0, 1)]
            slots = []
            for u in range(F):
                (ha, la), (hb, lb) = plan.operands(c, u)
                a, b = rd[ha][la], rd[hb][lb]
                slots += [a + b, a - b]
            swap = plan.write_swap(c)
            for half in (0, 1):
                src = half ^ swap
                for lane in range(F):
                    mem[1 - buf, half, c, lane] = slots[src * F + lane]
        buf ^= 1
    out = np.zeros(plan.n, dtype=object)
    for e in range(plan.n):
        half, lane, word = plan.location(e)
        out[e] = mem[buf, half, word, lane]
    return out


def resolve_fold(ir: IntegerRNN, options: GenerateOptions) -> GenerateOptions:
    """The options as every backend builds them: checked, and a number of butterfly units
    F = n/2 turned into the stage fold; other numbers stay numbers (the deep fold), and
    numbers above n/2 are refused."""
    options.validate()
    if isinstance(options.fold, int):
        check_units(options.fold, ir.hidden_size)
        if options.fold == ir.hidden_size // 2:
            return dataclasses.replace(options, fold="stage")
    return options
