#!/usr/bin/env python3
"""Whole designs placed and routed on ECP5: one stream against interleaved, pipelined streams.

For each hidden size n, block size m and stream setting P, one fixed-seed random IR (the
hardware sweep's: 4-bit weights, 12-bit state, 3 four-bit inputs, 5 outputs, readout every
step, lean requantization) is generated with `hadamhw generate` options

    P = 1:    --streams 1 (no pipeline registers: today's single-cycle core)
    P = auto: --streams auto --pipeline auto --target-mhz T

and run through `hadamhw report --fpga ecp5 --pnr` (hadamhw.report.make_report: Yosys on the
design, then the whole design flat in the four-pin wrapper through nextpnr-ecp5, with the
clock constraint T). T defaults to 200 MHz at n <= 32 and 150 MHz above (the issue's
targets). Each configuration's report is cached in --out/<config>/report.json, so an
interrupted run resumes; --markdown replaces the marked table in a Markdown file.

    nice -n 15 .venv/bin/python tools/pnr_streams.py --configs 16:4,16:16 \\
        --json build/pnr_streams_16.json --markdown docs/hardware-cost.md

With --seeds 1,2,3 the same netlist is placed and routed once per nextpnr seed (seed 1's
run is the report; the others reuse its Yosys netlist): at these clocks placement
moves Fmax by several per cent between seeds, and an FPGA engineer closes timing with the
seed that meets it. Every seed's Fmax is in the table. A seed that already finished in its
folder (`place_again(..., reuse=True)`: the same netlist and settings, for example placed
by another process beside seed 1's run) is read, not placed again.

Columns: LUT eq. (LUT4 + 2 x CCU2C of the design alone, Yosys), FFs, RAM bits (distributed
and block RAM), Fmax (nextpnr, whole design in the wrapper), steps/s = Fmax / cycles per
step (aggregate over the P streams), latency (cycles from an input beat to its output
beat), the loop depth and the analytical delay model's estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir
from hadamhw.report.pnr import (
    DEFAULT_PLACER,
    DEFAULT_ROUTER,
    NAMED_DEVICES,
    PLACERS,
    ROUTERS,
    nondefault_choices,
)
from hadamhw.report.synth import LUT_MAPPERS, check_lut_mapper

DEFAULT_MAPPER = check_lut_mapper("ecp5", None)

TOP = "hadamrnn"
CONFIGS = "16:4,16:16,64:4,64:64,128:4,128:128"
MARK_BEGIN = "<!-- pnr_streams table begin -->"
MARK_END = "<!-- pnr_streams table end -->"
NOT_PLACED = "not placed (--synth-only)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=CONFIGS, metavar="N:M,...",
                   help=f"(n, m) pairs, m = 'n' for m = n (default {CONFIGS})")
    p.add_argument("--streams", default="1,auto",
                   help="stream settings, comma-separated: 1 and/or auto (default both)")
    p.add_argument("--target-mhz", type=float, default=None,
                   help="clock target for --pipeline auto and the nextpnr constraint "
                        "(default 200 at n <= 32, 150 above)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("build/pnr_streams"))
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per tool run (default: none)")
    p.add_argument("--device", choices=sorted(NAMED_DEVICES["ecp5"]),
                   help="ECP5 device to place on (default: the smallest that holds the design; "
                        "nextpnr's legalizer can stall on a device that holds it tightly)")
    p.add_argument("--synth-only", action="store_true",
                   help="Yosys only, no placement (LUTs, FFs, RAM of designs too slow to "
                        "place; a later run without it places them)")
    p.add_argument("--seeds", default="1", metavar="S,...",
                   help="nextpnr seeds (default 1): each design's report is placed with "
                        "seed 1, every other seed places the same netlist again (cached per "
                        "seed); the table gives each seed's Fmax and judges the target by "
                        "the best")
    p.add_argument("--router", choices=ROUTERS, default=DEFAULT_ROUTER,
                   help="nextpnr's router (default router1); rows routed with router2 are "
                        "cached apart (a '-router2' folder) and marked in the table")
    p.add_argument("--placer", choices=PLACERS, default=DEFAULT_PLACER,
                   help="nextpnr's placer (default heap); static (electrostatic) with router2 "
                        "is the combination for designs whose heap placement does not route; "
                        "its rows are cached apart (a '-static' folder) and marked")
    p.add_argument("--lut-mapper", choices=LUT_MAPPERS, default=DEFAULT_MAPPER,
                   help="Yosys's LUT mapping (default abc9, timing-driven); abc maps in "
                        "seconds where abc9 takes hours (n = m = 128): its rows are cached "
                        "apart (an '-abc' folder), marked in the table, and shown by "
                        "--cached-only where the default mapper's row is missing")
    p.add_argument("--cached-only", action="store_true",
                   help="run no tool: the table of the configurations measured so far (the "
                        "others are listed as not measured)")
    p.add_argument("--json", type=Path, default=None, help="write all rows here")
    p.add_argument("--markdown", type=Path, default=None,
                   help="replace the table between the pnr_streams markers in this file")
    return p.parse_args(argv)


def _pairs(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        n_text, _, m_text = item.partition(":")
        try:
            n = int(n_text)
            m = n if m_text in ("n", "") else int(m_text)
        except ValueError:
            raise HadamhwError(f"--configs: {item!r} is not N:M") from None
        out.append((n, m))
    return out


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def target_for(n: int, given: float | None) -> float:
    return given if given is not None else (200.0 if n <= 32 else 150.0)


def design_ir(n: int, m: int, seed: int):
    return random_ir(np.random.default_rng(seed), n, m, state_bits=12, weight_bits=4,
                     input_size=3, output_size=5, readout="every", requant="lean")


def design_options(streams: str, target: float) -> GenerateOptions:
    return (GenerateOptions() if streams == "1" else
            GenerateOptions(streams="auto", pipeline="auto", target_mhz=target))


def config_name(n: int, m: int, streams: str, target: float, router: str, mapper: str,
                placer: str = DEFAULT_PLACER) -> str:
    """The row's cache folder: router2, static-placer and abc rows are kept apart from the
    defaults'."""
    return (f"n{n}-m{m}-P{streams}" + (f"-{target:g}MHz" if streams != "1" else "")
            + "".join(f"-{name}" for name in nondefault_choices(router, placer))
            + (f"-{mapper}" if mapper != DEFAULT_MAPPER else ""))


