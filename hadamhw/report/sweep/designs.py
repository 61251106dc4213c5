"""A sweep's designs: fixed-seed random IRs, generated in-process through hadamhw.design."""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN

if TYPE_CHECKING:
    from hadamhw.report.synth import Design

def sweep_ir(n: int, m: int, seed: int = 0, **kwargs) -> IntegerRNN:
    """The sweeps' fixed-seed random IR (hadamhw.ir.random): by default 4-bit weights,
    12-bit state, 3 four-bit inputs, 5 outputs, readout every step, lean requantization."""
    from hadamhw.ir.random import random_ir

    settings = {"state_bits": 12, "weight_bits": 4, "readout": "every", "requant": "lean",
                **kwargs}
    return random_ir(np.random.default_rng(seed), n, m, **settings)


def generate_design(ir: IntegerRNN, folder: str | Path, **options) -> dict:
    """Generate the Verilog design of `ir` into `folder` (the sweep's own folder: replaced
    whole) with hadamhw.backends.GenerateOptions' options; its manifest."""
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import render_design, write_design

    settings = GenerateOptions(**options)
    settings.validate()
    write_design(render_design(ir, "verilog", settings), folder, force=True)
    return design_manifest(folder)


def design_manifest(folder: str | Path) -> dict:
    from hadamhw.design import read_design

    return read_design(folder).manifest


def whole_design(folder: str | Path) -> Design:
    """A generated design folder as synthesis reads it: the one place the sweeps read a
    design folder's HDL file list (hadamhw.report.synth.load_design)."""
    from hadamhw.report.synth import load_design

    return load_design(folder)


def hdl_files(design: Design) -> dict[str, bytes]:
    """A synthesis design's HDL files, name -> content, in compile order."""
    return {path.name: path.read_bytes() for path in design.hdl_files}


def design_hdl(folder: str | Path) -> dict[str, bytes]:
    """A generated design's HDL files, name -> content, in compile order."""
    return hdl_files(whole_design(folder))


def render_design(ir: IntegerRNN, **options) -> tuple[dict, dict[str, bytes]]:
    """Manifest and HDL files of a design, generated into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="hadamhw-sweep-") as tmp:
        manifest = generate_design(ir, Path(tmp) / "design", **options)
        return manifest, design_hdl(Path(tmp) / "design")


def parse_pairs(text: str, flag: str = "--configs") -> list[tuple[int, int]]:
    """'16:4,64:n' as (n, m) pairs; m = 'n' (or nothing) means m = n."""
    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        n_text, _, m_text = item.partition(":")
        try:
            n = int(n_text)
            out.append((n, n if m_text in ("n", "") else int(m_text)))
        except ValueError:
            raise HadamhwError(f"{flag}: {item!r} is not N:M") from None
    return out


def parse_list(text: str, flag: str, what: str, choices: tuple[str, ...]) -> list[str]:
    """A comma-separated list of choices ('1,auto'); an unknown one is a one-line error."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    for bad in (item for item in items if item not in choices):
        raise HadamhwError(f"{flag}: unknown {what} {bad!r}; choose from {', '.join(choices)}")
    return items


def uptime() -> str:
    """The machine's load, recorded beside every timing (the machines are shared)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def hdl_design(folder: str | Path, files: list[Path], top: str,
               ports: list[dict] | None = None) -> Design:
    """A design for synthesis made of some files of a folder (a module of a generated design,
    or a file a sweep wrote), with the ports the place-and-route wrapper reads."""
    from hadamhw.report.synth import HdlSources

    return HdlSources(Path(folder), {"ports": ports} if ports else {}, files, top)


def core_design(folder: str | Path, manifest: dict, top: str) -> Design:
    """The recurrent core `<top>_rotate` of a generated design alone: combinational, ports h
    (the state) and r (the rotated state)."""
    from hadamhw.report import rotate_module

    n, w = manifest["hidden_size"], manifest["widths"]
    ports = [{"name": "h", "direction": "input", "width": n * w["state"]},
             {"name": "r", "direction": "output", "width": n * w["rotated"]}]
    return hdl_design(folder, [Path(folder) / f"{top}_rotate.v"], rotate_module(top), ports)


def dense_row_patterns(ir: IntegerRNN, top: str) -> int:
    """How many row modules the dense core has (rows with equal coefficients share one)."""
    from hadamhw.backends.verilog_dense import dense_rotate_context

    return len(dense_rotate_context(ir, top)["row_modules"])


def dense_row_chunks(ir: IntegerRNN, top: str, size: int) -> list[tuple[str, str, dict]]:
    """The dense core's row modules, `size` at a time, each chunk as a Verilog module of its
    own, rendered from the dense baseline's template: (module, text, {row module: the
    number of rows of the core that instantiate it})."""
    from hadamhw.backends import render_template, template_environment
    from hadamhw.backends.verilog_dense import dense_rotate_context
    from hadamhw.resources import templates_dir

    env = template_environment(templates_dir() / "verilog")
    ctx = dense_rotate_context(ir, top)
    uses = Counter(inst["module"] for inst in ctx["instances"])
    block_bits, row_bits = ir.block_size * ir.widths.state, ir.widths.rotated
    chunks = []
    for c in range(0, len(ctx["row_modules"]), size):
        rows = ctx["row_modules"][c:c + size]
        name = f"{top}_rows_chunk{c // size}"
        instances = [{"row": i, "module": row["name"],
                      "h": f"h[{(i + 1) * block_bits - 1}:{i * block_bits}]",
                      "r": f"r[{(i + 1) * row_bits - 1}:{i * row_bits}]"}
                     for i, row in enumerate(rows)]
        chunk = {**ctx, "top": name, "row_modules": rows, "instances": instances,
                 "state_msb": len(rows) * block_bits - 1, "rotated_msb": len(rows) * row_bits - 1}
        text = render_template(env, "rotate_dense.v.j2", chunk)
        chunks.append((f"{name}_rotate", text, {row["name"]: uses[row["name"]] for row in rows}))
    return chunks


def configurations(sizes: list[int], blocks: list[str]) -> list[tuple[int, int]]:
    """The (n, m) grid: every block size m <= n ('n' means m = n)."""
    return [(n, m) for n in sizes
            for m in sorted({n if b == "n" else int(b) for b in blocks}) if m <= n]


def grid(sizes: str, blocks: str, pairs: str | None = None,
         extra_sizes: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """The (n, m) configurations: `pairs` ('16:4,128:n') if given, else every block size
    m <= n of every size ('n' means m = n)."""
    if pairs:
        return parse_pairs(pairs, "--pairs")
    try:
        ns = list(dict.fromkeys([int(s) for s in sizes.split(",") if s] + list(extra_sizes)))
        return configurations(ns, [b.strip() for b in blocks.split(",") if b.strip()])
    except ValueError:
        raise HadamhwError(f"--sizes / --blocks: expected integers, got {sizes!r} / "
                           f"{blocks!r}") from None
