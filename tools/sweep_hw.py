#!/usr/bin/env python3
"""Hardware sweep: the butterfly (FWHT) recurrent core against the dense baseline.

Each (n, m) gets one fixed-seed random IR, generated with `--recurrent fwht` and `dense`
and synthesized hierarchically, so that the core `<top>_rotate` keeps its own numbers; the
dense total is the FWHT top module's own cells plus the dense core (--full-dense checks it).
--pnr places the cores (--pnr-whole the whole designs) below a size limit. Results are
cached under OUT/cache by the digest of the HDL they measured (hadamhw.report.sweep).

    .venv/bin/python tools/sweep_hw.py --fpga ecp5 --pnr --markdown docs/sweep.md
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import hadamhw.report.sweep as sw
import hadamhw.report.sweep.compare as compare
import hadamhw.report.sweep.designs as designs
from hadamhw.errors import HadamhwError
from hadamhw.report.pnr import place_and_route

TOP = "hadamrnn"
CACHE_VERSION = 2
RESULT = "result.json"
configurations, table_rows, markdown = (designs.configurations, compare.table_rows,
                                       compare.markdown)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add = p.add_argument
    add("--fpga", default="ecp5", choices=("generic", "ice40", "ecp5", "xilinx"))
    add("--sizes", default="16,32,64,128", help="hidden sizes n")
    add("--with-256", action="store_true", help="add n = 256 (slow)")
    add("--blocks", default="4,16,n", help="block sizes m; 'n' means m = n")
    add("--pairs", metavar="N:M,...", help="exactly these (n, m) configurations")
    designs.add_ir_arguments(p)
    add("--full-dense", action="store_true", help="synthesize whole dense designs")
    add("--cores-only", action="store_true", help="the two cores only")
    add("--dense-chunk", type=int, default=32, help="dense row modules per Yosys run")
    add("--pnr", action="store_true", help="place and route where feasible")
    add("--pnr-max-luts", type=int, default=60000, help="core size limit")
    add("--pnr-whole", action="store_true", help="also place whole designs")
    add("--pnr-whole-max-luts", type=int, default=15000, help="whole design limit")
    sw.add_pnr_arguments(p, include=("lut_mapper",))
    add("--out", default="build/sweep_hw", help="work and cache folder")
    for flag in ("--markdown", "--csv", "--json", "--plot"):
        add(flag, metavar="FILE", help=f"write the table ({flag[2:]})")
    add("--timeout", type=float, default=3600.0, help="seconds per tool run")
    add("--jobs", type=int, default=1, help="configurations run at once")
    add("--quiet", action="store_true", help="no tool progress on stderr")
    return p.parse_args(argv)


def result_key(hdl: dict[str, bytes], *recipe: str, lut_mapper: str = "abc9") -> str:
    if lut_mapper != "abc9":  # abc9's keys are those of the runs before the choice
        recipe = (*recipe, f"lut-mapper {lut_mapper}")
    return sw.hdl_digest(hdl, " ".join((f"sweep v{CACHE_VERSION}", *recipe)),
                         tools=sw.tool_versions())


def cached(path: Path, key: str, compute) -> dict:  # in PATH-without-suffix/result.json
    return sw.ResultCache(path.parent).get(path.stem, key, compute, reuse=sw.decided)


def core_design(folder: Path, manifest: dict):  # the recurrent core alone: ports h, r
    return designs.core_design(folder, manifest, TOP)


def _tools(args) -> dict:
    return {"progress": not args.quiet, "timeout": args.timeout, "lut_mapper": args.lut_mapper}


def synth_numbers(design, family: str, build: Path, args) -> dict:
    return compare.synth_numbers(design, family, build, top=TOP, **_tools(args))


def dense_core_in_chunks(ir, folder: Path | None, family: str, build: Path, args) -> dict:
    return compare.dense_core_in_chunks(ir, family, build, top=TOP, chunk=args.dense_chunk,
                                        **_tools(args))


class Config:
    """One (n, m) configuration: its FWHT and dense designs and its cached results."""

    def __init__(self, n: int, m: int, args, root: Path) -> None:
        self.n, self.m, self.args, self.fam = n, m, args, args.fpga
        self.ir = designs.ir_from_args(n, m, args)
        self.folders = {rec: root / f"n{n}_m{m}_{rec}" for rec in ("fwht", "dense")}
        self.man = {rec: sw.generate_design(self.ir, folder, recurrent=rec, top=TOP,
                                            cmvm=args.cmvm, readout_lanes=args.readout_lanes)
                    for rec, folder in self.folders.items()}
        mapper = "" if args.lut_mapper == "abc9" else f"-{args.lut_mapper}"
        self.cache = root / "cache" / f"{self.fam}{mapper}"  # abc beside, never over, abc9

    def run(self, entry: str, recipe: str, design, compute) -> dict:
        key = result_key(sw.hdl_files(design), self.fam, recipe, lut_mapper=self.args.lut_mapper)
        return cached(self.cache / f"n{self.n}_m{self.m}_{entry}.json", key, compute)

    def synth(self, rec: str, what: str, design, build: str) -> dict:
        return self.run(f"{rec}_{what}", what, design, lambda: synth_numbers(
            design, self.fam, self.folders[rec] / "build" / build, self.args))

    def pnr(self, rec: str, what: str, design, estimate: int, limit: int) -> dict:
        def compute() -> dict:
            if estimate > limit:
                return {"status": f"skipped: about {estimate} LUTs, over the limit {limit}"}
            return place_and_route(design, self.fam, self.folders[rec] / "build" / f"pnr-{what}",
                                   progress=not self.args.quiet, timeout=self.args.timeout,
                                   lut_mapper=self.args.lut_mapper).to_dict()
        return self.run(f"{rec}_pnr_{what}", f"pnr-{what}", design, compute)


def run_config(n: int, m: int, args, root: Path) -> dict:
    c, started = Config(n, m, args, root), time.monotonic()
    row = compare.analytical_row(c.ir, c.man["fwht"], c.man["dense"])
    cores = {rec: core_design(folder, c.man[rec]) for rec, folder in c.folders.items()}
    if args.cores_only:
        core = c.synth("fwht", "core", cores["fwht"], f"{c.fam}-core")
        row["fwht"] = {"core": core["total"], "seconds_synth": core["seconds_synth"]}
    else:  # the whole FWHT design gives its top module's own cells and the FWHT core
        row["fwht"] = c.synth("fwht", "whole", designs.whole_design(c.folders["fwht"]), c.fam)
    if designs.dense_row_patterns(c.ir, TOP) > args.dense_chunk:
        build = c.folders["dense"] / "build" / f"{c.fam}-chunks"
        dense = c.run("dense_core_chunked", f"core-chunks {args.dense_chunk}", cores["dense"],
                      lambda: dense_core_in_chunks(c.ir, None, c.fam, build, args))
    else:
        dense = c.synth("dense", "core", cores["dense"], f"{c.fam}-core")
    row["dense"] = {"core": dense["total"], "seconds_synth": dense["seconds_synth"]}
    if not args.cores_only:
        own = row["fwht"]["top_own"]
        composed = {k: own[k] + dense["total"][k] for k in own if isinstance(own[k], int)}
        row["dense"]["total"] = composed
        if args.full_dense:
            full = c.synth("dense", "whole", designs.whole_design(c.folders["dense"]), c.fam)
            row["dense"]["total"] = full["total"]
            row["dense"]["composed_matches"] = all(full["total"][k] == composed[k]
                                                   for k in composed)
    for rec in ("fwht", "dense") if args.pnr else ():
        est = row[rec]["core"]["lut_equivalents"] + n * c.man[rec]["widths"]["rotated"]
        row[rec]["pnr_core"] = c.pnr(rec, "core", cores[rec], est, args.pnr_max_luts)
        if args.pnr_whole and not args.cores_only:
            row[rec]["pnr_whole"] = c.pnr(rec, "whole", designs.whole_design(c.folders[rec]),
                                          row[rec]["total"]["lut_equivalents"],
                                          args.pnr_whole_max_luts)
    row["_seconds"] = time.monotonic() - started  # for the progress line only
    return row


def main(argv: list[str] | None = None) -> int:
    args, start = parse_args(argv), time.monotonic()
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
    try:
        configs = designs.grid(args.sizes, args.blocks, args.pairs, (256,) * args.with_256)
    except HadamhwError as exc:
        raise SystemExit(str(exc)) from None
    root, results = Path(args.out), {}
    root.mkdir(parents=True, exist_ok=True)
    # the largest configurations first, so that the last job to finish is a short one
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_config, n, m, args, root): (n, m)
                   for n, m in sorted(configs, key=lambda c: c[0] * c[1], reverse=True)}
        for future in as_completed(futures):
            (n, m), error = futures[future], future.exception()
            if isinstance(error, HadamhwError):
                print(f"n={n} m={m}: {error}", file=sys.stderr)
                for other in futures:
                    other.cancel()
                return 2
            row = results[(n, m)] = future.result()
            print(compare.progress_line(row, row.pop("_seconds")), flush=True)
    rows = [results[c] for c in configs]
    table = table_rows(rows)
    command = "python tools/sweep_hw.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = markdown(table, args.fpga, command.strip())
    print(text)
    if args.markdown:  # the table's own file, or between the sweep_hw markers of a page
        sw.replace_marked(args.markdown, "sweep_hw", text, own_file=True)
    if args.csv:
        compare.write_csv(table, Path(args.csv))
    if args.json:
        sw.write_json(args.json, {"family": args.fpga, "command": command, "seed": args.seed,
                                  "rows": rows, "table": table}, final_newline=False)
    if args.plot:
        compare.plot(table, args.fpga, Path(args.plot))
    print(f"sweep took {time.monotonic() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