def _cached_row(folder: Path, files: dict[str, str]) -> dict | None:
    cached = folder / "report.json"
    if cached.is_file() and _same_rtl(folder / "rtl", files):
        return json.loads(cached.read_text())
    return None


def run_config(n: int, m: int, streams: str, args: argparse.Namespace) -> dict | None:
    """One configuration's row (cached); None with --cached-only when it was not measured."""
    from hadamhw.report import make_report

    target = target_for(n, args.target_mhz)
    name = config_name(n, m, streams, target, args.router, args.lut_mapper, args.placer)
    folder = args.out / name
    cached = folder / "report.json"
    options = design_options(streams, target)
    ir = design_ir(n, m, args.seed)
    files = vg.render(ir, options)
    if args.cached_only and not cached.is_file():
        # the other mapper's row of the same RTL stands in (marked in the table)
        for mapper in (mp for mp in LUT_MAPPERS if mp != args.lut_mapper):
            row = _cached_row(args.out / config_name(n, m, streams, target, args.router,
                                                     mapper, args.placer), files)
            if row is not None:
                return row
    if cached.is_file():
        if _same_rtl(folder / "rtl", files):
            row = json.loads(cached.read_text())
            if row.get("pnr_status") != NOT_PLACED or args.synth_only or args.cached_only:
                return row
        else:
            # the generator changed since: the row measured another design
            print(f"  {name}: the cached report is of other RTL than this generator "
                  f"makes{'; not measured' if args.cached_only else ', measured again'}",
                  file=sys.stderr, flush=True)
            if not args.cached_only:
                shutil.rmtree(folder)
    if args.cached_only:
        return None
    man = vg.generate(ir, folder / "rtl", options)
    started = time.monotonic()
    report = make_report(folder / "rtl", "ecp5", pnr=not args.synth_only,
                         build_dir=folder / "build",
                         progress=False, freq_mhz=target, timeout=args.timeout,
                         device=args.device,
                         router=None if args.synth_only else args.router,
                         placer=None if args.synth_only else args.placer,
                         lut_mapper=args.lut_mapper)
    total, pnr = report["total"], report["pnr"] or {}
    fmax = pnr.get("fmax_mhz")
    cycles = man["cycles_per_step"]
    row = {
        "config": name, "n": n, "m": m, "streams_option": streams, "target_mhz": target,
        "streams": man.get("streams", 1), "loop_depth": man.get("loop_depth", 1),
        "cycles_per_step": cycles,
        "cycles_per_step_per_stream": man.get("cycles_per_step_per_stream", cycles),
        "latency_cycles": man["latency_cycles"],
        "estimated_fmax_mhz": (man.get("pipeline") or {}).get("estimated_fmax_mhz"),
        "lut_equivalents": total["lut_equivalents"], "luts": total["luts"],
        "carry": total["carry"], "ffs": total["ffs"], "memory_bits": total["memory_bits"],
        "mul_cells": report["mul_cells"],
        "ram_cells": {k: v for k, v in total["other_types"].items()
                      if "DPR" in k or "DP16" in k or "RAM" in k},
        "pnr_status": NOT_PLACED if args.synth_only else pnr.get("status"),
        "router": args.router,
        "placer": args.placer,
        "lut_mapper": args.lut_mapper,
        "device": pnr.get("device"), "fmax_mhz": fmax,
        "steps_per_second": fmax * 1e6 / cycles if fmax else None,
        "seconds": round(time.monotonic() - started, 1),
        "uptime_at_end": _uptime(),
    }
    cached.write_text(json.dumps(row, indent=1) + "\n")
    return row


