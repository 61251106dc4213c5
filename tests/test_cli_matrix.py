"""Every command against bad paths and bad values: exit 2, one line, nothing written.

The matrix is pairwise over command x path case x value case: every pair of levels that
applies together meets in at least one row (a greedy covering array over the feasible rows;
test_matrix_is_pairwise checks the coverage on its own; allpairspy was tried first and, with
the feasibility filter, leaves pairs uncovered). A row must fail before any work: the
functions that do a command's work are replaced by ones that fail the test. It must end
with exit status 2, one line on stderr that starts with "hadamhw CMD: error:" and names the
bad option or path, nothing on stdout, and no file created or changed in the row's working
folder or in the inputs.

Each row runs in-process from its own working folder with relative paths, so the paths also
pass through the CLI's conversion to absolute ones.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hadamhw.cli import main

COMMANDS = ("train", "info", "lower", "eval", "generate-verilog", "generate-hls", "sim",
            "csim", "report", "import-ref")
PATH_CASES = ("ok", "parent-is-file", "wrong-type", "read-only", "missing-input",
              "wrong-input")
VALUE_CASES = ("ok", "negative", "zero", "not-a-number", "too-large")


@dataclass(frozen=True)
class Spec:
    """How a command is called: its arguments with every path fine, what each path case
    puts in their place (the bad path is the second element), and the bad value of each
    value case (option, value)."""

    argv: tuple[str, ...]
    paths: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    values: dict[str, tuple[str, str]] = field(default_factory=dict)


TINY_TRAIN = ("--seq-len", "4", "--hidden", "16", "--steps", "2", "--batch-size", "8",
              "--no-progress")
SPECS = {
    "train": Spec(
        ("train", "--task", "copy", *TINY_TRAIN, "-o", "out/m.pt"),
        {"parent-is-file": (("-o", "afile/m.pt"), "afile/m.pt"),
         "wrong-type": (("-o", "adir"), "adir"),
         "read-only": (("-o", "ro/m.pt"), "ro/m.pt"),
         "missing-input": (("--task", "smnist", "--data", "nope"), "nope"),
         "wrong-input": (("--task", "smnist", "--data", "afile"), "afile")},
        {"negative": ("--steps", "-3"), "zero": ("--batch-size", "0"),
         "not-a-number": ("--lr", "abc"), "too-large": ("--lr-decay", "2")}),
    "info": Spec(
        ("info", "m.pt"),
        {"wrong-type": (("adir",), "adir"),
         "missing-input": (("nope.pt",), "nope.pt"),
         "wrong-input": (("rtl",), "rtl")}),
    "lower": Spec(
        ("lower", "m.pt", "-o", "out/m.ir.json", "--calib", "8"),
        {"parent-is-file": (("-o", "afile/x.ir.json"), "afile/x.ir.json"),
         "wrong-type": (("-o", "adir"), "adir"),
         "read-only": (("-o", "ro/x.ir.json"), "ro/x.ir.json"),
         "missing-input": (("nope.pt",), "nope.pt"),
         "wrong-input": (("m.ir.json",), "m.ir.json")},
        {"negative": ("--calib", "-3"), "zero": ("--calib", "0"),
         "not-a-number": ("--percentile", "nan"), "too-large": ("--state-bits", "99")}),
    "eval": Spec(
        ("eval", "m.ir.json", "--limit", "5"),
        {"wrong-type": (("adir",), "adir"),
         "missing-input": (("nope.ir.json",), "nope.ir.json"),
         "wrong-input": (("--checkpoint", "m.ir.json"), "m.ir.json")},
        {"negative": ("--limit", "-3"), "zero": ("--limit", "0"),
         "not-a-number": ("--seq-len", "abc"), "too-large": ("--precision", "99")}),
    "generate-verilog": Spec(
        ("generate", "m.ir.json", "-o", "out/rtl"),
        {"parent-is-file": (("-o", "afile/rtl"), "afile/rtl"),
         "wrong-type": (("-o", "afile"), "afile"),
         "read-only": (("-o", "ro/rtl"), "ro/rtl"),
         "missing-input": (("nope.ir.json",), "nope.ir.json"),
         "wrong-input": (("rtl",), "rtl")},
        {"negative": ("--calib", "-1"), "zero": ("--precision", "0"),
         "not-a-number": ("--percentile", "nan"), "too-large": ("--output-bits", "64")}),
    "generate-hls": Spec(
        ("generate", "m.ir.json", "--target", "hls", "-o", "out/hls"),
        {"parent-is-file": (("-o", "afile/hls"), "afile/hls"),
         "wrong-type": (("-o", "afile"), "afile"),
         "read-only": (("-o", "ro/hls"), "ro/hls"),
         "missing-input": (("nope.pt",), "nope.pt"),
         "wrong-input": (("hls",), "hls")},
        {"negative": ("--state-bits", "-2"), "zero": ("--calib", "0"),
         "not-a-number": ("--precision", "x"), "too-large": ("--percentile", "101")}),
    "sim": Spec(
        ("sim", "rtl", "--build-dir", "out/build"),
        {"parent-is-file": (("--build-dir", "afile/build"), "afile/build"),
         "wrong-type": (("--waves", "adir"), "adir"),
         "read-only": (("--waves", "ro/w.vcd"), "ro/w.vcd"),
         "missing-input": (("nope",), "nope"),
         "wrong-input": (("adir",), "adir")},
        {"negative": ("--sequences", "-3"), "zero": ("--max-steps", "0"),
         "not-a-number": ("--seed", "abc"), "too-large": ("--seed", str(2**40))}),
    "csim": Spec(
        ("csim", "hls", "--build-dir", "out/csim"),
        {"parent-is-file": (("--build-dir", "afile/csim"), "afile/csim"),
         "wrong-type": (("--build-dir", "afile"), "afile"),
         "read-only": (("--build-dir", "ro/csim"), "ro/csim"),
         "missing-input": (("nope",), "nope"),
         "wrong-input": (("m.ir.json",), "m.ir.json")},
        {"negative": ("--seed", "-1"), "zero": ("--sequences", "0"),
         "not-a-number": ("--max-steps", "1.5"), "too-large": ("--seed", str(2**33))}),
    "report": Spec(
        ("report", "rtl", "--build-dir", "out/report", "--quiet"),
        {"parent-is-file": (("--plot", "afile/p.png"), "afile/p.png"),
         "wrong-type": (("--build-dir", "afile"), "afile"),
         "read-only": (("--plot", "ro/p.png"), "ro/p.png"),
         "missing-input": (("nope",), "nope"),
         "wrong-input": (("m.ir.json",), "m.ir.json")},
        {"negative": ("--freq", "-100"), "zero": ("--timeout", "0"),
         "not-a-number": ("--freq", "nan"), "too-large": ("--freq", "inf")}),
    "import-ref": Spec(
        ("import-ref", "ref.pth", "--config", "ref.yaml", "-o", "out/m.pt"),
        {"parent-is-file": (("-o", "afile/m.pt"), "afile/m.pt"),
         "wrong-type": (("-o", "adir"), "adir"),
         "read-only": (("-o", "ro/m.pt"), "ro/m.pt"),
         "missing-input": (("nope.pth",), "nope.pth"),
         "wrong-input": (("m.ir.json",), "m.ir.json")},
        {"negative": ("--seq-len", "-3"), "zero": ("--seq-len", "0"),
         "not-a-number": ("--seed", "abc"), "too-large": ("--seed", str(2**40))}),
}


FACTORS = (COMMANDS, PATH_CASES, VALUE_CASES)


def feasible(row: tuple[str, str, str]) -> bool:
    """The levels apply together (the command has such a path and such a value), and
    something is wrong: the all-fine row would run for real."""
    command, path_case, value_case = row
    if path_case != "ok" and path_case not in SPECS[command].paths:
        return False
    if value_case != "ok" and value_case not in SPECS[command].values:
        return False
    return not (path_case == "ok" and value_case == "ok")


def _pairs(row: tuple) -> set[tuple]:
    return {(a, row[a], b, row[b]) for a, b in itertools.combinations(range(len(row)), 2)}


def covering_rows() -> list[tuple[str, str, str]]:
    """Greedy covering array: the feasible row that covers most uncovered pairs, until every
    pair of some feasible row is covered (ties: first in factor order, so deterministic)."""
    candidates = [row for row in itertools.product(*FACTORS) if feasible(row)]
    needed = set().union(*(_pairs(row) for row in candidates))
    rows = []
    while needed:
        best = max(candidates, key=lambda row: len(_pairs(row) & needed))
        rows.append(best)
        needed -= _pairs(best)
    return rows


MATRIX = covering_rows()


def test_matrix_is_pairwise():
    """Every pair of levels that occurs in some feasible row occurs in a matrix row."""
    assert all(feasible(row) for row in MATRIX)
    for a, b in itertools.combinations(range(len(FACTORS)), 2):
        have = {(row[a], row[b]) for row in MATRIX}
        for pair in itertools.product(FACTORS[a], FACTORS[b]):
            possible = any(feasible(row) for row in itertools.product(*FACTORS)
                           if (row[a], row[b]) == pair)
            assert not possible or pair in have, f"{pair} never meets"
    assert len(MATRIX) < len([r for r in itertools.product(*FACTORS) if feasible(r)]) / 2


def _replace(argv: tuple[str, ...], swap: tuple[str, ...]) -> list[str]:
    """argv with an option's value replaced (or added), or the first argument replaced."""
    out = list(argv)
    if swap[0].startswith("-"):
        for option, value in zip(swap[::2], swap[1::2], strict=True):
            if option in out:
                out[out.index(option) + 1] = value
            else:
                out += [option, value]
        return out
    out[1] = swap[0]
    return out


