"""The CLI's handling of paths and values: absolute paths at the boundary, outputs checked
before any work, inputs recognised and named, numeric ranges, one-line errors."""

from __future__ import annotations

import argparse
import errno
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from hadamhw.cli import main
from hadamhw.commands import inputs
from hadamhw.commands.options import float_range, int_range, power_of_two
from hadamhw.commands.paths import (
    check_output_file,
    check_output_folder,
    os_error_message,
    user_path,
    write_text_atomic,
)
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()  # what fixtures printed
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line(err: str, command: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hadamhw {command}: error: "), err
    return lines[0]


# -- paths ---------------------------------------------------------------------------------

def test_user_path_is_absolute_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert user_path("hls/") == str(tmp_path / "hls")
    assert user_path("a/../b.pt") == str(tmp_path / "b.pt")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_path("~/m.pt") == str(tmp_path / "home" / "m.pt")
    with pytest.raises(argparse.ArgumentTypeError):
        user_path(" ")


def test_output_checks_create_nothing(tmp_path):
    before = sorted(tmp_path.iterdir())
    assert check_output_file(tmp_path / "new" / "deeper" / "m.pt", "checkpoint")
    assert check_output_folder(tmp_path / "new" / "rtl", "design folder")
    (tmp_path / "old.pt").write_bytes(b"keep")
    check_output_file(tmp_path / "old.pt", "checkpoint")
    assert (tmp_path / "old.pt").read_bytes() == b"keep"
    assert sorted(tmp_path.iterdir()) == sorted([*before, tmp_path / "old.pt"])


def test_output_file_errors(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    with pytest.raises(HadamhwError, match=r"afile is a file, not a folder"):
        check_output_file(tmp_path / "afile" / "sub" / "x.ir.json", "IR file")
    with pytest.raises(HadamhwError, match=r"adir: is a folder; give a file name for the IR "
                                           r"file \(for example .*adir/model.ir.json\)"):
        check_output_file(tmp_path / "adir", "IR file", example="model.ir.json")
    with pytest.raises(HadamhwError, match=r"afile: is a file; the build folder must be"):
        check_output_folder(tmp_path / "afile", "build folder")
    with pytest.raises(HadamhwError, match=r"afile is a file, not a folder; give --build-dir"):
        check_output_folder(tmp_path / "afile" / "b", "build folder", hint="; give --build-dir")


def test_read_only_folder_is_refused(read_only_folder):
    ro = re.escape(str(read_only_folder))
    with pytest.raises(HadamhwError, match=rf"m.pt: cannot write the checkpoint: folder {ro} "
                                           r"is not writable \(Permission denied\)"):
        check_output_file(read_only_folder / "m.pt", "checkpoint")
    with pytest.raises(HadamhwError, match=rf"{ro}: cannot write the build folder: the folder "
                                           r"is not writable"):
        check_output_folder(read_only_folder, "build folder")
    with pytest.raises(HadamhwError, match=rf"rtl: cannot write the design folder: folder {ro} "
                                           r"is not writable"):
        check_output_folder(read_only_folder / "rtl", "design folder")


def test_atomic_write(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "m.ir.json"
    write_text_atomic(target, "one\n")
    assert target.read_text() == "one\n"
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # not mkstemp's 0600

    def failing_replace(*_args):
        raise OSError(errno.EIO, "I/O error", str(target))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_text_atomic(target, "two\n")
    assert target.read_text() == "one\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.ir.json"]


def test_os_error_message():
    assert os_error_message(PermissionError(errno.EACCES, "Permission denied", "/x/y")) == \
        "/x/y: Permission denied"
    assert os_error_message(OSError(errno.EXDEV, "Invalid cross-device link", "/a", None,
                                    "/b")) == "/a -> /b: Invalid cross-device link"
    assert os_error_message(OSError("disk on fire")) == "disk on fire"


def test_file_system_errors_are_one_line(capsys, monkeypatch, tmp_path):
    """Whatever a command meets that no check foresaw: one line, path and reason, exit 2."""
    import hadamhw.commands.info as info

    def broken(_args):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(tmp_path / "x"))

    monkeypatch.setattr(info, "run", broken)
    code, out, err = _run(capsys, "info", tmp_path / "m.pt")
    assert code == 2 and out == ""
    assert _one_line(err, "info").endswith(f"{tmp_path / 'x'}: Is a directory")


def test_usage_errors_are_one_line(capsys):
    code, _, err = _run(capsys, "lower")
    line = _one_line(err, "lower")
    assert "required" in line and "see 'hadamhw lower --help'" in line
    code, _, err = _run(capsys, "eval", "m.ir.json", "--limit", "-3")
    assert code == 2
    assert "argument --limit: expected an integer >= 1, got '-3'" in _one_line(err, "eval")


# -- numeric options -----------------------------------------------------------------------

def test_number_types():
    assert int_range(1)("7") == 7
    assert float_range(0, 100)("100") == 100.0
    assert power_of_two()("64") == 64
    for parse, text, message in [
        (int_range(1), "0", "expected an integer >= 1, got '0'"),
        (int_range(2, 32), "33", "expected an integer in [2, 32], got '33'"),
        (int_range(1), "1.5", "expected an integer >= 1"),
        (float_range(0), "0", "expected a number > 0, got '0'"),
        (float_range(0), "nan", "expected a number > 0, got 'nan'"),
        (float_range(0), "inf", "got 'inf'"),
        (float_range(0, 100), "101", "expected a number in (0, 100]"),
        (power_of_two(), "12", "expected a power of two >= 2, got '12'"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=message.replace("[", r"\[")
                           .replace("(", r"\(").replace("]", r"\]")):
            parse(text)


@pytest.mark.parametrize("argv,fragment", [
    (["--hidden", "100"], "--hidden 100: without --block-size the model is a HadamRNN (m = n),"
                          " and n must be a power of two: use --hidden 64 or 128, or keep "
                          "n = 100 as a Block-HadamRNN with --block-size 4"),
    (["--hidden", "96"], "--block-size 32"),
    (["--hidden", "12", "--block-size", "8"], "--hidden 12 is not a multiple of block size 8"),
    (["--block-size", "6"], "argument --block-size: expected a power of two >= 2"),
    (["--seq-len", "0"], "argument --seq-len: expected an integer >= 1"),
    (["--threads", "0"], "argument --threads"),
    (["--lr", "-1"], "argument --lr: expected a number > 0"),
    (["--val-every", "0"], "argument --val-every"),
    (["--seed", "-1"], "argument --seed"),
])
def test_train_shape_and_values_blame_the_option(capsys, tmp_path, argv, fragment):
    code, _, err = _run(capsys, "train", "--task", "copy", *argv, "-o", tmp_path / "m.pt")
    assert code == 2 and fragment in _one_line(err, "train")
    assert not (tmp_path / "m.pt").exists()


def test_odd_hidden_size_suggests_no_block_size(capsys, tmp_path):
    _, _, err = _run(capsys, "train", "--task", "copy", "--hidden", "7", "-o", tmp_path / "m.pt")
    line = _one_line(err, "train")
    assert "use --hidden 4 or 8" in line and "--block-size" not in line.split(":")[-1]


# -- what an input is ----------------------------------------------------------------------

def test_input_kinds(tmp_path):
    import torch

    ir = random_ir(np.random.default_rng(0), 8)
    ir.save(tmp_path / "a.ir.json")
    (tmp_path / "noext").write_text(ir.to_json())
    torch.save({"x": torch.zeros(1)}, tmp_path / "m.pt")
    (tmp_path / "junk").write_bytes(b"junk")
    (tmp_path / "design").mkdir()
    (tmp_path / "design" / "manifest.json").write_text("{}")
    kinds = {name: inputs.input_kind(tmp_path / name)
             for name in ("a.ir.json", "noext", "m.pt", "junk", "design", "nope")}
    kinds["."] = inputs.input_kind(tmp_path)
    assert kinds == {"a.ir.json": "ir", "noext": "ir", "m.pt": "checkpoint", "junk": "other",
                     "design": "design", "nope": "missing", ".": "folder"}


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A trained checkpoint, its IR and a generated Verilog design."""
    folder = tmp_path_factory.mktemp("models")
    assert main(["train", "--task", "copy", "--seq-len", "4", "--hidden", "16", "--steps", "2",
                 "--batch-size", "8", "--no-progress", "-o", str(folder / "m.pt")]) == 0
    assert main(["lower", str(folder / "m.pt"), "-o", str(folder / "m.ir.json"),
                 "--calib", "8"]) == 0
    assert main(["generate", str(folder / "m.ir.json"), "-o", str(folder / "rtl")]) == 0
    return folder


def test_wrong_kinds_are_named_with_the_command_that_takes_them(capsys, model_files):
    f = model_files
    cases = [
        (["lower", f / "m.ir.json", "-o", f / "x.ir.json"],
         "m.ir.json: is an integer IR file, not a checkpoint; 'hadamhw lower' takes a "
         "checkpoint"),
        (["eval", f / "m.ir.json", "--checkpoint", f / "m.ir.json"],
         "is an integer IR file, not a checkpoint; --checkpoint takes the float checkpoint"),
        (["eval", f / "m.pt", "--checkpoint", f / "m.pt"],
         "--checkpoint goes with an IR file"),
        (["csim", f / "m.ir.json"],
         f"is an integer IR file, not a design folder; run 'hadamhw generate {f / 'm.ir.json'}"
         " --target hls -o DIR', then 'hadamhw csim DIR'"),
        (["report", f / "m.pt"],
         "is a checkpoint, not a design folder; run 'hadamhw generate"),
        (["info", f / "rtl"], "is a design folder from 'hadamhw generate'"),
        (["info", f], "is a folder; 'hadamhw info' takes a checkpoint (model.pt) or an IR"),
        (["generate", f / "rtl", "-o", f / "again"],
         f"is a design folder from 'hadamhw generate', not a model file (its IR copy: "
         f"{f / 'rtl' / 'model.ir.json'})"),
        (["csim", f / "rtl"], "target is 'verilog'; C simulation needs a design generated "
                              "with --target hls"),
        (["import-ref", f / "m.ir.json", "--config", f / "c.yaml", "-o", f / "r.pt"],
         "is an integer IR file, not a state dict of the reference code"),
    ]
    for argv, fragment in cases:
        code, out, err = _run(capsys, *argv)
        assert code == 2 and out == "", (argv, out)
        assert fragment in _one_line(err, argv[0]), (argv, err)
    assert not (f / "again").exists() and not (f / "x.ir.json").exists()


def test_info_describes_an_ir_file(capsys, model_files):
    code, out, err = _run(capsys, "info", model_files / "m.ir.json")
    assert code == 0, err
    assert "hadamhw integer IR v1" in out and "n=16, block_size=16" in out
    assert "widths: state 12" in out and "task: copy (seq_len 4" in out
    code, out, _ = _run(capsys, "info", model_files / "m.ir.json", "--json")
    assert code == 0 and '"hidden_size": 16' in out


def test_relative_paths_from_another_folder(capsys, model_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = os.path.relpath(model_files / "m.pt", tmp_path)
    code, out, err = _run(capsys, "lower", rel, "-o", "sub/m.ir.json", "--calib", "8")
    assert code == 0, err
    assert (tmp_path / "sub" / "m.ir.json").is_file()
    assert f"wrote {tmp_path / 'sub' / 'm.ir.json'}" in out
    code, out, err = _run(capsys, "generate", "sub/m.ir.json", "-o", "rtl/")
    assert code == 0 and (tmp_path / "rtl" / "manifest.json").is_file(), err


# -- sim --waves: never a path it did not write --------------------------------------------

def _fake_cocotb(write: bool):
    from hadamhw.verify.result import CheckResult

    def run_cocotb(design_dir, stimulus, *, waves=None, **_kwargs):
        if write and waves is not None:
            Path(waves).write_text("$date today $end\n")
        return CheckResult(simulator="verilator-cocotb", sequences=1, steps=stimulus.steps,
                           outputs_checked=5, mismatches=[], seconds=0.1)

    return run_cocotb


@pytest.mark.parametrize("writes", [True, False])
def test_waves_are_reported_only_when_written(capsys, monkeypatch, model_files, tmp_path,
                                              writes):
    import hadamhw.verify.cocotb_sim as cocotb_sim

    monkeypatch.setattr(cocotb_sim, "run_cocotb", _fake_cocotb(writes))
    waves = tmp_path / "w.vcd"
    code, out, err = _run(capsys, "sim", model_files / "rtl", "--sequences", "1",
                          "--waves", waves)
    if writes:
        assert code == 0 and f"waves: {waves}" in out, err
        return
    assert "waves:" not in out
    assert code == 2
    assert _one_line(err, "sim").endswith(f"{waves}: the simulator wrote no waveform file")


def test_waves_left_from_an_earlier_run_do_not_count(capsys, monkeypatch, model_files,
                                                     tmp_path):
    import hadamhw.verify.cocotb_sim as cocotb_sim

    monkeypatch.setattr(cocotb_sim, "run_cocotb", _fake_cocotb(False))
    waves = tmp_path / "w.vcd"
    waves.write_text("old\n")
    code, out, err = _run(capsys, "sim", model_files / "rtl", "--sequences", "1",
                          "--waves", waves, "--json")
    assert code == 2 and '"waves": null' in out
    assert "wrote no waveform file" in _one_line(err, "sim")


def test_default_waves_go_to_the_working_folder(capsys, monkeypatch, model_files, tmp_path):
    import hadamhw.verify.cocotb_sim as cocotb_sim

    monkeypatch.setattr(cocotb_sim, "run_cocotb", _fake_cocotb(True))
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "sim", model_files / "rtl", "--sequences", "1", "--waves")
    assert code == 0, err
    assert f"waves: {tmp_path / 'hadamrnn.vcd'}" in out


# -- report: --plot checked before synthesis -----------------------------------------------

def test_report_plot_and_build_folder_checked_before_synthesis(capsys, monkeypatch,
                                                               model_files, tmp_path):
    import hadamhw.report as report

    def synthesis(*_args, **_kwargs):
        raise AssertionError("synthesis started")

    monkeypatch.setattr(report, "make_report", synthesis)
    (tmp_path / "afile").write_text("x")
    rtl = model_files / "rtl"
    for argv, fragment in [
        (["--plot", tmp_path / "plot.xyz"], "--plot writes the format its suffix names, one "
                                            "of"),
        (["--plot", tmp_path / "afile" / "p.png"], "afile is a file, not a folder"),
        (["--plot", tmp_path], "is a folder; give a file name for the plot"),
        (["--build-dir", tmp_path / "afile"], "afile: is a file; the build folder must be"),
    ]:
        code, out, err = _run(capsys, "report", rtl, "--quiet", *argv)
        assert code == 2 and out == ""
        assert fragment in _one_line(err, "report"), err
