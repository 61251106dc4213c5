"""The design folder written by `hadamhw generate`: its one writer and its one reader.

Writer (`write_design`): every file of a design goes into a temporary sibling folder first;
the finished folder then replaces the old one by a rename (an atomic exchange where the
system has renameat2, else two renames), so a reader sees the old design or the new one,
never a mix of both. While it writes, the writer holds an flock on the parent folder; a
second writer into the same parent waits for it (up to LOCK_WAIT_S, then fails in one line).
What the previous design's manifest listed is dropped; everything else in the folder (build
folders, the user's notes) is carried into the new one. A non-empty folder that holds no
hadamhw design is refused unless `force` (then same-named files are replaced, others kept).

The manifest records the sha256 digest of every other file of the design (`files_sha256`)
and `design_id`, the digest of that list; both are deterministic.

Reader (`DesignFolder`, `read_design`): the manifest, checked against its JSON Schema
(hadamhw/ir/design-manifest-v1.schema.json, docs/ir-format.md), every listed file inside the
folder (no symbolic link, nothing resolving outside), and every digest. The rule:
- a file whose digest differs is *modified*: named in `modified_files`, and the callers work
  on the files as they are (verifying hand-edited RTL against the golden model is a real
  use); with strict=True it is an error;
- when a third or more of the listed files (two at least) differ, the folder is a *mix* of
  two generations (a manifest beside another design's files) and is always refused (a third:
  the single-cycle design lists its block modules too, which another fold does not rewrite);
- a manifest without digests (an older hadamhw) is read with `digests_checked` False.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path

from hadamhw.backends.manifest import DESIGN_FORMAT
from hadamhw.errors import HadamhwError
from hadamhw.ir.json_schema import first_error
from hadamhw.ir.schema import IntegerRNN, parse_json

MANIFEST = "manifest.json"
DIGESTS = "files_sha256"
DESIGN_ID = "design_id"
LOCK_WAIT_S = 60.0
_READ_ATTEMPTS = 4
# Fields naming files, for manifests written before the digests (regeneration drops them).
_LEGACY_FILE_FIELDS = ("ir", "hdl_files", "sources", "testbench", "script", "test_vectors",
                       "files")
_LEGACY_COMPANIONS = ("README.md", "model.ir.json")


# -- interrupts ---------------------------------------------------------------------------

@contextlib.contextmanager
def hold_interrupts(deliver: bool = True) -> Iterator[list[int]]:
    """SIGINT and SIGTERM wait until the block ends (in the main thread; elsewhere nothing
    changes). deliver: raise the first one held when the block ends (the handlers in place
    before it run); else drop them (the work they would have stopped is done). Yields the
    list of signals held."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {sig: signal.signal(sig, lambda s, _f: held.append(s))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if deliver and held:
            signal.raise_signal(held[0])


# -- names ------------------------------------------------------------------------------

# IEEE 1800-2017 (SystemVerilog) reserved words, which include Verilog's (IEEE 1364-2005):
# a module named after one does not compile.
_HDL_WORDS = """
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic
before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle
checker class clocking cmos config const constraint context continue cover covergroup
coverpoint cross deassign default defparam design disable dist do edge else end endcase
endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface
endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable
endtask enum event eventually expect export extends extern final first_match for force
foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone
ignore_bins illegal_bins implements implies import incdir include initial inout input inside
instance int integer interconnect interface intersect join join_any join_none large let
liblist library local localparam logic longint macromodule matches medium modport module
nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output
package packed parameter pmos posedge primitive priority program property protected pull0
pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase
randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos
rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with
scalared sequence shortint shortreal showcancelled signed small soft solve specify
specparam static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on
sync_reject_on table tagged task this throughout time timeprecision timeunit tran tranif0
tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0 unsigned until
until_with untyped use uwire var vectored virtual void wait wait_order wand weak weak0 weak1
while wildcard wire with within wor xnor xor
"""
_HDL_KEYWORDS = frozenset(_HDL_WORDS.split())  # noqa: SIM905 -- the list as the standard prints it


