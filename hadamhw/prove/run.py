"""`hadamhw prove`: every property of a generated design, each its own result.

Covered: the single-cycle design (fold parallel, one stream, no pipeline, FWHT rotation,
readout all at once). The properties:

- linear_map.state_update, linear_map.readout: the netlist's arithmetic blocks equal the
  IR's affine maps, coefficient by coefficient (hadamhw.prove.blocks): for all inputs;
- overflow.ir_widths: every netlist node that carries an IR quantity lies in its declared
  width; overflow.printed_netlist: the printed netlist declares every node's wire at least
  as wide as its interval; overflow.design_wires: so does the generated design for the
  quantities it names (both widths read from Yosys's JSON netlist);
- equivalence.rotation_module: the design's rotate module against s * FWHT_m(h) written
  from the IR, combinational, so for every state;
- equivalence.bmc: the design against the spec rendered from the IR, a miter with free
  inputs and back-pressure, bounded model checking from reset to `depth` cycles;
- equivalence.induction (on request): the same miter for all depths, by k-induction over
  the registers of both (Yosys's `expose -dff`), where the solver closes it;
- block.update, block.readout: the design's printed arithmetic blocks equal the IR's
  (coefficients by Yosys `eval`, wire widths, the tail by SAT: hadamhw.prove.printed);
- equivalence.unbounded: the design's core and the spec's core equal for all cycles, the
  blocks shared black boxes (hadamhw.prove.structure); with the blocks' own proofs, the
  design equals the spec for all depths;
- axi.rules: AXI4-Stream rules of the design alone, bounded model checking.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hadamhw.design import read_design_manifest
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist import single_cycle
from hadamhw.netlist.nodes import Netlist
from hadamhw.netlist.verilog import print_module
from hadamhw.prove import blocks, counterexample, printed, structure
from hadamhw.prove.harness import (
    DesignView,
    write_axi,
    write_induction,
    write_miter,
    write_rotation,
)
from hadamhw.prove.sby import SbyResult, check_tools, run_sby
from hadamhw.prove.spec import BLOCKS
from hadamhw.prove.yosys import wire_widths

AXI_DEPTH = 10  # cycles: the 4-slot FIFO fills, stalls and drains within it
INDUCTION_K = 2  # k of the k-induction (and the depth of its base case)


@dataclass
class PropertyResult:
    name: str
    status: str          # proved, failed, timeout, error
    scope: str           # "all inputs" (unbounded) or "bmc depth N from reset"
    seconds: float
    message: str = ""
    step: int | None = None
    trace: str = ""      # VCD of the counterexample
    stimulus: str = ""   # the counterexample as a cycle stimulus (hadamhw.prove.counterexample)
    replay: str = ""     # the command that replays it

    def line(self) -> str:
        where = f" at step {self.step}" if self.step is not None else ""
        text = f"{self.name}: {self.status} ({self.scope}, {self.seconds:.1f} s){where}"
        return text + (f": {self.message}" if self.message else "") + \
            (f"; trace {self.trace}" if self.trace else "") + \
            (f"; replay: {self.replay}" if self.replay else "")


def design_view(folder: Path) -> tuple[DesignView, dict]:
    """The design folder's manifest and IR; refuses what prove does not cover yet."""
    man = read_design_manifest(folder, target="verilog", purpose="hadamhw prove",
                               fields=("top", "hdl_files", "latency_cycles", "cmvm"),
                               file_fields=("hdl_files", "ir"))
    if man.get("token_table"):
        raise HadamhwError(f"{folder}: hadamhw prove does not cover --token-table external "
                           "(the AXI4 read master); `hadamhw sim` checks it in cocotb")
    arch = (man.get("fold"), man.get("recurrent"), man.get("streams", 1),
            man.get("readout_lanes"), man.get("cycles_per_step"))
    if arch != ("parallel", "fwht", 1, None, 1) or man.get("pipeline") not in (None, "none"):
        raise HadamhwError(f"{folder}: hadamhw prove covers the single-cycle design only "
                           "(fold parallel, fwht, one stream, no pipeline, readout at once)")
    ir = IntegerRNN.load(folder / man["ir"])
    view = DesignView(folder, man["top"], tuple(man["hdl_files"]), int(man["latency_cycles"]), ir)
    return view, man


def _finding(name: str, check, *args) -> PropertyResult:
    start = time.monotonic()
    try:
        found = check(*args)
    except HadamhwError as exc:
        found = blocks.Finding(False, str(exc))
    status = "proved" if found.ok else "failed"
    return PropertyResult(name, status, "all inputs", time.monotonic() - start, found.message)


def block_properties(view: DesignView, nl: Netlist, work: Path) -> list[PropertyResult]:
    ir = view.ir
    out = [_finding("linear_map.state_update", blocks.check_state_update, nl, ir),
           _finding("linear_map.readout", blocks.check_readout, nl, ir),
           _finding("overflow.ir_widths", blocks.check_ir_quantities, nl, ir)]
    printed = work / "netlist" / "netlist_core.v"
    printed.parent.mkdir(parents=True, exist_ok=True)
    printed.write_text(print_module(nl, "netlist_core"))
    out.append(_finding("overflow.printed_netlist", lambda: blocks.compare_widths(
        blocks.node_widths(nl), wire_widths([printed], "netlist_core", printed.parent),
        "the printed netlist")))
    out.append(_finding("overflow.design_wires", lambda: blocks.compare_widths(
        blocks.design_wire_needs(nl), design_widths(view, work / "design"),
        f"design {view.top}")))
    return out


