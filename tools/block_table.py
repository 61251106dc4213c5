#!/usr/bin/env python3
"""Block-HadamRNN table: accuracy and hardware cost against the Hadamard block size m.

For the copy task (delay 100) and sequential digits, at n = 128, one model per block size m
(default 4, 16, 32, 128; m = n is HadamRNN with binary W, m < n Block-HadamRNN with sparse
ternary W of density m/n) is

1. trained (`hadamhw train`, one process per model, skipped when MODELS/<name>.pt exists:
   an interrupted sweep continues where it stopped, and a finished one is not redone);
2. lowered to the integer IR (12-bit state by default) and evaluated on the whole test set,
   float model against the integer golden model;
3. generated as Verilog (fully parallel: one time step per cycle) and synthesized with
   Yosys (ECP5 by default, hierarchically), giving the LUT equivalents of the recurrent
   core (`<top>_rotate`) and of the whole design.

Every phase can run alone: `--phases train` trains (slow, CPU), `--phases eval,hw` takes
the trained models from --models and never trains. Results are kept per model in
OUT/results.json, so the table can be re-rendered without redoing anything.

    python tools/block_table.py --models runs/block --phases train           # hours
    python tools/block_table.py --models runs/block --phases eval,hw \\
        --markdown docs/results.md      # replaces the table between its markers
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TASKS = ("copy", "digits")
BLOCKS = (4, 16, 32, 128)
PHASES = ("train", "eval", "hw")
HIDDEN = 128
TOP = "hadamrnn"

# The training recipes of docs/results.md (HadamRNN rows), used for every block size.
TRAIN_ARGS = {
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
    p.add_argument("--models", default="runs/block", help="folder of the trained models "
                   "(written by the train phase, read by the others; default runs/block)")
    p.add_argument("--out", default=None,
                   help="folder for designs, synthesis and results.json (default MODELS)")
    p.add_argument("--phases", default="train,eval,hw",
                   help="comma-separated subset of train, eval, hw (default all)")
    p.add_argument("--tasks", default=",".join(TASKS), help="copy,digits (default both)")
    p.add_argument("--blocks", default=",".join(map(str, BLOCKS)),
                   help="block sizes m, comma-separated (default 4,16,32,128)")
    p.add_argument("--hidden", type=int, default=HIDDEN, help="hidden size n (default 128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--state-bits", type=int, default=12)
    p.add_argument("--fpga", default="ecp5", choices=("generic", "ice40", "ecp5", "xilinx"))
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    p.add_argument("--cores-only", action="store_true",
                   help="hw phase: synthesize the recurrent core alone (minutes), not the "
                        "whole design (the whole column stays empty; rerun without it later)")
    p.add_argument("--lut-mapper", default="abc9", choices=("abc9", "abc"),
                   help="hw phase, whole designs: Yosys's LUT mapping (default abc9, the "
                        "report's own: up to 1.6 h a design at n = 128; abc: a minute, kept "
                        "in a column of its own). The core column is always abc9")
    p.add_argument("--timeout", type=float, default=7200.0,
                   help="give up on one synthesis after this many seconds")
    p.add_argument("--markdown", default=None, metavar="FILE.md", help="write the table")
    p.add_argument("--quiet", action="store_true", help="no tool progress on stderr")
    args = p.parse_args(argv)
    args.phases = [s for s in args.phases.split(",") if s]
    bad = [s for s in args.phases if s not in PHASES]
    if bad:
        p.error(f"--phases: unknown phase {bad[0]!r}; choose from {', '.join(PHASES)}")
    args.tasks = [s for s in args.tasks.split(",") if s]
    if any(t not in TASKS for t in args.tasks):
        p.error(f"--tasks: choose from {', '.join(TASKS)}")
    try:
        args.blocks = [int(b) for b in args.blocks.split(",") if b]
    except ValueError:
        p.error(f"--blocks: expected integers, got {args.blocks!r}")
    if any(b < 2 or b & (b - 1) or args.hidden % b for b in args.blocks):
        p.error(f"--blocks: each m must be a power of two dividing n = {args.hidden}")
    args.models = Path(args.models)
    args.out = Path(args.out) if args.out else args.models
    return args


def model_name(task: str, m: int, n: int) -> str:
    return f"{task}_n{n}_m{m}"


def hadamhw_command() -> list[str]:
    exe = Path(sys.executable).with_name("hadamhw")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hadamhw.cli"]


def train(task: str, m: int, args) -> dict:
    """Train one model in its own process (resumable through its .resume.pt)."""
    path = args.models / f"{model_name(task, m, args.hidden)}.pt"
    if path.is_file():
        return {"status": "exists"}
    resume = path.with_name(f"{path.stem}.resume.pt")
    cmd = hadamhw_command() + ["train"]
    if resume.is_file():
        cmd += ["--resume", str(resume)]
    else:
        cmd += [*TRAIN_ARGS[task], "--hidden", str(args.hidden), "--block-size", str(m),
                "--seed", str(args.seed), "--checkpoint-every", "250"]
    cmd += ["--threads", str(args.threads), "--no-progress", "-o", str(path)]
    log = path.with_suffix(".log")
    print(f"[train] {path.name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    start = time.monotonic()
    with log.open("a") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f"training {path.name} failed (exit {proc.returncode}); see {log}")
    return {"status": "trained", "seconds": round(time.monotonic() - start, 1)}


def evaluate(task: str, m: int, args) -> dict:
    from hadamhw.checkpoint import load_checkpoint
    from hadamhw.evaluate import evaluate as run_eval
    from hadamhw.ir.lower import LoweringSettings, calibration_inputs, lower
    from hadamhw.tasks import task_from_metadata

    path = args.models / f"{model_name(task, m, args.hidden)}.pt"
    if not path.is_file():
        raise SystemExit(f"{path}: no trained model (run the train phase first)")
    model, payload = load_checkpoint(path)
    data = task_from_metadata(payload["task"])
    iq = data.input_quant.to_dict() if data.input_quant else None
    ir, _ = lower(model, calibration_inputs(data, 512), LoweringSettings(
        state_bits=args.state_bits), input_quant=iq, meta={"name": path.stem})
    ir_path = args.out / f"{path.stem}.ir.json"
    ir.save(ir_path)
    report = run_eval(data, "test", model=model, ir=ir)
    metric = METRIC[task]
    row = {"float": report["float"][metric], "integer": report["integer"][metric],
           "argmax_agreement": report["argmax_agreement"],
           "saturation_rate": report["integer"]["saturation_rate"],
           "train_seconds": payload["metrics"].get("train_seconds"),
           "ir": str(ir_path)}
    if task == "copy":
        row["float_ce_over_baseline"] = report["float"]["ce_over_baseline"]
        row["integer_ce_over_baseline"] = report["integer"]["ce_over_baseline"]
    return row


def hardware(task: str, m: int, args) -> dict:
    from hadamhw.backends import GenerateOptions
    from hadamhw.backends import verilog as vg
    from hadamhw.ir.schema import IntegerRNN
    from hadamhw.report import make_report, rotate_module

    ir_path = args.out / f"{model_name(task, m, args.hidden)}.ir.json"
    if not ir_path.is_file():
        raise SystemExit(f"{ir_path}: no IR (run the eval phase first)")
    ir = IntegerRNN.load(ir_path)
    folder = args.out / f"{model_name(task, m, args.hidden)}_rtl"
    manifest = vg.generate(ir, folder, GenerateOptions(top=TOP))
    if args.cores_only:
        return {"core_luts": core_luts(folder, manifest, args),
                "adders_recurrent": manifest["adders_per_step"]["recurrent"],
                "fpga": args.fpga}
    mapper = args.lut_mapper
    report = make_report(folder, args.fpga, progress=not args.quiet, timeout=args.timeout,
                         lut_mapper=mapper)
    core = next(mod for mod in report["modules"] if mod["name"] == rotate_module(TOP))
    suffix = "" if mapper == "abc9" else f"_{mapper}"  # abc9: the keys of earlier results
    row = {f"whole_luts{suffix}": report["total"]["lut_equivalents"],
           f"whole_ffs{suffix}": report["total"]["ffs"],
           f"synth_seconds{suffix}": report["seconds"]["synth"],
           f"rtl_sha256{suffix}": rtl_digest(folder, manifest),
           "mul_cells": report["mul_cells"],
           "adders_recurrent": manifest["adders_per_step"]["recurrent"],
           "fpga": args.fpga,
           "yosys": report["yosys"]}
    if mapper == "abc9":
        row["core_luts"] = core["total"]["lut_equivalents"]
    return row


def rtl_digest(folder: Path, manifest: dict) -> str:
    """SHA-256 over the design's HDL files: which RTL a whole-design number belongs to."""
    from hadamhw.verify.build_cache import content_key

    return content_key("rtl", sources=[(name, (folder / name).read_bytes())
                                       for name in manifest["hdl_files"]], length=64)


