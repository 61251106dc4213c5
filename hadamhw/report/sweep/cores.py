"""The recurrent core `<top>_rotate` as a trial measures it (`[fpga] hierarchy`), and the
sweep_hw table composed from such trials.

- hierarchy = "whole" (the default): the whole design, synthesized hierarchically; the
  record keeps the core's cells ("core") and the top module's own cells ("top_own") beside
  the total.
- hierarchy = "core": the core alone (ports h, r), its row modules `CHUNK` at a time where
  the dense core has more (compare.dense_core_in_chunks), placed when the trial places.

The sweep_hw table pairs a model's trials: the FWHT design whole (its total, core, top's
own cells, its Fmax), the FWHT core alone (its Fmax), the dense core alone; the dense
total is the FWHT top's own cells plus the dense core, or a whole dense design's where one
was measured.
"""

from __future__ import annotations

import time
from pathlib import Path

HIERARCHIES = ("whole", "core")
CHUNK = 32  # dense row modules per Yosys run


def whole_cells(report: dict) -> dict:
    """The core's and the top module's own cells of a whole design's hierarchical report."""
    from hadamhw.report import rotate_module

    modules = {m["name"]: m for m in report.get("modules") or []}
    core, top = modules.get(rotate_module(report["top"])), modules.get(report["top"])
    return {"core": core["total"] if core else None, "top_own": top["own"] if top else None}


def measure_core(fpga: dict, folder: Path, manifest: dict) -> dict:
    """The recurrent core of the design in folder/rtl alone: its cells (a trial's record)
    and, where the trial places, its place and route."""
    from hadamhw.design import DesignFolder
    from hadamhw.report import analytical
    from hadamhw.report.sweep.compare import dense_core_in_chunks, synth_numbers
    from hadamhw.report.sweep.designs import core_design, dense_row_patterns

    top, build, started = manifest["top"], folder / "build", time.monotonic()
    design = core_design(folder / "rtl", manifest, top)
    tools = {"timeout": fpga.get("timeout"), "lut_mapper": fpga.get("lut_mapper")}
    ir = DesignFolder(folder / "rtl").ir
    if manifest["recurrent"] == "dense" and dense_row_patterns(ir, top) > CHUNK:
        synth = dense_core_in_chunks(ir, fpga["family"], build / "chunks", top=top,
                                     chunk=CHUNK, **tools)
    else:
        synth = synth_numbers(design, fpga["family"], build / "core", top=top, **tools)
    total, placed = synth["total"], place_core(design, fpga, build)
    return {"hierarchy": "core", "core": total, "lut_equivalents": total["lut_equivalents"],
            "luts": total["luts"], "ffs": total["ffs"], "memory_bits": total["memory_bits"],
            "mul_cells": total["mul"], "seconds_synth": synth["seconds_synth"],
            "family": fpga["family"], "analytical": analytical(manifest),
            "recurrent": manifest["recurrent"], "pnr": placed,
            "fmax_mhz": (placed or {}).get("fmax_mhz"),
            "cycles_per_step": manifest["cycles_per_step"],
            "seconds": round(time.monotonic() - started, 1)}


def place_core(design, fpga: dict, build: Path) -> dict | None:
    if not fpga.get("pnr"):
        return None
    from hadamhw.report.pnr import (
        DEFAULT_FREQ_MHZ,
        DEFAULT_PLACER,
        DEFAULT_ROUTER,
        place_and_route,
    )

    result = place_and_route(design, fpga["family"], build / "pnr-core",
                             freq_mhz=fpga.get("freq_mhz") or DEFAULT_FREQ_MHZ,
                             progress=False, timeout=fpga.get("timeout"),
                             seed=fpga.get("pnr_seed", 1), device=fpga.get("device"),
                             router=fpga.get("router") or DEFAULT_ROUTER,
                             placer=fpga.get("placer") or DEFAULT_PLACER,
                             lut_mapper=fpga.get("lut_mapper"))
    return {k: v for k, v in result.to_dict().items() if k != "log"}


def trial_part(row: dict) -> tuple[str, str, str]:
    """(model, recurrent core, hierarchy) of a finished trial."""
    params = row["params"]
    return (params["model"]["name"], params["generate"].get("recurrent", "fwht"),
            params["fpga"].get("hierarchy", "whole"))


def compose(parts: dict[tuple[str, str], dict]) -> dict | None:
    """One table row (compare.table_rows' form) of a model's records by (recurrent,
    hierarchy); None where the FWHT or the dense core was not measured."""
    f_whole, f_core = parts.get(("fwht", "whole")), parts.get(("fwht", "core"))
    d_whole, d_core = parts.get(("dense", "whole")), parts.get(("dense", "core"))
    f_rec, d_rec = f_whole or f_core, d_core or d_whole
    if f_rec is None or d_rec is None or not f_rec.get("core") or not d_rec.get("core"):
        return None
    fwht = {"core": f_rec["core"], "pnr_core": (f_core or {}).get("pnr")}
    dense = {"core": d_rec["core"], "pnr_core": (d_core or {}).get("pnr"),
             "seconds_synth": d_rec.get("seconds_synth")}
    if f_whole is not None and f_whole.get("top_own"):
        own = f_whole["top_own"]
        fwht.update(total=f_whole["total"], top_own=own, pnr_whole=f_whole.get("pnr"))
        dense["total"] = (d_whole or {}).get("total") or {
            k: own[k] + d_rec["core"][k] for k in own if isinstance(own[k], int)}
        dense["pnr_whole"] = (d_whole or {}).get("pnr")
    return {**analytic_columns(f_rec["analytical"], d_rec["analytical"]),
            "fwht": fwht, "dense": dense}


def analytic_columns(fwht: dict, dense: dict) -> dict:
    """The analytical numbers of a row, from its two designs' manifests."""
    n, m = fwht["hidden_size"], fwht["block_size"]
    return {"n": n, "m": m, "morgenstern": fwht["morgenstern_bound"],
            "cycles_per_step": dense["cycles_per_step"],
            "adders_per_step": dense["adders_per_step"], "adder_bits": dense["adder_bits"],
            "readout_cycles": dense["readout_cycles"],
            "adders_fwht": fwht["adders_per_step"]["recurrent"],
            "adders_dense": dense["adders_per_step"]["recurrent"]}


def table_records(rows: list[dict]) -> list[dict]:
    """The table's rows (compare.table_rows) of a sweep's finished trials, in model order."""
    from hadamhw.report.sweep.compare import table_rows

    models: dict[str, dict] = {}
    for row in rows:
        model, recurrent, hierarchy = trial_part(row)
        models.setdefault(model, {})[(recurrent, hierarchy)] = row["record"]
    composed = [compose(parts) for parts in models.values()]
    return table_rows([row for row in composed if row is not None])
