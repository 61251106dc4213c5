"""Where pipeline registers go: a delay model of the target FPGA and the stage planner.

The generators know the logic levels of every datapath section (adder levels of the
butterflies and of the constant-product graphs, LUT levels of saturation and argmax). A
`DelayModel` turns a level into nanoseconds; the planner cuts a chain of levels into
register-to-register stages that fit one clock period:

- feed-forward sections (the input projection before the recurrence, the readout and the
  argmax after it) take as many stages as the target clock needs (`greedy_stages`);
- the recurrence loop holds at most as many registers as there are interleaved streams
  (C-slow: P streams keep a loop of depth P busy every cycle); `balanced_stages` spreads a
  given number of registers so that the slowest stage is as fast as it can be.

The ECP5 model was calibrated once from nextpnr-ecp5 runs (speed grade 6, LFE5U-25F/45F/85F)
of butterfly banks with a register after every 1, 2 or 4 adder levels, n = 16 and 64;
docs/hardware-cost.md ("Pipelining: the delay model") gives the constants and the runs. The
model is an estimate to place registers by, not a timing sign-off: `hadamhw report --pnr` measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hadamhw.errors import HadamhwError


@dataclass(frozen=True)
class DelayModel:
    """Nanoseconds of one register-to-register stage, level by level.

    A stage costs `overhead` (clock-to-q, the last hop into the flip-flop, setup), and per
    logic level one net (`route`, longer in a larger placement: `route_per_log2n` per
    doubling of n above 16) plus the level's own delay: `adder` into and out of a carry
    chain (CCU2C), `lut` for a LUT4, `ram_read` for the asynchronous read of a
    distributed-RAM register file, `carry_out` for a comparator whose result is the carry
    out of its chain. The ripple (`carry_bit` per bit) is paid once per stage, for its
    widest adder: a chain of adders overlaps its ripples.
    """

    name: str
    overhead: float
    route: float
    route_per_log2n: float
    adder: float
    carry_bit: float
    lut: float
    lut_route: float  # a LUT level's net, as a fraction of `route` (local logic)
    ram_read: float
    carry_out: float
    # a net between a compact section (the input graph or ROM, the readout graph) and the
    # n state elements spread over the loop's area, per element
    spread_per_element: float = 0.0
    # the output interface's control paths as placed: the credit count from m_axis_tready,
    # the FIFO's fill count from its write strobe (which fans out to every slot of the
    # FIFO), the hazard's select by the waiting beat's stream (which fans out to the
    # pipeline); below this period each gets a register or a register copy of its own
    control_path: float = 0.0

    def route_ns(self, n: int) -> float:
        return self.route + self.route_per_log2n * max(0.0, math.log2(max(n, 1)) - 4)

    def adder_level(self, name: str, width: int, n: int) -> Level:
        return Level(name, self.route_ns(n) + self.adder, self.carry_bit * width)

    def compare_level(self, name: str, width: int, n: int) -> Level:
        return Level(name, self.route_ns(n) + self.adder + self.carry_out,
                     self.carry_bit * width)

    def lut_level(self, name: str, n: int, levels: int = 1) -> Level:
        return Level(name, levels * (self.lut_route * self.route_ns(n) + self.lut))

    def ram_level(self, name: str, n: int) -> Level:
        return Level(name, self.route_ns(n) + self.ram_read)

    def ram_write_level(self, name: str, n: int) -> Level:
        """A LUT (the write data's select) and its net into a distributed RAM's write port
        (measured: the saturation, this LUT and the net took 5.75 ns, n = 16)."""
        return Level(name, self.lut_route * self.route_ns(n) + self.lut + self.route_ns(n))

    def spread_ns(self, n: int) -> float:
        """The net from a compact section to the farthest of n state elements (or back)."""
        return self.spread_per_element * n

    def transport_registers(self, n: int, period: float) -> int:
        """Plain registers in the drive's way into the loop and in the state's way into the
        readout graph, so that each hop of such a net has a stage of its own (0 while the
        net fits a stage beside its adder)."""
        hop = period - self.overhead
        if hop <= 0:
            return 0
        return max(0, math.ceil(self.spread_ns(n) / hop) - 1)

    def control_registers(self, period: float) -> bool:
        """Whether the interface's control paths need their registers (`control_path`)."""
        return period < self.control_path


@dataclass(frozen=True)
class Level:
    """One logic level of a section: its name (for the manifest), its delay, and the ripple
    of its carry chain (paid once per stage, by the widest)."""

    name: str
    ns: float
    carry: float = 0.0


# Calibrated on nextpnr-ecp5 (the module docstring; docs/hardware-cost.md, "Pipelining:
# the delay model"): a butterfly bank with one 14-bit adder level per stage placed at
# 275 MHz at n = 16 (3.63 ns), two at 167 MHz, four at 93 MHz; at n = 64 (18 bits) one
# level at 219 MHz, two at 143 MHz. The argmax comparator's carry out (a feed-out cell and
# its net) and the LUT levels come from the critical paths of whole pipelined designs. The
# spread: at n = m = 128 (P = 13, LFE5U-85F) the critical path was the net from the drive's
# register to its requantization adder, 6.83 ns (0.053 ns per element); at n = 64 the
# longest such nets were 3.2 ns. The control paths: at n = m = 16 (P = 8, 200 MHz target, six
# seeds) the credit count from m_axis_tready took 5.67 ns, the fill count from its write
# strobe 5.44 ns, the hazard's select 5.05 ns; no such path was critical at 150 MHz.
ECP5 = DelayModel(name="ecp5", overhead=0.65, route=1.55, route_per_log2n=0.35, adder=0.9,
                  carry_bit=0.035, lut=0.3, lut_route=0.6, ram_read=0.6, carry_out=1.3,
                  spread_per_element=0.053, control_path=5.7)
MODELS = {"ecp5": ECP5}
DEFAULT_MODEL = "ecp5"


def period_ns(target_mhz: float) -> float:
    if not target_mhz > 0:
        raise HadamhwError(f"--target-mhz must be positive, got {target_mhz}")
    return 1000.0 / target_mhz


def stage_delay(model: DelayModel, levels: list[Level]) -> float:
    return model.overhead + sum(lv.ns for lv in levels) + max((lv.carry for lv in levels),
                                                              default=0.0)


def greedy_stages(model: DelayModel, levels: list[Level], period: float) -> list[int]:
    """The stage (0, 1, ...) of each level: a new stage starts wherever the level would not
    fit the period in the current one (a level longer than the period gets its own stage)."""
    stages: list[int] = []
    stage, current = 0, []
    for i, lv in enumerate(levels):
        if i > 0 and stage_delay(model, [*current, lv]) > period:
            stage += 1
            current = []
        current.append(lv)
        stages.append(stage)
    return stages


def balanced_stages(model: DelayModel, levels: list[Level], registers: int) -> list[int]:
    """The stage of each level when at most `registers` registers cut the chain (into at most
    registers + 1 stages), the slowest stage as fast as possible (linear partition)."""
    count = len(levels)
    parts = min(registers + 1, max(count, 1))
    if count == 0:
        return []
    def cost(i: int, j: int) -> float:  # levels i..j-1 in one stage
        return stage_delay(model, levels[i:j])

    inf = float("inf")
    # best[p][j]: slowest stage when the first j levels form p stages
    best = [[inf] * (count + 1) for _ in range(parts + 1)]
    split = [[0] * (count + 1) for _ in range(parts + 1)]
    best[0][0] = 0.0
    for p in range(1, parts + 1):
        for j in range(1, count + 1):
            for i in range(p - 1, j):
                value = max(best[p - 1][i], cost(i, j))
                if value < best[p][j] - 1e-12:
                    best[p][j], split[p][j] = value, i
    p = min(range(1, parts + 1), key=lambda q: (round(best[q][count], 9), q))
    bounds = []
    j = count
    while p > 0:
        i = split[p][j]
        bounds.append((i, j))
        j, p = i, p - 1
    stages = [0] * count
    for stage, (i, j) in enumerate(reversed(bounds)):
        for k in range(i, j):
            stages[k] = stage
    return stages


def slowest_stage(model: DelayModel, levels: list[Level], stages: list[int]) -> float:
    """Delay of the slowest stage (ns) of a placement."""
    worst = 0.0
    for s in set(stages):
        worst = max(worst, stage_delay(model, [lv for lv, st in zip(levels, stages,
                                                                     strict=True) if st == s]))
    return worst
