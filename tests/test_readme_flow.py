"""The README's flow, command by command, as a user runs it: each command in its own process,
from a working folder that is not the repository, with the README's own relative paths.

Only the sizes are made small (SMALL); every other argument is read from the README, so a
command changed there is tested as written. The `report` command runs as written too, in a
second working folder whose rtl/ holds a hand-written toy design: Yosys (WebAssembly) needs
minutes for even the smallest trained model, and tests/test_verilog_synth.py and
tests/test_report.py synthesize generated designs already.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## The flow, command by command"
# option -> small value: a short training run and few simulated sequences
SMALL = {"--seq-len": "4", "--hidden": "16", "--steps": "30", "--sequences": "6"}


def readme_flow() -> list[list[str]]:
    """The argument lists of the commands in the README's flow block, sizes made small."""
    text = README.read_text()
    section = text[text.index(SECTION):]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start:section.index("```", start)]
    commands = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].replace("[--pnr]", "").strip()
        if not line:
            continue
        argv = shlex.split(line)
        assert argv[0] == "hadamhw", line
        argv = [SMALL.get(argv[i - 1], a) if i else a for i, a in enumerate(argv)]
        if argv[1] == "train" and "--resume" not in argv:
            # 30 steps stay under the default checkpoint interval: keep a resume checkpoint
            # so that the README's `train --resume` finds one, as after a long run
            argv += ["--checkpoint-every", "10"]
        commands.append(argv[1:])
    return commands


def test_readme_flow_is_found():
    commands = readme_flow()
    names = [argv[0] for argv in commands]
    for name in ("train", "info", "lower", "eval", "generate", "sim", "csim", "report",
                 "import-ref"):
        assert name in names
    paths = [a for argv in commands for a in argv if "/" in a or a.endswith((".pt", ".json"))]
    assert paths and not any(os.path.isabs(p) for p in paths)  # the README's are relative


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.hls
@pytest.mark.synth
def test_readme_flow_from_another_folder(tmp_path):
    from tests.test_imdb import write_aclimdb
    from tests.test_import_ref import Case, write_reference
    from tests.test_report import TOY_PORTS, TOY_VERILOG, write_design

    work = tmp_path / "work"  # the user's folder: not the repository, not the outputs' parent
    state, config = write_reference(tmp_path / "ref", Case("readme", 16, "full", True, True,
                                                           "onehot", True, True, 4))
    work.mkdir()
    write_aclimdb(work / "aclImdb", per_label=5)
    os.replace(state, work / "ref_state.pt")
    os.replace(config, work / "exp.yaml")
    toy = tmp_path / "toy"  # report's working folder: rtl/ is a small design
    write_design(toy / "rtl", "toy", TOY_VERILOG, "toy", ports=TOY_PORTS, cycles_per_step=2,
                 hidden_size=4, block_size=4)
    for argv in readme_flow():
        proc = subprocess.run([sys.executable, "-m", "hadamhw.cli", *argv],
                              cwd=toy if argv[0] == "report" else work,
                              capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, f"hadamhw {shlex.join(argv)}:\n{proc.stderr[-3000:]}"
        assert "Traceback" not in proc.stderr
        if argv[0] in ("sim", "csim"):
            assert "bit-exact" in proc.stdout, proc.stdout
    for name in ("copy.pt", "copy.ir.json", "rtl/manifest.json", "hls/manifest.json",
                 "hls/csim", "model.pt"):
        assert (work / name).exists(), name
    assert (toy / "rtl" / "build" / "report-ecp5" / "yosys.log").is_file()
