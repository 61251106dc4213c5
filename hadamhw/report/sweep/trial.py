"""One trial of a sweep: generate -> optional bit-exact simulation -> synthesis -> optional
place and route. The same function runs in a local worker process and as a Ray task; it
writes nothing but its own work folder and returns its result (the driver stores it).

A trial's key is the digest of its generated HDL, the options that measure it and the FPGA
tools' versions (cache.hdl_digest): a trial whose key is already finished is not run again.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.report.sweep.cache import hdl_digest, tool_versions

TRIAL_VERSION = "sweep-trial v1"


def trial_folder(workdir: str | Path, trial: dict) -> Path:
    """The trial's own work folder (its label digested: labels hold spaces and '=')."""
    digest = hashlib.sha256(json.dumps(trial, sort_keys=True).encode()).hexdigest()[:16]
    return Path(workdir) / "trials" / digest


def model_ir(model: dict):
    """The trial's IR: random (hadamhw.ir.random through sweep_ir) or an IR file (the driver
    lowers checkpoints to IR files before the trials run)."""
    from hadamhw.ir.schema import IntegerRNN
    from hadamhw.report.sweep.designs import sweep_ir

    if model.get("random") is not None:
        settings = dict(model["random"])
        n = settings.pop("n")
        return sweep_ir(n, settings.pop("m", n), settings.pop("seed", 0), **settings)
    return IntegerRNN.load(model["ir"])


def measure_recipe(trial: dict) -> str:
    """What is done with the RTL (the key's recipe): the flow's options, not the label."""
    return json.dumps({"v": TRIAL_VERSION, "fpga": trial["fpga"], "verify": trial["verify"]},
                      sort_keys=True)


def trial_key(hdl: dict[str, bytes], trial: dict) -> str:
    return hdl_digest(hdl, measure_recipe(trial), tools=tool_versions())


def failure_key(trial: dict) -> str:
    """The key of a trial that made no RTL (generation failed): its options."""
    text = json.dumps({k: trial[k] for k in ("model", "generate", "fpga", "verify")},
                      sort_keys=True)
    return "nortl-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def run_trial(trial: dict, workdir: str, finished: frozenset[str] = frozenset()) -> dict:
    """Run one trial; its result (status ok / failed / timeout, reason, numbers). Never
    raises: a tool's crash or timeout is the trial's result."""
    start = time.monotonic()
    folder = trial_folder(workdir, trial)
    try:
        manifest, hdl = generate(trial, folder / "rtl")
    except Exception as exc:  # noqa: BLE001 -- any generator failure is this trial's result
        key = failure_key(trial)
        return cached(key, trial) if key in finished else outcome(trial, key, exc, start)
    key = trial_key(hdl, trial)
    if key in finished:
        return cached(key, trial)
    try:
        record = measure(trial, folder, manifest)
        if trial["model"].get("eval"):  # the model's accuracy (models.prepare), not the RTL's
            record["eval"] = trial["model"]["eval"]
    except Exception as exc:  # noqa: BLE001 -- a tool's crash or timeout is recorded
        return outcome(trial, key, exc, start)
    return {"key": key, "label": trial["label"], "status": "ok", "reason": "",
            "record": record, "seconds": round(time.monotonic() - start, 2),
            "tools": tool_versions()}


def cached(key: str, trial: dict) -> dict:
    """A trial finished before: the driver counts it and stores nothing."""
    return {"key": key, "label": trial["label"], "cached": True}


def outcome(trial: dict, key: str, exc: BaseException, start: float) -> dict:
    """A failed trial's result: timeout where a tool ran out of time, else failed."""
    reason = (str(exc).strip().splitlines() or [""])[0]
    if not isinstance(exc, HadamhwError):  # a crash: its type says more than its message
        reason = f"{type(exc).__name__}: {reason}".rstrip(": ")
    status = "timeout" if "did not finish within" in reason else "failed"
    return {"key": key, "label": trial["label"], "status": status, "reason": reason,
            "record": {}, "seconds": round(time.monotonic() - start, 2), "tools": tool_versions()}


def generate(trial: dict, folder: Path) -> tuple[dict, dict[str, bytes]]:
    from hadamhw.report.sweep.designs import design_hdl, generate_design

    manifest = generate_design(model_ir(trial["model"]), folder, **trial["generate"])
    return manifest, design_hdl(folder)


def measure(trial: dict, folder: Path, manifest: dict) -> dict:
    """Simulate (when asked), then hadamhw report's synthesis and place and route; with
    `hierarchy = "core"` those of the recurrent core alone (cores.measure_core)."""
    from hadamhw.report import make_report
    from hadamhw.report.sweep.cores import measure_core, whole_cells
    from hadamhw.report.sweep.results import report_numbers

    verify = simulate(folder / "rtl", trial["verify"])
    fpga = trial["fpga"]
    if fpga.get("hierarchy") == "core":
        return {**measure_core(fpga, folder, manifest), "simulation": verify}
    pnr = bool(fpga.get("pnr"))
    report = make_report(folder / "rtl", fpga["family"], pnr=pnr, build_dir=folder / "build",
                         progress=False, timeout=fpga.get("timeout"),
                         freq_mhz=fpga.get("freq_mhz"), device=fpga.get("device"),
                         seed=fpga.get("pnr_seed", 1) if pnr else 1,
                         router=fpga.get("router"), placer=fpga.get("placer"),
                         lut_mapper=fpga.get("lut_mapper"))
    pnr_entry = {k: v for k, v in (report.get("pnr") or {}).items() if k != "log"}
    return {**report_numbers(report, manifest), "family": report["family"],
            "lut_mapper": report["lut_mapper"], "total": report["total"],
            "analytical": report["analytical"], "pnr": pnr_entry or None,
            "yosys": report["yosys"], "simulation": verify, **whole_cells(report),
            "fold_plan": manifest.get("fold_plan")}


def simulate(folder: Path, verify: dict) -> dict | None:
    """The bit-exact batch simulation against the golden model; a mismatch fails the trial."""
    sequences = int(verify.get("sequences", 0))
    if sequences <= 0:
        return None
    from hadamhw.design import DesignFolder
    from hadamhw.ir.stimulus import make_stimulus
    from hadamhw.verify.verilator_batch import run_batch

    design = DesignFolder(folder)
    seed = int(verify.get("seed", 0))
    stimulus = make_stimulus(design.ir, sequences=sequences, seed=seed,
                             max_steps=int(verify.get("max_steps", 16)))
    result = run_batch(design, stimulus, build_dir=folder.parent / "sim", seed=seed)
    mismatches = result.mismatch_total or len(result.mismatches)
    if mismatches:
        raise HadamhwError(f"simulation: {mismatches} mismatches against the golden model")
    return {"sequences": result.sequences, "steps": result.steps,
            "outputs_checked": result.outputs_checked}
