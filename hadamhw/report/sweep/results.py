"""What a sweep keeps of a design's hadamhw report, and its further nextpnr seeds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

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


def was_placed(status: str, pnr_dir: Path) -> bool:
    """Whether a design has a placed netlist to place again: routed, or failed after its
    wrapped netlist was made (seed 1's placement may not route where another seed's does)."""
    return status == "routed" or (status.startswith("failed")
                                  and (pnr_dir / "wrapped.json").is_file())


def place_seeds(by_seed: dict[int, float | None], seeds: list[int], pnr_dir: Path, *,
                family: str, device: str, freq_mhz: float, timeout: float | None,
                router: str = DEFAULT_ROUTER, placer: str = DEFAULT_PLACER,
                done: Callable[[int, object, dict], None] = lambda *_: None) -> dict:
    """Fmax of the netlist in pnr_dir placed with each seed that has none yet (a failed
    seed is tried again); done(seed, result, Fmax by seed so far) after each, to keep it."""
    from hadamhw.report.pnr import place_again

    by_seed = dict(by_seed)
    for seed in (s for s in seeds if by_seed.get(s) is None):
        print(f"  {pnr_dir.parent.parent.name}: nextpnr seed {seed} ...", flush=True)
        result = place_again(pnr_dir, family, device, freq_mhz, seed, timeout=timeout,
                             router=router, placer=placer, reuse=True)
        by_seed[seed] = result.fmax_mhz
        if result.fmax_mhz is None:
            print(f"  seed {seed}: {result.status}", file=sys.stderr, flush=True)
        done(seed, result, dict(sorted(by_seed.items())))
    return dict(sorted(by_seed.items()))


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