def build_argv(command: str, path_case: str, value_case: str) -> tuple[list[str], str | None]:
    """The command line of a row and the text its error must name (a path or an option)."""
    spec = SPECS[command]
    argv = list(spec.argv)
    named = None
    if path_case != "ok":
        swap, bad = spec.paths[path_case]
        argv = _replace(tuple(argv), swap)
        named = bad
    if value_case != "ok":
        option, value = spec.values[value_case]
        argv = _replace(tuple(argv), (option, value))
        named = f"argument {option}"  # parsed first, so it is the one reported
    return argv, named


# -- the inputs every row reads -----------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A checkpoint, its IR, a Verilog and an HLS design, a reference state dict + config."""
    from tests.test_import_ref import Case, write_reference

    folder = tmp_path_factory.mktemp("matrix-inputs")
    for argv in (("train", "--task", "copy", *TINY_TRAIN, "-o", folder / "m.pt"),
                 ("lower", folder / "m.pt", "-o", folder / "m.ir.json", "--calib", "8"),
                 ("generate", folder / "m.ir.json", "-o", folder / "rtl"),
                 ("generate", folder / "m.ir.json", "--target", "hls", "-o", folder / "hls")):
        assert main([str(a) for a in argv]) == 0
    state, config = write_reference(folder / "ref", Case("m", 16, "full", True, True,
                                                         "onehot", True, True, 4))
    os.replace(state, folder / "ref.pth")
    os.replace(config, folder / "ref.yaml")
    return folder


