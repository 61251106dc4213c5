"""Time the commands whose durations README.md and docs/ quote, with the machine's load.

    python tools/time_flow.py --demo                 # each step of `make demo`
    python tools/time_flow.py --train-steps 3000     # the documented copy T = 100 training
    python tools/time_flow.py --test                 # `make test`
    python tools/time_flow.py --demo --train-steps 200 --test --json times.json

Prints one table row per step: wall time, CPU time of the step's processes (user + system,
all of them: on a busy machine wall time grows, CPU time hardly), and the 1-minute load
average sampled while the step ran, beside the core count and `uptime` at the start and the
end. A number for the README is one taken with a mean load well below the core count.

The demo's steps are read from `make -n demo`, so the timing follows the Makefile. The
training command is the one docs/results.md gives for the copy task (T = 100, n = 128);
--train-steps N runs it for N steps (3000 is the documented run) and prints steps per second.
Run from the repository root with the venv made (`make venv`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HADAMHW = ROOT / ".venv" / "bin" / "hadamhw"
# docs/results.md, "Training": the copy task at delay T = 100
COPY_TRAINING = ("train --task copy --seq-len 100 --hidden 128 --steps {steps} --val-every 250 "
                 "--lr 1e-3 --seed 0 --threads 1 -o {out}/copy_t100.pt")
LOAD_SAMPLE_S = 5.0


@dataclass
class Timing:
    step: str
    command: str
    wall_s: float
    cpu_s: float
    load_mean: float
    load_max: float
    status: int


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def timed(step: str, command: str, log: Path) -> Timing:
    """Run `command` in a shell (output to `log`), sampling the load average meanwhile."""
    samples = [os.getloadavg()[0]]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(LOAD_SAMPLE_S):
            samples.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    sampler.start()
    with log.open("a") as out:
        out.write(f"\n$ {command}\n")
        out.flush()
        status = subprocess.run(command, shell=True, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - wall0
    done.set()
    sampler.join()
    samples.append(os.getloadavg()[0])
    return Timing(step, command, round(wall, 1), round(_children_cpu() - cpu0, 1),
                  round(sum(samples) / len(samples), 2), round(max(samples), 2), status)


def _training_loop_seconds(log: Path) -> float | None:
    """The trainer's own time of its last run in the log ("trained N steps in X s")."""
    found = re.findall(r"trained \d+ steps in ([\d.]+) s", log.read_text(errors="replace"))
    return float(found[-1]) if found else None


def demo_steps(out: Path) -> list[tuple[str, str]]:
    """(title, command) of every step of `make demo`, as make would run them."""
    proc = subprocess.run(["make", "-n", "demo", f"DEMO={out}"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    lines = proc.stdout.replace("\\\n", " ").splitlines()
    steps, title = [], "demo"
    for line in lines:
        words = shlex.split(line)
        if not words:
            continue
        if words[0] == "echo":
            title = " ".join(words[1:]).lstrip("= ").strip()
            continue
        if Path(words[0]).name == "hadamhw":
            steps.append((title, " ".join(line.split())))
    return steps


def print_table(rows: list[Timing], cores: int) -> None:
    print(f"\n| step | wall | CPU | load (1 min) mean / max, {cores} cores | exit |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.step} | {r.wall_s:,.1f} s ({r.wall_s / 60:.1f} min) | {r.cpu_s:,.1f} s | "
              f"{r.load_mean:.2f} / {r.load_max:.2f} | {r.status} |")
    print()
    for r in rows:
        print(f"{r.step}: {r.command}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="store_true", help="time each step of make demo")
    parser.add_argument("--train-steps", type=int, default=None, metavar="N",
                        help="time the documented copy T = 100 training for N steps")
    parser.add_argument("--test", action="store_true", help="time make test")
    parser.add_argument("--out", default=None,
                        help="folder for the artifacts and the log (default: a new temporary one)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the rows here")
    args = parser.parse_args(argv)
    if not (args.demo or args.train_steps or args.test):
        parser.error("choose at least one of --demo, --train-steps N, --test")
    if args.train_steps is not None and args.train_steps < 1:
        parser.error(f"--train-steps must be >= 1, got {args.train_steps}")
    if not HADAMHW.is_file():
        parser.error(f"{HADAMHW} is missing: run `make venv` first")
    out = Path(args.out or tempfile.mkdtemp(prefix="hadamhw-time-")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "time_flow.log"
    cores = os.cpu_count() or 1
    start = _uptime()
    print(f"cores: {cores}; start: {start}; log: {log}", flush=True)

    rows: list[Timing] = []
    if args.demo:
        for title, command in demo_steps(out / "demo"):
            rows.append(timed(title, command, log))
            print(f"  {rows[-1].wall_s:8.1f} s  {title}", flush=True)
        total = Timing("make demo, all steps", "(sum of the steps above)",
                       round(sum(r.wall_s for r in rows), 1),
                       round(sum(r.cpu_s for r in rows), 1),
                       round(sum(r.load_mean * r.wall_s for r in rows)
                             / max(sum(r.wall_s for r in rows), 1e-9), 2),
                       max(r.load_max for r in rows), max(r.status for r in rows))
        rows.append(total)
    if args.train_steps:
        command = f"{HADAMHW} " + COPY_TRAINING.format(steps=args.train_steps, out=out)
        row = timed(f"copy T=100 training, {args.train_steps} steps", command, log)
        rows.append(row)
        loop = _training_loop_seconds(log) or row.wall_s
        rate = args.train_steps / loop
        print(f"  {row.wall_s:8.1f} s  training: {rate:.2f} steps/s in the training loop "
              f"({loop:.1f} s, validation included); the documented 3000 steps: about "
              f"{3000 / rate + row.wall_s - loop:,.0f} s", flush=True)
    if args.test:
        rows.append(timed("make test", "make test", log))
        print(f"  {rows[-1].wall_s:8.1f} s  make test", flush=True)

    end = _uptime()
    print_table(rows, cores)
    print(f"\nstart: {start}\nend:   {end}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"cores": cores, "uptime_start": start, "uptime_end": end,
             "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0 if all(r.status == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