def check_top_name(top: str, target: str) -> None:
    """The top module's name must compile: an ASCII identifier, not an HDL keyword (the HLS
    backend refuses C++ keywords itself)."""
    if not top.isascii() or not top.isidentifier() or top.startswith("_"):
        raise HadamhwError(f"--top must be an ASCII identifier (letters, digits, '_', not "
                           f"starting with a digit or '_'), got {top!r}")
    if target == "verilog" and top in _HDL_KEYWORDS:
        raise HadamhwError(f"--top {top!r} is a Verilog / SystemVerilog keyword; the module "
                           "would not compile (for example --top hadamrnn)")


# -- size -------------------------------------------------------------------------------

MAX_MEMORY_GB = 16.0
# The generator's cost grows with its terms (butterflies n log2 m, and the constant
# products' n (inputs + outputs)); fitted on n = m = 256 (2.4 s, 0.05 GB) and 1024 (81 s,
# 0.45 GB) Verilog designs, rounded up: an order of magnitude, not a promise.
_BASE_TERMS, _BASE_SECONDS, _BASE_GB = 4096, 2.5, 0.05


def estimate_cost(ir: IntegerRNN) -> tuple[float, float]:
    """(gigabytes, seconds) the generator is estimated to need for this IR."""
    n, m = ir.hidden_size, ir.block_size
    terms = n * max(1, (m - 1).bit_length()) + n * (ir.input.size + ir.output_size)
    scale = max(terms / _BASE_TERMS, 1e-3)
    return _BASE_GB * scale ** 1.5 + 0.05, _BASE_SECONDS * scale ** 2.3


def check_size(ir: IntegerRNN, target: str, options, max_memory_gb: float | None) -> None:
    """Refuse, in one line with the estimate, a design past the memory limit."""
    limit = MAX_MEMORY_GB if max_memory_gb is None else float(max_memory_gb)
    gigabytes, seconds = estimate_cost(ir)
    if gigabytes > limit:
        raise HadamhwError(f"n={ir.hidden_size}, m={ir.block_size}: generating this {target} "
                           f"design is estimated to need {gigabytes:,.3g} GB and "
                           f"{_duration(seconds)}, over the {limit:g} GB limit; give "
                           "--max-memory GB to try anyway")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.0f} h"


# -- writing ------------------------------------------------------------------------------

def render_design(ir: IntegerRNN, target: str, options,
                  template_dir: str | Path | None = None) -> dict[str, bytes]:
    """Every file of a design, name -> contents, as the target's backend renders it (from
    the templates in template_dir, default the package's; nothing written where the caller
    can see it); manifest.json carries the digests."""
    from hadamhw.backends import get_backend

    backend = get_backend(target)
    if target == "hls":  # the HLS backend renders into a folder
        with tempfile.TemporaryDirectory(prefix="hadamhw-render-") as tmp:
            backend.render(ir, tmp, options, template_dir)
            files = {p.relative_to(tmp).as_posix(): p.read_bytes()
                     for p in sorted(Path(tmp).rglob("*")) if p.is_file()}
    else:
        files = {name: text if isinstance(text, bytes) else text.encode("utf-8")
                 for name, text in backend.render(ir, options, template_dir).items()}
    return with_digests(files)


