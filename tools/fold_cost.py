"""Area against time over the deep fold: place and route the paper's two configurations.

Each configuration (NAME=IR.json:STEPS) is generated with each number of butterfly units F
(a number, `half`: n/2, the stage fold, or `parallel`) and measured like `hadamhw report
--fpga FAMILY --device DEV --pnr --json`, one design after the other (`nice -n 15`). Each
report lands in OUT/<config>-F<F>-<family>[-choices].json, keyed by the digest of the
design's HDL (hadamhw.report.sweep): the sweep resumes, and a report of RTL the generator no
longer makes moves to OUT/stale/ and is measured again. `--table` prints the docs table.

    nice -n 5 python tools/fold_cost.py --config copy=...copy_t1000.ir.json:1000 --folds half \\
        --targets ecp5:85k --freq 30 --lut-mapper abc --router router2 --placer static
    python tools/fold_cost.py -o out/fold_cost --table --json docs/fold-cost.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import hadamhw.report.sweep as sw
import hadamhw.report.sweep.folds as folds
from hadamhw.api import load
from hadamhw.errors import HadamhwError
from hadamhw.report.sweep.designs import design_manifest

# What docs/fold-cost.json keeps of each report: the numbers, the command and the load.
RECORD_FIELDS = ("cycles_per_step", "family", "latency_cycles", "mul_cells", "pnr", "sweep",
                 "total", "yosys")
def fold_units(fold: str, n: int) -> int | str:
    """A --folds entry as butterfly units: a number, half (n/2) or parallel."""
    if fold in ("parallel", "half"):
        return fold if fold == "parallel" else n // 2
    try:
        return int(fold)
    except ValueError:
        raise SystemExit(f"fold_cost.py: --folds {fold!r}: give a number of butterfly units, "
                         f"'half' or 'parallel'") from None


def run_suffix(args: argparse.Namespace) -> str:
    """The name part of the choices other than the defaults: mapper, router, placer."""
    opts = sw.pnr_options(args)
    return "".join(f"-{value}" for value in (*opts.mapper_choices(), *opts.pnr_choices()))


def report_options(args: argparse.Namespace) -> list[str]:
    """The `hadamhw report` flags of the choices (recorded with each run's command)."""
    return sw.pnr_options(args).report_flags()


def reports(out: Path) -> sw.ResultCache:  # OUT/<run>.json
    return sw.ResultCache(out, record=None, label="fold_cost")


def run_key(hdl: dict[str, bytes], run: str) -> str:  # the run's name holds every option
    return sw.hdl_digest(hdl, f"fold_cost v1 {run}", tools=sw.tool_versions())


def design_for(ir_path: str, units: int | str, folder: Path) -> dict[str, bytes]:
    """Generate the design again (deterministic) into `folder`; its HDL files."""
    try:
        sw.generate_design(load(ir_path), folder, fold=units)
        return sw.design_hdl(folder)
    except HadamhwError as err:
        raise RuntimeError(f"generate {folder.name} failed: {err}") from None


def measure(design: Path, family: str, device: str, run: str, args) -> dict:
    """`hadamhw report DESIGN --fpga FAMILY --device DEVICE --pnr`, in-process."""
    from hadamhw.report import make_report

    opts, build = sw.pnr_options(args, family), Path(args.out) / "build" / run
    command = " ".join(["hadamhw report", str(design), "--fpga", family, "--device", device,
                        "--pnr", "--json", "--quiet", *report_options(args), "--build-dir",
                        str(build)])
    before, start = sw.uptime(), time.time()
    report = make_report(design, family, pnr=True, build_dir=build, progress=False,
                         freq_mhz=opts.freq_mhz, timeout=args.timeout, device=device,
                         router=opts.router, placer=opts.placer, lut_mapper=opts.lut_mapper)
    report["sweep"] = {"command": command, "uptime_before": before, "uptime_after": sw.uptime(),
                       "wall_seconds": round(time.time() - start, 1)}
    return report


def sweep(args: argparse.Namespace) -> None:
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with (Path(args.out) / "sweep.log").open("a") as log:
        for fold, (name, spec), target in ((f, c.split("=", 1), t) for f in args.folds
                                           for c in args.config for t in args.targets):
            run_job(fold, name, spec, target, reports(Path(args.out)), args, log)


def run_job(fold: str, name: str, spec: str, target: str, cache, args, log) -> None:
    (ir_path, steps), (family, device) = spec.rsplit(":", 1), target.split(":")
    try:
        units = fold_units(fold, load(ir_path).hidden_size)
        design, run = Path(args.out) / f"{name}-F{units}", f"{name}-F{units}-{family}"
        run += run_suffix(args)
        key = run_key(design_for(ir_path, units, design), run)
    except (RuntimeError, HadamhwError) as err:
        log.write(f"{err}\n")
        print(f"fold_cost: {err}", file=sys.stderr)
        return
    if cache.lookup(run, key) is not None:
        return
    try:
        report = measure(design, family, device, run, args)
    except HadamhwError as err:
        log.write(f"{run}: report failed: {err}\n")
        return
    report["sweep"].update(config=name, ir=ir_path, steps_per_sequence=int(steps), units=units,
                           device=device)
    cache.store(run, key, report)  # whole or not at all: the table reads every report here
    pnr = report.get("pnr") or {}
    log.write(f"done {run}.json: {pnr.get('status')} fmax {pnr.get('fmax_mhz')} in "
              f"{report['sweep']['wall_seconds']:.0f} s\n")
    log.flush()


def record(path: Path, rep: dict) -> dict:
    """One run's record for `--json`."""
    return sw.report_record(path.name, rep, RECORD_FIELDS)


def table_row(rep: dict, out: Path) -> dict:
    """The table's numbers of a report; the fold plan from its design folder where reports
    made before the analytical numbers carried the plan lack it."""
    run, plan = rep["sweep"], None
    folder = out / f"{run['config']}-F{run['units']}"
    if (rep.get("analytical") or {}).get("fold_plan") is None and folder.is_dir():
        plan = design_manifest(folder).get("fold_plan", {})
    return folds.table_row(rep, plan)


def table(args: argparse.Namespace) -> None:
    rows, records = [], []
    for path in sorted(Path(args.out).glob("*-F*-*.json")):
        rep = reports(Path(args.out)).read(path.stem)
        if rep is None or not isinstance(rep.get("sweep"), dict):
            print(f"fold_cost.py: {path}: not a finished run's report, left out",
                  file=sys.stderr)
            continue
        records.append(record(path, rep))
        rows.append(table_row(rep, Path(args.out)))
    if args.json:
        sw.write_json(args.json, records)
    order = {"ice40": 0, "ecp5": 1}
    rows.sort(key=lambda r: (r["config"], order.get(r["family"], 2),
                             r["units"] if isinstance(r["units"], int) else 1 << 30))
    print(sw.markdown_table(folds.HEADER, [folds.cells(r) for r in rows], folds.ALIGN),
          end="")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", action="append", default=[], help="NAME=IR.json:STEPS")
    ap.add_argument("--folds", nargs="+", default=["1", "4", "16", "half"], help="units F")
    ap.add_argument("--targets", nargs="+", default=["ice40:up5k", "ecp5:25k"],
                    help="FAMILY:DEVICE pairs")
    ap.add_argument("-o", "--out", default="out/fold_cost")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per tool run")
    sw.add_pnr_arguments(ap, include=("freq", "lut_mapper", "router", "placer"))
    ap.add_argument("--table", action="store_true", help="print the Markdown table and exit")
    ap.add_argument("--json", help="with --table: write every run's record here")
    args = ap.parse_args(argv)
    if args.table:
        table(args)
    else:
        sweep(args)


if __name__ == "__main__":
    main()
