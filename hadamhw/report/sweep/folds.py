"""The area-against-time table of docs/hardware-cost.md (the fold_cost sweep spec,
examples/sweeps/fold_cost.toml): the deep fold's butterfly units F placed and routed, one row
a trial. Its analytic columns come from the trial's manifest: vector + table bits (the fold
plan's RAM and ROM bits), cycles per step, and time per sequence (cycles per step times the
model's `steps`, over Fmax)."""

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
    cell_types = CELLS.get(rep["family"], ("", ""))  # generic, xilinx: nothing placed
    logic, ram = ((pnr.get("utilization") or {}).get(c, {}) for c in cell_types)
    plan = a.get("fold_plan") or rep.get("fold_plan") or plan or {}
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
    status = r["status"] or "not placed"
    device = r["device"] + (f" ({', '.join(r['choices'])})" if r["choices"] else "")
    return [r["config"], r["units"], device, used(r["logic"]) if routed else status,
            f"{r['luts']:,}", f"{r['ffs']:,}", used(r["ram"]) if routed else "—",
            f"{r['bits']:,}" if r["bits"] else "—", f"{r['dsp']} / {r['mul']}",
            f"{r['fmax']:.1f}" if r["fmax"] else "—", f"{r['cycles']:,}",
            f"{seq / 1000:.1f} ms" if seq else "—", f"{1e6 / seq:,.1f}" if seq else "—"]


def trial_report(row: dict) -> dict:
    """A sweep trial's row as the report the table reads: its record, and under "sweep" the
    model (config), the fold (units), the device asked for and the model's steps."""
    record, params = row["record"], row["params"]
    if "sweep" in record or "cells" in record:  # an imported row: in that form already
        return record
    model, fpga = params["model"], params["fpga"]
    run = {"config": model["name"], "units": params["generate"].get("fold", "parallel"),
           "device": fpga.get("device") or fpga["family"],
           "steps_per_sequence": model.get("steps") or 0}
    return {**record, "sweep": run}


def row_cells(record: dict) -> list:
    """A row of the table: a report's cells, the cells its `notes` (column -> text) write
    by hand over them; or a row of notes alone (`cells`: a design that was not run)."""
    if "cells" in record:
        return record["cells"]
    out = cells(table_row(record))
    for column, text in (record.get("notes") or {}).items():
        out[HEADER.index(column)] = text
    return out


def table(rows: list[dict]) -> str:
    """The table over a sweep's finished rows (trials, or rows imported from its export)."""
    return markdown_table(HEADER, [row_cells(trial_report(r)) for r in rows], ALIGN)
