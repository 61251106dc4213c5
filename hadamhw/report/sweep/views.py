"""What `hadamhw sweep RESULTS` draws from a sweep's rows: its Markdown table (by the
spec's table kind, through the one table writer) and its Pareto fronts."""

from __future__ import annotations

from pathlib import Path

from hadamhw.report.sweep.tables import markdown_table

TRIALS_HEADER = ["trial", "status", "LUT eq.", "LUTs", "FFs", "RAM bits", "Fmax (MHz)",
                 "steps / s", "reason"]


def number(value, spec: str = ",") -> str:
    return "–" if value is None else format(value, spec)


def trials_table(rows: list[dict]) -> str:
    """The generic table: one row a trial, its numbers and, for a failed one, why."""
    cells = [[r["label"], r["status"], number(r["lut_eq"]), number(r["luts"]),
              number(r["ffs"]), number(r["ram_bits"]), number(r["fmax_mhz"], ".1f"),
              number(r["steps_per_second"], ",.0f"), r["reason"] or ""] for r in rows]
    return markdown_table(TRIALS_HEADER, cells, ["---", "---", *["--:"] * 6, "---"])


def render_table(kind: str, rows: list[dict]) -> str:
    """The sweep's table of `kind` (spec.TABLE_KINDS) over its rows, measured trials or
    imported rows alike: sweep_hw pairs a model's FWHT and dense trials (cores.py); a kind
    whose rows are not there gets the trials table."""
    from hadamhw.report.sweep import blocks, compare, cores, folds, streams

    ok = [r for r in rows if r["status"] == "ok"]
    records = [r["record"] for r in ok]
    if kind == "pnr_streams":
        return streams.table(streams.rows_of(ok))
    if kind == "block_table" and records and all("hw" in r for r in records):
        return blocks.render_records(records)  # imported rows: the table's own form
    if kind == "block_table" and (models := blocks.trial_records(ok)):
        return blocks.render_records(models)
    if kind == "sweep_hw" and records and all("core_luts_fwht" in r for r in records):
        return compare.markdown_present(records)  # imported rows: the table's own form
    if kind == "sweep_hw" and (composed := cores.table_records(ok)):
        return compare.markdown_present(composed)
    if kind == "fold_cost":
        return folds.table(ok)
    return trials_table(rows)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: fewer or equal LUTs (x) and more or equal
    of y, one of them strictly; in order of x."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], None
    for i in order:
        if best is None or points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def plot_fronts(rows: list[dict], path: str | Path, title: str) -> None:
    """Two panels: LUT eq. against Fmax and against time steps per second, every finished
    trial a point, the Pareto front a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, label in ((axes[0], "fmax_mhz", "Fmax (MHz)"),
                           (axes[1], "steps_per_second", "time steps per second")):
        panel(ax, [r for r in rows if r["status"] == "ok"], key, label)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def panel(ax, rows: list[dict], key: str, label: str) -> None:
    found = [r for r in rows if r["lut_eq"] is not None and r[key] is not None]
    ax.set_xlabel("LUT equivalents")
    ax.set_ylabel(label)
    if not found:
        ax.text(0.5, 0.5, f"no trial has {label}\n(place and route: [fpga] pnr = true)",
                ha="center", va="center", transform=ax.transAxes)
        return
    points = [(float(r["lut_eq"]), float(r[key])) for r in found]
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=14, color="C0",
               label="trials")
    front = [points[i] for i in pareto_front(points)]
    ax.step([p[0] for p in front], [p[1] for p in front], "o-", where="post", color="C3",
            label="Pareto front")
    ax.legend(fontsize=8)
