"""`hadamhw sweep SPEC -o RESULTS`: run a spec's trials, resumably, on an engine.

Each trial generates its design and is keyed by its RTL (trial.trial_key); the keys already
in RESULTS are finished and are not measured again, whatever their status (a failed or
timed-out trial is finished too: `retry_failed` runs those again). Results are written by
this process only, one row as each trial ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.report.sweep.engines import ENGINES, Progress, Task, run_local, run_ray
from hadamhw.report.sweep.spec import SweepSpec
from hadamhw.report.sweep.store import SweepStore


@dataclass
class SweepRun:
    """How to run: the engine and its workers, a limit of new trials (None: all)."""

    jobs: int = 1
    engine: str = "local"
    address: str | None = None
    limit: int | None = None
    quiet: bool = False
    retry_failed: bool = False

    def check(self) -> None:
        if self.jobs < 1:
            raise HadamhwError(f"--jobs must be at least 1, got {self.jobs}")
        if self.engine not in ENGINES:
            raise HadamhwError(f"--engine: {self.engine!r}; choose from {', '.join(ENGINES)}")
        if self.address and self.engine != "ray":
            raise HadamhwError("--address is a Ray cluster's address: add --engine ray")


@dataclass
class SweepSummary:
    total: int
    ran: int
    cached: int
    failed: int
    left: int

    def plus(self, later: SweepSummary) -> SweepSummary:
        """Two runs of one sweep (a search's batches) as one; `failed` is RESULTS' count."""
        return SweepSummary(self.total + later.total, self.ran + later.ran,
                            self.cached + later.cached, later.failed, later.left)

    def line(self) -> str:
        return (f"sweep: {self.total} trials: {self.ran} run now, {self.cached} finished "
                f"before, {self.left} left, {self.failed} failed")


def run_sweep(spec: SweepSpec, results: str | Path, how: SweepRun | None = None, *,
              lower: Callable[[str], object] | None = None) -> SweepSummary:
    """Run the spec's grid (or its search) into RESULTS; lower(checkpoint) -> IR for
    checkpoint models (hadamhw.api.load)."""
    how = how or SweepRun()
    how.check()
    store = SweepStore(results)
    try:
        remember_spec(store, spec)
        spec = replace(spec, models=list(resolved_models(spec, Path(results), lower).values()))
        if spec.search:
            from hadamhw.report.sweep.search import run_search

            return run_search(spec, store, how, execute)
        return execute(list(enumerate(spec.trials())), store, how)
    finally:
        store.close()


def remember_spec(store: SweepStore, spec: SweepSpec) -> None:
    """The spec's name, table kind and text, for --markdown and --plot on RESULTS."""
    store.set_meta("name", spec.name)
    store.set_meta("table", spec.table)
    store.set_meta("spec", spec.text)
    store.set_meta("spec_path", str(spec.path))


def resolved_models(spec: SweepSpec, results: Path,
                    lower: Callable[[str], object] | None) -> dict[str, dict]:
    """Each model as a trial takes it (models.prepare: trained, lowered, evaluated)."""
    from hadamhw.report.sweep.models import prepare

    try:
        return prepare(spec.models, spec.verify, results / "models", lower)
    except HadamhwError as exc:
        raise spec.fail("models", str(exc)) from None


def execute(tasks: list[Task], store: SweepStore, how: SweepRun) -> SweepSummary:
    """Run the tasks not finished yet (at most how.limit) and store each result."""
    finished = store.finished() if not how.retry_failed else frozenset(
        row["key"] for row in store.rows() if row["status"] == "ok")
    todo = tasks if how.limit is None else tasks[:how.limit]
    progress = Progress(len(todo), 0, 0, how.quiet)
    ran = cached = 0
    for (ordinal, trial), result in engine_results(todo, store, finished, how, progress):
        if result.get("cached"):
            cached += 1
            progress.finished(False, ran=False)
            continue
        store.add(result, trial, ordinal)
        ran += 1
        progress.finished(result["status"] != "ok")
    progress.close()
    return SweepSummary(len(tasks), ran, cached, len(store.failed()), len(tasks) - len(todo))


def engine_results(tasks: list[Task], store: SweepStore, finished: frozenset[str],
                   how: SweepRun, progress: Progress):
    workdir = str(store.folder.resolve())
    if how.engine == "ray":
        memory = max(int(t["fpga"].get("memory_mb", 2048)) for _, t in tasks) if tasks else 0
        return run_ray(tasks, workdir, finished, how.address, memory, progress.tick)
    return run_local(tasks, workdir, finished, how.jobs, progress.tick)


def spec_of(store: SweepStore) -> tuple[str, str]:
    """The name and table kind of the sweep RESULTS holds."""
    name, table = store.meta("name"), store.meta("table")
    if not name:
        raise HadamhwError(f"{store.folder}: no sweep has run here (run hadamhw sweep SPEC.toml "
                           f"-o {store.folder} first)")
    return name, table or "trials"


def import_export(spec: SweepSpec, results: str | Path, export: str | Path) -> int:
    """Put a committed export's rows (docs/sweeps/NAME.json) into RESULTS."""
    from hadamhw.report.sweep.store import import_rows

    try:
        data = json.loads(Path(export).read_text())
    except (OSError, ValueError) as exc:
        raise HadamhwError(f"{export}: cannot read the export ({exc})") from None
    if data.get("sweep") != spec.name:
        raise HadamhwError(f"{export}: an export of sweep {data.get('sweep')!r}, the spec is "
                           f"{spec.name!r}")
    store = SweepStore(results)
    try:
        remember_spec(store, spec)
        origin = {"command": data.get("command"), **(data.get("provenance") or {})}
        return import_rows(store, data["rows"], str(export), origin)
    finally:
        store.close()
