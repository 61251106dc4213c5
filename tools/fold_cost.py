"""Area against time over the deep fold: place and route the paper's two configurations.

For each configuration (an IR file) and each number of butterfly units F, generate the
Verilog (`hadamhw generate --fold F`) and run `hadamhw report --fpga FAMILY --device DEV
--pnr --json`, one design after the other (Yosys and nextpnr are single-threaded; run this
under `nice -n 15` on a shared machine). Every report lands in OUT/<config>-F<F>-<family>.json
with the exact command and `uptime` beside it; a run that already has its JSON is skipped,
so the sweep resumes after an interruption. Each design is generated again first: where the
generator now makes other RTL than the folder holds, that design's reports move to
OUT/stale/ and it is measured again. `--table` prints the Markdown table of
docs/hardware-cost.md from the JSON files present (rows not measured are left out).

F is a number of butterfly units, `half` (n/2, the stage fold) or `parallel` (the fully
parallel core). `--lut-mapper`, `--router` and `--placer` pass on to `hadamhw report`; a
choice other than the default names its runs apart (copy-F64-ecp5-abc-router2-static.json),
so that one design measured two ways keeps both records. On the largest designs the default
placer's result does not route; `--router router2 --placer static` is the one to try there:

    nice -n 5 python tools/fold_cost.py --config copy=...copy_t1000.ir.json:1000 --folds half \
        --targets ecp5:85k --freq 30 --lut-mapper abc --router router2 --placer static

    nice -n 15 python tools/fold_cost.py --config pmnist=/work/models/pdigits_n512/...ir.json:784 \\
        --config copy=/work/models/copy_t1000/copy_t1000.ir.json:1000 --folds 1 4 16 half \\
        --targets ice40:up5k ecp5:25k -o out/fold_cost
    python tools/fold_cost.py -o out/fold_cost --table
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.report.pnr import (
    DEFAULT_PLACER,
    DEFAULT_ROUTER,
    PLACERS,
    PNR_FAMILIES,
    ROUTERS,
    nondefault_choices,
)
from hadamhw.report.synth import LUT_MAPPERS, check_lut_mapper, load_design

BIN = Path(sys.executable).parent
# the LUT mapper hadamhw report uses unless told (abc9 on every nextpnr family)
DEFAULT_MAPPERS = {check_lut_mapper(family, None) for family in PNR_FAMILIES}


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _run(cmd: list[str], log, timeout: float) -> subprocess.CompletedProcess:
    """Run cmd in its own process group; on a time-out end the group (Yosys and nextpnr
    are grandchildren) and raise subprocess.TimeoutExpired."""
    log.write(f"$ {' '.join(cmd)}\n# {_uptime()}\n")
    log.flush()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def fold_units(fold: str, n: int) -> int | str:
    """A --folds entry as butterfly units: a number, half (n/2) or parallel."""
    if fold == "parallel":
        return fold
    if fold == "half":
        return n // 2
    try:
        return int(fold)
    except ValueError:
        raise SystemExit(f"fold_cost.py: --folds {fold!r}: give a number of butterfly units, "
                         f"'half' or 'parallel'") from None


def run_suffix(args: argparse.Namespace) -> str:
    """The name part of the choices passed to hadamhw report other than its defaults."""
    mapper = [args.lut_mapper] if args.lut_mapper not in (None, *DEFAULT_MAPPERS) else []
    pnr = nondefault_choices(args.router or DEFAULT_ROUTER, args.placer or DEFAULT_PLACER)
    return "".join(f"-{value}" for value in (*mapper, *pnr))


def report_options(args: argparse.Namespace) -> list[str]:
    out = []
    for flag, value in (("--freq", args.freq), ("--lut-mapper", args.lut_mapper),
                        ("--router", args.router), ("--placer", args.placer)):
        if value is not None:
            out += [flag, f"{value:g}" if isinstance(value, float) else value]
    return out


def sweep(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = (out / "sweep.log").open("a")
    configs = [c.split("=", 1) for c in args.config]
    jobs = []
    for fold in args.folds:
        for name, spec in configs:
            for target in args.targets:
                jobs.append((fold, name, spec, target))
    for fold, name, spec, target in jobs:
        ir_path, steps = spec.rsplit(":", 1)
        n = json.loads(Path(ir_path).read_text())["hidden_size"]
        units = fold_units(fold, n)
        family, device = target.split(":")
        design = out / f"{name}-F{units}"
        run = f"{name}-F{units}-{family}{run_suffix(args)}"
        result = out / f"{run}.json"
        try:
            changed = fresh_design(ir_path, units, design, log)
        except RuntimeError as err:
            log.write(f"{err}\n")
            log.flush()
            print(f"fold_cost: {err}", file=sys.stderr)
            continue
        if changed:
            set_aside(out, design.name, log)
        if result.exists():
            continue
        cmd = [str(BIN / "hadamhw"), "report", str(design), "--fpga", family, "--device",
               device, "--pnr", "--json", "--quiet", *report_options(args), "--build-dir",
               str(out / "build" / run)]
        load = _uptime()
        start = time.time()
        try:
            proc = _run(cmd, log, args.timeout)
        except subprocess.TimeoutExpired:
            log.write(f"timed out after {args.timeout} s\n")
            log.flush()
            continue
        seconds = time.time() - start
        if proc.returncode not in (0, 1):
            log.write(f"report failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}\n")
            log.flush()
            continue
        report = json.loads(proc.stdout)
        report["sweep"] = {"config": name, "ir": ir_path, "steps_per_sequence": int(steps),
                           "units": units, "device": device, "command": " ".join(cmd),
                           "uptime_before": load, "uptime_after": _uptime(),
                           "wall_seconds": round(seconds, 1)}
        # whole or not at all: the table reads every JSON file here
        partial = result.with_suffix(".json.partial")
        partial.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        partial.replace(result)
        pnr = report.get("pnr") or {}
        log.write(f"done {result.name}: {pnr.get('status')} fmax {pnr.get('fmax_mhz')} "
                  f"in {seconds:.0f} s\n")
        log.flush()


def _hdl(folder: Path) -> dict[str, bytes] | None:
    """The HDL files of a generated design, by name (None where there is no design)."""
    try:
        design = load_design(folder)
    except HadamhwError:
        return None
    return {path.name: path.read_bytes() for path in design.hdl_files}


def fresh_design(ir_path: str, units: int | str, design: Path, log) -> bool:
    """Generate the design again (deterministic) and keep it in `design`: whether it differs
    from the design that was there, whose reports then measured other RTL. A folder with no
    design counts as unchanged, so a first run keeps nothing aside."""
    fresh = design.with_name(design.name + ".fresh")
    if fresh.exists():
        shutil.rmtree(fresh)
    gen = [str(BIN / "hadamhw"), "generate", ir_path, "--target", "verilog",
           "--fold", str(units), "-o", str(fresh)]
    try:
        proc = _run(gen, log, 600)
    except subprocess.TimeoutExpired:
        shutil.rmtree(fresh, ignore_errors=True)
        raise RuntimeError(f"generate {design.name}: timed out after 600 s") from None
    if proc.returncode:
        shutil.rmtree(fresh, ignore_errors=True)
        raise RuntimeError(f"generate {design.name} failed: {proc.stderr.strip()}")
    old = _hdl(design)
    if old is not None and old == _hdl(fresh):
        shutil.rmtree(fresh)
        return False
    if design.exists():
        shutil.rmtree(design)
    fresh.rename(design)
    return old is not None


def set_aside(out: Path, design: str, log) -> None:
    """Move the reports of a design whose RTL changed into OUT/stale/ (kept, out of the
    table), so that the sweep measures the new RTL."""
    stale = out / "stale"
    for report in sorted(out.glob(f"{design}-*.json")):
        stale.mkdir(exist_ok=True)
        report.replace(stale / report.name)
        message = (f"{report.name}: measured RTL that the generator no longer makes; "
                   f"moved to {stale / report.name}, measured again")
        log.write(message + "\n")
        print(f"fold_cost: {message}", file=sys.stderr)
    log.flush()


# What docs/fold-cost.json keeps of each report: the numbers, the command and the load.
RECORD_FIELDS = ("cycles_per_step", "family", "latency_cycles", "mul_cells", "pnr", "sweep",
                 "total", "yosys")


def record(path: Path, rep: dict) -> dict:
    """One run's record for `--json`."""
    a = rep.get("analytical") or {}
    merged = {**rep, "cycles_per_step": a.get("cycles_per_step"),
              "latency_cycles": a.get("latency_cycles")}
    out = {"file": path.name, **{k: merged.get(k) for k in RECORD_FIELDS}}
    if out["pnr"]:  # the log's path is this machine's, not a result
        out["pnr"] = {k: v for k, v in out["pnr"].items() if k != "log"}
    return out


