"""One build cache for every compiled artifact: simulators and C simulations.

An entry is a folder `<root>/<name>` holding the files a build made plus a stamp
(`hadamhw-build.json`) that records the key and the size and SHA-256 of each output. The
key hashes everything the build depends on: the recipe (the commands, as a version string
the caller bumps), the tool versions and the source contents (`content_key`).

`build_once` makes the entry, or reuses it:
- one build per entry at a time: an exclusive lock file (`<root>/.locks/<name>.lock`,
  released by the kernel when its holder dies); a second process waits, then reuses;
- a build runs in a temporary folder beside the entry and becomes the entry by an atomic
  rename, stamp included, so a killed build never leaves a half-made entry;
- an entry is reused only when its stamp names the same key and every output is present
  with the recorded size and hash; anything else (a truncated executable, a deleted file, a
  missing or unreadable stamp) is built again. Temporary folders of killed builds are
  removed by the next build of the same entry.

Where the caches live (docs/ir-format.md, "Build caches"): `$HADAMHW_CACHE_DIR/<kind>`,
else `~/.cache/hadamhw/<kind>`, for the cocotb and Verilator batch builds; a C simulation
builds under its design folder (`DESIGN/csim`) unless given a folder. (Sweep results are
not builds: `hadamhw sweep` keys its trials itself, hadamhw.report.sweep.) Removing any of
these folders is always safe between runs.

The shared caches are bounded (`max_bytes`, from `$HADAMHW_CACHE_MAX_MB`, default
4096 MB a kind): each new build deletes the least recently used entries until the kind fits.
Every design and test makes an entry of its own, and an unbounded cocotb cache once filled
a 100 GB disk. An entry in use is never deleted: its lock is held while it is built or
reused, and one reused less than `MIN_IDLE_S` ago may still be running its simulation.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from hadamhw.errors import HadamhwError

STAMP = "hadamhw-build.json"
STAMP_FORMAT = "hadamhw-build-cache"
STAMP_VERSION = 2
_TMP_PREFIX = ".tmp-"
MAX_MB_VARIABLE = "HADAMHW_CACHE_MAX_MB"
DEFAULT_MAX_MB = 4096
# A simulation runs from its entry after build_once has returned (and released the lock);
# the longest ones here (a whole test set through cocotb) take minutes, not a quarter hour.
MIN_IDLE_S = 900.0


@dataclass(frozen=True)
class Built:
    path: Path  # the entry's folder
    cached: bool  # True when an earlier build was reused
    seconds: float  # time spent building (0 when cached)


def cache_root(kind: str, override: str | Path | None = None) -> Path:
    """The folder of one kind of cache: `override`, else $HADAMHW_CACHE_DIR/kind, else
    ~/.cache/hadamhw/kind."""
    if override is not None:
        return Path(override)
    base = os.environ.get("HADAMHW_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "hadamhw") / kind


def cache_max_bytes() -> int | None:
    """Size budget of each shared cache kind: $HADAMHW_CACHE_MAX_MB megabytes, else 4096;
    None (no limit) for 0."""
    raw = os.environ.get(MAX_MB_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_MB << 20
    try:
        megabytes = int(raw)
    except ValueError:
        megabytes = -1
    if megabytes < 0:
        raise HadamhwError(f"{MAX_MB_VARIABLE}={raw!r}: expected a whole number of megabytes "
                           f"(0: no limit; unset: {DEFAULT_MAX_MB})")
    return None if megabytes == 0 else megabytes << 20


def content_key(recipe: str, *, tools: Mapping[str, str] = {},
                sources: Iterable[tuple[str, bytes]] = (), length: int = 24) -> str:
    """Hex digest of a build's inputs: recipe, tool versions (name -> version) and sources
    (name, content) in the order the build uses them."""
    digest = hashlib.sha256()

    def part(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "little") + data)  # length-prefixed: unambiguous

    part(f"recipe {recipe}".encode())
    for name, version in sorted(tools.items()):
        part(f"tool {name} {version}".encode())
    for name, data in sources:
        part(f"source {name}".encode())
        part(data)
    return digest.hexdigest()[:length]


def package_version(name: str) -> str:
    """Installed version of a Python distribution, or "none"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "none"


@cache
def command_version(*command: str) -> str:
    """First line of a tool's version output (e.g. `g++ --version`), or "unknown"."""
    try:
        proc = subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _outputs_record(folder: Path, outputs: Sequence[str]) -> dict:
    record = {}
    for name in outputs:
        path = folder / name
        if not path.is_file():
            raise HadamhwError(f"build made no {name} (in {folder})")
        record[name] = {"size": path.stat().st_size, "sha256": _file_digest(path)}
    return record


