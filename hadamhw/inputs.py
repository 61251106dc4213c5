"""What a command's input path is, and one line saying so when it is not what the command
takes: an IR file where a checkpoint is expected (or the other way round), a design folder
where a model file is expected, a file where a design folder is expected. Each message
names the command that does take the input.

Recognition reads a few bytes and imports nothing heavy: a JSON object is an IR file (its
loader names what is wrong with it), a zip archive or a pickle is a torch checkpoint, a
folder holding manifest.json is a design folder from `hadamhw generate`.
"""

from __future__ import annotations

import os
from pathlib import Path

from hadamhw.errors import HadamhwError

MISSING, FOLDER, DESIGN, IR, CHECKPOINT, OTHER = (
    "missing", "folder", "design", "ir", "checkpoint", "other")
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format
_PICKLE_MAGIC = b"\x80"  # torch.save's legacy format (a pickle protocol marker)


def input_kind(path: str | Path) -> str:
    """missing, folder, design (a folder from 'hadamhw generate'), ir, checkpoint or other."""
    path = Path(path)
    if not os.path.lexists(path):
        return MISSING
    if path.is_dir():
        return DESIGN if (path / "manifest.json").is_file() else FOLDER
    if path.suffix == ".json":
        return IR
    with path.open("rb") as fh:  # an OSError here is the CLI's one-line file error
        head = fh.read(64)
    if head.lstrip()[:1] == b"{":
        return IR
    if head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC):
        return CHECKPOINT
    return OTHER


def _design_hint(path: Path) -> str:
    return f" (its IR copy: {path / 'model.ir.json'})" if (path / "model.ir.json").is_file() \
        else ""


def expect_checkpoint(path: str | Path, command: str, option: str | None = None) -> Path:
    """`path` must be a checkpoint (model.pt); anything recognisably else is refused.

    option: the option that names it (eval's --checkpoint), else the command's input.
    """
    path = Path(path)
    kind = input_kind(path)
    origin = "model.pt from 'hadamhw train' or 'hadamhw import-ref'"
    if option:
        takes = f"{option} takes the float checkpoint ({origin}) to compare against"
    else:
        takes = f"'hadamhw {command}' takes a checkpoint ({origin})"
    if kind == MISSING:
        raise HadamhwError(f"{path}: no such file; {takes}")
    if kind == DESIGN:
        raise HadamhwError(f"{path}: is a design folder from 'hadamhw generate', not a "
                           f"checkpoint; {takes}; 'hadamhw sim', 'csim' and 'report' take the "
                           "folder")
    if kind == FOLDER:
        raise HadamhwError(f"{path}: is a folder, not a checkpoint; {takes}")
    if kind == IR:
        also = "" if option else (". An IR goes straight to 'hadamhw eval', 'generate', "
                                  "'sim' or 'info'")
        raise HadamhwError(f"{path}: is an integer IR file, not a checkpoint; {takes}{also}")
    return path


def expect_model(path: str | Path, command: str) -> str:
    """`path` must be a checkpoint or an IR file; returns IR or CHECKPOINT."""
    path = Path(path)
    kind = input_kind(path)
    takes = f"'hadamhw {command}' takes a checkpoint (model.pt) or an IR file (model.ir.json)"
    if kind == MISSING:
        raise HadamhwError(f"{path}: no such file; {takes}")
    if kind == DESIGN:
        raise HadamhwError(f"{path}: is a design folder from 'hadamhw generate', not a "
                           f"model file{_design_hint(path)}; {takes}")
    if kind == FOLDER:
        raise HadamhwError(f"{path}: is a folder; {takes}")
    return IR if kind == IR else CHECKPOINT


def expect_design(path: str | Path, command: str, target: str) -> Path:
    """`path` must be a folder written by 'hadamhw generate --target TARGET'."""
    path = Path(path)
    kind = input_kind(path)
    generate = "hadamhw generate MODEL" + (" --target hls" if target == "hls" else "")
    takes = f"'hadamhw {command}' takes a design folder written by '{generate} -o DIR'"
    if kind == MISSING:
        raise HadamhwError(f"{path}: no such design folder; {takes}")
    if kind in (IR, CHECKPOINT):
        model = "an integer IR file" if kind == IR else "a checkpoint"
        flag = " --target hls" if target == "hls" else ""
        raise HadamhwError(f"{path}: is {model}, not a design folder; run 'hadamhw generate "
                           f"{path}{flag} -o DIR', then 'hadamhw {command} DIR'")
    if kind == OTHER:
        raise HadamhwError(f"{path}: is a file, not a design folder; {takes}")
    return path  # a folder: the manifest reader names what is missing in it
