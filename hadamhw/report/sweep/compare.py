"""The butterfly (FWHT) against the dense recurrent core: the sweep_hw table and plot.

A row of the sweep holds, per core ("fwht", "dense"), the synthesis numbers of the core
alone ("core") and of the whole design ("total", absent with --cores-only), and where they
were placed, "pnr_core" / "pnr_whole"; beside them the analytical adder counts
(cores.table_records composes such rows from a sweep's trials).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hadamhw.ir.schema import IntegerRNN
from hadamhw.report import morgenstern_bound, rotate_module
from hadamhw.report.sweep.designs import dense_row_chunks, hdl_design
from hadamhw.report.sweep.tables import markdown_table
from hadamhw.report.synth import Resources, synthesize

if TYPE_CHECKING:
    from hadamhw.report.synth import Design


def synth_numbers(design: Design, family: str, build: Path, *, top: str, progress: bool = False,
                  timeout: float | None = None, lut_mapper: str | None = None) -> dict:
    """Resources of a design (hierarchical synthesis): the whole ("total"), its recurrent
    core ("core") and, for the whole design, its top module's own cells ("top_own")."""
    res = synthesize(design, family, build, progress=progress, timeout=timeout,
                     lut_mapper=lut_mapper)
    out = {"total": res.total.to_dict(), "seconds_synth": round(res.seconds, 1)}
    if (core := res.module(rotate_module(top))) is not None:
        out["core"] = core.total.to_dict()
    if (own := res.module(top)) is not None and design.top == top:
        out["top_own"] = own.own.to_dict()
    return out


def dense_core_in_chunks(ir: IntegerRNN, family: str, build: Path, *, top: str, chunk: int,
                         progress: bool = False, timeout: float | None = None,
                         lut_mapper: str | None = None) -> dict:
    """The dense core's resources, its row modules synthesized `chunk` at a time. Each row
    module keeps its hierarchy, so its numbers do not depend on what else is in the run; the
    core's total is the sum over its rows."""
    total, seconds = Resources(), 0.0
    chunks = dense_row_chunks(ir, top, chunk)
    for module, text, uses in chunks:
        folder = build / module
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{module}.v").write_text(text)
        res = synthesize(hdl_design(folder, [folder / f"{module}.v"], module), family,
                         folder / "build", progress=progress, timeout=timeout,
                         lut_mapper=lut_mapper)
        seconds += res.seconds
        for name, count in uses.items():
            total.add(res.module(name).total, count)
    return {"total": total.to_dict(), "core": total.to_dict(),
            "seconds_synth": round(seconds, 1), "chunks": len(chunks)}


# the dense design's manifest fields a row keeps (its adders include the dense core's)
MANIFEST_KEYS = ("cycles_per_step", "weight_storage_bits", "adders_per_step", "adder_bits",
                 "readout_cycles", "requant", "state_bits")


def analytical_row(ir: IntegerRNN, fwht: dict, dense: dict) -> dict:
    """A configuration's analytical numbers, from the manifests of its two designs."""
    n, m = ir.hidden_size, ir.block_size
    return {"n": n, "m": m, "k": ir.k, "morgenstern": morgenstern_bound(n, m),
            **{key: dense[key] for key in MANIFEST_KEYS},
            "adders_fwht": fwht["adders_per_step"]["recurrent"],
            "adders_total_fwht": fwht["adders_per_step"]["total"],
            "adders_dense": dense["adders_per_step"]["recurrent"],
            "adders_total_dense": dense["adders_per_step"]["total"]}


def _fmax(entry: dict | None) -> float | None:
    if not entry or entry.get("status") != "routed":
        return None
    return entry.get("fmax_mhz")