def generate(ir: IntegerRNN, out: str | Path, options=None, *, target: str = "verilog",
             template_dir: str | Path | None = None, force: bool = False) -> dict:
    """Render a design and write it into the folder `out` atomically; its manifest. (The
    API's hadamhw.generate adds the checks of names and sizes and returns a Design.)"""
    from hadamhw.backends import GenerateOptions

    out = check_design_folder(out, force=force)
    files = render_design(ir, target, options or GenerateOptions(), template_dir)
    write_design(files, out, force=force)
    return json.loads(files[MANIFEST])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def with_digests(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files with manifest.json recording every other file's digest and the design id."""
    if MANIFEST not in files:
        raise HadamhwError("the backend rendered no manifest.json")
    manifest = json.loads(files[MANIFEST])
    digests = {name: sha256(data) for name, data in sorted(files.items()) if name != MANIFEST}
    manifest[DIGESTS] = digests
    manifest[DESIGN_ID] = design_id(digests)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return {**files, MANIFEST: text.encode("utf-8")}


def design_id(digests: dict[str, str]) -> str:
    """The digest of a design's file list: equal ids, equal files."""
    return sha256("".join(f"{name} {d}\n" for name, d in sorted(digests.items())).encode())


def write_design(files: dict[str, bytes], out: str | Path, *, force: bool = False) -> Path:
    """Write a rendered design into the folder `out` atomically; returns the folder."""
    out = check_design_folder(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out.parent):
        drop = _previous_design_files(out, force) | {name.split("/")[0] for name in files}
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
        carried: list[str] = []
        old: Path | None = None  # once set, the new design is in place
        try:
            os.chmod(staging, 0o777 & ~_umask())
            _write_files(staging, files)
            with hold_interrupts():  # carry, swap: all or nothing
                carried = _carry_over(out, staging, drop)
                old = _swap_in(staging, out) or staging
        except BaseException:
            if old is None:
                _carry_back(staging, out, carried)
                shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    return out


def check_design_folder(out: str | Path, *, force: bool = False) -> Path:
    """The folder a design may be written into, as an absolute path (checked again when it
    is written): refused when it is a file, the current folder, or a non-empty folder
    holding no design (unless force)."""
    out = Path(os.path.abspath(out))
    if out.is_symlink():
        out = out.resolve()  # the folder the link names is replaced, the link kept
    if os.path.lexists(out) and not out.is_dir():
        raise HadamhwError(f"{out}: exists and is not a folder")
    if out.is_dir() and Path.cwd().resolve().is_relative_to(out.resolve()):
        raise HadamhwError(f"{out}: is the current folder (or holds it); the design folder is "
                           "replaced as a whole, so give it from outside (for example "
                           f"'cd ..; hadamhw generate ... -o {out.name}')")
    _previous_design_files(out, force)
    return out


@contextlib.contextmanager
def _folder_lock(parent: Path) -> Iterator[None]:
    """An exclusive flock on the parent folder: one design writer there at a time."""
    fd = os.open(parent, os.O_RDONLY)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HadamhwError(f"{parent}: another 'hadamhw generate' has been "
                                       f"writing a design here for {LOCK_WAIT_S:g} s; try "
                                       "again when it is done") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


def _previous_design_files(out: Path, force: bool) -> set[str]:
    """The names the design now in `out` consists of (to be dropped); refuses a non-empty
    folder that holds no design unless force."""
    if not out.is_dir():
        return set()
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return set()
    manifest = _manifest_or_none(out / MANIFEST)
    if manifest is not None:
        return {MANIFEST, *(name.split("/")[0] for name in listed_files(manifest))}
    if force:
        return set()
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise HadamhwError(f"{out}: not empty and not a hadamhw design (it holds {shown}); give "
                       "another folder, or --force to write the design into it (its files "
                       "replace those with the same names, the others stay)")


def _manifest_or_none(path: Path) -> dict | None:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(manifest, dict) and manifest.get("format") == DESIGN_FORMAT
    return manifest if ok else None


def listed_files(manifest: dict) -> list[str]:
    """Every file a manifest names (for an older manifest without digests: the fields that
    name files, the test bench, the core and the README)."""
    digests = manifest.get(DIGESTS)
    if isinstance(digests, dict):
        return sorted(digests)
    names: list[str] = list(_LEGACY_COMPANIONS)
    for key in _LEGACY_FILE_FIELDS:
        value = manifest.get(key)
        names += value if isinstance(value, list) else [value]
    bench = manifest.get("verilog_testbench")
    if isinstance(bench, dict):
        names += [bench.get("file"), *(bench.get("vectors") or [])]
    core = manifest.get("fusesoc")
    if isinstance(core, dict):
        names.append(core.get("core"))
    return sorted({n for n in names if isinstance(n, str) and n})


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _carry_over(out: Path, staging: Path, drop: set[str]) -> list[str]:
    """Move what the old folder holds besides its design (build folders, notes) into the
    new one; returns the names moved."""
    if not out.is_dir():
        return []
    carried = []
    for entry in sorted(out.iterdir()):
        if entry.name not in drop:
            os.rename(entry, staging / entry.name)
            carried.append(entry.name)
    return carried


def _carry_back(staging: Path, out: Path, carried: list[str]) -> None:
    for name in carried:
        with contextlib.suppress(OSError):
            os.rename(staging / name, out / name)


def _swap_in(staging: Path, out: Path) -> Path | None:
    """Put the staged folder in place of `out`; returns the old folder to remove, if any."""
    if not out.exists():
        os.rename(staging, out)
        return None
    if _exchange(staging, out):
        return staging
    aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.rename(out, aside / "design")
    os.rename(staging, out)
    return aside


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system
    cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- reading ------------------------------------------------------------------------------

class DesignFolder:
    """A generated design folder, read and checked once: its manifest, its files, its IR.

    strict: a file changed since generation is an error (else it is in modified_files).
    """

    def __init__(self, path: str | Path, *, strict: bool = False) -> None:
        self.path = Path(path)
        self._top: str | None = None
        self.strict = strict
        for attempt in range(_READ_ATTEMPTS):
            self.manifest = read_manifest(self.path)
            try:
                self._check_files()
                break
            except HadamhwError:
                # A generate may have swapped a new design in while this one was read: read
                # again while the manifest keeps changing, else the error stands.
                if attempt + 1 == _READ_ATTEMPTS or read_manifest(self.path) == self.manifest:
                    raise
        if strict:
            self._refuse_unchecked()

    def _check_files(self) -> None:
        self.digests_checked = isinstance(self.manifest.get(DIGESTS), dict)
        for name in listed_files(self.manifest) if self.digests_checked else ():
            self.file(name, "files_sha256")
        self.modified_files = self._modified()

    # what the manifest says
    @property
    def target(self) -> str:
        return self.manifest.get("target", "verilog")

    @property
    def top(self) -> str:
        return self._top or self.manifest.get("top", "")

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)

    @property
    def design_id(self) -> str | None:
        return self.manifest.get(DESIGN_ID)

    @property
    def hdl_files(self) -> list[Path]:
        """The Verilog files in compile order."""
        return [self.file(name, "hdl_files") for name in self.manifest.get("hdl_files", [])]

    @property
    def files(self) -> list[str]:
        """The design's files (those the manifest lists, and manifest.json)."""
        return sorted({MANIFEST, *listed_files(self.manifest)})

    @cached_property
    def ir(self) -> IntegerRNN:
        """The IR the design was generated from (its copy in the folder)."""
        name = self.manifest.get("ir", "model.ir.json")
        path = self.path / name
        if not path.is_file():
            raise HadamhwError(f"{self.path}: the IR copy '{name}' named in manifest.json is "
                               "missing")
        return IntegerRNN.load(self.file(name, "ir"))

    def with_top(self, top: str | None) -> DesignFolder:
        """The same design with another top module (report --top); checked as a name."""
        other = copy.copy(self)
        other._top = top
        if not isinstance(other.top, str) or not other.top.isidentifier():
            raise HadamhwError(f"{self.path / MANIFEST}: field 'top' must name the top "
                               f"module, got {other.top!r} (or give --top)")
        return other

    def file(self, name: str, field: str = "") -> Path:
        """The path of a file the manifest names: inside the folder, no symbolic link."""
        path = self.path / name
        where = f" ('{field}')" if field else ""
        if not os.path.lexists(path):
            raise HadamhwError(f"{self.path}: file '{name}' named in manifest.json{where} is "
                               "missing")
        root = self.path.resolve()
        if path.is_symlink() or not path.resolve().is_relative_to(root) or not path.is_file():
            raise HadamhwError(f"{self.path}: file '{name}' named in manifest.json{where} is "
                               "a symbolic link or not a plain file inside the folder; "
                               "refused")
        return path

    def require(self, *, target: str | None = None, purpose: str = "",
                fields: Iterable[str] = (), file_fields: Iterable[str] = ()) -> DesignFolder:
        """Check what a caller needs: the target ("verilog" also accepts an older manifest
        without one; purpose names the caller), fields present, file fields naming files
        that exist. Returns self."""
        mpath = self.path / MANIFEST
        found = self.manifest.get("target", "verilog" if target == "verilog" else None)
        if target is not None and found != target:
            raise HadamhwError(f"{mpath}: target is {found!r}; {purpose or 'this'} needs a "
                               f"design generated with --target {target}")
        file_fields = tuple(file_fields)
        for key in (*fields, *file_fields):
            if key not in self.manifest:
                raise HadamhwError(f"{mpath}: field '{key}': is missing")
        for key in file_fields:
            value = self.manifest[key]
            names = value if isinstance(value, list) else [value]
            if not names or not all(isinstance(n, str) and n for n in names):
                raise HadamhwError(f"{mpath}: field '{key}': must name files, got {value!r}")
            for name in names:
                self.file(name, key)
        return self

    def notes(self) -> list[str]:
        """One line per thing a command must say about the folder (changed files)."""
        if not self.digests_checked:
            return [f"{self.path}: manifest.json records no file digests (written by an "
                    "older hadamhw); the files are not checked ('hadamhw generate' again)"]
        return [f"{self.path}: '{name}' changed since 'hadamhw generate' (its sha256 differs "
                "from manifest.json); working on the file as it is"
                for name in self.modified_files]

    def _modified(self) -> list[str]:
        if not self.digests_checked:
            return []
        digests = self.manifest[DIGESTS]
        changed = [name for name, digest in sorted(digests.items())
                   if sha256(self._read(name)) != digest]
        if len(changed) >= 2 and 3 * len(changed) >= len(digests):
            raise HadamhwError(f"{self.path}: {len(changed)} of the {len(digests)} files "
                               f"manifest.json lists differ from their digests "
                               f"({', '.join(changed[:4])}{', ...' if len(changed) > 4 else ''})"
                               ": the manifest and the files come from different "
                               "generations; run 'hadamhw generate' again")
        return changed

    def _read(self, name: str) -> bytes:
        try:
            return (self.path / name).read_bytes()
        except OSError as exc:
            raise HadamhwError(f"{self.path}: cannot read '{name}' named in manifest.json "
                               f"({exc.strerror or exc})") from None

    def _refuse_unchecked(self) -> None:
        if not self.digests_checked:
            raise HadamhwError(f"{self.path}: --strict: manifest.json records no file "
                               "digests (an older hadamhw); run 'hadamhw generate' again")
        if self.modified_files:
            raise HadamhwError(f"{self.path}: --strict: changed since 'hadamhw generate': "
                               f"{', '.join(self.modified_files)}")


