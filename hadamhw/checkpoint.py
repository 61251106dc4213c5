"""Self-describing checkpoints: format tag, version, model config, task, weights, metrics.

Everything stored is a plain Python type or a tensor, so `torch.load(weights_only=True)`
reads it without unpickling arbitrary objects.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import torch

from hadamhw.errors import HadamhwError
from hadamhw.nn.model import HadamRNN, ModelConfig

FORMAT = "hadamhw-checkpoint"
VERSION = 1


def checkpoint_payload(model: HadamRNN, task: dict | None, metrics: dict | None = None,
                       training: dict | None = None, state_dict: dict | None = None,
                       resume: dict | None = None) -> dict:
    """The checkpoint dictionary; `state_dict` overrides the model's current weights (a
    resume checkpoint stores the best weights so far there, the current ones in
    `resume`)."""
    weights = model.state_dict() if state_dict is None else state_dict
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "task": task,
        "state_dict": {k: v.detach().clone() for k, v in weights.items()},
        "metrics": metrics or {},
        "training": training or {},
    }
    if resume is not None:
        payload["resume"] = resume
    return payload


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_save(payload: dict, path: str | Path) -> None:
    """torch.save to a temporary file beside `path`, then rename it over `path`: a reader
    (or a crash) never sees a half-written checkpoint, and the previous one survives
    until the new one is complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> what open() would have made
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | Path, model: HadamRNN, task: dict | None,
                    metrics: dict | None = None, training: dict | None = None,
                    resume: dict | None = None) -> None:
    atomic_save(checkpoint_payload(model, task, metrics, training, resume=resume), path)


def rescue_path(path: str | Path, folders: list[Path] | None = None) -> Path | None:
    """A fresh file name for a checkpoint that could not go to `path`: in the working
    directory, else the temporary directory; never an existing file."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = path.name[:-3] if path.name.endswith(".pt") else path.name
    for folder in folders or [Path.cwd(), Path(tempfile.gettempdir())]:
        for i in range(100):
            candidate = folder / f"{stem}.rescued-{stamp}{'' if i == 0 else f'-{i}'}.pt"
            if not candidate.exists():
                return candidate
    return None


def save_final_checkpoint(path: str | Path, payload: dict,
                          fallback_folders: list[Path] | None = None) -> None:
    """Write the trained model to `path`; if that fails, to a rescue file (working
    directory, else the temporary directory) and raise an error naming both, so that a
    trained model is never lost to a bad output path or a full disk."""
    path = Path(path)
    try:
        atomic_save(payload, path)
        return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    tried = []
    for folder in fallback_folders or [Path.cwd(), Path(tempfile.gettempdir())]:
        rescue = rescue_path(path, [folder])
        if rescue is None or rescue.resolve() == path.resolve():
            continue
        try:
            atomic_save(payload, rescue)
        except OSError as exc:
            tried.append(f"{rescue} ({exc.strerror or type(exc).__name__})")
            continue
        raise HadamhwError(f"cannot write {path} ({reason}); the trained model was saved to "
                           f"{rescue} instead")
    rescues = "; ".join(tried) if tried else "no folder to put one in"
    raise HadamhwError(f"cannot write {path} ({reason}), nor a rescue copy: {rescues}")


def read_checkpoint(path: str | Path) -> dict:
    """Load and validate the raw checkpoint dictionary."""
    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or unsafe files
        raise HadamhwError(
            f"{path}: not a readable checkpoint: the file is corrupt or truncated, or holds "
            f"objects other than tensors and plain values, which are refused for safety "
            f"({type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise HadamhwError(f"{path}: not a hadamhw checkpoint (no '{FORMAT}' format tag)")
    if payload.get("version") != VERSION:
        raise HadamhwError(
            f"{path}: checkpoint format version {payload.get('version')!r} is not supported "
            f"(this hadamhw reads version {VERSION})"
        )
    for key in ("config", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise HadamhwError(f"{path}: checkpoint field '{key}' is missing or not a mapping")
    return payload


def load_checkpoint(path: str | Path) -> tuple[HadamRNN, dict]:
    payload = read_checkpoint(path)
    try:
        config = ModelConfig.from_dict(payload["config"])
    except TypeError as exc:
        raise HadamhwError(f"{path}: bad model config ({exc})") from None
    model = HadamRNN(config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(first[:2])[:300]
        raise HadamhwError(f"{path}: weights do not match the config ({detail})") from None
    model.eval()
    return model, payload


def read_resume_checkpoint(path: str | Path) -> dict:
    """A checkpoint that can continue training: validated payload with a 'resume' section."""
    payload = read_checkpoint(path)
    resume = payload.get("resume")
    if not isinstance(resume, dict):
        raise HadamhwError(
            f"{path}: holds a trained model but no training state to resume from (resume "
            f"checkpoints are written every --checkpoint-every steps, to --checkpoint)")
    missing = [k for k in ("version", "step", "model", "optimizer", "scheduler", "rng",
                           "settings") if k not in resume]
    if missing:
        raise HadamhwError(f"{path}: resume section lacks {', '.join(missing)}")
    if not isinstance(payload.get("task"), dict):
        raise HadamhwError(f"{path}: names no task, so its training cannot be resumed")
    return payload
