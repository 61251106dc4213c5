"""A sweep's models made ready once, in the driver, before the trials run:

- `train = { task = "copy", hidden = 16, ... }` (a model's table of `hadamhw train` options,
  with `checkpoint = FILE`): the model is trained into FILE, in a process of its own, where
  FILE does not exist yet (a `.resume.pt` beside it resumes a killed run);
- a checkpoint is lowered to RESULTS/models/NAME.ir.json (the lower callback: hadamhw.api);
- `[verify] accuracy = true`: the float model against the integer IR on the task's test
  split, as `hadamhw eval IR --checkpoint CKPT` reports it (`accuracy_limit`: its first
  sequences only), kept in RESULTS/models/NAME.eval.json by the digest of both files; every
  trial of the model carries it in its record ("eval").
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from hadamhw.errors import HadamhwError


def train_command(options: dict, checkpoint: Path) -> list[str]:
    """`hadamhw train` with the model's options (key: its flag without dashes, `_` for `-`;
    true: the flag alone), resuming where a killed run left its .resume.pt."""
    resume = checkpoint.with_name(f"{checkpoint.stem}.resume.pt")
    cmd = [sys.executable, "-m", "hadamhw.cli", "train"]
    if resume.is_file():
        return [*cmd, "--resume", str(resume), "--no-progress", "-o", str(checkpoint)]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        cmd += [flag] if value is True else [flag, str(value)]
    return [*cmd, "--no-progress", "-o", str(checkpoint)]


def train_model(model: dict) -> None:
    """Train the model into its checkpoint unless it is there; the log beside it."""
    checkpoint = Path(model["checkpoint"])
    if checkpoint.is_file():
        return
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    log = checkpoint.with_suffix(".log")
    print(f"sweep: training {model['name']} (log {log})", file=sys.stderr, flush=True)
    with log.open("a") as fh:
        done = subprocess.run(train_command(model["train"], checkpoint), stdout=fh,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode or not checkpoint.is_file():
        raise HadamhwError(f"model {model['name']}: hadamhw train failed (exit "
                           f"{done.returncode}); see {log}")


def file_digest(*paths: str | None, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(Path(path).read_bytes() if path else b"-")
    return h.hexdigest()


def accuracy(model: dict, folder: Path, limit: int | None) -> dict:
    """The model's `hadamhw eval` report on the test split (cached by its files' digest)."""
    cache = folder / f"{model['name']}.eval.json"
    key = file_digest(model.get("checkpoint"), model["ir"], extra=f"test {limit}")
    if cache.is_file():
        kept = json.loads(cache.read_text())
        if kept.get("key") == key:
            return kept["report"]
    report = evaluate_model(model.get("checkpoint"), model["ir"], limit)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "report": report}, sort_keys=True))
    return report


def evaluate_model(checkpoint: str | None, ir_path: str, limit: int | None) -> dict:
    from hadamhw.checkpoint import load_checkpoint
    from hadamhw.evaluate import evaluate
    from hadamhw.ir.schema import IntegerRNN
    from hadamhw.tasks import task_from_metadata

    ir = IntegerRNN.load(ir_path)
    net, payload = load_checkpoint(checkpoint) if checkpoint else (None, {})
    meta = payload.get("task") or ir.meta.get("task")
    if not meta:
        raise HadamhwError(f"{ir_path}: no task recorded, so no test split to evaluate on")
    return evaluate(task_from_metadata(meta), "test", model=net, ir=ir, limit=limit)


def prepare(models: list[dict], verify: dict, folder: Path,
            lower: Callable[[str], object] | None) -> dict[str, dict]:
    """Each model as a trial takes it: trained, lowered, evaluated where the spec asks."""
    out = {}
    for model in map(dict, models):
        if model.get("train"):
            train_model(model)
        if model.get("checkpoint"):
            if lower is None:
                raise HadamhwError("checkpoint models need hadamhw.api (hadamhw sweep)")
            model["ir"] = str(folder / f"{model['name']}.ir.json")
            folder.mkdir(parents=True, exist_ok=True)
            lower(model["checkpoint"]).save(model["ir"])
        elif model.get("ir") and not Path(model["ir"]).is_file():
            raise HadamhwError(f"{model['ir']}: no such IR file")
        if verify.get("accuracy") and model.get("ir"):
            model["eval"] = accuracy(model, folder, verify.get("accuracy_limit"))
        out[model["name"]] = model
    return out
