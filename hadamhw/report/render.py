"""Rendering a hardware report (the dict of `hadamhw.report.make_report`): text, Markdown,
JSON and a bar chart (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.errors import HadamhwError

# (column title, key in a resources dict)
COLUMNS = (("LUTs", "luts"), ("LUT eq.", "lut_equivalents"), ("FFs", "ffs"),
           ("carry", "carry"), ("mux", "muxes"), ("$mul", "mul"), ("DSP", "dsp"),
           ("mem bits", "memory_bits"))
SUBTREE_COLUMN = "LUT eq. w/ sub"
ADDER_PARTS = ("recurrent", "input", "requant", "readout", "total")
PLOT_MODULES = 8


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if value >= 1e5:
            return f"{value:.3g}"
        return f"{value:.1f}" if value != int(value) else str(int(value))
    return str(value)


def module_rows(report: dict) -> list[list[str]]:
    """One row per module (own cells, per instance) and a final hierarchy total row."""
    rows = []
    for mod in report["modules"]:
        own = mod["own"]
        rows.append([mod["name"], str(mod["instances"])] + [_fmt(own[k]) for _, k in COLUMNS]
                    + [_fmt(mod["total"]["lut_equivalents"])])
    total = report["total"]
    rows.append(["total (hierarchy)", ""] + [_fmt(total[k]) for _, k in COLUMNS]
                + [_fmt(total["lut_equivalents"])])
    return rows


def summary_items(report: dict) -> list[tuple[str, str]]:
    """Analytical and place-and-route numbers as (label, value) pairs."""
    a = report.get("analytical", {})
    items: list[tuple[str, str]] = []
    core = next((m for m in report["modules"] if m["name"] == report.get("core_module")), None)
    if core is not None:
        t = core["total"]
        items.append((f"recurrent core {core['name']} (with submodules)",
                      f"LUTs {t['luts']}, LUT eq. {t['lut_equivalents']}, carry {t['carry']}, "
                      f"FFs {t['ffs']}"))
    if "hidden_size" in a:
        items.append(("hidden size n / block size m",
                      f"{a['hidden_size']} / {a.get('block_size', 'n/a')}"))
    for key, label in (("fold", "fold"), ("recurrent", "recurrent core")):
        if key in a:
            items.append((label, str(a[key])))
    adders = a.get("adders_per_step")
    if isinstance(adders, dict):
        parts = ", ".join(f"{k} {adders[k]}" for k in ADDER_PARTS if k in adders)
        items.append(("additions per time step (analytical)", parts))
    bits = a.get("adder_bits")
    if isinstance(bits, dict):
        parts = ", ".join(f"{k} {bits[k]}" for k in ADDER_PARTS if k in bits)
        items.append(("adder bits, datapath around the core (analytical)", parts))
    if a.get("cmvm"):
        items.append(("constant matrix products (U, V)", str(a["cmvm"])))
    if a.get("readout_lanes"):
        items.append(("serial readout", f"{a['readout_lanes']} lane(s), "
                                        f"{a.get('readout_cycles')} cycles per sequence"))
    if "morgenstern_bound" in a:
        items.append(("Morgenstern bound (n/2)·log2(m) for the rotation",
                      _fmt(a["morgenstern_bound"])))
    for key, label in (("cycles_per_step", "cycles per time step"),
                       ("latency_cycles", "latency (cycles)"),
                       ("weight_storage_bits", "weight storage bits"),
                       ("token_table_bits", "token table bits (tokens x n x input acc)"),
                       ("state_bits", "state bits")):
        if a.get(key) is not None:
            items.append((label, _fmt(a[key])))
    plan = a.get("fold_plan")
    if isinstance(plan, dict):  # the deep fold (--fold F): vectors in block RAM
        items.append(("deep fold: butterfly units F, banks x words",
                      f"{plan['butterfly_units']}, {plan['banks']} x {plan['words_per_bank']}"))
        items.append(("cycles per step: n·log2(m)/(2F) + overhead",
                      f"{plan['ideal_cycles_per_step']} + {plan['overhead_cycles']}"))
        items.append(("vector RAM bits / constant ROM bits (analytical)",
                      f"{plan['ram_bits']} / {plan['rom_bits']}"))
    table = report.get("token_table")
    if table:
        items.append(("external token table: bytes read per time step",
                      f"{table['bytes_per_step']} ({table['beats_per_row']} beat(s) of "
                      f"{table['data_bits']} bits)"))
        items.append((f"time steps per second at {table['mem_gbps']:g} GB/s (computed)",
                      f"{table['steps_per_second']:.4g}"))
        if table.get("steps_per_second_bound") is not None:
            items.append(("time steps per second, memory and Fmax bound",
                          f"{table['steps_per_second_bound']:.4g}"))
    pnr = report.get("pnr")
    if pnr is not None:
        if pnr["status"] == "routed":
            items.append(("place and route",
                          f"{pnr['device']} ({pnr['package']}), target "
                          f"{_fmt(pnr['constraint_mhz'])} MHz"))
            if "placer" in pnr:  # reports written before the option lack it
                items.append(("nextpnr seed, placer, router",
                              f"{pnr['seed']}, {pnr['placer']}, {pnr['router']}"))
            items.append(("Fmax (MHz)", _fmt(pnr["fmax_mhz"])))
            if pnr.get("steps_per_second") is not None:
                items.append(("time steps per second at Fmax", f"{pnr['steps_per_second']:.4g}"))
            for cell, use in pnr.get("utilization", {}).items():
                if use["used"]:
                    items.append((f"{cell} (wrapped design)", f"{use['used']} / "
                                                              f"{use['available']}"))
        else:
            items.append(("place and route", pnr["status"]))
    return items


def mul_warning(report: dict) -> str | None:
    if not report.get("mul_cells"):
        return None
    where = ", ".join(f"{m['name']} ({m['own']['mul']})" for m in report["modules"]
                      if m["own"]["mul"])
    return (f"WARNING: {report['mul_cells']} $mul cell(s) before mapping, in {where}: "
            "hadamhw designs must multiply by shift-and-add only (zero multipliers)")


def _title(report: dict) -> str:
    return (f"{report['design']} (top {report['top']}), {report['family']}: "
            f"{report['synth_command']}, {report['yosys']}")


def _other_note(report: dict) -> str | None:
    other = report["total"].get("other_types") or {}
    if not other:
        return None
    return "other cells: " + ", ".join(f"{k} {v}" for k, v in other.items())


def render_text(report: dict) -> str:
    header = ["module", "inst"] + [c for c, _ in COLUMNS] + [SUBTREE_COLUMN]
    rows = module_rows(report)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [_title(report), "", line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out.append("(module rows: own cells per instance; LUT eq. counts the LUTs inside carry "
               "cells too; the last column adds the module's submodules)")
    note = _other_note(report)
    if note:
        out.append(note)
    warning = mul_warning(report)
    if warning:
        out += ["", warning]
    items = summary_items(report)
    if items:
        out.append("")
        width = max(len(k) for k, _ in items)
        out += [f"{k.ljust(width)}  {v}" for k, v in items]
    return "\n".join(out) + "\n"


def render_markdown(report: dict) -> str:
    header = ["module", "instances"] + [c for c, _ in COLUMNS] + [SUBTREE_COLUMN]
    out = [f"## Hardware cost: {report['design']}", "",
           f"Top `{report['top']}`, family **{report['family']}**, "
           f"`{report['synth_command']}` ({report['yosys']}).", ""]
    warning = mul_warning(report)
    if warning:
        out += [f"> **{warning}**", ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for row in module_rows(report):
        name = row[0] if row[0].startswith("total") else f"`{row[0]}`"
        out.append("| " + " | ".join([name, *row[1:]]) + " |")
    out += ["", "Module rows count each module's own cells per instance; the total is the "
                "whole hierarchy. LUT eq. adds the LUTs inside carry cells (ECP5 CCU2C = 2); "
                f"{SUBTREE_COLUMN} adds a module's submodules (all instances)."]
    note = _other_note(report)
    if note:
        out += ["", note.capitalize() + "."]
    items = summary_items(report)
    if items:
        out += ["", "| quantity | value |", "|---|---:|"]
        out += [f"| {k} | {v} |" for k, v in items]
    return "\n".join(out) + "\n"


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def plot_report(report: dict, path: str | Path) -> None:
    """A grouped bar chart of each module's own cells (per instance) and the total."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise HadamhwError("--plot needs matplotlib (pip install 'hadamhw[synth]')") from None
    series = [("LUT eq.", "lut_equivalents"), ("FFs", "ffs"), ("carry", "carry")]
    mods = report["modules"]
    if len(mods) > PLOT_MODULES:  # the largest modules by their share, the rest summed up
        def share(mod: dict) -> int:
            return mod["own"]["lut_equivalents"] * mod["instances"]
        shown = sorted(mods, key=share, reverse=True)[:PLOT_MODULES - 1]
        rest = [m for m in mods if m not in shown]
        names = [m["name"] for m in shown] + [f"{len(rest)} more (all instances)"]
        values = {key: [m["own"][key] for m in shown]
                  + [sum(m["own"][key] * m["instances"] for m in rest)] for _, key in series}
    else:
        names = [m["name"] for m in mods]
        values = {key: [m["own"][key] for m in mods] for _, key in series}
    names.append("total")
    for _, key in series:
        values[key].append(report["total"][key])
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(names) + 2), 4.0))
    width = 0.8 / len(series)
    for i, (label, key) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(names))]
        ax.bar(xs, values[key], width, label=label)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_ylabel("cells")
    title = f"{report['design']}: {report['family']}"
    pnr = report.get("pnr")
    if pnr and pnr.get("fmax_mhz"):
        title += f", Fmax {pnr['fmax_mhz']:.1f} MHz"
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise HadamhwError(f"{path}: cannot write the plot ({exc})") from None
    finally:
        plt.close(fig)