def table_rows(rows: list[dict]) -> list[dict]:
    """The numbers of each sweep row that the table, the CSV and the plot show."""
    out = []
    for r in rows:
        f, d = r["fwht"], r["dense"]
        core_f, core_d = f["core"]["lut_equivalents"], d["core"]["lut_equivalents"]
        whole = "total" in f  # absent with --cores-only
        whole_f = f["total"]["lut_equivalents"] if whole else None
        whole_d = d["total"]["lut_equivalents"] if whole else None
        fmax_cf, fmax_cd = _fmax(f.get("pnr_core")), _fmax(d.get("pnr_core"))
        fmax_wf, fmax_wd = _fmax(f.get("pnr_whole")), _fmax(d.get("pnr_whole"))
        out.append({
            "n": r["n"], "m": r["m"],
            "adders_fwht": r["adders_fwht"], "morgenstern": r["morgenstern"],
            "adders_over_bound": r["adders_fwht"] / r["morgenstern"],
            "adders_dense": r["adders_dense"],
            "core_luts_fwht": core_f, "core_luts_dense": core_d,
            "core_ratio": core_d / core_f if core_f else None,
            "core_carry_fwht": f["core"]["carry"], "core_carry_dense": d["core"]["carry"],
            "whole_luts_fwht": whole_f, "whole_luts_dense": whole_d,
            "whole_ratio": whole_d / whole_f if whole_f else None,
            "whole_ffs": f["total"]["ffs"] if whole else None,
            "whole_ffs_dense": d["total"]["ffs"] if whole else None,
            "mul_cells": (f["total"] if whole else f["core"])["mul"]
            + (d["total"] if whole else d["core"])["mul"],
            "fmax_core_fwht": fmax_cf, "fmax_core_dense": fmax_cd,
            "fmax_whole_fwht": fmax_wf, "fmax_whole_dense": fmax_wd,
            "cycles_per_step": r["cycles_per_step"],
            "steps_per_s_fwht": None if fmax_wf is None else fmax_wf * 1e6 / r["cycles_per_step"],
            "synth_s_whole_fwht": f.get("seconds"), "synth_s_core_dense": d.get("seconds_synth"),
            # the datapath around the core: adders of input / requant / readout, the sum of
            # their widths (an analytical LUT-equivalent estimate), serial readout cycles
            "datapath_adders": _parts(r.get("adders_per_step")),
            "datapath_adder_bits": (r.get("adder_bits") or {}).get("total"),
            "readout_cycles": r.get("readout_cycles"),
        })
    return out


def _parts(adders: dict | None) -> str | None:
    if not adders:
        return None
    return "/".join(str(adders[k]) for k in ("input", "requant", "readout"))


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


MD_COLUMNS = [
    ("n", "n", 0), ("m", "m", 0),
    ("FWHT adders n·log2 m", "adders_fwht", 0), ("Morgenstern (n/2)·log2 m", "morgenstern", 0),
    ("adders / bound", "adders_over_bound", 2), ("dense adders n·(m−1)", "adders_dense", 0),
    ("core LUT eq. FWHT", "core_luts_fwht", 0), ("core LUT eq. dense", "core_luts_dense", 0),
    ("core ratio dense/FWHT", "core_ratio", 1),
    ("whole LUT eq. FWHT", "whole_luts_fwht", 0), ("whole LUT eq. dense", "whole_luts_dense", 0),
    ("whole ratio", "whole_ratio", 2), ("whole FFs", "whole_ffs", 0), ("$mul", "mul_cells", 0),
    ("core Fmax FWHT (MHz)", "fmax_core_fwht", 1), ("core Fmax dense (MHz)", "fmax_core_dense", 1),
    ("whole Fmax FWHT (MHz)", "fmax_whole_fwht", 1),
    ("whole Fmax dense (MHz)", "fmax_whole_dense", 1), ("cycles / step", "cycles_per_step", 0),
    ("datapath adders in/rq/ro", "datapath_adders", 0),
    ("datapath adder bits", "datapath_adder_bits", 0),
]


def markdown(table: list[dict], family: str, command: str) -> str:
    """The table of docs/hardware-cost.md, with the family and the command above it."""
    cells = [[_cell(float(row[key]) if digits and row[key] is not None else row[key], digits)
              for _, key, digits in MD_COLUMNS] for row in table]
    return (f"Family: {family}. Command: `{command}`\n\n"
            + markdown_table([c for c, _, _ in MD_COLUMNS], cells))