def table(args: argparse.Namespace) -> None:
    cells = {"ice40": ("ICESTORM_LC", "ICESTORM_RAM"), "ecp5": ("TRELLIS_COMB", "DP16KD")}
    rows = []
    records = []
    for path in sorted(Path(args.out).glob("*-F*-*.json")):
        try:
            rep = json.loads(path.read_text())
            rep["sweep"]
        except (ValueError, KeyError, TypeError):
            print(f"fold_cost.py: {path}: not a finished run's report, left out",
                  file=sys.stderr)
            continue
        records.append(record(path, rep))
        sw = rep["sweep"]
        pnr = rep.get("pnr") or {}
        util = pnr.get("utilization") or {}
        logic, ram = (util.get(c, {}) for c in cells[rep["family"]])
        a = rep["analytical"]
        manifest = Path(args.out) / f"{sw['config']}-F{sw['units']}" / "manifest.json"
        plan = a.get("fold_plan") or (json.loads(manifest.read_text()).get("fold_plan", {})
                                      if manifest.exists() else {})
        cycles = a.get("cycles_per_step")
        fmax = pnr.get("fmax_mhz")
        seq_us = cycles * sw["steps_per_sequence"] / fmax if fmax and cycles else None
        # placer before router here: the docs table's rows read "(abc, static, router2)"
        pnr_choices = nondefault_choices(pnr.get("router", DEFAULT_ROUTER),
                                         pnr.get("placer", DEFAULT_PLACER))[::-1]
        mapper = ((rep["lut_mapper"],) if rep.get("lut_mapper") not in (None, *DEFAULT_MAPPERS)
                  else ())
        rows.append({"config": sw["config"], "units": sw["units"], "family": rep["family"],
                     "choices": [*mapper, *pnr_choices],
                     "device": pnr.get("device") or sw["device"], "logic": logic, "ram": ram,
                     "luts": rep["total"]["lut_equivalents"], "ffs": rep["total"]["ffs"],
                     "bits": (plan.get("ram_bits", 0) + plan.get("rom_bits", 0)) or None,
                     "dsp": rep["total"]["dsp"], "mul": rep["mul_cells"], "fmax": fmax,
                     "cycles": cycles, "seq_us": seq_us, "status": pnr.get("status", "")})
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    order = {"ice40": 0, "ecp5": 1}
    rows.sort(key=lambda r: (r["config"], order.get(r["family"], 2),
                             r["units"] if isinstance(r["units"], int) else 1 << 30))

    def used(c: dict) -> str:
        return f"{c['used']:,} / {c['available']:,}" if c else "—"

    print("| config | F | device | logic cells placed | LUT eq. (synth) | FFs (synth) "
          "| block RAM placed | vector + table bits | DSP / $mul | Fmax (MHz) | cycles/step "
          "| time/sequence | sequences/s |")
    print("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        routed = r["status"] == "routed"
        fmax = f"{r['fmax']:.1f}" if r["fmax"] else "—"
        seq = f"{r['seq_us'] / 1000:.1f} ms" if r["seq_us"] else "—"
        rate = f"{1e6 / r['seq_us']:,.1f}" if r["seq_us"] else "—"
        logic = used(r["logic"]) if routed else r["status"]
        bits = f"{r['bits']:,}" if r["bits"] else "—"
        device = r["device"] + (f" ({', '.join(r['choices'])})" if r["choices"] else "")
        print(f"| {r['config']} | {r['units']} | {device} | {logic} | {r['luts']:,} "
              f"| {r['ffs']:,} | {used(r['ram']) if routed else '—'} | {bits} "
              f"| {r['dsp']} / {r['mul']} | {fmax} | {r['cycles']:,} | {seq} | {rate} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", action="append", default=[],
                    help="NAME=IR.json:STEPS_PER_SEQUENCE (repeatable)")
    ap.add_argument("--folds", nargs="+", default=["1", "4", "16", "half"],
                    help="butterfly units; 'half' = n/2 (the stage fold), 'parallel' the "
                         "fully parallel core")
    ap.add_argument("--targets", nargs="+", default=["ice40:up5k", "ecp5:25k"],
                    help="FAMILY:DEVICE pairs")
    ap.add_argument("-o", "--out", default="out/fold_cost")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per report")
    ap.add_argument("--freq", type=float, default=None,
                    help="nextpnr's target clock in MHz (default: hadamhw report's)")
    ap.add_argument("--lut-mapper", choices=LUT_MAPPERS, default=None,
                    help="Yosys's LUT mapping (default: hadamhw report's, abc9 on ecp5)")
    ap.add_argument("--router", choices=ROUTERS, default=None,
                    help="nextpnr's router (default: router1)")
    ap.add_argument("--placer", choices=PLACERS, default=None,
                    help="nextpnr's placer (default: heap)")
    ap.add_argument("--table", action="store_true", help="print the Markdown table and exit")
    ap.add_argument("--json", help="with --table: write every run's record (numbers, command, "
                                   "load) to this file")
    args = ap.parse_args()
    if args.table:
        table(args)
    else:
        sweep(args)


if __name__ == "__main__":
    main()
