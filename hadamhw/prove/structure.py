"""Unbounded equivalence of the generated core and the spec's core, with the arithmetic
blocks as shared black boxes (Yosys `equiv_make`, `equiv_simple`, `equiv_status -assert`).

The spec's core is rendered to instantiate the design's own block modules (u_rotate,
u_update, u_readout, the same ports); both cores are read together, the block modules made
black boxes, the memories mapped to registers. `equiv_make -inames` pairs the registers and
wires of the same name (the spec names its registers as the core does), merges the two
instances of each block into one, and `equiv_simple` proves every pair equal one cycle on
from equal pairs: an induction over all cycles, with nothing arithmetic left inside it (the
blocks are proved on their own: hadamhw.prove.printed, equivalence.rotation_module).
"""

from __future__ import annotations

from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.prove.harness import DesignView, copy_design
from hadamhw.prove.spec import BLOCKS, render_spec
from hadamhw.prove.yosys import run_yosys

PREPARE = ("proc", "memory -nomap", "memory_map", "opt_clean")


def block_modules(top: str) -> list[str]:
    return [f"{top}_{b}" for b in BLOCKS]


def write_structure(view: DesignView, work: Path) -> tuple[list[Path], list[str]]:
    """The design's files and the spec's core next to them; (files, the Yosys script)."""
    files = copy_design(view, work)
    spec = f"{view.top}_spec"
    core = work / f"{spec}_core.v"
    core.write_text(render_spec(view.ir, spec, block_prefix=view.top, bodies=False))
    files.append(core)
    script = [f"read_verilog -sv {' '.join(f.name for f in files)}", "hierarchy -check",
              *PREPARE[:1], f"blackbox {' '.join(block_modules(view.top))}", *PREPARE[1:],
              f"equiv_make -inames {view.top} {spec} {view.top}_equiv",
              f"hierarchy -top {view.top}_equiv", "equiv_simple", "equiv_status -assert"]
    return files, script


def unproven(log: str) -> str:
    """The first unproven pairs Yosys names, for the message."""
    pairs = [ln.split(": ", 1)[-1].strip() for ln in log.splitlines()
             if "Unproven $equiv" in ln]
    return "; ".join(pairs[:3])


def check_structure(view: DesignView, work: Path, timeout: int) -> str:
    """'' when the two cores are equal for all cycles, else what stayed unproven."""
    files, script = write_structure(view, work)
    try:
        run_yosys(script[:-1] + ["tee -o status.txt equiv_status", script[-1]], work, files,
                  "equiv_status", timeout=timeout)
    except HadamhwError as exc:
        status = work / "status.txt"
        pairs = unproven(status.read_text()) if status.exists() else ""
        return f"{exc}" + (f"; unproven (gold, gate): {pairs}" if pairs else "")
    return ""
