"""A spec's `[search]`: Optuna (TPE, seeded) over lists of values instead of the whole grid.

The study asks for as many trials at a time as the engine runs (`--jobs`), runs them like
grid trials, and is told each one's objective (a results column; a failed trial or one
without the number is a failed Optuna trial). A restarted search tells the study the trials
RESULTS holds first, and asks only for the rest of `n_trials`.
"""

from __future__ import annotations

from collections.abc import Callable

from hadamhw.report.sweep.spec import SweepSpec
from hadamhw.report.sweep.store import SweepStore


def run_search(spec: SweepSpec, store: SweepStore, how, execute: Callable) -> object:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = spec.search
    if len(spec.models) != 1 or spec.grid:
        raise spec.fail("search", "a search runs over one model and its space (no [grid])")
    model = spec.models[0]
    space = {k: optuna.distributions.CategoricalDistribution(v)
             for k, v in search["space"].items()}
    study = optuna.create_study(direction=search["direction"],
                                sampler=optuna.samplers.TPESampler(seed=search["seed"]))
    told = tell_stored(study, store.rows(), space, search["objective"])
    summary = execute([], store, how)
    while told < search["n_trials"]:
        asked = [study.ask(space) for _ in range(min(how.jobs, search["n_trials"] - told))]
        tasks = [(told + i, spec.trial(model, t.params)) for i, t in enumerate(asked)]
        summary = summary.plus(execute(tasks, store, how))
        by_label = {row["label"]: row for row in store.rows()}
        for t, (_, trial) in zip(asked, tasks, strict=True):
            tell(study, t, by_label.get(trial["label"]), search["objective"])
        told += len(asked)
    return summary


def objective_of(row: dict | None, objective: str) -> float | None:
    if row is None or row["status"] != "ok":
        return None
    return row.get(objective)


def tell(study, trial, row: dict | None, objective: str) -> None:
    import optuna

    value = objective_of(row, objective)
    if value is None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, value)


def tell_stored(study, rows: list[dict], space: dict, objective: str) -> int:
    """Tell the study the trials of this space that RESULTS holds; how many."""
    import optuna

    count = 0
    for row in rows:
        chosen = row["params"].get("chosen") or {}
        if set(chosen) != set(space) or any(v not in space[k].choices
                                            for k, v in chosen.items()):
            continue
        value = objective_of(row, objective)
        state = (optuna.trial.TrialState.COMPLETE if value is not None
                 else optuna.trial.TrialState.FAIL)
        study.add_trial(optuna.trial.create_trial(params=chosen, distributions=space,
                                                  value=value, state=state))
        count += 1
    return count