def read_manifest(design: Path) -> dict:
    """The manifest of a design folder, checked against its schema (one-line errors)."""
    path = design / MANIFEST
    if not design.is_dir():
        raise HadamhwError(f"{design}: no such design folder")
    if not path.is_file():
        raise HadamhwError(f"{design}: no manifest.json (not a folder from 'hadamhw generate')")
    if path.is_symlink():
        raise HadamhwError(f"{path}: is a symbolic link; refused")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HadamhwError(f"{path}: not a hadamhw design manifest (not UTF-8 text)") from None
    except OSError as exc:
        raise HadamhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
    manifest = parse_json(text, str(path))
    if not isinstance(manifest, dict) or manifest.get("format") != DESIGN_FORMAT:
        raise HadamhwError(f"{path}: not a hadamhw design manifest")
    problem = first_error("manifest", manifest)
    if problem is not None:
        raise HadamhwError(f"{path}: field '{problem[0]}': {problem[1]}")
    return manifest


def read_design(design: str | Path | DesignFolder, *, target: str | None = None,
                purpose: str = "", fields: Iterable[str] = (),
                file_fields: Iterable[str] = ()) -> DesignFolder:
    """A design folder checked for what a caller needs (see DesignFolder.require); a folder
    already read is checked again without reading it again."""
    folder = design if isinstance(design, DesignFolder) else DesignFolder(design)
    return folder.require(target=target, purpose=purpose, fields=fields,
                          file_fields=file_fields)


def read_design_manifest(design_dir: str | Path | DesignFolder, *, target: str | None = None,
                         purpose: str = "", fields: Iterable[str] = (),
                         file_fields: Iterable[str] = ()) -> dict:
    """The checked manifest of a design folder (read_design(...).manifest)."""
    return read_design(design_dir, target=target, purpose=purpose, fields=fields,
                       file_fields=file_fields).manifest
