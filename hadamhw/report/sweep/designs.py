"""A sweep's designs: fixed-seed random IRs, generated in-process through hadamhw.api."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN

# what hadamhw.api.generate does not take yet: generated through the backend (see below)
BACKEND_ONLY = {"cmvm": "da4ml", "readout_lanes": None}


def sweep_ir(n: int, m: int, seed: int = 0, **kwargs) -> IntegerRNN:
    """The sweeps' fixed-seed random IR (hadamhw.ir.random): by default 4-bit weights,
    12-bit state, 3 four-bit inputs, 5 outputs, readout every step, lean requantization."""
    from hadamhw.ir.random import random_ir

    settings = {"state_bits": 12, "weight_bits": 4, "readout": "every", "requant": "lean",
                **kwargs}
    return random_ir(np.random.default_rng(seed), n, m, **settings)


def generate_design(ir: IntegerRNN, folder: str | Path, **options) -> dict:
    """Generate the Verilog design of `ir` into `folder` (hadamhw.api.generate's options:
    fold, recurrent, top, streams, pipeline, target_mhz); its manifest."""
    extra = {k: options.pop(k) for k in BACKEND_ONLY if k in options}
    if any(extra[k] != BACKEND_ONLY[k] for k in extra):
        # --cmvm csd and --readout-lanes have no keyword in hadamhw.api.generate yet: this is
        # the one place that asks the backend; it goes once the API takes them
        from hadamhw.backends import GenerateOptions, get_backend

        get_backend("verilog").generate(ir, Path(folder), GenerateOptions(**options, **extra))
        return design_manifest(folder)
    from hadamhw.api import generate

    return generate(ir, folder, **options).manifest


def design_manifest(folder: str | Path) -> dict:
    from hadamhw.api import open_design

    return open_design(folder).manifest


def design_hdl(folder: str | Path) -> dict[str, bytes]:
    """A generated design's HDL files, name -> content, in compile order: the one place the
    sweeps read a design folder's file list (hadamhw.report.synth.load_design)."""
    from hadamhw.report.synth import load_design

    design = load_design(folder)
    return {path.name: path.read_bytes() for path in design.hdl_files}


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


def uptime() -> str:
    """The machine's load, recorded beside every timing (the machines are shared)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
