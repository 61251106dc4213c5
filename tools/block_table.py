#!/usr/bin/env python3
"""Block-HadamRNN table: accuracy and hardware cost against the Hadamard block size m.

For the copy task (delay 100) and sequential digits at n = 128, one model per block size m
(default 4, 16, 32, 128) is 1. trained (`hadamhw train`, one process per model, skipped when
MODELS/<name>.pt exists), 2. lowered (hadamhw.api.lower) and evaluated on the test set, float
against integer, 3. generated (one step per cycle) and synthesized (Yosys, ECP5): the core's
and the whole design's LUT equivalents, cached by the digest of their HDL. Each phase runs
alone; OUT/results.json keeps the results, so the table is re-rendered without redoing them.

    python tools/block_table.py --models runs/block --phases train           # hours
    python tools/block_table.py --models runs/block --phases eval,hw --markdown docs/results.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import hadamhw.report.sweep as sw
from hadamhw.api import load, lower
from hadamhw.errors import HadamhwError
from hadamhw.report.sweep.blocks import model_name, render
from hadamhw.report.sweep.designs import core_design

TASKS, BLOCKS, PHASES = ("copy", "digits"), (4, 16, 32, 128), ("train", "eval", "hw")
HIDDEN, TOP = 128, "hadamrnn"
TRAIN_ARGS = {  # the training recipes of docs/results.md (HadamRNN rows), every m
    "copy": ["--task", "copy", "--seq-len", "100", "--steps", "3000", "--val-every", "250",
             "--lr", "1e-3", "--batch-size", "128"],
    "digits": ["--task", "digits", "--epochs", "60", "--batch-size", "64", "--lr", "2e-3",
               "--val-every", "100"],
}
METRIC = {"copy": "recall_accuracy", "digits": "accuracy"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    add = p.add_argument
    add("--models", default="runs/block", help="folder of the trained models")
    add("--out", help="folder for designs, synthesis and results.json (default MODELS)")
    add("--phases", default="train,eval,hw", help="subset of train,eval,hw (default all)")
    add("--tasks", default=",".join(TASKS), help="copy,digits (default both)")
    add("--blocks", default=",".join(map(str, BLOCKS)), help="block sizes m (default 4,16,32,128)")
    add("--hidden", type=int, default=HIDDEN, help="hidden size n (default 128)")
    add("--seed", type=int, default=0)
    add("--state-bits", type=int, default=12)
    add("--fpga", default="ecp5", choices=("generic", "ice40", "ecp5", "xilinx"))
    add("--threads", type=int, default=1, help="torch threads per training run")
    add("--cores-only", action="store_true", help="hw: the recurrent core alone (minutes)")
    sw.add_pnr_arguments(p, include=("lut_mapper",))  # whole designs; the core: always abc9
    add("--timeout", type=float, default=7200.0, help="seconds per synthesis")
    add("--markdown", metavar="FILE.md", help="write the table (between its markers)")
    add("--quiet", action="store_true", help="no tool progress on stderr")
    args = p.parse_args(argv)
    try:
        args.phases = sw.parse_list(args.phases, "--phases", "phase", PHASES)
        args.tasks = sw.parse_list(args.tasks, "--tasks", "task", TASKS)
        args.blocks = [int(b) for b in args.blocks.split(",") if b]
    except (HadamhwError, ValueError) as exc:
        p.error(str(exc) if isinstance(exc, HadamhwError) else
                f"--blocks: expected integers, got {args.blocks!r}")
    if any(b < 2 or b & (b - 1) or args.hidden % b for b in args.blocks):
        p.error(f"--blocks: each m must be a power of two dividing n = {args.hidden}")
    args.models = Path(args.models)
    args.out = Path(args.out) if args.out else args.models
    return args


def train(task: str, m: int, args) -> dict:
    """Train one model in its own process (resumable through its .resume.pt)."""
    path = args.models / f"{model_name(task, m, args.hidden)}.pt"
    if path.is_file():
        return {"status": "exists"}
    resume, exe = path.with_name(f"{path.stem}.resume.pt"), Path(sys.executable)
    cmd = [str(exe.with_name("hadamhw"))] if exe.with_name("hadamhw").exists() else [
        sys.executable, "-m", "hadamhw.cli"]
    cmd += ["train", "--resume", str(resume)] if resume.is_file() else [
        "train", *TRAIN_ARGS[task], "--hidden", str(args.hidden), "--block-size", str(m),
        "--seed", str(args.seed), "--checkpoint-every", "250"]
    cmd += ["--threads", str(args.threads), "--no-progress", "-o", str(path)]
    log, start = path.with_suffix(".log"), time.monotonic()
    print(f"[train] {path.name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    with log.open("a") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f"training {path.name} failed (exit {proc.returncode}); see {log}")
    return {"status": "trained", "seconds": round(time.monotonic() - start, 1)}


def evaluate(task: str, m: int, args) -> dict:
    from hadamhw.checkpoint import load_checkpoint
    from hadamhw.evaluate import evaluate as run_eval
    from hadamhw.tasks import task_from_metadata

    path = args.models / f"{model_name(task, m, args.hidden)}.pt"
    if not path.is_file():
        raise SystemExit(f"{path}: no trained model (run the train phase first)")
    model, payload = load_checkpoint(path)
    ir, ir_path = lower(path, state_bits=args.state_bits), args.out / f"{path.stem}.ir.json"
    ir.save(ir_path)
    report = run_eval(task_from_metadata(payload["task"]), "test", model=model, ir=ir)
    metric, f, i = METRIC[task], report["float"], report["integer"]
    copy = {"float_ce_over_baseline": f["ce_over_baseline"],
            "integer_ce_over_baseline": i["ce_over_baseline"]} if task == "copy" else {}
    return {"float": f[metric], "integer": i[metric], **copy,
            "argmax_agreement": report["argmax_agreement"],
            "saturation_rate": i["saturation_rate"],
            "train_seconds": payload["metrics"].get("train_seconds"), "ir": str(ir_path)}


def hardware(task: str, m: int, args) -> dict:
    """Generate the design and synthesize it (or its core alone), cached under OUT/hw-cache
    by the digest of the HDL measured: an unchanged design is not synthesized again."""
    name, fpga, mapper = model_name(task, m, args.hidden), args.fpga, args.lut_mapper
    ir_path, folder = args.out / f"{name}.ir.json", args.out / f"{name}_rtl"
    if not ir_path.is_file():
        raise SystemExit(f"{ir_path}: no IR (run the eval phase first)")
    manifest = sw.generate_design(load(ir_path), folder, top=TOP)
    cache = sw.ResultCache(args.out / "hw-cache", label="block_table")
    row = {"adders_recurrent": manifest["adders_per_step"]["recurrent"], "fpga": fpga}
    if args.cores_only:
        core = core_design(folder, manifest, TOP)
        found = cache.measured(f"{name}-core-{fpga}", sw.hdl_files(core),
                               f"block_table core {fpga}", lambda: core_luts(core, folder, args))
        return {**row, "core_luts": found["core_luts"]}
    hdl, suffix = sw.design_hdl(folder), "" if mapper == "abc9" else f"_{mapper}"
    found = cache.measured(f"{name}-whole-{fpga}-{mapper}", hdl, f"block_table whole {fpga} "
                           f"{mapper}", lambda: whole_numbers(folder, args))
    return {**row, **{k: v for k, v in found.items() if k not in (sw.KEY, "seconds")},
            f"rtl_sha256{suffix}": sw.hdl_digest(hdl, "rtl", length=64)}


def whole_numbers(folder: Path, args) -> dict:
    """The whole design's report: its LUTs and flip-flops (the LUT mapper's own keys) and,
    with abc9, the core's LUTs."""
    from hadamhw.report import make_report, rotate_module

    report = make_report(folder, args.fpga, progress=not args.quiet, timeout=args.timeout,
                         lut_mapper=args.lut_mapper)
    suffix = "" if args.lut_mapper == "abc9" else f"_{args.lut_mapper}"  # abc9: the old keys
    row = {f"whole_luts{suffix}": report["total"]["lut_equivalents"],
           f"whole_ffs{suffix}": report["total"]["ffs"],
           f"synth_seconds{suffix}": report["seconds"]["synth"],
           "mul_cells": report["mul_cells"], "yosys": report["yosys"]}
    if args.lut_mapper == "abc9":
        core = next(mod for mod in report["modules"] if mod["name"] == rotate_module(TOP))
        row["core_luts"] = core["total"]["lut_equivalents"]
    return row


