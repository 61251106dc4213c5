"""The Block-HadamRNN table of docs/results.md (examples/sweeps/block_table.toml): accuracy
and hardware cost of one trained model per block size m. A sweep's trials give it: the
model's accuracy ("eval", `[verify] accuracy = true`), the core's cells (the whole design's
hierarchy, or `hierarchy = "core"`) and the whole design's, by LUT mapper."""

from __future__ import annotations


def model_name(task: str, m: int, n: int) -> str:
    return f"{task}_n{n}_m{m}"


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _whole(hw: dict, suffix: str) -> str:
    """A whole-design count, marked † where the other mapper measured different RTL."""
    value = hw.get(f"whole_luts{suffix}")
    other = "_abc" if suffix == "" else ""
    mine, theirs = hw.get(f"rtl_sha256{suffix}"), hw.get(f"rtl_sha256{other}")
    mark = " †" if value is not None and mine and theirs and mine != theirs else ""
    return _fmt(value, ",") + mark


def render(results: dict, tasks: list[str], blocks: list[int], n: int, state_bits: int) -> str:
    """The table over results.json's entries (model name -> {"eval": ..., "hw": ...}); a
    number not measured is "–"."""
    lines = [f"| task | m | W density | W nonzeros (±1 bits) | sign bits stored | float | "
             f"integer ({state_bits}-bit state) | argmax agreement | core LUT eq. | "
             f"whole LUT eq. (abc9) | whole LUT eq. (abc) |", "|---" * 11 + "|"]
    for task in tasks:
        for m in blocks:
            r = results.get(model_name(task, m, n), {})
            ev, hw = r.get("eval", {}), r.get("hw", {})
            extra = ""
            if task == "copy" and "float_ce_over_baseline" in ev:
                extra = (f" (CE {ev['float_ce_over_baseline']:.4f} / "
                         f"{ev['integer_ce_over_baseline']:.4f} x baseline)")
            lines.append(
                f"| {task} | {m} | {m / n:.3g} | {n * m:,} | {n} | "
                f"{_fmt(ev.get('float'), '.2%')} | {_fmt(ev.get('integer'), '.2%')}{extra} | "
                f"{_fmt(ev.get('argmax_agreement'), '.3%')} | "
                f"{_fmt(hw.get('core_luts'), ',')} | {_whole(hw, '')} | {_whole(hw, '_abc')} |")
    return "\n".join(lines) + "\n"


def render_records(records: list[dict]) -> str:
    """The table over a sweep's rows, one a model: {task, m, n, state_bits, eval, hw} (the
    tool's results.json entries with their model's place in the table)."""
    if not records:
        return render({}, [], [], 0, 0)
    first = records[0]
    results = {model_name(r["task"], r["m"], r["n"]): r for r in records}
    tasks = list(dict.fromkeys(r["task"] for r in records))
    blocks = list(dict.fromkeys(r["m"] for r in records))
    return render(results, tasks, blocks, first["n"], first["state_bits"])


def eval_cells(report: dict) -> dict:
    """The table's accuracy numbers of a `hadamhw eval` report: the task's own metric (the
    copy task's recall accuracy) float and integer, and the copy task's CE ratios."""
    integer, floating = report.get("integer") or {}, report.get("float") or {}
    metric = "recall_accuracy" if "recall_accuracy" in integer else "accuracy"
    out = {"float": floating.get(metric), "integer": integer.get(metric),
           "argmax_agreement": report.get("argmax_agreement")}
    if "ce_over_baseline" in floating and "ce_over_baseline" in integer:
        out.update(float_ce_over_baseline=floating["ce_over_baseline"],
                   integer_ce_over_baseline=integer["ce_over_baseline"])
    return out


def trial_records(rows: list[dict]) -> list[dict]:
    """render_records' rows from a sweep's finished trials: one a model, its trials (LUT
    mappers, a core alone) merged; trials without accuracy are left out."""
    models: dict[str, dict] = {}
    for row in rows:
        record = row["record"]
        if not record.get("eval") or not record.get("analytical"):
            continue
        a, report = record["analytical"], record["eval"]
        entry = models.setdefault(row["params"]["model"]["name"], {
            "task": report["task"], "m": a["block_size"], "n": a["hidden_size"],
            "state_bits": report.get("state_bits"), "eval": eval_cells(report), "hw": {}})
        add_cost(entry["hw"], record)
    return list(models.values())


def add_cost(hw: dict, record: dict) -> None:
    """A trial's LUT equivalents: the core's (abc9's where both mappers ran), the whole
    design's under its mapper's column."""
    mapper = record.get("lut_mapper") or "abc9"
    if record.get("core") and ("core_luts" not in hw or mapper == "abc9"):
        hw["core_luts"] = record["core"]["lut_equivalents"]
    if record.get("hierarchy") != "core":
        hw["whole_luts" + ("" if mapper == "abc9" else f"_{mapper}")] = record["lut_equivalents"]
