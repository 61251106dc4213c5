"""The outcome of comparing a hardware run with the golden model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Mismatch:
    sequence: int
    step: int  # readout index within the sequence (the time step for readout 'every')
    index: int  # output word index; ARGMAX, TLAST or STALL_CHANGE for the other checks
    expected: int
    got: int

    ARGMAX: ClassVar[int] = -1
    TLAST: ClassVar[int] = -2  # m_axis_tlast differs
    STALL_CHANGE: ClassVar[int] = -3  # output data changed while tvalid && !tready
    STREAM: ClassVar[int] = -4  # a beat whose m_axis_tid names no stream expecting one

    def describe(self) -> str:
        if self.index == self.STREAM:
            return (f"an output beat with m_axis_tid = {self.got} that no stream expects "
                    f"(extra beat {self.step})")
        what = {self.ARGMAX: "argmax", self.TLAST: "m_axis_tlast",
                self.STALL_CHANGE: "output held while stalled"}.get(self.index,
                                                                  f"output {self.index}")
        return (f"sequence {self.sequence}, step {self.step}, {what}: expected {self.expected}, "
                f"got {self.got}")


@dataclass
class CheckResult:
    simulator: str  # "verilator-cocotb", "icarus-cocotb", "verilator-batch", "hls-csim", ...
    sequences: int
    steps: int
    outputs_checked: int
    mismatches: list[Mismatch] = field(default_factory=list)
    cycles: int | None = None
    seconds: float | None = None
    # The true number of mismatches when a simulator lists only the first ones (the batch
    # harness and the C simulation keep details of the first 1000); None: all are listed.
    mismatch_total: int | None = None
    # cycles an input beat was offered and not taken (the batch harness; None elsewhere)
    input_stalls: int | None = None
    # processor seconds of the simulation (the batch harness; None elsewhere): on a shared
    # machine, steps / cpu_seconds is the rate the simulator itself reaches
    cpu_seconds: float | None = None

    @property
    def mismatch_count(self) -> int:
        if self.mismatch_total is None:
            return len(self.mismatches)
        return max(self.mismatch_total, len(self.mismatches))

    @property
    def ok(self) -> bool:
        return self.mismatch_count == 0 and self.outputs_checked > 0

    def to_dict(self) -> dict:
        return {
            "simulator": self.simulator,
            "sequences": self.sequences,
            "steps": self.steps,
            "outputs_checked": self.outputs_checked,
            "mismatches": self.mismatch_count,
            "first_mismatch": self.mismatches[0].describe() if self.mismatches else None,
            "cycles": self.cycles,
            "seconds": self.seconds,
            "bit_exact": self.ok,
        }
