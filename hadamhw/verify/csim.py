"""C simulation of a generated HLS design: g++ against the Xilinx ap_types headers.

The design folder's test bench (`<top>_tb.cpp`) replays a hadamhw vector file through the top
function and prints one line per mismatch plus a summary line; this module builds it (cached
by hadamhw.verify.build_cache under the hash of the sources, the flags, the compiler's
version and the headers' location), writes the stimulus with
its golden outputs, runs it and turns its report into a CheckResult.

The headers come from, in order: the folder named by HADAMHW_AP_TYPES (a Vitis install's
include folder, say), the `hls4ml` package (hls4ml/templates/vivado/ap_types), the `da4ml`
package. The packages are located with importlib's finder and never imported.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.stimulus import Stimulus, write_vectors
from hadamhw.verify.build_cache import build_once, command_version, content_key
from hadamhw.verify.result import CheckResult, Mismatch

AP_TYPES_ENV = "HADAMHW_AP_TYPES"
SIMULATOR = "hls-csim"
# (package, folder inside it) holding ap_int.h
_AP_TYPES_PACKAGES = (
    ("hls4ml", "templates/vivado/ap_types"),
    ("da4ml", "codegen/hls/source/ap_types/include"),
)
# Every warning of -Wall -Wextra -Wpedantic is an error in the design and its test bench,
# except three that the HLS idiom or the vendor headers cause: `#pragma HLS` is unknown to
# g++, loop labels exist for the HLS reports, and at -O1 GCC inlines ap_int's default
# constructor (which masks a not yet assigned word) and flags it as uninitialized. The
# vendor headers are included with -isystem so their own warnings stay out.
CXX_STANDARD = "-std=c++17"
WARNING_FLAGS = ("-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wno-unknown-pragmas",
                 "-Wno-unused-label")
OPT_FLAGS = ("-O1", "-Wno-uninitialized", "-Wno-maybe-uninitialized")
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 3600

_MISMATCH = re.compile(r"^mismatch: sequence (\d+), step (\d+), (output (\d+)|argmax): "
                       r"expected (-?\d+), got (-?\d+)$")
_SUMMARY = re.compile(r"^summary: sequences (\d+), steps (\d+), outputs checked (\d+), "
                      r"mismatches (\d+): (PASS|FAIL)$")

_INSTALL_HINT = ("install them with `pip install --no-deps hls4ml==1.3.0` (only its "
                 "ap_types header folder is used), or set HADAMHW_AP_TYPES to a folder "
                 "holding ap_int.h (for example the include folder of a Vitis install)")


def find_ap_types() -> Path:
    """The folder holding the Xilinx ap_types headers (ap_int.h)."""
    override = os.environ.get(AP_TYPES_ENV)
    if override:
        folder = Path(override).expanduser()
        if not (folder / "ap_int.h").is_file():
            raise HadamhwError(f"{AP_TYPES_ENV}={override}: no ap_int.h in that folder")
        return folder.resolve()
    for package, inside in _AP_TYPES_PACKAGES:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            folder = Path(location) / inside
            if (folder / "ap_int.h").is_file():
                return folder.resolve()
    raise HadamhwError(f"no Xilinx ap_types headers (ap_int.h) found: {_INSTALL_HINT}")


def find_compiler() -> str:
    """The C++ compiler: $CXX, else g++."""
    name = os.environ.get("CXX") or "g++"
    path = shutil.which(name)
    if path is None:
        raise HadamhwError(f"C++ compiler '{name}' not found (install g++ or set CXX)")
    return path


def read_hls_design(design_dir: str | Path | DesignFolder) -> DesignFolder:
    """An HLS design folder, checked for what the C simulation needs."""
    return read_design(design_dir, target="hls", purpose="C simulation", fields=("top",),
                       file_fields=("sources", "testbench", "ir"))


def read_manifest(design_dir: str | Path | DesignFolder) -> dict:
    """The manifest of an HLS design folder, checked."""
    return read_hls_design(design_dir).manifest


def compile_command(compiler: str, ap_types: Path, sources: list[Path], output: Path,
                    optimize: bool = True) -> list[str]:
    """The g++ command line that builds a C simulation (sources: test bench and design)."""
    opt = OPT_FLAGS if optimize else ("-O0",)
    return [compiler, CXX_STANDARD, *opt, *WARNING_FLAGS, "-isystem", str(ap_types),
            *(str(s) for s in sources), "-o", str(output)]


def build_key(design_dir: Path, manifest: dict, compiler: str, ap_types: Path) -> str:
    """Hash of everything the executable depends on."""
    flags = " ".join((CXX_STANDARD, *OPT_FLAGS, *WARNING_FLAGS))
    return content_key(f"unity build {flags}",
                       tools={"compiler": f"{compiler} {command_version(compiler, '--version')}",
                              "ap_types": str(ap_types)},
                       sources=[(name, (design_dir / name).read_bytes())
                                for name in sorted([*manifest["sources"],
                                                    manifest["testbench"]])])


def build_csim(design_dir: str | Path | DesignFolder,
               build_dir: str | Path | None = None) -> Path:
    """Compile the design and its test bench; returns the executable. A build with the same
    sources, flags and headers is reused (default build folder: <design_dir>/csim)."""
    folder = read_hls_design(design_dir)
    design, manifest = folder.path, folder.manifest
    ap_types = find_ap_types()
    compiler = find_compiler()
    key = build_key(design, manifest, compiler, ap_types)
    # Absolute: g++ and the executable run with cwd=design, a relative path would miss.
    folder = (Path(build_dir) if build_dir is not None else design / "csim").resolve()
    exe_name = f"{manifest['top']}_csim"

    def compile_into(work: Path) -> None:
        # One translation unit (design first, then test bench) parses the vendor headers
        # once: about a third less compile time. test_hls compiles them separately as well.
        sources = [design / s for s in manifest["sources"] if s.endswith((".cpp", ".cc"))]
        sources.append(design / manifest["testbench"])
        unity = work / "unity.cpp"
        unity.write_text("".join(f'#include "{s.resolve()}"\n' for s in sources))
        cmd = compile_command(compiler, ap_types, [unity], work / exe_name)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT_S, cwd=design)
        except subprocess.TimeoutExpired:
            raise HadamhwError(f"{design}: C simulation build timed out after "
                               f"{BUILD_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            log = (proc.stderr or proc.stdout).strip().splitlines()
            shown = "\n".join(log[:40])
            raise HadamhwError(f"{design}: C simulation build failed:\n{' '.join(cmd)}\n{shown}")

    entry = build_once(folder, f"{manifest['top']}-{key[:16]}", key, compile_into,
                       outputs=[exe_name])
    return entry.path / exe_name


def parse_report(text: str) -> tuple[list[Mismatch], dict | None]:
    """Mismatch lines and the summary of a test bench run."""
    mismatches: list[Mismatch] = []
    summary = None
    for line in text.splitlines():
        m = _MISMATCH.match(line.strip())
        if m:
            index = int(m.group(4)) if m.group(4) is not None else -1
            mismatches.append(Mismatch(int(m.group(1)), int(m.group(2)), index,
                                       int(m.group(5)), int(m.group(6))))
            continue
        s = _SUMMARY.match(line.strip())
        if s:
            summary = {"sequences": int(s.group(1)), "steps": int(s.group(2)),
                       "outputs_checked": int(s.group(3)), "mismatches": int(s.group(4))}
    return mismatches, summary


def run_csim(design_dir: str | Path | DesignFolder, stimulus: Stimulus,
             build_dir: str | Path | None = None) -> CheckResult:
    """Build (or reuse) the C simulation, replay `stimulus` and compare with its golden
    outputs. A readout flag that disagrees with the stimulus shows up as an argmax mismatch
    whose `got` (or `expected`) is -1."""

    folder = read_hls_design(design_dir)
    design, ir = folder.path, folder.ir
    exe = build_csim(folder, build_dir)
    with tempfile.TemporaryDirectory(prefix="hadamhw-csim-") as tmp:
        vectors = Path(tmp) / "vectors.txt"
        write_vectors(ir, stimulus, vectors)
        start = time.perf_counter()
        try:
            proc = subprocess.run([str(exe), str(vectors)], capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT_S, cwd=design)
        except subprocess.TimeoutExpired:
            raise HadamhwError(f"{design}: C simulation timed out after {RUN_TIMEOUT_S} s") \
                from None
        seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        why = proc.stderr.strip() or f"exit status {proc.returncode}"
        raise HadamhwError(f"{design}: C simulation failed: {why}")
    mismatches, summary = parse_report(proc.stdout)
    if summary is None:
        raise HadamhwError(f"{design}: the C simulation printed no summary line")
    if summary["steps"] != stimulus.steps or (proc.returncode == 0) != (
            summary["mismatches"] == 0):
        raise HadamhwError(f"{design}: the C simulation's summary {summary} does not match "
                           f"its exit status {proc.returncode} and the {stimulus.steps} steps "
                           "of the stimulus")
    return CheckResult(simulator=SIMULATOR, sequences=len(stimulus.sequences),
                       steps=stimulus.steps, outputs_checked=summary["outputs_checked"],
                       mismatches=mismatches, seconds=round(seconds, 6),
                       mismatch_total=summary["mismatches"])
