"""Where a sweep's trials run: a local process pool (default) or Ray tasks.

Both run the same function (trial.run_trial) and hand each result back to the driver as it
ends; the driver alone writes the results. On Ray each trial asks for one CPU (nextpnr and
Yosys are single-threaded) and `memory_mb` of memory, so a cluster packs them by those.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context

from hadamhw.report.sweep.trial import run_trial

ENGINES = ("local", "ray")
Task = tuple[int, dict]  # (ordinal, trial)


def crashed(trial: dict, exc: BaseException) -> dict:
    """The result of a trial whose worker died (a crash the trial could not catch)."""
    from hadamhw.report.sweep.trial import failure_key

    reason = (str(exc).strip().splitlines() or [""])[0]
    return {"key": failure_key(trial), "label": trial["label"], "status": "failed",
            "reason": f"worker died: {type(exc).__name__} {reason}".strip(), "record": {},
            "seconds": None, "tools": {}}


def run_local(tasks: list[Task], workdir: str, finished: frozenset[str], jobs: int,
              tick: Callable[[int], None]) -> Iterator[tuple[Task, dict]]:
    """Run the tasks in `jobs` worker processes; yield (task, result) as each ends. The
    workers are spawned, not forked: the driver may hold threads (a Ray client, Optuna)."""
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_trial, trial, workdir, finished): (ordinal, trial)
                   for ordinal, trial in tasks}
        pending = set(futures)
        while pending:
            tick(min(jobs, len(pending)))
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                task = futures[future]
                try:
                    yield task, future.result()
                except Exception as exc:  # noqa: BLE001 -- a dead worker fails its trial
                    yield task, crashed(task[1], exc)


def run_ray(tasks: list[Task], workdir: str, finished: frozenset[str], address: str | None,
            memory_mb: int, tick: Callable[[int], None]) -> Iterator[tuple[Task, dict]]:
    """Run the tasks as Ray tasks (num_cpus=1, memory_mb each) on the Ray instance already
    started in this process, or on `address` ('auto', 'ray://...'), or a new local one."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
    try:
        remote = ray.remote(num_cpus=1, memory=memory_mb * 2**20, max_retries=0)(run_trial)
        refs = {remote.remote(trial, workdir, finished): (o, trial) for o, trial in tasks}
        pending = list(refs)
        while pending:
            tick(len(pending))
            done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in done:
                try:
                    yield refs[ref], ray.get(ref)
                except Exception as exc:  # noqa: BLE001 -- a dead worker fails its trial
                    yield refs[ref], crashed(refs[ref][1], exc)
    finally:
        if started:
            ray.shutdown()


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(done: int, running: int, failed: int, total: int, elapsed: float,
                  ran: int) -> str:
    """`done/total done, R running, F failed, ETA m:ss`: the ETA from the trials that ran in
    this session (`ran` of the `done`; the others were finished before) and their time."""
    left = total - done
    eta = elapsed / ran * left if ran else None  # wall seconds a trial, at this parallelism
    return (f"sweep: {done}/{total} done, {running} running, {failed} failed, "
            f"ETA {format_eta(eta) if left else '0:00'}")


class Progress:
    """The progress line on stderr, redrawn in place; silent when quiet or not a terminal."""

    def __init__(self, total: int, done: int, failed: int, quiet: bool) -> None:
        self.total, self.done, self.failed, self.ran, self.running = total, done, failed, 0, 0
        self.start = time.monotonic()
        self.show = not quiet and sys.stderr.isatty()

    def tick(self, running: int) -> None:
        self.running = running
        self.draw()

    def finished(self, failed: bool, ran: bool = True) -> None:
        self.done += 1
        self.failed += failed
        self.ran += ran
        self.draw()

    def draw(self) -> None:
        if self.show:
            line = progress_line(self.done, self.running, self.failed, self.total,
                                 time.monotonic() - self.start, self.ran)
            print(f"\r{line}\x1b[K", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.show:
            print(file=sys.stderr, flush=True)
