"""`hadamhw sim`: arguments, one-line errors, exit codes, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hadamhw.cli import main
from hadamhw.ir.random import random_ir
from hadamhw.ir.schema import IntegerRNN
from tests.needs import need


def _copy_task_ir() -> IntegerRNN:
    """A small token-input IR that records the copy task (T = 5) as its task."""
    from hadamhw.tasks import get_task

    ir = random_ir(np.random.default_rng(3), 8, 8, input_kind="token", input_size=10,
                   output_size=9, state_bits=10)
    data = ir.to_dict()
    data["meta"] = {"name": "cli-test", "task": get_task("copy", seq_len=5).metadata()}
    return IntegerRNN.from_dict(data)


@pytest.fixture(scope="module")
def ir_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sim-cli") / "model.ir.json"
    _copy_task_ir().save(path)
    return path


@pytest.fixture(scope="module")
def design(tmp_path_factory, ir_file) -> Path:
    out = tmp_path_factory.mktemp("sim-cli-design") / "rtl"
    assert main(["generate", str(ir_file), "-o", str(out)]) == 0
    return out


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(["sim", *argv])
    except SystemExit as exc:  # a usage error, reported by argparse
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hadamhw sim: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def _skip_without_verilator() -> None:
    need("verilator")  # a skip on a developer's machine, a failure when CI is set


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--sequences", "--seed", "--min-steps", "--max-steps", "--simulator",
                   "--waves", "--json", "--batch", "--fold", "--build-dir", "--task-data",
                   "--state-bits", "--jobs"):
        assert option in out


def test_missing_path(capsys, tmp_path):
    rc, _, err = _run(capsys, str(tmp_path / "nope.ir.json"))
    assert rc == 2
    _one_line_error(err, "nope.ir.json", "no such file")


def test_folder_without_manifest(capsys, tmp_path):
    rc, _, err = _run(capsys, str(tmp_path))
    assert rc == 2
    _one_line_error(err, str(tmp_path), "manifest.json")


def test_broken_ir_file(capsys, tmp_path):
    bad = tmp_path / "bad.ir.json"
    bad.write_text('{"format": "hadamhw-ir", "version": 1')
    rc, _, err = _run(capsys, str(bad))
    assert rc == 2
    _one_line_error(err, "bad.ir.json", "JSON")


@pytest.mark.parametrize("argv,fragment", [
    (["--sequences", "0"], "--sequences"),
    (["--min-steps", "0"], "--min-steps"),
    (["--min-steps", "5", "--max-steps", "3"], "--max-steps"),
    (["--batch", "--simulator", "icarus"], "--batch"),
    (["--batch", "--waves"], "--waves"),
    (["--jobs", "2"], "--jobs"),
    (["--batch", "--jobs", "0"], "--jobs"),
    (["--state-bits", "10"], "--state-bits"),
])
def test_bad_options(capsys, ir_file, argv, fragment):
    rc, _, err = _run(capsys, str(ir_file), *argv)
    assert rc == 2
    _one_line_error(err, fragment)


def test_task_data_needs_a_task(capsys, tmp_path):
    path = tmp_path / "plain.ir.json"
    random_ir(np.random.default_rng(0), 8).save(path)
    rc, _, err = _run(capsys, str(path), "--task-data")
    assert rc == 2
    _one_line_error(err, "--task-data", "task")


def test_fold_must_match_the_design_folder(capsys, design):
    rc, _, err = _run(capsys, str(design), "--fold", "stage")
    assert rc == 2
    _one_line_error(err, "fold", "parallel")


def test_unknown_manifest_format(capsys, tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}')
    rc, _, err = _run(capsys, str(tmp_path))
    assert rc == 2
    _one_line_error(err, "manifest")


@pytest.mark.sim
def test_ir_file_json(capsys, ir_file, tmp_path):
    _skip_without_verilator()
    rc, out, _ = _run(capsys, str(ir_file), "--sequences", "5", "--max-steps", "6", "--json",
                      "--build-dir", str(tmp_path / "build"))
    assert rc == 0
    report = json.loads(out)
    assert report["bit_exact"] is True
    assert report["simulator"] == "verilator-cocotb"
    assert report["sequences"] == 5 and report["mismatches"] == 0
    assert report["steps"] >= 5 and report["outputs_checked"] > 0
    assert report["steps_per_second"] > 0
    assert report["first_mismatch_at"] is None
    assert (tmp_path / "build" / "design" / "manifest.json").is_file()


@pytest.mark.sim
def test_design_folder_text_report(capsys, design):
    _skip_without_verilator()
    rc, out, _ = _run(capsys, str(design), "--sequences", "4", "--seed", "2")
    assert rc == 0
    assert "simulator: verilator-cocotb" in out
    assert "sequences: 4" in out and "time-steps/s" in out
    assert "mismatches: 0 (bit-exact)" in out


@pytest.mark.sim
def test_batch(capsys, design):
    _skip_without_verilator()
    rc, out, _ = _run(capsys, str(design), "--batch", "--sequences", "50", "--json")
    assert rc == 0
    report = json.loads(out)
    assert report["simulator"] == "verilator-batch"
    assert report["sequences"] == 50 and report["bit_exact"] is True
    rc, out, _ = _run(capsys, str(design), "--batch", "--sequences", "50", "--jobs", "2",
                      "--json")
    assert rc == 0
    shared = json.loads(out)
    assert shared["bit_exact"] is True
    assert (shared["steps"], shared["outputs_checked"]) == (report["steps"],
                                                             report["outputs_checked"])


@pytest.mark.sim
def test_task_data(capsys, design):
    _skip_without_verilator()
    rc, out, _ = _run(capsys, str(design), "--task-data", "--sequences", "2", "--json")
    assert rc == 0
    report = json.loads(out)
    assert report["sequences"] == 2
    assert report["steps"] == 2 * (5 + 20)  # copy task: delay T = 5, total length T + 20
    assert report["bit_exact"] is True


@pytest.mark.sim
def test_mismatch_exits_1_and_names_the_place(capsys, design, tmp_path):
    _skip_without_verilator()
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in design.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    rotate = broken / "hadamrnn_rotate.v"
    lines = rotate.read_text().splitlines()
    # The first subtracting butterfly adds instead.
    at = next(i for i, line in enumerate(lines) if "assign" in line and " - " in line)
    lines[at] = lines[at].replace(" - ", " + ", 1)
    rotate.write_text("\n".join(lines) + "\n")
    rc, out, _ = _run(capsys, str(broken), "--sequences", "6", "--min-steps", "4")
    assert rc == 1
    first = next(line for line in out.splitlines() if "MISMATCH" in line)
    assert "sequence " in first and "step " in first and "expected" in first
    assert "output " in first or "argmax" in first
    rc, out, _ = _run(capsys, str(broken), "--sequences", "6", "--min-steps", "4", "--json")
    assert rc == 1
    report = json.loads(out)
    assert report["bit_exact"] is False and report["mismatches"] >= 1
    assert set(report["first_mismatch_at"]) == {"sequence", "step", "index"}
    assert report["steps_per_second"] is None


@pytest.mark.hls
def test_hls_folder_goes_to_c_simulation(capsys, ir_file, tmp_path):
    out = tmp_path / "hls"
    assert main(["generate", str(ir_file), "--target", "hls", "-o", str(out)]) == 0
    capsys.readouterr()
    rc, stdout, _ = _run(capsys, str(out), "--sequences", "5", "--json")
    assert rc == 0
    report = json.loads(stdout)
    assert report["simulator"] == "hls-csim" and report["bit_exact"] is True
    rc, _, err = _run(capsys, str(out), "--batch")
    assert rc == 2
    _one_line_error(err, "HLS")
