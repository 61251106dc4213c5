"""The pnr_streams table of docs/hardware-cost.md (the pnr_streams sweep spec,
examples/sweeps/pnr_streams.toml): one stream against interleaved, pipelined streams,
placed on ECP5."""

from __future__ import annotations

from hadamhw.report.pnr import DEFAULT_PLACER, DEFAULT_ROUTER, nondefault_choices
from hadamhw.report.sweep.options import default_mapper
from hadamhw.report.sweep.tables import markdown_table

DEFAULT_MAPPER = default_mapper("ecp5")
NOT_PLACED = "not placed (--synth-only)"
HEADER = ["n", "m", "P", "target (MHz)", "loop depth", "cycles / step", "latency (cycles)",
          "LUT eq.", "FFs", "RAM bits", "$mul", "est. Fmax (MHz)",
          "Fmax by nextpnr seed (MHz)", "M steps / s (best seed)", "target met"]


def target_for(n: int, given: float | None) -> float:
    """The clock target of the streamed designs: 200 MHz at n <= 32, 150 above."""
    return given if given is not None else (200.0 if n <= 32 else 150.0)


def table_cells(r: dict) -> list:
    if r.get("missing"):
        return [r["n"], r["m"], r["streams_option"], *["–"] * 11, "not measured"]
    by_seed = sorted((int(k), v) for k, v in r["fmax_by_seed"].items())
    unplaced, auto = r.get("pnr_status") == NOT_PLACED, r["streams_option"] == "auto"
    fmax, seed = max([(v, k) for k, v in by_seed if v and not unplaced] or [(None, None)])
    met = ("–" if fmax is None else f"yes (seed {seed})" if r["cycles_per_step"] == 1
           and fmax >= target_for(r["n"], None) else "no")
    seeds = "not placed" if unplaced else ", ".join(
        [f"{v:.1f} ({k})" if v else f"– ({k})" for k, v in by_seed] + nondefault_choices(
            r.get("router", DEFAULT_ROUTER), r.get("placer", DEFAULT_PLACER)))
    mapper = r.get("lut_mapper", DEFAULT_MAPPER)  # rows cached before the option: abc9
    lut_eq = f"{r['lut_equivalents']:,}" + (f" ({mapper})" if mapper != DEFAULT_MAPPER else "")
    rate = "–" if not fmax else f"{fmax * 1e6 / r['cycles_per_step'] / 1e6:.1f}"
    return [r["n"], r["m"], f"{r['streams']}" + (" (auto)" if auto else ""),
            f"{r['target_mhz']:g}" if r["streams_option"] != "1" else "–", r["loop_depth"],
            r["cycles_per_step"], r["latency_cycles"], lut_eq, f"{r['ffs']:,}",
            f"{r['memory_bits']:,}", r["mul_cells"], r["estimated_fmax_mhz"] or "–", seeds,
            rate, met]


def table(rows: list[dict]) -> str:
    return markdown_table(HEADER, [table_cells(r) for r in rows]).rstrip("\n")


def trial_row(row: dict) -> dict:
    """A sweep trial's row in the table's form: its options, its numbers, its seed's Fmax
    (an imported row is in that form already)."""
    record = row["record"]
    if "streams_option" in record:
        return record
    params = row["params"]
    gen, fpga, model = params["generate"], params["fpga"], params["model"]["random"] or {}
    placed = bool(fpga.get("pnr"))
    return {**record, "n": record.get("n", model.get("n")), "m": model.get("m", model.get("n")),
            "streams_option": str(gen.get("streams", 1)),
            "target_mhz": gen.get("target_mhz", fpga.get("freq_mhz")),
            "router": fpga.get("router") or DEFAULT_ROUTER,
            "placer": fpga.get("placer") or DEFAULT_PLACER,
            "pnr_status": record.get("pnr_status") if placed else NOT_PLACED,
            "fmax_by_seed": {fpga.get("pnr_seed", 1): record.get("fmax_mhz")}}


def rows_of(results: list[dict]) -> list[dict]:
    """One table row a design: trials that differ only in nextpnr's seed merged, their
    Fmax by seed side by side."""
    merged: dict[tuple, dict] = {}
    for row in map(trial_row, results):
        key = (row["n"], row["m"], row["streams_option"], row.get("lut_mapper"),
               row.get("router"), row.get("placer"))
        if key in merged:
            merged[key]["fmax_by_seed"] = {**merged[key]["fmax_by_seed"], **row["fmax_by_seed"]}
        else:
            merged[key] = dict(row)
    return list(merged.values())