def core_luts(folder: Path, manifest: dict, args) -> int:
    """LUT equivalents of the recurrent core `<top>_rotate` synthesized alone (ports h, r)."""
    from hadamhw.report import rotate_module
    from hadamhw.report.synth import Design, synthesize

    n, w = manifest["hidden_size"], manifest["widths"]
    ports = [{"name": "h", "direction": "input", "width": n * w["state"]},
             {"name": "r", "direction": "output", "width": n * w["rotated"]}]
    core = Design(folder, {"ports": ports}, [folder / f"{TOP}_rotate.v"], rotate_module(TOP))
    result = synthesize(core, args.fpga, folder / "build" / f"{args.fpga}-core",
                        progress=not args.quiet, timeout=args.timeout)
    return result.total.lut_equivalents


def merge_hw(old: dict | None, new: dict) -> dict:
    """New numbers replace their own keys only: a cores-only run keeps the whole-design
    numbers, an abc run the abc9 ones (and the other way round)."""
    return {**(old or {}), **new}


def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def save_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _whole(hw: dict, suffix: str) -> str:
    """A whole-design count, marked † where the other mapper measured different RTL."""
    value = hw.get(f"whole_luts{suffix}")
    other = "_abc" if suffix == "" else ""
    mine, theirs = hw.get(f"rtl_sha256{suffix}"), hw.get(f"rtl_sha256{other}")
    mark = " †" if value is not None and mine and theirs and mine != theirs else ""
    return _fmt(value, ",") + mark


