"""`hadamhw sweep`: specs, the process pool against Ray, restart, failures, outputs.

The trials are n = 4 random IRs under generic synthesis (a few seconds each); the grid's six
trials run twice in all: three, then (a "killed" sweep restarted) the other three, on the
process pool; then all six on a local Ray instance (one per module: Ray starts slowly)."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from hadamhw.errors import HadamhwError
from hadamhw.report.sweep.engines import format_eta, progress_line
from hadamhw.report.sweep.spec import load_spec
from hadamhw.report.sweep.store import SweepStore
from hadamhw.report.sweep.views import pareto_front, render_table

# one xdist worker runs the module: its pool run and its Ray instance are made once
pytestmark = pytest.mark.xdist_group("sweep_cmd")

SPEC = """\
[sweep]
name = "tiny"
[[models]]
name = "r4"
random = { n = 4, m = 2, input_size = 1, output_size = 2 }
[fpga]
family = "generic"
timeout = 600
[grid]
m = [2, 4]
seed = [0, 1, 2]
"""


def write_spec(folder: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def rows(results: Path) -> list[dict]:
    store = SweepStore(results, create=False)
    try:
        return store.rows()
    finally:
        store.close()


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory):
    """The six trials on the process pool, killed (--limit 3) and restarted: both runs'
    summaries and the rows after each."""
    from hadamhw.api import sweep

    folder = tmp_path_factory.mktemp("pool")
    spec, results = write_spec(folder), folder / "results"
    first = sweep(spec, results, jobs=2, limit=3)
    before = {r["key"]: r for r in rows(results)}
    second = sweep(spec, results, jobs=2)
    return {"spec": spec, "results": results, "first": first, "second": second,
            "before": before, "after": rows(results)}


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.synth
def test_restart_runs_only_the_unfinished_trials(pool_run):
    first, second = pool_run["first"], pool_run["second"]
    assert (first.ran, first.cached, first.left, first.failed) == (3, 0, 3, 0)
    assert (second.ran, second.cached, second.left, second.failed) == (3, 3, 0, 0)
    after = {r["key"]: r for r in pool_run["after"]}
    assert len(after) == 6 and all(r["status"] == "ok" for r in after.values())
    for key, row in pool_run["before"].items():  # measured once: the same row, same time
        assert after[key]["finished_at"] == row["finished_at"]
        assert after[key]["seconds"] == row["seconds"]


@pytest.mark.synth
def test_a_finished_sweep_runs_nothing_again(pool_run):
    from hadamhw.api import sweep

    again = sweep(pool_run["spec"], pool_run["results"], jobs=2)
    assert (again.ran, again.cached) == (0, 6)
    assert rows(pool_run["results"]) == pool_run["after"]


@pytest.mark.synth
def test_ray_gives_the_pool_table(pool_run, ray_local, tmp_path):
    from hadamhw.api import sweep

    summary = sweep(pool_run["spec"], tmp_path / "ray", engine="ray")
    assert (summary.ran, summary.failed) == (6, 0)
    on_ray = rows(tmp_path / "ray")
    assert [r["key"] for r in on_ray] == [r["key"] for r in pool_run["after"]]
    table = render_table("trials", on_ray)
    assert table == render_table("trials", pool_run["after"])
    assert table.count("| ok |") == 6 and "r4 m=4 seed=2" in table


@pytest.mark.synth
def test_outputs_plot_markdown_csv(pool_run, cli, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("before\n<!-- tiny table begin -->\nold\n<!-- tiny table end -->\nafter\n")
    code, _, err = cli("sweep", pool_run["results"], "--plot", tmp_path / "p.png",
                       "--markdown", page, "--csv", tmp_path / "t.csv")
    assert code == 0, err
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text()
    assert text.startswith("before\n<!-- tiny table begin -->\n| trial |")
    assert text.endswith("<!-- tiny table end -->\nafter\n") and "old" not in text
    assert text.count("| r4 m=") == 6
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert len(lines) == 7 and lines[0].startswith("key,ordinal,label,status,reason,lut_eq")
    code, out, _ = cli("sweep", pool_run["results"])
    assert code == 0 and out == f"{pool_run['results']}: sweep tiny, 6 trials, 0 failed\n"


@pytest.mark.synth
def test_a_timed_out_trial_is_recorded_and_the_sweep_goes_on(cli, tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("timeout = 600", "timeout = 0.001")
                      .replace("seed = [0, 1, 2]", "seed = [0]"))
    code, _, err = cli("sweep", spec, "-o", tmp_path / "out", "--quiet")
    assert code == 1, err
    found = rows(tmp_path / "out")
    assert [r["status"] for r in found] == ["timeout", "timeout"]
    assert all("did not finish within" in r["reason"] for r in found)
    assert "2 failed" in err


@pytest.mark.synth
def test_killed_sweep_restarts_with_the_unfinished_trials(tmp_path):
    """SIGKILL to a running `hadamhw sweep` (and its workers) once a trial has its row; the
    restart measures only the trials without one."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from hadamhw.api import sweep

    spec = write_spec(tmp_path, SPEC.replace("m = [2, 4]\n", "").replace("[0, 1, 2]", "[3, 4, 5]"))
    results = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "hadamhw.cli", "sweep", str(spec), "-o",
                             str(results), "--quiet"], start_new_session=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if (results / "results.sqlite").is_file() and rows(results):
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = rows(results)
    assert 1 <= len(before) < 3, "killed before the sweep ended"
    again = sweep(spec, results)
    assert (again.ran, again.cached) == (3 - len(before), len(before))
    after = {r["key"]: r for r in rows(results)}
    assert len(after) == 3 and all(after[r["key"]] == r for r in before)


