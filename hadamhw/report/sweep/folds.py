"""The area-against-time table of docs/hardware-cost.md (tools/fold_cost.py, the fold_cost
sweep spec): the deep fold's butterfly units F placed and routed, one row a report."""

from __future__ import annotations

from hadamhw.report.sweep.results import report_choices
from hadamhw.report.sweep.tables import markdown_table

HEADER = ["config", "F", "device", "logic cells placed", "LUT eq. (synth)", "FFs (synth)",
          "block RAM placed", "vector + table bits", "DSP / $mul", "Fmax (MHz)", "cycles/step",
          "time/sequence", "sequences/s"]
ALIGN = ["---", "--:", "---", *["--:"] * 10]
CELLS = {"ice40": ("ICESTORM_LC", "ICESTORM_RAM"), "ecp5": ("TRELLIS_COMB", "DP16KD")}


def table_row(rep: dict, plan: dict | None = None) -> dict:
    """A report's numbers as the table shows them; plan: the design's fold plan (its RAM and
    ROM bits) where the report does not carry it."""
    run, pnr, total = rep["sweep"], rep.get("pnr") or {}, rep["total"]
    a = rep.get("analytical") or {"cycles_per_step": rep.get("cycles_per_step")}
    logic, ram = ((pnr.get("utilization") or {}).get(c, {}) for c in CELLS[rep["family"]])
    plan = a.get("fold_plan") or plan or {}
    cycles, fmax = a.get("cycles_per_step"), pnr.get("fmax_mhz")
    return {"config": run["config"], "units": run["units"], "family": rep["family"],
            "choices": report_choices(rep), "device": pnr.get("device") or run["device"],
            "logic": logic, "ram": ram, "luts": total["lut_equivalents"], "ffs": total["ffs"],
            "bits": (plan.get("ram_bits", 0) + plan.get("rom_bits", 0)) or rep.get("bits"),
            "dsp": total["dsp"], "mul": rep["mul_cells"], "fmax": fmax, "cycles": cycles,
            "seq_us": cycles * run["steps_per_sequence"] / fmax if fmax and cycles else None,
            "status": pnr.get("status", "")}


def cells(r: dict) -> list[str]:
    def used(c: dict) -> str:
        return f"{c['used']:,} / {c['available']:,}" if c else "—"

    routed, seq = r["status"] == "routed", r["seq_us"]
    device = r["device"] + (f" ({', '.join(r['choices'])})" if r["choices"] else "")
    return [r["config"], r["units"], device, used(r["logic"]) if routed else r["status"],
            f"{r['luts']:,}", f"{r['ffs']:,}", used(r["ram"]) if routed else "—",
            f"{r['bits']:,}" if r["bits"] else "—", f"{r['dsp']} / {r['mul']}",
            f"{r['fmax']:.1f}" if r["fmax"] else "—", f"{r['cycles']:,}",
            f"{seq / 1000:.1f} ms" if seq else "—", f"{1e6 / seq:,.1f}" if seq else "—"]


def row_cells(record: dict) -> list:
    """A row of the table: a report's cells, the cells its `notes` (column -> text) write
    by hand over them; or a row of notes alone (`cells`: a design that was not run)."""
    if "cells" in record:
        return record["cells"]
    out = cells(table_row(record))
    for column, text in (record.get("notes") or {}).items():
        out[HEADER.index(column)] = text
    return out


def table(records: list[dict]) -> str:
    return markdown_table(HEADER, [row_cells(r) for r in records], ALIGN)