def render(results: dict, tasks: list[str], blocks: list[int], n: int, state_bits: int) -> str:
    lines = [
        f"| task | m | W density | W nonzeros (±1 bits) | sign bits stored | float | "
        f"integer ({state_bits}-bit state) | argmax agreement | core LUT eq. | "
        f"whole LUT eq. (abc9) | whole LUT eq. (abc) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task in tasks:
        for m in blocks:
            r = results.get(model_name(task, m, n), {})
            ev, hw = r.get("eval", {}), r.get("hw", {})
            extra = ""
            if task == "copy" and "float_ce_over_baseline" in ev:
                extra = (f" (CE {ev['float_ce_over_baseline']:.4f} / "
                         f"{ev['integer_ce_over_baseline']:.4f} x baseline)")
            lines.append(
                f"| {task} | {m} | {m / n:.3g} | {n * m:,} | {n} | "
                f"{_fmt(ev.get('float'), '.2%')} | {_fmt(ev.get('integer'), '.2%')}{extra} | "
                f"{_fmt(ev.get('argmax_agreement'), '.3%')} | "
                f"{_fmt(hw.get('core_luts'), ',')} | {_whole(hw, '')} | {_whole(hw, '_abc')} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- block_table.py: begin -->", "<!-- block_table.py: end -->"


def write_markdown(path: Path, table: str) -> None:
    """Write the table; in a file that has the BEGIN/END markers (docs/results.md), replace
    only what lies between them."""
    text = path.read_text() if path.is_file() else ""
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        path.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")
    else:
        path.write_text(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.models.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results = load_results(results_path)
    for phase, step in (("train", train), ("eval", evaluate), ("hw", hardware)):
        if phase not in args.phases:
            continue
        for task in args.tasks:
            for m in args.blocks:
                name = model_name(task, m, args.hidden)
                print(f"[{phase}] {name}", file=sys.stderr, flush=True)
                entry = results.setdefault(name, {})
                value = step(task, m, args)
                entry[phase] = merge_hw(entry.get(phase), value) if phase == "hw" else value
                save_results(results_path, results)
    table = render(results, args.tasks, args.blocks, args.hidden, args.state_bits)
    print(table, end="")
    if args.markdown:
        write_markdown(Path(args.markdown), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
