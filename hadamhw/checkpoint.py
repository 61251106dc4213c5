"""Self-describing checkpoints: format tag, version, model config, task, weights, metrics.

Everything stored is a plain Python type or a tensor, so `torch.load(weights_only=True)`
reads it without unpickling arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hadamhw.errors import HadamhwError
from hadamhw.nn.model import HadamRNN, ModelConfig

FORMAT = "hadamhw-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, model: HadamRNN, task: dict | None,
                    metrics: dict | None = None, training: dict | None = None) -> None:
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "task": task,
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "metrics": metrics or {},
        "training": training or {},
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


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