# The long work of each command; a row that reaches one of them failed too late.
WORK = ("hadamhw.train:Trainer", "hadamhw.ir.lower:lower", "hadamhw.evaluate:evaluate",
        "hadamhw.backends.verilog:render", "hadamhw.backends.hls:render",
        "hadamhw.verify.cocotb_sim:run_cocotb", "hadamhw.verify.verilator_batch:run_batch",
        "hadamhw.verify.csim:build_csim", "hadamhw.verify.csim:run_csim",
        "hadamhw.report:make_report", "hadamhw.importers.reference:import_reference")


@pytest.fixture
def no_work(monkeypatch):
    import importlib

    for target in WORK:
        module, name = target.split(":")

        def started(*_args, _what=target, **_kwargs):
            raise AssertionError(f"work started before the error: {_what}")

        monkeypatch.setattr(importlib.import_module(module), name, started)


def _snapshot(*roots: Path) -> dict[str, tuple[int, int] | None]:
    """Every file (size, modification time) and folder under roots, links not followed."""
    seen: dict[str, tuple[int, int] | None] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                seen[str(Path(dirpath) / name)] = None
            for name in filenames:
                st = (Path(dirpath) / name).lstat()
                seen[str(Path(dirpath) / name)] = (st.st_size, st.st_mtime_ns)
    return seen


@pytest.mark.parametrize("command,path_case,value_case", MATRIX,
                         ids=["-".join(row) for row in MATRIX])
def test_bad_input_is_one_line_before_any_work(command, path_case, value_case, inputs,
                                               read_only_folder, tmp_path, monkeypatch,
                                               capsys, no_work):
    (tmp_path / "afile").write_text("a file, not a folder\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "ro").symlink_to(read_only_folder, target_is_directory=True)
    for name in ("m.pt", "m.ir.json", "rtl", "hls", "ref.pth", "ref.yaml"):
        (tmp_path / name).symlink_to(inputs / name)
    monkeypatch.chdir(tmp_path)
    argv, named = build_argv(command, path_case, value_case)
    before = _snapshot(tmp_path, inputs)
    try:
        code = main(argv)
    except SystemExit as exc:  # a usage error, reported by argparse
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    program = {"generate-verilog": "generate", "generate-hls": "generate"}.get(command, command)
    assert lines[0].startswith(f"hadamhw {program}: error: "), err
    if named.startswith("argument "):
        assert named in lines[0], err
    else:
        assert str(tmp_path / named) in lines[0], err
    assert _snapshot(tmp_path, inputs) == before, "a failing command wrote or changed files"


# -- as a user runs them: a separate process, the console script's exit status -------------

@pytest.mark.parametrize("argv,fragment", [
    (["lower", "m.pt", "-o", "afile/x.ir.json"], "afile is a file, not a folder"),
    (["eval", "m.ir.json", "--limit", "-3"], "argument --limit: expected an integer >= 1"),
    (["info", "m.ir.json", "--json"], None),
])
def test_console_one_line_and_status(argv, fragment, inputs, tmp_path):
    (tmp_path / "afile").write_text("x")
    for name in ("m.pt", "m.ir.json"):
        (tmp_path / name).symlink_to(inputs / name)
    proc = subprocess.run([sys.executable, "-m", "hadamhw.cli", *argv], cwd=tmp_path,
                          capture_output=True, text=True)
    if fragment is None:
        assert proc.returncode == 0 and '"format": "hadamhw-ir"' in proc.stdout, proc.stderr
        return
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr, proc.stderr