def core_luts(core, folder: Path, args) -> dict:
    """LUT equivalents of the recurrent core `<top>_rotate` synthesized alone (ports h, r)."""
    from hadamhw.report.synth import synthesize

    result = synthesize(core, args.fpga, folder / "build" / f"{args.fpga}-core",
                        progress=not args.quiet, timeout=args.timeout)
    return {"core_luts": result.total.lut_equivalents}


BEGIN, END = sw.markers("block_table")


def write_markdown(path: Path, table: str) -> None:  # a new file, or between the markers
    sw.replace_marked(path, "block_table", table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for folder in (args.models, args.out):
        folder.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    for phase, step in (("train", train), ("eval", evaluate), ("hw", hardware)):
        for task, m in ((t, m) for t in args.tasks for m in args.blocks if phase in args.phases):
            name = model_name(task, m, args.hidden)
            print(f"[{phase}] {name}", file=sys.stderr, flush=True)
            entry, value = results.setdefault(name, {}), step(task, m, args)
            # new hw numbers replace their own keys only: a cores-only run keeps the whole
            # design's numbers, an abc run the abc9 ones (and the other way round)
            entry[phase] = {**entry.get(phase, {}), **value} if phase == "hw" else value
            sw.write_json(path, results, final_newline=False)
    table = render(results, args.tasks, args.blocks, args.hidden, args.state_bits)
    print(table, end="")
    if args.markdown:
        write_markdown(Path(args.markdown), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
