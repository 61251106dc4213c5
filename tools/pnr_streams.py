#!/usr/bin/env python3
"""Whole designs placed and routed on ECP5: one stream against interleaved, pipelined streams.

Each (n, m) and stream setting P (1: `--streams 1`; auto: `--streams auto --pipeline auto
--target-mhz T`, T = 200 MHz at n <= 32, 150 above) of the sweep's fixed-seed random IR is
generated and run through `hadamhw report --fpga ecp5 --pnr`. Rows are cached in
OUT/<config>/report.json by the digest of their HDL (hadamhw.report.sweep); --seeds 1,2,3
places seed 1's netlist again with each other seed; --markdown replaces the marked table.

    nice -n 15 .venv/bin/python tools/pnr_streams.py --configs 16:4,16:16 --markdown FILE.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import hadamhw.report.sweep as sw
from hadamhw.errors import HadamhwError
from hadamhw.report.pnr import DEFAULT_PLACER, DEFAULT_ROUTER, nondefault_choices
from hadamhw.report.sweep.streams import (  # the table: the pnr_streams sweep spec's too
    DEFAULT_MAPPER,
    NOT_PLACED,
    table,
    target_for,
)
from hadamhw.report.synth import LUT_MAPPERS

CONFIGS = "16:4,16:16,64:4,64:64,128:4,128:128"
MARK_BEGIN, MARK_END = sw.markers("pnr_streams")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=CONFIGS, metavar="N:M,...",
                   help=f"(n, m) pairs, m = 'n' for m = n (default {CONFIGS})")
    p.add_argument("--streams", default="1,auto", help="stream settings: 1 and/or auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("build/pnr_streams"))
    p.add_argument("--timeout", type=float, default=None, help="seconds per tool run")
    p.add_argument("--synth-only", action="store_true", help="Yosys only, no placement")
    sw.add_pnr_arguments(p, clock_flag="--target-mhz", clock_help="clock target for "
                         "--pipeline auto and nextpnr (default 200 at n <= 32, 150 above)")
    p.add_argument("--cached-only", action="store_true", help="run no tool: the table of "
                   "the rows measured (an abc row stands in for a missing abc9 row)")
    p.add_argument("--json", type=Path, help="write all rows here")
    p.add_argument("--markdown", type=Path, help="replace the marked pnr_streams table here")
    return p.parse_args(argv)


def design_ir(n: int, m: int, seed: int):
    return sw.sweep_ir(n, m, seed, input_size=3, output_size=5)


def design_options(streams: str, target: float) -> dict:
    """hadamhw.api.generate's options of a stream setting."""
    return {} if streams == "1" else dict(streams="auto", pipeline="auto", target_mhz=target)


def config_name(n: int, m: int, streams: str, target: float, router: str, mapper: str,
                placer: str = DEFAULT_PLACER) -> str:
    """The row's cache entry: router2, static-placer and abc rows are kept apart."""
    return (f"n{n}-m{m}-P{streams}" + (f"-{target:g}MHz" if streams != "1" else "")
            + "".join(f"-{name}" for name in nondefault_choices(router, placer))
            + (f"-{mapper}" if mapper != DEFAULT_MAPPER else ""))


def cache(out: Path) -> sw.ResultCache:
    return sw.ResultCache(out, record="report.json", label="pnr_streams")


def row_key(name: str, hdl: dict[str, bytes]) -> str:  # the name holds every option
    return sw.hdl_digest(hdl, f"pnr_streams v1 {name}", tools=sw.tool_versions())


def run_config(n: int, m: int, streams: str, args: argparse.Namespace) -> dict | None:
    """One configuration's row (cached); None with --cached-only when it was not measured."""
    opts, target = sw.pnr_options(args), target_for(n, args.freq)
    name = config_name(n, m, streams, target, opts.router, opts.lut_mapper, opts.placer)
    ir, options, rows = design_ir(n, m, args.seed), design_options(streams, target), cache(args.out)
    _, hdl = sw.render_design(ir, **options)
    if args.cached_only:  # another mapper's row of the same RTL stands in for a missing one
        others = [config_name(n, m, streams, target, opts.router, mp, opts.placer)
                  for mp in LUT_MAPPERS if mp != opts.lut_mapper]
        return rows.lookup(name, row_key(name, hdl), set_aside=False,
                           stand_ins=[(other, row_key(other, hdl)) for other in others])
    row = rows.lookup(name, row_key(name, hdl))
    if row is not None and (row.get("pnr_status") != NOT_PLACED or args.synth_only):
        return row
    return measure(ir, options, name, target, rows, args)


