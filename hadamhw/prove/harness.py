"""The rendered checks around a generated design: the miter of design and spec, the
AXI4-Stream wrapper of the design alone, each written into a work folder with its files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hadamhw.backends import render_template, template_environment
from hadamhw.ir.schema import IntegerRNN
from hadamhw.prove.spec import argmax_bits, render_spec, spec_context
from hadamhw.resources import templates_dir


@dataclass(frozen=True)
class DesignView:
    """What the checks need to know of a generated design folder."""

    folder: Path
    top: str
    hdl_files: tuple[str, ...]
    latency: int
    ir: IntegerRNN


def port_context(view: DesignView) -> dict:
    ir = view.ir
    inp = ir.input
    in_bits = inp.bits if inp.kind == "token" else inp.bits * inp.size
    return {"top": view.top, "in_bits": in_bits, "out_bits": ir.widths.output * ir.output_size,
            "word_bits": ir.widths.output, "d_out": ir.output_size,
            "argmax_bits": argmax_bits(ir.output_size), "every": ir.readout == "every",
            "latency": view.latency}


def copy_design(view: DesignView, work: Path) -> list[Path]:
    """The design's HDL files copied into `work` (sby reads them from there)."""
    work.mkdir(parents=True, exist_ok=True)
    out = []
    for name in view.hdl_files:
        shutil.copyfile(view.folder / name, work / name)
        out.append(work / name)
    return out


def write_miter(view: DesignView, work: Path) -> tuple[list[Path], str]:
    """Spec and miter next to the design's files; (files, top module)."""
    files = copy_design(view, work)
    spec = f"{view.top}_spec"
    (work / f"{spec}.v").write_text(render_spec(view.ir, spec))
    env = template_environment(templates_dir() / "prove")
    ctx = {**port_context(view), "module": f"{view.top}_miter", "spec": spec}
    (work / f"{view.top}_miter.sv").write_text(render_template(env, "miter.v.j2", ctx))
    return files + [work / f"{spec}.v", work / f"{view.top}_miter.sv"], f"{view.top}_miter"


def write_axi(view: DesignView, work: Path) -> tuple[list[Path], str]:
    """The AXI4-Stream rules wrapper next to the design's files; (files, top module)."""
    files = copy_design(view, work)
    env = template_environment(templates_dir() / "prove")
    ctx = {**port_context(view), "module": f"{view.top}_axi"}
    (work / f"{view.top}_axi.sv").write_text(render_template(env, "axi.v.j2", ctx))
    return files + [work / f"{view.top}_axi.sv"], f"{view.top}_axi"


def write_rotation(view: DesignView, work: Path) -> tuple[list[Path], str]:
    """The rotation module against the IR's rotation, next to the design's files."""
    files = copy_design(view, work)
    rotate = [f for f in files if f.name == f"{view.top}_rotate.v"]
    env = template_environment(templates_dir() / "prove")
    ctx = {**spec_context(view.ir, view.top), "module": f"{view.top}_rotcheck", "top": view.top}
    (work / f"{view.top}_rotcheck.sv").write_text(render_template(env, "rotate.v.j2", ctx))
    return rotate + [work / f"{view.top}_rotcheck.sv"], f"{view.top}_rotcheck"


def core_registers(view: DesignView) -> list[dict]:
    """The single-cycle core's registers (as Yosys's `expose -dff` names them): port name,
    a plain alias, width, FIFO slot (None for the others)."""
    ir = view.ir
    beat = ir.widths.output * ir.output_size + argmax_bits(ir.output_size) + 1
    plain = [("h_q", ir.widths.state * ir.hidden_size), ("fresh_q", 1), ("rd_valid_q", 1),
             ("rd_last_q", 1), ("pending_q", 2), ("wr_ptr_q", 2), ("rd_ptr_q", 2)]
    regs = [{"port": name, "alias": name, "width": w, "slot": None} for name, w in plain]
    return regs + [{"port": f"\\fifo_q[{k}] ", "alias": f"fifo_q{k}", "width": beat, "slot": k}
                   for k in range(4)]


INDUCTION_SCRIPT = ("proc", "memory -nomap", "memory_map", "opt_clean")


def write_induction(view: DesignView, work: Path) -> tuple[list[Path], str, list[str]]:
    """Spec and the induction miter next to the design's files; (files, top, the Yosys
    commands that prepare them: registers exposed as ports before the miter is read)."""
    files = copy_design(view, work)
    spec = f"{view.top}_spec"
    (work / f"{spec}.v").write_text(render_spec(view.ir, spec))
    env = template_environment(templates_dir() / "prove")
    ctx = {**port_context(view), "module": f"{view.top}_induct", "spec": spec,
           "registers": core_registers(view)}
    miter = work / f"{view.top}_induct.sv"
    miter.write_text(render_template(env, "miter_induct.v.j2", ctx))
    names = " ".join(f.name for f in files) + f" {spec}.v"
    script = [f"read_verilog -sv -formal {names}", *INDUCTION_SCRIPT,
              f"expose -dff {view.top} {spec}", f"read_verilog -sv -formal {miter.name}",
              f"prep -top {view.top}_induct"]
    return files + [work / f"{spec}.v", miter], f"{view.top}_induct", script
