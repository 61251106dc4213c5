"""hadamhw.verify.build_cache: content keys, reuse, concurrent builds, damaged and killed builds.

The processes that race or die are real child processes running `build_once` with a build
step that sleeps, so the lock and the atomic rename are what is tested, not a mock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hadamhw.errors import HadamhwError
from hadamhw.verify.build_cache import (
    STAMP,
    _locked,
    build_once,
    cache_max_bytes,
    cache_root,
    content_key,
    entry_is_valid,
    prune,
)

PAYLOAD = b"\x7fELF pretend executable " * 64

# A child that builds entry `name` in ROOT: logs "start" to LOG, writes half the output,
# sleeps SLEEP seconds, writes the rest, prints the entry's path and whether it was cached.
CHILD = """
import sys, time
from pathlib import Path
from hadamhw.verify.build_cache import build_once

root, name, log, sleep = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
payload = bytes.fromhex(sys.argv[5])

def build(folder):
    with log.open("a") as fh:
        fh.write("start\\n")
    out = folder / "tool.bin"
    out.write_bytes(payload[: len(payload) // 2])
    time.sleep(sleep)
    out.write_bytes(payload)

entry = build_once(root, name, "key-1", build, outputs=["tool.bin"])
print(entry.path, entry.cached, flush=True)
"""


def _child(root: Path, log: Path, sleep: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root), "entry", str(log),
                             str(sleep), PAYLOAD.hex()], stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.PIPE)


def _builder(calls: list, payload: bytes = PAYLOAD):
    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "tool.bin").write_bytes(payload)
        (folder / "notes.txt").write_text("not guarded")
    return build


def test_key_depends_on_recipe_tools_and_every_source_byte():
    base = dict(tools={"verilator": "5.048", "cocotb": "2.0"},
                sources=[("a.v", b"module a; endmodule"), ("b.v", b"module b; endmodule")])
    key = content_key("flags -O2", **base)
    assert key == content_key("flags -O2", **base) and len(key) == 24
    assert key == content_key("flags -O2", tools={"cocotb": "2.0", "verilator": "5.048"},
                              sources=base["sources"])  # tool order is irrelevant
    variants = [
        content_key("flags -O3", **base),
        content_key("flags -O2", tools={"verilator": "5.049", "cocotb": "2.0"},
                    sources=base["sources"]),
        content_key("flags -O2", tools=base["tools"],
                    sources=[("a.v", b"module a; endmodule "), base["sources"][1]]),
        content_key("flags -O2", tools=base["tools"],
                    sources=[("c.v", b"module a; endmodule"), base["sources"][1]]),
        content_key("flags -O2", tools=base["tools"], sources=base["sources"][::-1]),
        # length-prefixed parts: moving bytes between name and content changes the key
        content_key("flags -O2", tools=base["tools"],
                    sources=[("a.vmodule", b" a; endmodule"), base["sources"][1]]),
    ]
    assert len({key, *variants}) == len(variants) + 1


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HADAMHW_CACHE_DIR", str(tmp_path))
    assert cache_root("cocotb") == tmp_path / "cocotb"
    assert cache_root("cocotb", tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("HADAMHW_CACHE_DIR")
    assert cache_root("csim") == Path.home() / ".cache" / "hadamhw" / "csim"


def test_built_once_then_reused(tmp_path):
    calls: list = []
    first = build_once(tmp_path, "entry", "k", _builder(calls), outputs=["tool.bin"])
    again = build_once(tmp_path, "entry", "k", _builder(calls), outputs=["tool.bin"])
    assert not first.cached and again.cached and len(calls) == 1
    assert first.path == again.path == tmp_path / "entry"
    assert (first.path / "tool.bin").read_bytes() == PAYLOAD
    stamp = json.loads((first.path / STAMP).read_text())
    assert stamp["key"] == "k" and stamp["outputs"]["tool.bin"]["size"] == len(PAYLOAD)
    # another key for the same entry name builds again and replaces it
    other = build_once(tmp_path, "entry", "k2", _builder(calls, b"v2"), outputs=["tool.bin"])
    assert not other.cached and (other.path / "tool.bin").read_bytes() == b"v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "entry"]


def _damage(entry: Path, how: str) -> None:
    tool, stamp = entry / "tool.bin", entry / STAMP
    if how == "delete-output":
        tool.unlink()
    elif how == "truncate-output":
        tool.write_bytes(tool.read_bytes()[:100])
    elif how == "flip-a-byte":
        data = bytearray(tool.read_bytes())
        data[200] ^= 1
        tool.write_bytes(bytes(data))
    elif how == "delete-stamp":
        stamp.unlink()
    elif how == "garbage-stamp":
        stamp.write_text("{not json")
    elif how == "stamp-without-outputs":
        stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "outputs": {}}))
    elif how == "output-became-folder":
        tool.unlink()
        tool.mkdir()


@pytest.mark.parametrize("how", ["delete-output", "truncate-output", "flip-a-byte",
                                 "delete-stamp", "garbage-stamp", "stamp-without-outputs",
                                 "output-became-folder"])
def test_damaged_entry_is_rebuilt(tmp_path, how):
    calls: list = []
    entry = build_once(tmp_path, "entry", "k", _builder(calls), outputs=["tool.bin"]).path
    _damage(entry, how)
    assert not entry_is_valid(entry, "k")
    again = build_once(tmp_path, "entry", "k", _builder(calls), outputs=["tool.bin"])
    assert not again.cached and len(calls) == 2
    assert (again.path / "tool.bin").read_bytes() == PAYLOAD and entry_is_valid(entry, "k")


def test_failed_build_leaves_nothing(tmp_path):
    def broken(folder: Path) -> None:
        (folder / "tool.bin").write_bytes(b"half")
        raise HadamhwError("compiler said no")

    with pytest.raises(HadamhwError, match="compiler said no"):
        build_once(tmp_path, "entry", "k", broken, outputs=["tool.bin"])
    with pytest.raises(HadamhwError, match="build made no tool.bin"):
        build_once(tmp_path, "entry", "k", lambda folder: None, outputs=["tool.bin"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks"]
    assert not build_once(tmp_path, "entry", "k", _builder([]), outputs=["tool.bin"]).cached


def test_two_processes_build_the_same_entry_once(tmp_path):
    log = tmp_path / "starts.log"
    children = [_child(tmp_path / "cache", log, sleep=1.5) for _ in range(2)]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(out.split())
    assert log.read_text() == "start\n"  # one build; the other process waited and reused it
    assert {path for path, _ in results} == {str(tmp_path / "cache" / "entry")}
    assert sorted(cached for _, cached in results) == ["False", "True"]
    assert (tmp_path / "cache" / "entry" / "tool.bin").read_bytes() == PAYLOAD


def test_killed_build_is_rebuilt_not_reused(tmp_path):
    root, log = tmp_path / "cache", tmp_path / "starts.log"
    child = _child(root, log, sleep=60)
    deadline = time.monotonic() + 60
    while not list(root.glob(".tmp-entry.*/tool.bin")):  # mid-build: half the output
        assert time.monotonic() < deadline and child.poll() is None, child.stderr.read()
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert not (root / "entry").exists()  # the killed build never became the entry
    assert list(root.glob(".tmp-entry.*"))  # its temporary folder is left behind
    calls: list = []
    entry = build_once(root, "entry", "key-1", _builder(calls), outputs=["tool.bin"])
    assert not entry.cached and len(calls) == 1  # the lock died with its holder
    assert not list(root.glob(".tmp-entry.*"))  # and the leftovers are gone
    assert (entry.path / "tool.bin").read_bytes() == PAYLOAD


def _aged(entry: Path, hours: float) -> None:
    """Marks an entry as last used `hours` ago."""
    then = time.time() - hours * 3600
    os.utime(entry / STAMP, (then, then))


def _fill(root: Path, names: str, size: int) -> dict[str, Path]:
    """One entry per letter, each holding `size` bytes; the first letter used longest ago."""
    entries = {}
    for age, name in enumerate(reversed(names)):
        entries[name] = build_once(root, name, "k", _builder([], bytes(size)),
                                   outputs=["tool.bin"]).path
        _aged(entries[name], 2 + age)
    return entries


def test_least_recently_used_entries_go_when_over_budget(tmp_path):
    size = 100_000
    entries = _fill(tmp_path, "abc", size)
    # a fourth entry in a budget of 2.5 entries: the two used longest ago (a, b) go
    d = build_once(tmp_path, "d", "k", _builder([], bytes(size)), outputs=["tool.bin"],
                   max_bytes=int(2.5 * size))
    assert not d.cached
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["c", "d"]
    assert not entries["a"].exists() and entry_is_valid(entries["c"], "k")
    assert not list(tmp_path.glob(".tmp-*"))  # nothing half-deleted left behind


def test_reuse_renews_an_entry_so_it_stays(tmp_path):
    size = 100_000
    entries = _fill(tmp_path, "abc", size)
    assert build_once(tmp_path, "a", "k", _builder([]), outputs=["tool.bin"]).cached
    assert time.time() - (entries["a"] / STAMP).stat().st_mtime < 60
    _aged(entries["a"], 1)  # still the newest of the three
    build_once(tmp_path, "d", "k", _builder([], bytes(size)), outputs=["tool.bin"],
               max_bytes=int(2.5 * size))
    assert entries["a"].exists() and not entries["b"].exists() and not entries["c"].exists()


def test_recent_locked_and_kept_entries_are_never_pruned(tmp_path):
    size = 100_000
    entries = _fill(tmp_path, "abc", size)
    _aged(entries["a"], 0.01)  # used 36 s ago: its simulation may still be running
    with _locked(tmp_path / ".locks" / "b.lock"):  # another process builds or reuses b
        removed = prune(tmp_path, 0, keep=[entries["c"]])
    assert removed == [] and all(e.exists() for e in entries.values())
    assert prune(tmp_path, 0, min_idle_s=0) == [entries["b"], entries["c"], entries["a"]]
    assert prune(tmp_path / "missing", 0) == []


def test_cache_budget_from_environment(monkeypatch):
    monkeypatch.delenv("HADAMHW_CACHE_MAX_MB", raising=False)
    assert cache_max_bytes() == 4096 << 20
    monkeypatch.setenv("HADAMHW_CACHE_MAX_MB", " 300 ")
    assert cache_max_bytes() == 300 << 20
    monkeypatch.setenv("HADAMHW_CACHE_MAX_MB", "0")
    assert cache_max_bytes() is None
    for bad in ("-1", "2G", "1.5"):
        monkeypatch.setenv("HADAMHW_CACHE_MAX_MB", bad)
        with pytest.raises(HadamhwError, match=f"HADAMHW_CACHE_MAX_MB='{bad}'.*megabytes"):
            cache_max_bytes()


def test_entry_names_are_checked(tmp_path):
    for name in ("", "a/b", ".hidden", "x.y", "a*"):
        with pytest.raises(ValueError):
            build_once(tmp_path, name, "k", _builder([]), outputs=["tool.bin"])
    with pytest.raises(ValueError):
        build_once(tmp_path, "ok", "k", _builder([]), outputs=[])


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_csim_executable_damage_is_rebuilt(tmp_path):
    """At a call site: a truncated C simulation executable is built again, not run."""
    from hadamhw.backends import GenerateOptions
    from hadamhw.backends.hls import render
    from hadamhw.ir.random import random_ir
    from hadamhw.ir.stimulus import make_stimulus
    from hadamhw.verify.csim import build_csim, run_csim

    ir = random_ir(np.random.default_rng(3), 8, 4)
    render(ir, tmp_path / "hls", GenerateOptions())
    exe = build_csim(tmp_path / "hls", tmp_path / "cache")
    size = exe.stat().st_size
    assert build_csim(tmp_path / "hls", tmp_path / "cache") == exe
    exe.write_bytes(exe.read_bytes()[: size // 3])
    assert build_csim(tmp_path / "hls", tmp_path / "cache") == exe
    assert exe.stat().st_size == size
    assert run_csim(tmp_path / "hls", make_stimulus(ir, sequences=3), tmp_path / "cache").ok