def measure(ir, options: dict, name: str, target: float, rows: sw.ResultCache,
            args: argparse.Namespace) -> dict:
    from hadamhw.report import make_report

    opts, folder, place = sw.pnr_options(args), rows.entry(name), not args.synth_only
    man = sw.generate_design(ir, folder / "rtl", **options)
    started = time.monotonic()
    report = make_report(folder / "rtl", "ecp5", pnr=place, build_dir=folder / "build",
                         progress=False, freq_mhz=target, timeout=args.timeout,
                         device=opts.device, router=opts.router if place else None,
                         placer=opts.placer if place else None, lut_mapper=opts.lut_mapper)
    row = {"config": name, "n": ir.hidden_size, "m": ir.block_size,
           "streams_option": "auto" if options else "1", "target_mhz": target,
           **sw.report_numbers(report, man), "router": opts.router, "placer": opts.placer,
           "lut_mapper": opts.lut_mapper, "seconds": round(time.monotonic() - started, 1),
           "uptime_at_end": sw.uptime()}
    if not place:
        row["pnr_status"] = NOT_PLACED
    return rows.store(name, row_key(name, sw.design_hdl(folder / "rtl")), row)


def run_seeds(row: dict, seeds: list[int], args: argparse.Namespace) -> dict:
    """Fmax of the row's netlist placed with each further seed (kept in its record)."""
    by_seed = {int(k): v for k, v in row.get("fmax_by_seed", {}).items()}
    by_seed.setdefault(1, row["fmax_mhz"])  # the report's own run is nextpnr --seed 1
    rows = cache(args.out)
    pnr_dir = rows.entry(row["config"]) / "build" / "pnr"
    if args.cached_only or not sw.was_placed(str(row.get("pnr_status")), pnr_dir):
        return {**row, "fmax_by_seed": by_seed}  # a design never placed has no other seeds

    def keep(seed: int, result, fmax_by_seed: dict) -> None:
        nonlocal row
        row = {**row, "fmax_by_seed": fmax_by_seed, f"seed{seed}_uptime_at_end": sw.uptime(),
               f"seed{seed}_seconds": round(result.seconds, 1)}
        rows.store(row["config"], row.get(sw.KEY), row)

    by_seed = sw.place_seeds(by_seed, seeds, pnr_dir, family="ecp5", device=row["device"],
                             freq_mhz=row["target_mhz"], timeout=args.timeout, done=keep,
                             router=row.get("router", DEFAULT_ROUTER),
                             placer=row.get("placer", DEFAULT_PLACER))
    return {**row, "fmax_by_seed": by_seed}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        pairs, seeds = sw.parse_pairs(args.configs), list(sw.pnr_options(args).seeds)
        settings = sw.parse_list(args.streams, "--streams", "stream setting", ("1", "auto"))
        rows, load = [], sw.uptime()
        print(f"load at start: {load}", flush=True)
        for n, m in pairs:
            for s in settings:
                print(f"n = {n}, m = {m}, P = {s} ...", flush=True)
                row = run_config(n, m, s, args)
                row = run_seeds(row, seeds, args) if row is not None else None
                rows.append(row or {"n": n, "m": m, "streams_option": s, "missing": True})
                print(json.dumps(rows[-1]), flush=True)
        end_load, text = sw.uptime(), table(rows)
        print(f"{text}\nload at end: {end_load}")
        if args.json:
            sw.write_json(args.json, {"rows": rows, "load_start": load, "load_end": end_load,
                                      "command": " ".join(sys.argv)}, sort_keys=False)
        if args.markdown:
            sw.replace_marked(args.markdown, "pnr_streams", text)
    except HadamhwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
