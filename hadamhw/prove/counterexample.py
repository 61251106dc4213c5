"""A failed property's counterexample as a stimulus a person can replay.

The solver's trace (hadamhw.prove.witness) gives the value of every free input in every
step. Where those are the design's own ports from a reset (the miters of equivalence.bmc and
equivalence.induction's base case, the AXI4-Stream wrapper of axi.rules), they are written
as a cycle stimulus (hadamhw.verify.cycle_stimulus), `counterexample.json` beside the VCD,
which `hadamhw sim DESIGN --stimulus FILE` replays in the batch harness or cocotb. The
rotation module's trace is a state of the module alone, not port values: for a failed
equivalence.rotation_module, `attach_rotation` asks the solver for port values that carry
the failure to the outputs (the equivalence miter, ROTATION_DEPTH cycles: the second step is
the first whose rotation sees a non-zero state). An induction step's trace (which starts
from any state, not from a reset) has no replay: only its VCD is kept. A
trace whose failed assertion compares a register (the induction miter's same_h_q, ...) gets
DRAIN_CYCLES idle cycles after it, so that the wrong state reaches the outputs in a replay.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.prove.harness import DesignView, write_miter
from hadamhw.prove.sby import run_sby
from hadamhw.prove.witness import trace_steps
from hadamhw.verify.cycle_stimulus import (
    Counterexample,
    CycleInput,
    CycleStimulus,
    write_cycle_stimulus,
)

FILE_NAME = "counterexample.json"
# cycles added after a trace whose assertion names a register (the induction miter's
# same_h_q, ...): idle input, m_axis_tready high, so that a wrong state reaches the outputs
DRAIN_CYCLES = 8
# cycles of the miter run for a failed rotation module: the reset, two steps, the second
# step's beat (a step's beat is offered two cycles after it)
ROTATION_DEPTH = 5
ROTATION_TIMEOUT_S = 300
PORTS = ("rst", "s_axis_tvalid", "s_axis_tdata", "s_axis_tlast", "m_axis_tready")
# the output an assertion compares (miter.v.j2, miter_induct.v.j2, axi.v.j2)
ASSERTION_OUTPUTS = {
    "eq_argmax": "argmax", "eq_m_axis_tlast": "m_axis_tlast",
    "eq_m_axis_tvalid": "m_axis_tvalid", "eq_s_axis_tready": "s_axis_tready",
    "eq_m_axis_tdata": "m_axis_tdata",
    "no_stale_beat": "m_axis_tvalid", "tvalid_held": "m_axis_tvalid",
    "no_duplicate": "m_axis_tvalid", "no_loss": "m_axis_tvalid",
    "tdata_stable": "m_axis_tdata", "tuser_stable": "argmax", "tlast_stable": "m_axis_tlast",
}


@dataclass(frozen=True)
class Failure:
    """What the counterexample needs of a failed property (a PropertyResult has it)."""

    name: str
    message: str
    step: int | None
    trace: str


def named_output(assertion: str) -> str:
    """The output a failed assertion names: eq_y3 -> y3; a register (same_h_q) -> h_q."""
    if assertion.startswith("eq_y") and assertion[4:].isdigit():
        return assertion[3:]
    if assertion.startswith("same_"):
        return assertion[5:]
    return ASSERTION_OUTPUTS.get(assertion, assertion)


def assertion_of(message: str) -> str:
    """`assertion eq_y1 (design and spec differ there)` -> eq_y1."""
    words = message.split()
    return words[1] if len(words) > 1 and words[0] == "assertion" else ""


def decode_words(ir: IntegerRNN, tdata: int) -> tuple[int, ...]:
    """s_axis_tdata's bits as the port's words: one token id, or the input's integers."""
    if ir.input.kind == "token":
        return (tdata & ((1 << ir.input.bits) - 1),)
    bits, mask = ir.input.bits, (1 << ir.input.bits) - 1
    words = [(tdata >> (k * bits)) & mask for k in range(ir.input.size)]
    if ir.input.signed:
        words = [w - (1 << bits) if w >> (bits - 1) else w for w in words]
    return tuple(words)


def port_cycles(ir: IntegerRNN, steps: list[dict[str, int]]) -> tuple[CycleInput, ...] | None:
    """The steps as port values, or None when the trace is not the design's ports from a
    reset (a module's inputs, or an induction step from any state)."""
    if not steps or any(p not in s for s in steps for p in PORTS) or steps[0]["rst"] != 1:
        return None
    return tuple(CycleInput(s["rst"], s["s_axis_tvalid"], decode_words(ir, s["s_axis_tdata"]),
                            s["s_axis_tlast"], s["m_axis_tready"], s.get("s_axis_tid", 0))
                 for s in steps)


def write_counterexample(failure: Failure, ir: IntegerRNN, design_id: str | None,
                         top: str = "") -> Path | None:
    """counterexample.json beside the failure's VCD; None when the trace has no replay."""
    if not failure.trace or failure.step is None or not Path(failure.trace).is_file():
        return None
    if "induct" in Path(failure.trace).stem:
        return None  # an induction step's trace starts from any state, not from a reset
    try:
        cycles = port_cycles(ir, trace_steps(failure.trace))
    except HadamhwError:
        return None  # an unreadable trace: the VCD is still named
    if cycles is None:
        return None
    assertion = assertion_of(failure.message)
    if assertion.startswith("same_"):
        idle = CycleInput(0, 0, tuple(0 for _ in cycles[0].s_axis_tdata), 0, 1)
        cycles += (idle,) * DRAIN_CYCLES
    cex = Counterexample(failure.name, assertion or "?", failure.step, 0,
                         named_output(assertion) if assertion else "?", failure.trace)
    stim = CycleStimulus(design_id, cycles, top, cex)
    return write_cycle_stimulus(stim, Path(failure.trace).parent / FILE_NAME)


def replay_command(design: str | Path, stimulus: str | Path) -> str:
    """The command that replays a counterexample in the batch harness."""
    return (f"hadamhw sim {shlex.quote(str(design))} --stimulus "
            f"{shlex.quote(str(stimulus))} --batch")


def attach(result, folder: str | Path, ir: IntegerRNN, design_id: str | None,
           top: str = "") -> None:
    """A failed PropertyResult gets its counterexample file (result.stimulus) and replay
    command (result.replay) where its trace has one."""
    if result.status != "failed":
        return
    path = write_counterexample(Failure(result.name, result.message, result.step,
                                        result.trace), ir, design_id, top)
    if path is not None:
        result.stimulus = str(path)
        result.replay = replay_command(folder, path)


def attach_rotation(results: list, view: DesignView, work: Path, solver: str, timeout: int,
                    design_id: str | None) -> None:
    """A failed equivalence.rotation_module gets a port-level counterexample: the
    equivalence miter run to ROTATION_DEPTH cycles, its trace written as the stimulus (the
    property the rotation module's, the step and output where the outputs differ)."""
    failed = [r for r in results if r.name == "equivalence.rotation_module"
              and r.status == "failed" and not r.stimulus]
    if not failed:
        return
    folder = Path(work) / "rotation_ports"
    files, top = write_miter(view, folder)
    res = run_sby(folder, "miter", files, top, depth=ROTATION_DEPTH, solver=solver,
                  timeout=min(timeout, ROTATION_TIMEOUT_S))
    if res.status != "fail":
        return  # no state the first step reaches shows the error within the depth
    path = write_counterexample(Failure(failed[0].name, f"assertion {res.assertion}", res.step,
                                        res.vcd), view.ir, design_id, view.top)
    if path is not None:
        failed[0].stimulus = str(path)
        failed[0].replay = replay_command(view.folder, path)