@pytest.mark.synth
def test_optuna_search_resumes(tmp_path):
    """A [search] asks Optuna for n_trials trials over its space; a restart tells the study
    what RESULTS holds and measures nothing again."""
    pytest.importorskip("optuna")
    from hadamhw.api import sweep

    text = SPEC.split("[grid]")[0] + textwrap.dedent("""\
        [search]
        n_trials = 3
        objective = "lut_eq"
        space = { m = [2, 4] }
        """)
    spec = write_spec(tmp_path, text)
    first = sweep(spec, tmp_path / "out")
    found = rows(tmp_path / "out")
    assert first.failed == 0 and 1 <= len(found) == first.ran <= 2
    assert {r["label"] for r in found} <= {"r4 m=2", "r4 m=4"}
    assert all(r["status"] == "ok" and r["lut_eq"] > 0 for r in found)
    again = sweep(spec, tmp_path / "out")
    assert again.ran == 0 and rows(tmp_path / "out") == found


@pytest.mark.synth
@pytest.mark.needs("verilator")
def test_a_trial_simulates_bit_exact_first(tmp_path, monkeypatch):
    """[verify] sequences: the batch harness against the golden model before synthesis; a
    mismatch fails the trial (here the harness is made to report one)."""
    from hadamhw.api import sweep

    text = SPEC.split("[grid]")[0] + "[verify]\nsequences = 20\nmax_steps = 6\n"
    spec = write_spec(tmp_path, text)
    assert sweep(spec, tmp_path / "out").failed == 0
    (row,) = rows(tmp_path / "out")
    assert row["record"]["simulation"]["sequences"] == 20
    assert row["record"]["simulation"]["outputs_checked"] > 20

    import hadamhw.verify.verilator_batch as batch

    real = batch.run_batch

    def one_mismatch(*args, **kwargs):
        result = real(*args, **kwargs)
        result.mismatch_total = 1
        return result

    monkeypatch.setattr(batch, "run_batch", one_mismatch)
    from hadamhw.report.sweep.trial import run_trial

    result = run_trial(load_spec(spec).trials()[0], str(tmp_path / "again"))
    assert result["status"] == "failed"
    assert result["reason"] == "simulation: 1 mismatches against the golden model"


def test_a_crashing_trial_is_recorded(tmp_path, monkeypatch):
    """A tool that crashes (here: synthesis raising) fails its trial, with the reason."""
    import hadamhw.report as report
    from hadamhw.report.sweep.trial import run_trial

    def crash(*args, **kwargs):
        raise HadamhwError("yosys failed: Segmentation fault (see build/yosys.log)")

    monkeypatch.setattr(report, "make_report", crash)
    trial = load_spec(write_spec(tmp_path)).trials()[0]
    result = run_trial(trial, str(tmp_path / "work"))
    assert result["status"] == "failed"
    assert result["reason"] == "yosys failed: Segmentation fault (see build/yosys.log)"
    store = SweepStore(tmp_path / "results")
    store.add(result, trial, 0)
    assert store.failed()[0]["reason"] == result["reason"]
    store.close()