def plot(table: list[dict], family: str, path: Path) -> None:
    """Six panels against n: LUTs of cores and whole designs, their ratio, flip-flops, Fmax
    and the adder counts."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = sorted({(r["m"] if r["m"] != r["n"] else 0) for r in table})
    label = {b: ("m = n" if b == 0 else f"m = {b}") for b in blocks}

    def series(b: int) -> list[dict]:
        return [r for r in table if (r["m"] if r["m"] != r["n"] else 0) == b]

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = [
        (axes[0, 0], "recurrent core: LUT equivalents", "core_luts_fwht", "core_luts_dense",
         True),
        (axes[0, 1], "whole design: LUT equivalents", "whole_luts_fwht", "whole_luts_dense",
         True),
        (axes[0, 2], "LUT ratio dense / FWHT", "core_ratio", "whole_ratio", False),
        (axes[1, 0], "whole design: flip-flops", "whole_ffs", "whole_ffs_dense", True),
        (axes[1, 1], "Fmax (MHz), place and route", "fmax_core_fwht", "fmax_core_dense",
         False),
    ]
    for ax, title, key_a, key_b, logy in panels:
        for i, b in enumerate(blocks):
            rows = series(b)
            ns = [r["n"] for r in rows]
            color = f"C{i}"
            names = (("FWHT", "dense") if "ratio" not in title else ("core", "whole"))
            ya = [r[key_a] for r in rows]
            yb = [r[key_b] for r in rows]
            if any(v is not None for v in ya):
                ax.plot(ns, [np.nan if v is None else v for v in ya], "o-", color=color,
                        label=f"{names[0]}, {label[b]}")
            if any(v is not None for v in yb):
                ax.plot(ns, [np.nan if v is None else v for v in yb], "s--", color=color,
                        label=f"{names[1]}, {label[b]}")
        if "Fmax" in title:
            for i, b in enumerate(blocks):
                rows = series(b)
                ys = [r["fmax_whole_fwht"] for r in rows]
                if any(v is not None for v in ys):
                    ax.plot([r["n"] for r in rows], [np.nan if v is None else v for v in ys],
                            "^:", color=f"C{i}", label=f"whole FWHT, {label[b]}")
        ax.set_xscale("log", base=2)
        if logy:
            ax.set_yscale("log")
        if "ratio" in title:
            ax.axhline(10, color="grey", lw=0.8, ls=":")
        ax.set_title(title)
        ax.set_xlabel("hidden size n")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    ax = axes[1, 2]
    for i, b in enumerate(blocks):
        rows = series(b)
        ax.plot([r["n"] for r in rows], [r["adders_fwht"] for r in rows], "o-", color=f"C{i}",
                label=f"FWHT adders, {label[b]}")
        ax.plot([r["n"] for r in rows], [r["morgenstern"] for r in rows], "x:", color=f"C{i}",
                label=f"Morgenstern bound, {label[b]}")
        ax.plot([r["n"] for r in rows], [r["adders_dense"] for r in rows], "s--",
                color=f"C{i}", label=f"dense adders, {label[b]}")
    cycles = sorted({r["cycles_per_step"] for r in table})
    ax.set_title(f"adders per step (cycles per step: {', '.join(map(str, cycles))})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden size n")
    ax.legend(fontsize=7)
    fig.suptitle(f"hadamhw: butterfly (FWHT) vs dense recurrent core, {family}, Yosys")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_present(table: list[dict]) -> str:
    """The table's columns that its rows hold (records of older runs lack the datapath
    columns), without the family and command line (the docs name them beside the table)."""
    columns = [c for c in MD_COLUMNS if table and c[1] in table[0]]
    cells = [[_cell(float(row[key]) if digits and row[key] is not None else row[key], digits)
              for _, key, digits in columns] for row in table]
    return markdown_table([c for c, _, _ in columns], cells)
