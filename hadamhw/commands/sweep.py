"""`hadamhw sweep`: design-space sweeps from a TOML spec (docs/sweep.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from hadamhw.commands.options import int_range
from hadamhw.commands.paths import user_path
from hadamhw.errors import HadamhwError


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run a design-space sweep (grid or search) locally or on Ray",
        description="Run the trials of a sweep spec (TOML: models, generate options, FPGA "
                    "flow, a grid of lists, an optional Optuna search; docs/sweep.md): each "
                    "trial generates its design, simulates it (when asked), synthesizes and "
                    "places it. Results go to RESULTS/results.sqlite, one row a trial, keyed "
                    "by the RTL digest, options and tool versions: a rerun runs only the "
                    "trials not finished. Given a RESULTS folder instead of a spec, write "
                    "its CSV, plot or Markdown table. Exit status 1: a trial failed or timed "
                    "out (recorded with its reason; the other trials ran).")
    p.add_argument("target", type=user_path, metavar="SPEC.toml|RESULTS",
                   help="a sweep spec to run, or the results folder of one")
    p.add_argument("-o", "--output", type=user_path, metavar="RESULTS",
                   help="results folder of the spec's run (results.sqlite, trial folders)")
    p.add_argument("--jobs", type=int_range(1), default=1, help="local worker processes")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local process pool (default) or Ray tasks (one CPU each)")
    p.add_argument("--address", help="with --engine ray: the cluster ('auto', ray://...)")
    p.add_argument("--limit", type=int_range(0), metavar="N",
                   help="run at most the first N trials of the spec (the rest stay left)")
    p.add_argument("--retry-failed", action="store_true",
                   help="run failed and timed-out trials again")
    p.add_argument("--import", dest="import_file", type=user_path, metavar="FILE",
                   help="put a committed export's rows (docs/sweeps/NAME.json) into RESULTS "
                        "instead of running the trials")
    p.add_argument("--csv", type=user_path, metavar="FILE", help="write every trial as CSV")
    p.add_argument("--plot", type=user_path, metavar="FILE",
                   help="draw the Pareto fronts (LUT eq. against Fmax and steps per second)")
    p.add_argument("--markdown", type=user_path, metavar="FILE",
                   help="write the sweep's table between its '<!-- NAME table begin/end -->' "
                        "markers in FILE (a new file: the table alone)")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    target = Path(args.target)
    failed = False
    if target.is_dir():
        if args.output or args.import_file:
            raise HadamhwError(f"{target}: a results folder; -o and --import go with a spec")
        results = target
    else:
        if args.output is None:
            raise HadamhwError(f"{target}: give the results folder: -o RESULTS")
        results = args.output
        failed = run_spec(target, args)
    outputs(results, args)
    return 1 if failed else 0


def run_spec(spec_path: Path, args) -> bool:
    """Run (or import) the spec; whether a trial of RESULTS failed."""
    from hadamhw.api import sweep
    from hadamhw.report.sweep.run import import_export
    from hadamhw.report.sweep.spec import load_spec

    if args.import_file:
        count = import_export(load_spec(spec_path), args.output, args.import_file)
        print(f"sweep: {count} rows imported from {args.import_file}", file=sys.stderr)
        return False
    summary = sweep(spec_path, args.output, jobs=args.jobs, engine=args.engine,
                    address=args.address, limit=args.limit, quiet=args.quiet,
                    retry_failed=args.retry_failed)
    print(summary.line(), file=sys.stderr)
    return summary.failed > 0


def outputs(results: Path, args) -> None:
    """--csv, --plot, --markdown of the sweep in RESULTS."""
    from hadamhw.report.sweep.run import spec_of
    from hadamhw.report.sweep.store import SweepStore
    from hadamhw.report.sweep.tables import replace_marked
    from hadamhw.report.sweep.views import plot_fronts, render_table

    store = SweepStore(results, create=False)
    try:
        name, kind = spec_of(store)
        rows = store.rows()
        if not (args.csv or args.plot or args.markdown or args.output):
            failed = sum(r["status"] != "ok" for r in rows)
            print(f"{results}: sweep {name}, {len(rows)} trials, {failed} failed")
        if args.csv:
            store.write_csv(args.csv)
        if args.plot:
            plot_fronts(rows, args.plot, f"sweep {name}: Pareto fronts")
        if args.markdown:
            replace_marked(args.markdown, name, render_table(kind, rows))
    finally:
        store.close()