@pytest.mark.parametrize(("text", "message"), [
    ("[sweep]\nname = 'x'\n", "models: give one or more [[models]] tables"),
    (SPEC.replace("m = [2, 4]", "m = 4"), "grid.m: must be a non-empty list"),
    (SPEC.replace("[grid]", "[grid]\nspeed = [1]"), "grid.speed: unknown option 'speed'"),
    (SPEC.replace('family = "generic"', 'family = "asic"'), "fpga.family: 'asic'"),
    (SPEC.replace("[fpga]", "[fpga]\npnr = true"), "fpga.pnr: place and route needs"),
    (SPEC.replace('name = "tiny"', 'name = "a b"'), "sweep.name:"),
    (SPEC + "[generate]\nfold = 3\n", "generate: --fold 3: the number of butterfly units"),
    ("[sweep\n", "not valid TOML"),
    (SPEC.replace("timeout = 600", 'timeout = "long"'), "fpga.timeout: 'long': give a number"),
])
def test_a_bad_spec_is_one_line_exit_2(cli, tmp_path, text, message):
    spec = write_spec(tmp_path, text)
    code, out, err = cli("sweep", spec, "-o", tmp_path / "out")
    assert code == 2
    assert err.count("\n") == 1 and f"{spec}:" in err and message in err, err
    assert not (tmp_path / "out").exists()


def test_results_folder_errors(cli, tmp_path):
    code, _, err = cli("sweep", tmp_path, "--markdown", tmp_path / "t.md")
    assert code == 2 and "no results.sqlite" in err
    code, _, err = cli("sweep", write_spec(tmp_path), "--markdown", tmp_path / "t.md")
    assert code == 2 and "-o RESULTS" in err


def test_grid_expansion_and_labels(tmp_path):
    spec = load_spec(write_spec(tmp_path))
    trials = spec.trials()
    assert [t["label"] for t in trials[:2]] == ["r4 m=2 seed=0", "r4 m=2 seed=1"]
    assert len(trials) == 6 and trials[5]["model"]["random"] == {
        "n": 4, "m": 4, "seed": 2, "input_size": 1, "output_size": 2}
    assert trials[0]["fpga"]["family"] == "generic" and trials[0]["fpga"]["timeout"] == 600


def test_progress_line():
    assert progress_line(0, 2, 0, 12, 5.0, 0) == "sweep: 0/12 done, 2 running, 0 failed, ETA ?"
    assert progress_line(4, 2, 1, 12, 60.0, 4) == \
        "sweep: 4/12 done, 2 running, 1 failed, ETA 2:00"
    assert progress_line(12, 0, 0, 12, 60.0, 12).endswith("ETA 0:00")
    assert format_eta(3725) == "1:02:05"


def test_pareto_front():
    points = [(100, 50.0), (80, 40.0), (120, 60.0), (90, 30.0), (80, 45.0), (130, 55.0)]
    assert pareto_front(points) == [4, 0, 2]


def test_store_is_one_sqlite_file(tmp_path):
    store = SweepStore(tmp_path)
    store.set_meta("name", "x")
    store.close()
    tables = sqlite3.connect(tmp_path / "results.sqlite").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert sorted(t[0] for t in tables) == ["meta", "trials"]
    assert json.loads(json.dumps(rows(tmp_path))) == []


ROOT = Path(__file__).resolve().parents[1]
DOCS_TABLES = [("pnr_streams", "docs/hardware-cost.md"), ("sweep_hw", "docs/hardware-cost.md"),
               ("sweep_hw_256", "docs/hardware-cost.md"), ("block_table", "docs/results.md"),
               ("fold_cost", "docs/hardware-cost.md")]


@pytest.mark.parametrize(("name", "doc"), DOCS_TABLES)
def test_docs_table_regenerates_from_its_export(cli, tmp_path, name, doc):
    """Each docs table the four tools wrote: emptied, then written again by `hadamhw sweep
    SPEC --import docs/sweeps/NAME.json --markdown`, byte for byte the committed page."""
    from hadamhw.report.sweep.tables import markers

    original = (ROOT / doc).read_text()
    begin, end = markers(name)
    head, rest = original.split(begin + "\n")
    page = tmp_path / "page.md"
    page.write_text(f"{head}{begin}\n(emptied)\n{end}{rest.split(end, 1)[1]}")
    spec, export = ROOT / f"examples/sweeps/{name}.toml", ROOT / f"docs/sweeps/{name}.json"
    code, _, err = cli("sweep", spec, "--import", export, "-o", tmp_path / "r",
                       "--markdown", page)
    assert code == 0, err
    assert page.read_text() == original
    assert f"hadamhw sweep examples/sweeps/{name}.toml --import docs/sweeps/{name}.json" in \
        " ".join(original.split()), "the command is beside the table"
    provenance = [r["provenance"] for r in rows(tmp_path / "r")]
    assert all(p["imported_from"] == str(export) and p["date"] for p in provenance)


def test_every_example_spec_parses(tmp_path):
    counts = {p.stem: len(load_spec(p).trials())
              for p in (ROOT / "examples/sweeps").glob("*.toml")}
    assert counts["speedup"] == 12 and counts["pnr_streams"] == 36 and len(counts) == 6
