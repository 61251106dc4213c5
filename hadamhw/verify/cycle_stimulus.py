"""A cycle stimulus file: the input ports of a design, cycle by cycle from a reset.

`hadamhw prove` writes one for a failed property (`counterexample.json` beside the solver's
VCD: the inputs the solver chose); `hadamhw sim DESIGN --stimulus FILE` replays it
(hadamhw.verify.replay). The format is hadamhw/ir/cycle-stimulus-v1.schema.json:

    {"format": "hadamhw-cycle-stimulus", "version": 1, "design_id": "<manifest's id>",
     "top": "hadamrnn",
     "counterexample": {"property": "equivalence.bmc", "assertion": "eq_y1", "step": 3,
                        "stream": 0, "output": "y1", "trace": ".../trace.vcd"},
     "cycles": [{"rst": 1, "s_axis_tvalid": 0, "s_axis_tdata": [0, 0, 0],
                 "s_axis_tlast": 0, "m_axis_tready": 0}, ...]}

s_axis_tdata is written as its words (one token id, or the input vector's integers, signed
as the IR declares them), not as the packed port bits.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.ir.json_schema import first_error
from hadamhw.ir.schema import IntegerRNN

FORMAT = "hadamhw-cycle-stimulus"
VERSION = 1


@dataclass(frozen=True)
class CycleInput:
    """The input ports in one cycle."""

    rst: int
    s_axis_tvalid: int
    s_axis_tdata: tuple[int, ...]
    s_axis_tlast: int
    m_axis_tready: int
    s_axis_tid: int = 0


@dataclass(frozen=True)
class Counterexample:
    """Where the solver found a property broken."""

    property: str
    assertion: str
    step: int      # the solver step: the cycle from reset (cycle 0 is the reset)
    stream: int
    output: str    # y3, argmax, m_axis_tlast, m_axis_tvalid, s_axis_tready, m_axis_tdata, ...
    trace: str = ""


@dataclass(frozen=True)
class CycleStimulus:
    design_id: str | None  # the manifest's design_id; None for a manifest without one
    cycles: tuple[CycleInput, ...]
    top: str = ""
    counterexample: Counterexample | None = None

    def to_json(self) -> dict:
        doc: dict = {"format": FORMAT, "version": VERSION, "design_id": self.design_id}
        if self.top:
            doc["top"] = self.top
        if self.counterexample is not None:
            cex = asdict(self.counterexample)
            doc["counterexample"] = {k: v for k, v in cex.items() if v != "" or k != "trace"}
        doc["cycles"] = [_cycle_json(c) for c in self.cycles]
        return doc


def _cycle_json(c: CycleInput) -> dict:
    doc = {"rst": c.rst, "s_axis_tvalid": c.s_axis_tvalid, "s_axis_tdata": list(c.s_axis_tdata),
           "s_axis_tlast": c.s_axis_tlast, "m_axis_tready": c.m_axis_tready}
    if c.s_axis_tid:
        doc["s_axis_tid"] = c.s_axis_tid
    return doc


def write_cycle_stimulus(stim: CycleStimulus, path: str | Path) -> Path:
    """The file, one cycle a line (a person reads it beside the VCD)."""
    doc = stim.to_json()
    cycles = doc.pop("cycles")
    head = json.dumps(doc, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(c) for c in cycles)
    Path(path).write_text(f'{head},\n "cycles": [\n  {rows}\n ]\n}}\n')
    return Path(path)


def read_cycle_stimulus(path: str | Path) -> CycleStimulus:
    """The file checked against its schema; a bad one is one line naming the file and field."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise HadamhwError(f"{path}: no such stimulus file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HadamhwError(f"{path}: not a JSON stimulus file ({exc})") from None
    problem = first_error("cycle_stimulus", doc)
    if problem is not None:
        field, message = problem
        raise HadamhwError(f"{path}: field '{field or '(document)'}' {message}")
    cex = doc.get("counterexample")
    return CycleStimulus(
        design_id=doc["design_id"], top=doc.get("top", ""),
        counterexample=Counterexample(**cex) if cex is not None else None,
        cycles=tuple(CycleInput(c["rst"], c["s_axis_tvalid"], tuple(c["s_axis_tdata"]),
                                c["s_axis_tlast"], c["m_axis_tready"], c.get("s_axis_tid", 0))
                     for c in doc["cycles"]))


def _short(design_id: str | None) -> str:
    return "none (a manifest without design_id)" if design_id is None else design_id[:12] + "..."


def check_for_design(stim: CycleStimulus, path: str | Path, design_id: str | None,
                     ir: IntegerRNN, streams: int = 1) -> None:
    """The stimulus must be this design's (its id) and fit its input port."""
    if stim.design_id != design_id:
        raise HadamhwError(f"{path}: field 'design_id' names design {_short(stim.design_id)}, "
                           f"not this design ({_short(design_id)}): replay it on the design "
                           "it was written for")
    words = 1 if ir.input.kind == "token" else ir.input.size
    lo, hi = ir.input.range()
    for k, c in enumerate(stim.cycles):
        where = f"{path}: field 'cycles[{k}]"
        if len(c.s_axis_tdata) != words:
            raise HadamhwError(f"{where}.s_axis_tdata' must have {words} word(s), got "
                               f"{len(c.s_axis_tdata)}")
        bad = next((j for j, v in enumerate(c.s_axis_tdata) if not lo <= v <= hi), None)
        if bad is not None:
            raise HadamhwError(f"{where}.s_axis_tdata[{bad}]' must lie in [{lo}, {hi}] (what "
                               f"the input port carries), got {c.s_axis_tdata[bad]}")
        if c.s_axis_tid >= streams:
            raise HadamhwError(f"{where}.s_axis_tid' must be below {streams} (the design's "
                               f"streams), got {c.s_axis_tid}")