def design_widths(view: DesignView, work: Path) -> dict[str, int]:
    """The declared wire widths of the core and of its block modules, merged by name."""
    files = [view.folder / f for f in view.hdl_files]
    have: dict[str, int] = {}
    for module in [view.top] + [f"{view.top}_{b}" for b in BLOCKS if b != "rotate"]:
        have.update(wire_widths(files, module, work))
    return have


def printed_block_properties(view: DesignView, nl: Netlist, work: Path) -> list[PropertyResult]:
    """block.update, block.readout: each printed block against the IR, for all inputs."""
    out = []
    for kind, block in printed.design_blocks(view.ir, nl, view.top).items():
        files = [view.folder / f"{block.module}.v"]
        found, seconds = printed.prove_block(view.ir, nl, block, files, work / "blocks" / kind)
        out.append(PropertyResult(f"block.{kind}", "proved" if found.ok else "failed",
                                  "all inputs in the IR's ranges", seconds, found.message))
    return out


def unbounded_property(view: DesignView, work: Path, timeout: int) -> PropertyResult:
    """equivalence.unbounded: the cores equal for all cycles, the blocks shared."""
    start = time.monotonic()
    try:
        msg = structure.check_structure(view, work / "unbounded", timeout)
    except HadamhwError as exc:
        msg = str(exc)
    status = "timeout" if "timed out" in msg else "failed" if msg else "proved"
    return PropertyResult("equivalence.unbounded", status,
                          "all depths (blocks shared, proved separately)",
                          time.monotonic() - start, msg)


def _sby_property(name: str, res: SbyResult, scope: str, outputs: str) -> PropertyResult:
    status = {"pass": "proved", "fail": "failed"}.get(res.status, res.status)
    msg = res.detail
    if res.status == "fail":
        msg = f"assertion {res.assertion} ({outputs})"
    return PropertyResult(name, status, scope, res.seconds, msg, res.step, res.vcd)


def equivalence_property(view: DesignView, work: Path, depth: int, solver: str,
                         timeout: int) -> PropertyResult:
    files, top = write_miter(view, work / "equivalence")
    res = run_sby(work / "equivalence", "miter", files, top, depth=depth, solver=solver,
                  timeout=timeout)
    return _sby_property("equivalence.bmc", res, f"bmc depth {depth} from reset",
                         "design and spec differ there")


def induction_property(view: DesignView, work: Path, solver: str,
                       timeout: int) -> PropertyResult:
    """Unbounded equivalence: k-induction over the registers of design and spec."""
    files, top, script = write_induction(view, work / "induction")
    res = run_sby(work / "induction", "induct", files, top, mode="prove", depth=INDUCTION_K,
                  solver=solver, timeout=timeout, script=script)
    return _sby_property("equivalence.induction", res, f"all depths ({INDUCTION_K}-induction)",
                         "design and spec differ there")


def rotation_property(view: DesignView, work: Path, solver: str,
                      timeout: int) -> PropertyResult:
    files, top = write_rotation(view, work / "rotation")
    res = run_sby(work / "rotation", "rotation", files, top, depth=1, solver=solver,
                  timeout=timeout)
    return _sby_property("equivalence.rotation_module", res, "all inputs (combinational)",
                         "the rotate module differs from s * FWHT_m(h)")


def axi_property(view: DesignView, work: Path, solver: str, timeout: int) -> PropertyResult:
    files, top = write_axi(view, work / "axi")
    res = run_sby(work / "axi", "axi", files, top, depth=AXI_DEPTH, solver=solver,
                  timeout=timeout)
    return _sby_property("axi.rules", res, f"bmc depth {AXI_DEPTH} from reset",
                         "the design breaks this AXI4-Stream rule")


def prove(folder: str | Path, *, depth: int = 4, timeout: int = 600, solver: str = "yices",
          work: str | Path | None = None, induction: bool = False,
          unbounded: bool = True) -> list[PropertyResult]:
    """Every property of the design in `folder`; the sby/Yosys runs (and traces) go into
    `work` (default: `folder`/prove). induction: also try unbounded equivalence by
    k-induction (closes at n = 4; at n = 16 it does not within minutes); unbounded: the
    blocks' proofs and the cores' equivalence with the blocks shared (all depths)."""
    if depth < 1:
        raise HadamhwError(f"--depth {depth}: must be at least 1")
    check_tools(solver)
    view, man = design_view(Path(folder))
    work = Path(work) if work is not None else Path(folder) / "prove"
    work.mkdir(parents=True, exist_ok=True)
    nl = single_cycle.build(view.ir, man["cmvm"])
    results = block_properties(view, nl, work)
    results.append(rotation_property(view, work, solver, timeout))
    if unbounded:
        results += printed_block_properties(view, nl, work)
        results.append(unbounded_property(view, work, timeout))
    results.append(equivalence_property(view, work, depth, solver, timeout))
    if induction:
        results.append(induction_property(view, work, solver, timeout))
    results.append(axi_property(view, work, solver, timeout))
    for r in results:
        counterexample.attach(r, folder, view.ir, man.get("design_id"), view.top)
    counterexample.attach_rotation(results, view, work, solver, timeout, man.get("design_id"))
    return results


def report(results: list[PropertyResult]) -> dict:
    """The JSON report: proved when every property is."""
    return {"proved": all(r.status == "proved" for r in results),
            "properties": [asdict(r) for r in results]}