def _same_rtl(rtl: Path, files: dict[str, str]) -> bool:
    """Whether the folder holds the same hardware as these generated files: their HDL files
    byte for byte (generation is deterministic; the manifest may have gained fields)."""
    hdl = json.loads(files["manifest.json"])["hdl_files"]
    return all((rtl / name).is_file() and (rtl / name).read_text() == files[name]
               for name in hdl)


def run_seeds(row: dict, seeds: list[int], args: argparse.Namespace) -> dict:
    """Fmax of the row's netlist placed with each further seed (cached in its report.json)."""
    from hadamhw.report.pnr import place_again

    by_seed = {int(k): v for k, v in row.get("fmax_by_seed", {}).items()}
    by_seed.setdefault(1, row["fmax_mhz"])  # the report's own run is nextpnr --seed 1
    folder = args.out / row["config"]
    todo = [s for s in seeds if by_seed.get(s) is None]  # a failed run is tried again
    # seed 1's placement may not route where another seed's does: only a design that was
    # never placed (synthesis only, or too large for the device) has no other seeds
    status = str(row.get("pnr_status"))
    placed = status == "routed" or (status.startswith("failed")
                                    and (folder / "build" / "pnr" / "wrapped.json").is_file())
    if not todo or args.cached_only or not placed:
        return {**row, "fmax_by_seed": by_seed}
    for seed in todo:
        print(f"  {row['config']}: nextpnr seed {seed} ...", flush=True)
        result = place_again(folder / "build" / "pnr", "ecp5", row["device"],
                             row["target_mhz"], seed, timeout=args.timeout,
                             router=row.get("router", DEFAULT_ROUTER),
                             placer=row.get("placer", DEFAULT_PLACER), reuse=True)
        by_seed[seed] = result.fmax_mhz
        if result.fmax_mhz is None:
            print(f"  seed {seed}: {result.status}", file=sys.stderr, flush=True)
        row = {**row, "fmax_by_seed": dict(sorted(by_seed.items())),
               f"seed{seed}_seconds": round(result.seconds, 1),
               f"seed{seed}_uptime_at_end": _uptime()}
        (folder / "report.json").write_text(json.dumps(row, indent=1) + "\n")
    return row


