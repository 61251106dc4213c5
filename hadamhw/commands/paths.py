"""User paths at the CLI boundary: made absolute once, outputs checked before any work.

Every path option is parsed with `user_path`, so a path means what it meant in the user's
working directory even when a later step runs a tool with another one (g++, Verilator and
Yosys run in design or build folders). Each command checks every path it will write with
`check_output_file` / `check_output_folder` before its long work (training, lowering,
synthesis) starts, so a bad path costs seconds, not the result. `os_error_message` turns a
file-system error that still happens into one line naming the path and the reason.

The checks create nothing: missing folders are created later by the writer; a probe file
(created and removed at once) tells whether the nearest existing folder accepts new files,
which also covers read-only mounts and root, where permission bits say nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from hadamhw.errors import HadamhwError

_PROBE_PREFIX = ".hadamhw-write-test-"


def user_path(text: str) -> str:
    """argparse type: the path as an absolute one (`~` expanded, not resolving symlinks)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return os.path.abspath(os.path.expanduser(text))


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _cannot_create_in(folder: Path) -> str | None:
    """None when a new file can be created in `folder`, else the reason."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=_PROBE_PREFIX)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    os.unlink(probe)
    return None


def _check_can_create(path: Path, what: str, hint: str) -> None:
    """The folders above `path` exist or can be made, and the nearest existing one takes
    new files."""
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise HadamhwError(f"{path}: cannot write the {what}: {existing} is a file, not a "
                           f"folder{hint}")
    reason = _cannot_create_in(existing)
    if reason is not None:
        raise HadamhwError(f"{path}: cannot write the {what}: folder {existing} is not "
                           f"writable ({reason}){hint}")


def check_output_file(path: str | Path, what: str, *, example: str | None = None,
                      hint: str = "") -> Path:
    """Refuse, before any work, a file path that cannot be written; returns it as a Path.

    what names the file in the message ("IR file", "checkpoint"); example is a file name
    suggested when the path is an existing folder; hint ends each message (for example
    "; give --build-dir").
    """
    path = Path(path)
    if path.is_dir():
        instead = f" (for example {path / example})" if example else ""
        raise HadamhwError(f"{path}: is a folder; give a file name for the {what}{instead}")
    if os.path.lexists(path):
        try:  # opened for appending and closed: contents and mtime stay as they are
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
        except OSError as exc:
            raise HadamhwError(f"{path}: cannot write the {what}: "
                               f"{exc.strerror or type(exc).__name__}{hint}") from None
        _check_can_create(path, what, hint)  # atomic writers create a temporary beside it
        return path
    _check_can_create(path, what, hint)
    return path


def check_output_folder(path: str | Path, what: str, *, hint: str = "") -> Path:
    """Refuse, before any work, a folder path that cannot be created or written into."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise HadamhwError(f"{path}: is a file; the {what} must be a folder{hint}")
    if path.is_dir():
        reason = _cannot_create_in(path)
        if reason is not None:
            raise HadamhwError(f"{path}: cannot write the {what}: the folder is not "
                               f"writable ({reason}){hint}")
        return path
    _check_can_create(path, what, hint)
    return path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a file so that it is either complete or untouched: a temporary file beside it,
    then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is for secrets; this is not one
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def os_error_message(exc: OSError) -> str:
    """One line for a file-system error: the path(s) involved and the reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    where = os.fsdecode(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {os.fsdecode(exc.filename2)}"
    return f"{where}: {reason}"
