"""Locate the templates and simulation files, installed or in a source checkout."""

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    # A wheel carries them inside the package; an editable install finds them at the repo root.
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"hadamhw installation is missing its '{name}' folder")


def templates_dir() -> Path:
    return _find("templates")


def sim_dir() -> Path:
    return _find("sim")
