"""What a sweep keeps of a design's hadamhw report."""

from __future__ import annotations

from hadamhw.report.pnr import DEFAULT_PLACER, DEFAULT_ROUTER, nondefault_choices

RAM_CELL_MARKS = ("DPR", "DP16", "RAM")


def report_numbers(report: dict, manifest: dict) -> dict:
    """A design's numbers from its manifest and its report (make_report's dict): cost,
    clock and the analytical timing, flat, as a table row wants them."""
    total, pnr = report["total"], report.get("pnr") or {}
    fmax, cycles = pnr.get("fmax_mhz"), manifest["cycles_per_step"]
    return {
        "streams": manifest.get("streams", 1), "loop_depth": manifest.get("loop_depth", 1),
        "cycles_per_step": cycles,
        "cycles_per_step_per_stream": manifest.get("cycles_per_step_per_stream", cycles),
        "latency_cycles": manifest["latency_cycles"],
        "estimated_fmax_mhz": (manifest.get("pipeline") or {}).get("estimated_fmax_mhz"),
        "lut_equivalents": total["lut_equivalents"], "luts": total["luts"],
        "carry": total["carry"], "ffs": total["ffs"], "memory_bits": total["memory_bits"],
        "mul_cells": report["mul_cells"],
        "ram_cells": {k: v for k, v in total["other_types"].items()
                      if any(mark in k for mark in RAM_CELL_MARKS)},
        "pnr_status": pnr.get("status"), "device": pnr.get("device"), "fmax_mhz": fmax,
        "steps_per_second": fmax * 1e6 / cycles if fmax else None,
    }


def decided(result: dict) -> bool:
    """Whether a cached tool result stands: a failed or skipped place and route is tried
    again (the design, the limit or the machine may have changed), anything else stands."""
    return not str(result.get("status", "")).startswith(("failed", "skipped"))


def report_record(name: str, report: dict, fields: tuple[str, ...]) -> dict:
    """What a docs JSON keeps of a report: `fields` (with the analytical cycles per step and
    latency at the top level), without the machine's log path."""
    a = report.get("analytical") or {}
    merged = {**report, "cycles_per_step": a.get("cycles_per_step"),
              "latency_cycles": a.get("latency_cycles")}
    out = {"file": name, **{k: merged.get(k) for k in fields}}
    if out.get("pnr"):  # the log's path is this machine's, not a result
        out["pnr"] = {k: v for k, v in out["pnr"].items() if k != "log"}
    return out


def report_choices(report: dict) -> list[str]:
    """The choices other than hadamhw report's defaults a report was made with, as tables
    mark them: the LUT mapper, then placer and router ("abc, static, router2")."""
    from hadamhw.report.sweep.options import default_mapper

    pnr = report.get("pnr") or {}
    mapper = report.get("lut_mapper")
    marks = [mapper] if mapper not in (None, default_mapper(report["family"])) else []
    return marks + nondefault_choices(pnr.get("router", DEFAULT_ROUTER),
                                      pnr.get("placer", DEFAULT_PLACER))[::-1]
