"""The closing table of `make demo`: one row per claim, read from the steps' JSON outputs.

    python tools/demo_summary.py --eval eval.json --cocotb cocotb.json --batch batch.json \
        --report report.json --design rtl/ [--markdown] [--seconds S]

Every number comes from a file the demo wrote (`hadamhw eval --json`, `hadamhw sim --json`,
`hadamhw report --json`, the design's manifest.json); nothing is recomputed here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _load(path: str | None, what: str) -> dict | None:
    if path is None:
        return None
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        sys.exit(f"demo_summary: {p}: no such file ({what})")
    except json.JSONDecodeError as exc:
        sys.exit(f"demo_summary: {p}: not valid JSON ({what}): {exc}")


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _metrics(m: dict) -> str:
    parts = []
    if "accuracy" in m:
        parts.append(f"accuracy {_pct(m['accuracy'])}")
    if "recall_accuracy" in m:
        parts.append(f"recall {_pct(m['recall_accuracy'])}")
    if "cross_entropy" in m:
        parts.append(f"cross-entropy {m['cross_entropy']:.4g}")
    return ", ".join(parts) or "n/a"


def _sim_row(result: dict) -> str:
    verdict = "bit-exact" if result.get("bit_exact") else "NOT bit-exact"
    first = result.get("first_mismatch")
    return (f"{result['outputs_checked']:,} outputs compared over {result['steps']:,} steps, "
            f"{result['mismatches']} mismatches ({verdict}"
            + (f"; first: {first}" if first else "") + ")")


def rows(evaluation: dict | None, cocotb: dict | None, batch: dict | None,
         report: dict | None, manifest: dict | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if manifest is not None:
        out.append(("design", f"n = {manifest['hidden_size']}, m = {manifest['block_size']}, "
                              f"{manifest['mode']}, readout {manifest['readout']}, fold "
                              f"{manifest['fold']}, {manifest['cycles_per_step']} cycle(s) "
                              "per step"))
    if evaluation is not None:
        out.append(("task", f"{evaluation['task']} {evaluation['split']}: "
                            f"{evaluation['sequences']:,} sequences x {evaluation['steps']} "
                            "steps"))
        if "float" in evaluation:
            out.append(("float model", _metrics(evaluation["float"])))
        if "integer" in evaluation:
            out.append((f"integer model ({evaluation['state_bits']}-bit state)",
                        _metrics(evaluation["integer"])))
        if "argmax_agreement" in evaluation:
            out.append(("argmax agreement float vs integer",
                        _pct(evaluation["argmax_agreement"])))
    if cocotb is not None:
        out.append((f"cocotb + cocotbext-axi ({cocotb['simulator']})", _sim_row(cocotb)))
    if batch is not None:
        out.append((f"Verilator batch harness ({batch['simulator']})", _sim_row(batch)))
        if batch.get("steps_per_second"):
            out.append(("simulation speed (Verilator harness)",
                        f"{batch['steps_per_second']:,.0f} time steps/s"))
    if report is not None:
        total = report["total"]
        out.append((f"LUTs / FFs ({report['family']}, Yosys)",
                    f"{total['luts']:,} LUTs ({total['lut_equivalents']:,} LUT eq. with "
                    f"carry), {total['ffs']:,} FFs, {total['carry']:,} carry cells"))
        out.append(("multipliers", f"{report['mul_cells']} $mul cells, {total['dsp']} DSP"))
        pnr = report.get("pnr")
        if pnr is None:
            out.append(("Fmax, time steps per second", "not placed here (make demo-report "
                                                       "places and routes on ECP5)"))
        elif pnr.get("status") == "routed":
            out.append((f"Fmax (nextpnr, {pnr['device']})", f"{pnr['fmax_mhz']:.1f} MHz"))
            rate = pnr.get("steps_per_second")
            if rate is not None:
                out.append(("time steps per second at Fmax", f"{rate / 1e6:.1f} M"))
        else:
            out.append(("Fmax", f"place and route: {pnr.get('status')}"))
    return out


def render(table: list[tuple[str, str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in table]
        return "\n".join(lines) + "\n"
    width = max((len(k) for k, _ in table), default=0)
    rule = "-" * (width + 2 + max((len(v) for _, v in table), default=0))
    body = [f"{k:<{width}}  {v}" for k, v in table]
    return "\n".join([rule, *body, rule]) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--eval", help="hadamhw eval --json output")
    p.add_argument("--cocotb", help="hadamhw sim --json output (cocotb)")
    p.add_argument("--batch", help="hadamhw sim --batch --json output")
    p.add_argument("--report", help="hadamhw report --json output")
    p.add_argument("--design", help="the generated design folder (its manifest.json)")
    p.add_argument("--markdown", action="store_true", help="a Markdown table")
    p.add_argument("--seconds", type=float, default=None,
                   help="wall time of the demo, added as the last row")
    args = p.parse_args(argv)
    manifest = _load(str(Path(args.design) / "manifest.json"), "design") if args.design else None
    table = rows(_load(args.eval, "eval"), _load(args.cocotb, "cocotb"),
                 _load(args.batch, "batch"), _load(args.report, "report"), manifest)
    if args.seconds is not None:
        table.append(("demo wall time", f"{args.seconds / 60:.1f} min"))
    if not table:
        p.error("nothing to summarize: give at least one of --eval, --cocotb, --batch, "
                "--report, --design")
    sys.stdout.write(render(table, args.markdown))
    failed = [r for r in (args.cocotb, args.batch) if r and not _load(r, "sim")["bit_exact"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