def _millions(rate: float | None) -> str:
    return "–" if not rate else f"{rate / 1e6:.1f}"


def _lut_eq(row: dict) -> str:
    mapper = row.get("lut_mapper", DEFAULT_MAPPER)  # rows cached before the option: abc9
    return f"{row['lut_equivalents']:,}" + (f" ({mapper})" if mapper != DEFAULT_MAPPER else "")


def table(rows: list[dict]) -> str:
    head = ("| n | m | P | target (MHz) | loop depth | cycles / step | latency (cycles) | "
            "LUT eq. | FFs | RAM bits | $mul | est. Fmax (MHz) | Fmax by nextpnr seed (MHz) | "
            "M steps / s (best seed) | target met |")
    lines = [head, "|" + "---:|" * 15]
    for r in rows:
        if r.get("missing"):
            lines.append(f"| {r['n']} | {r['m']} | {r['streams_option']} | "
                         + " | ".join(["–"] * 11) + " | not measured |")
            continue
        # run_seeds gives every row its Fmax per seed (seed 1: the report's own run)
        by_seed = sorted((int(k), v) for k, v in r["fmax_by_seed"].items())
        placed = [(v, k) for k, v in by_seed if v] if r.get("pnr_status") != NOT_PLACED else []
        fmax, seed = max(placed) if placed else (None, None)
        goal = 200.0 if r["n"] <= 32 else 150.0
        met = ("–" if fmax is None else
               f"yes (seed {seed})" if fmax >= goal and r["cycles_per_step"] == 1 else "no")
        seeds = ("not placed" if r.get("pnr_status") == NOT_PLACED else
                 ", ".join(f"{v:.1f} ({k})" if v else f"– ({k})" for k, v in by_seed))
        if r.get("pnr_status") != NOT_PLACED:
            seeds += "".join(f", {name}" for name in nondefault_choices(
                r.get("router", DEFAULT_ROUTER), r.get("placer", DEFAULT_PLACER)))
        target = f"{r['target_mhz']:g}" if r["streams_option"] != "1" else "–"
        auto = " (auto)" if r["streams_option"] == "auto" else ""
        cells = [r["n"], r["m"], f"{r['streams']}{auto}", target, r["loop_depth"],
                 r["cycles_per_step"], r["latency_cycles"], _lut_eq(r),
                 f"{r['ffs']:,}", f"{r['memory_bits']:,}", r["mul_cells"],
                 r["estimated_fmax_mhz"] or "–", seeds,
                 _millions(fmax * 1e6 / r["cycles_per_step"] if fmax else None), met]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def update_markdown(path: Path, text: str) -> None:
    doc = path.read_text()
    if MARK_BEGIN not in doc or MARK_END not in doc:
        raise HadamhwError(f"{path}: no '{MARK_BEGIN}' ... '{MARK_END}' markers")
    head, rest = doc.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{text}\n{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        pairs = _pairs(args.configs)
        settings = [s.strip() for s in args.streams.split(",")]
        try:
            seeds = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            raise HadamhwError(f"--seeds: {args.seeds!r} is not a list of integers") from None
        bad = [s for s in settings if s not in ("1", "auto")]
        if bad:
            raise HadamhwError(f"--streams: {bad[0]!r} is not 1 or auto")
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"load at start: {load}", flush=True)
        rows = []
        for n, m in pairs:
            for s in settings:
                print(f"n = {n}, m = {m}, P = {s} ...", flush=True)
                row = run_config(n, m, s, args)
                if row is not None:
                    row = run_seeds(row, seeds, args)
                rows.append(row or {"n": n, "m": m, "streams_option": s, "missing": True})
                print(json.dumps(rows[-1]), flush=True)
        end_load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        text = table(rows)
        print(text)
        print(f"load at end: {end_load}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"rows": rows, "load_start": load,
                                             "load_end": end_load,
                                             "command": " ".join(sys.argv)}, indent=1) + "\n")
        if args.markdown:
            update_markdown(args.markdown, text)
    except HadamhwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