def entry_is_valid(folder: Path, key: str) -> bool:
    """True when `folder` holds a complete build for `key`: its stamp names the key and
    every recorded output is there, unchanged."""
    try:
        stamp = json.loads((folder / STAMP).read_text())
        if stamp.get("format") != STAMP_FORMAT or stamp.get("key") != key:
            return False
        outputs = stamp["outputs"]
        if not outputs:
            return False
        for name, want in outputs.items():
            path = folder / name
            if path.stat().st_size != want["size"] or _file_digest(path) != want["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


@contextmanager
def _locked(lock: Path, *, wait: bool = True):
    """Holds the lock file exclusively; yields True. With wait=False, yields False at once
    when another process holds it."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _discard(root: Path, name: str, entry: Path) -> None:
    """Moves an entry aside atomically (readers never see half of it), then deletes it."""
    trash = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{name}.old-", dir=root))
    os.rename(entry, trash / "entry")
    _remove(trash)


def _tree_bytes(path: Path) -> int:
    total = 0
    for folder, _subfolders, files in os.walk(path):
        for name in files:
            with suppress(OSError):  # removed while we walk
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def prune(root: str | Path, max_bytes: int, *, keep: Iterable[Path] = (),
          min_idle_s: float = MIN_IDLE_S) -> list[Path]:
    """Delete the least recently used entries of `root` (by their stamp's time, which a
    reuse renews) until the entries hold at most max_bytes. Entries in `keep`, used less
    than min_idle_s ago, or locked by a build or reuse are left. Returns what was deleted."""
    root = Path(root).absolute()
    keep = {Path(k).absolute() for k in keep}
    entries = []
    try:
        children = list(root.iterdir())
    except OSError:
        return []
    for child in children:
        if child.name.startswith(".") or not child.is_dir() or child.is_symlink():
            continue  # locks, temporary builds, logs
        try:
            used = (child / STAMP).stat().st_mtime
        except OSError:
            continue  # no stamp: not a finished entry
        entries.append((used, child.name, child, _tree_bytes(child)))
    total = sum(size for *_, size in entries)
    removed = []
    now = time.time()
    for used, name, child, size in sorted(entries):
        if total <= max_bytes:
            break
        if child in keep or now - used < min_idle_s:
            continue
        with _locked(root / ".locks" / f"{name}.lock", wait=False) as free:
            try:
                if not free or (child / STAMP).stat().st_mtime != used:
                    continue  # being built or reused right now
            except OSError:
                continue
            _discard(root, name, child)
        total -= size
        removed.append(child)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def build_once(root: str | Path, name: str, key: str, build: Callable[[Path], None], *,
               outputs: Sequence[str],
               reuse: Callable[[Path], bool] | None = None,
               max_bytes: int | None = None) -> Built:
    """The entry `root/name` for `key`, built by `build(folder)` unless a valid one exists.

    build writes into the (temporary) folder it is given and raises on failure; outputs are
    the files, relative to the folder, that must exist afterwards (their size and hash guard
    the entry). reuse: an extra test of a valid entry (False: build it again). max_bytes:
    after a new build, `prune` the root's other entries down to this size.
    """
    if not outputs:
        raise ValueError("build_once needs at least one output file to guard the entry")
    if not name or any(c in name for c in "/.*?[]"):
        raise ValueError(f"bad cache entry name {name!r}")
    root = Path(root).absolute()  # builds may run in another working folder
    final = root / name
    with _locked(root / ".locks" / f"{name}.lock"):
        if entry_is_valid(final, key) and (reuse is None or reuse(final)):
            with suppress(OSError):  # a read-only cache is still usable
                os.utime(final / STAMP)  # the last use, which pruning goes by
            return Built(final, True, 0.0)
        for stale in root.glob(f"{_TMP_PREFIX}{name}.*"):  # left by killed builds
            _remove(stale)
        work = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{name}.", dir=root))
        os.chmod(work, 0o755)  # mkdtemp makes it private; the entry is an ordinary folder
        started = time.monotonic()
        try:
            build(work)
            seconds = time.monotonic() - started
            stamp = {"format": STAMP_FORMAT, "version": STAMP_VERSION, "key": key,
                     "seconds": round(seconds, 3), "outputs": _outputs_record(work, outputs)}
            (work / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
            if final.exists() or final.is_symlink():
                _discard(root, name, final)  # an invalid old entry
            os.rename(work, final)
        except BaseException:
            _remove(work)
            raise
    if max_bytes is not None:
        prune(root, max_bytes, keep=[final])
    return Built(final, False, seconds)
