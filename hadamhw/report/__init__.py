"""Hardware cost of a generated design: Yosys synthesis, nextpnr place and route, rendering.

`make_report` synthesizes a design folder (manifest.json + HDL files) for one FPGA family,
optionally places and routes it, and returns one JSON-ready dict that `render` turns into
text, Markdown or a plot.
"""

from __future__ import annotations

import math
from pathlib import Path

from hadamhw.design import DesignFolder
from hadamhw.report.synth import (
    FAMILIES,
    SynthResult,
    check_lut_mapper,
    default_build_dir,
    family_synth_commands,
    load_design,
    synthesize,
)

REPORT_FORMAT = "hadamhw-hw-report"
REPORT_VERSION = 1
ANALYTICAL_FIELDS = ("hidden_size", "block_size", "fold", "recurrent", "cycles_per_step",
                     "latency_cycles", "adders_per_step", "weight_storage_bits",
                     "token_table_bits", "state_bits", "weight_bits", "cmvm", "readout_lanes",
                     "readout_cycles", "adder_bits", "fold_plan")

__all__ = ["FAMILIES", "analytical", "make_report", "morgenstern_bound", "rotate_module"]


def rotate_module(top: str) -> str:
    """The name of the recurrent core's module (the generated Verilog contract)."""
    return f"{top}_rotate"


def morgenstern_bound(n: int, m: int) -> float:
    """Morgenstern's lower bound on additions for blockdiag(H_m, ..., H_m) of size n.

    With bounded constants a linear map A needs at least log2|det A| additions; each H_m
    has |det| = m^(m/2), so the block transform needs (n/2)·log2(m) (m = n: (n/2)·log2 n).
    """
    return n / 2 * math.log2(m)


def analytical(manifest: dict) -> dict:
    """The manifest's analytical numbers, plus Morgenstern's bound where n and m are known."""
    out = {k: manifest[k] for k in ANALYTICAL_FIELDS if k in manifest}
    n, m = manifest.get("hidden_size"), manifest.get("block_size")
    if isinstance(n, int) and isinstance(m, int) and n > 0 and m > 1:
        out["morgenstern_bound"] = morgenstern_bound(n, m)
    return out


def make_report(design_path: str | Path | DesignFolder, family: str = "generic", *,
                top: str | None = None,
                pnr: bool = False, build_dir: str | Path | None = None, progress: bool = True,
                freq_mhz: float | None = None, timeout: float | None = None,
                device: str | None = None, seed: int = 1, router: str | None = None,
                placer: str | None = None, lut_mapper: str | None = None,
                mem_gbps: float | None = None) -> dict:
    """Synthesize (and with `pnr` place and route) a design folder; a JSON-ready report.

    device: place and route on this device (hadamhw.report.pnr.NAMED_DEVICES, e.g. up5k)
    instead of the smallest one that holds the design. seed: nextpnr's placement seed.
    router: nextpnr's router (router1, its default, or router2). placer: nextpnr's placer
    (heap, its default on ice40 and ecp5, sa or static). lut_mapper: Yosys's LUT
    mapping (synth.LUT_MAPPERS; default the family's own, abc9 on ecp5). mem_gbps: the
    memory bandwidth (GB/s) of an external token table's figures (default the manifest's)."""
    from hadamhw.errors import HadamhwError
    from hadamhw.report.pnr import (
        DEFAULT_FREQ_MHZ,
        DEFAULT_PLACER,
        DEFAULT_ROUTER,
        PNR_FAMILIES,
        check_placer,
        check_router,
        named_device,
        place_and_route,
    )

    if pnr and family not in PNR_FAMILIES:
        raise HadamhwError(f"--pnr needs --fpga ice40 or ecp5 (the nextpnr devices installed "
                           f"here), got --fpga {family}")
    if device is not None:
        if not pnr:
            raise HadamhwError("--device names the device to place and route on: add --pnr")
        named_device(family, device)
    if seed != 1 and not pnr:
        raise HadamhwError("--seed is nextpnr's placement seed: add --pnr")
    if router is not None and not pnr:
        raise HadamhwError("--router is nextpnr's router: add --pnr")
    if placer is not None and not pnr:
        raise HadamhwError("--placer is nextpnr's placer: add --pnr")
    router = check_router(router or DEFAULT_ROUTER)
    placer = check_placer(placer or DEFAULT_PLACER)
    lut_mapper = check_lut_mapper(family, lut_mapper)
    design = load_design(design_path, top)
    build = (Path(build_dir) if build_dir is not None
             else default_build_dir(design, family, lut_mapper))
    synth: SynthResult = synthesize(design, family, build, progress=progress, timeout=timeout,
                                    lut_mapper=lut_mapper)
    core = rotate_module(design.top)
    report = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "design": design.name,
        "top": design.top,
        "family": family,
        "synth_command": "; ".join(family_synth_commands(family, design.top, lut_mapper)),
        "lut_mapper": lut_mapper,
        "yosys": synth.yosys,
        "modules": [m.to_dict() for m in synth.modules],
        "total": synth.total.to_dict(),
        "mul_cells": synth.total.mul,
        "core_module": core if synth.module(core) is not None else None,
        "analytical": analytical(design.manifest),
        "pnr": None,
        "modified_files": design.modified_files,
        "seconds": {"synth": round(synth.seconds, 2)},
    }
    if pnr:
        result = place_and_route(design, family, build / "pnr", progress=progress,
                                 freq_mhz=freq_mhz or DEFAULT_FREQ_MHZ, timeout=timeout,
                                 device=device, seed=seed, router=router, placer=placer,
                                 lut_mapper=lut_mapper)
        entry = {**result.to_dict(), "seed": seed, "router": router, "placer": placer}
        cycles = report["analytical"].get("cycles_per_step")
        entry["steps_per_second"] = (
            result.fmax_mhz * 1e6 / cycles
            if result.fmax_mhz is not None and isinstance(cycles, (int, float)) and cycles > 0
            else None)
        report["pnr"] = entry
        report["seconds"]["pnr"] = round(result.seconds, 2)
    table = design.manifest.get("token_table")
    if table:
        report["token_table"] = token_table_figures(table, mem_gbps, report["pnr"])
    return report


def token_table_figures(table: dict, mem_gbps: float | None, pnr: dict | None) -> dict:
    """An external token table's bytes per step and steps per second at a memory bandwidth
    (computed, not measured), bounded by the clock when the design was placed and routed."""
    from hadamhw.backends.verilog_token_axi import bandwidth_figures

    fmax = pnr.get("fmax_mhz") if pnr else None
    figures = bandwidth_figures(table, table["mem_gbps"] if mem_gbps is None else mem_gbps,
                                fmax)
    return {"bytes_per_step": table["bytes_per_step"], "beats_per_row": table["beats_per_row"],
            "data_bits": table["data_bits"], **figures}
