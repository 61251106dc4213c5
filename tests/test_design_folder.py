"""Issue 33: nothing lost on disk, no false "bit-exact".

The design folder (hadamhw.design) is written atomically, keeps what is not the design's,
drops what the previous design listed, and is read with its digests checked; the commands
say what changed, refuse with --strict, and exit with the documented status.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import hadamhw
from hadamhw.design import DesignFolder
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir

TRAIN = ["--task", "copy", "--seq-len", "4", "--hidden", "16", "--block-size", "4",
         "--steps", "4", "--batch-size", "8", "--val-every", "2", "--no-progress"]


@pytest.fixture(scope="module")
def ir_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ir") / "tiny.ir.json"
    random_ir(np.random.default_rng(3), 8, 4, output_size=3).save(path)
    return path


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _one_byte_change(path: Path) -> None:
    """Turn the first `+` of a datapath assignment into `-`: one byte, another function."""
    lines = path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.lstrip().startswith("assign ") and " + " in line:
            lines[i] = line.replace(" + ", " - ", 1)
            path.write_text("".join(lines))
            return
    raise AssertionError(f"{path}: no assignment with an addition")


# -- 1. generate does not overwrite a folder that holds no design -------------------------

def test_generate_refuses_a_foreign_folder_unless_forced(cli, ir_file, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "README.md").write_text("notes\n")
    code, _, err = cli("generate", ir_file, "-o", folder)
    assert code == 2 and "not a hadamhw design" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert _contents(folder) == {"README.md": b"notes\n"}
    (folder / "mine.txt").write_text("kept")
    code, _, err = cli("generate", ir_file, "-o", folder, "--force")
    assert code == 0, err
    assert (folder / "mine.txt").read_text() == "kept" and (folder / "hadamrnn.v").is_file()


# -- 2. no stale files after regeneration --------------------------------------------------

def test_regeneration_leaves_no_stale_file_and_keeps_the_rest(cli, ir_file, tmp_path):
    out = tmp_path / "d"
    assert cli("generate", ir_file, "-o", out)[0] == 0
    (out / "build").mkdir()
    (out / "build" / "log.txt").write_text("a build")
    code, stdout, _ = cli("generate", ir_file, "-o", out, "--fold", "stage")
    assert code == 0 and not (out / "hadamrnn_rotate.v").exists()
    assert "hadamrnn_rotate.v" not in stdout  # the files line lists the design, nothing else
    assert cli("generate", ir_file, "-o", out, "--top", "other")[0] == 0
    assert sorted(p.name for p in out.glob("*.core")) == ["other.core"]
    assert cli("generate", ir_file, "-o", out, "--target", "hls")[0] == 0
    assert not list(out.glob("*.v")) + list(out.glob("*.core")) + list(out.glob("*.hex"))
    assert (out / "build" / "log.txt").read_text() == "a build"
    design = DesignFolder(out)
    assert set(_contents(out)) == set(design.files) and not design.modified_files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


# -- 3. atomic writes: two at once, an interruption, a late signal --------------------------

def test_concurrent_generates_leave_one_whole_design(ir_file, tmp_path):
    ir = hadamhw.load(ir_file)
    refs = {fold: _contents(hadamhw.generate(ir, tmp_path / f"ref-{fold}", fold=fold).path)
            for fold in ("parallel", "stage")}
    out = tmp_path / "dg"
    errors: list[BaseException] = []

    def write(fold: str) -> None:
        try:
            hadamhw.generate(ir, out, fold=fold)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    for _ in range(20):
        threads = [threading.Thread(target=write, args=(f,)) for f in ("parallel", "stage")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert _contents(out) in refs.values()  # exactly one design, not a mix


def test_interrupted_write_keeps_the_old_design(ir_file, tmp_path, monkeypatch):
    from hadamhw import design as design_module

    out = hadamhw.generate(ir_file, tmp_path / "d").path
    (out / "notes.txt").write_text("mine")
    before = _contents(out)
    real = design_module._write_files

    def write_then_interrupt(folder, files):
        real(folder, dict(list(files.items())[:3]))
        raise KeyboardInterrupt

    monkeypatch.setattr(design_module, "_write_files", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        hadamhw.generate(ir_file, out, fold="stage")
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_ctrl_c_while_rendering_is_130_and_after_writing_0(cli, ir_file, tmp_path,
                                                          monkeypatch):
    from hadamhw import design as design_module

    out = tmp_path / "d"
    assert cli("generate", ir_file, "-o", out)[0] == 0
    before = _contents(out)
    real_render, real_write = design_module.render_design, design_module.write_design

    def interrupted_render(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return real_render(*args)

    monkeypatch.setattr(design_module, "render_design", interrupted_render)
    code, _, err = cli("generate", ir_file, "-o", out, "--fold", "stage")
    assert code == 130 and _contents(out) == before
    monkeypatch.setattr(design_module, "render_design", real_render)

    def write_then_signal(*args, **kwargs):
        folder = real_write(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # the design is in place: generate has finished
        return folder

    monkeypatch.setattr(design_module, "write_design", write_then_signal)
    code, _, err = cli("generate", ir_file, "-o", out, "--fold", "stage")
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["fold"] == "stage"


def test_mixed_folder_is_refused(cli, ir_file, tmp_path):
    a = hadamhw.generate(ir_file, tmp_path / "a").path
    b = hadamhw.generate(ir_file, tmp_path / "b", fold="stage").path
    for name, data in _contents(b).items():
        if name != "manifest.json":
            (a / name).write_bytes(data)  # a's manifest beside b's files
    code, _, err = cli("sim", a, "--batch", "--sequences", "4")
    assert code == 2 and "different generations" in err


def test_a_listed_symlink_is_refused(ir_file, tmp_path):
    out = hadamhw.generate(ir_file, tmp_path / "d").path
    outside = tmp_path / "elsewhere.v"
    outside.write_bytes((out / "hadamrnn.v").read_bytes())
    (out / "hadamrnn.v").unlink()
    (out / "hadamrnn.v").symlink_to(outside)
    with pytest.raises(HadamhwError, match="symbolic link"):
        DesignFolder(out)


# -- 4. train keeps an interrupted run's resume checkpoint ----------------------------------

def test_train_refuses_to_overwrite_a_resume_checkpoint(cli, tmp_path):
    resume = tmp_path / "m.resume.pt"
    resume.write_bytes(b"an interrupted run")
    code, _, err = cli("train", *TRAIN, "-o", tmp_path / "m.pt")
    assert code == 2 and "--resume" in err and "--force" in err
    assert resume.read_bytes() == b"an interrupted run"
    code, _, err = cli("train", *TRAIN, "-o", tmp_path / "m.pt", "--force")
    assert code == 0, err


# -- 5. report --pnr: a design that does not fit, route or meet --freq is exit 1 ------------

@pytest.mark.parametrize(("status", "fmax", "freq", "code"), [
    ("does not fit: 5555 LUTs and 0 flip-flops, the largest device has 1280", None, None, 1),
    ("failed: no Fmax in the report", None, None, 1),
    ("routed", 80.0, "100", 1),
    ("routed", 120.0, "100", 0),
    ("routed", 80.0, None, 0),
])
def test_report_pnr_exit_status(cli, ir_file, tmp_path, monkeypatch, status, fmax, freq,
                                code):
    import hadamhw.report

    out = hadamhw.generate(ir_file, tmp_path / "d").path
    fake = {"mul_cells": 0, "pnr": {"status": status, "fmax_mhz": fmax}}
    monkeypatch.setattr(hadamhw.report, "make_report", lambda *a, **k: fake)
    monkeypatch.setattr("hadamhw.report.render.render_json", lambda r: json.dumps(r))
    args = ["report", out, "--fpga", "ice40", "--pnr", "--json", "--quiet"]
    got, _, err = cli(*args, *(["--freq", freq] if freq else []))
    assert got == code, err
    assert ("exit status 1" in err) == (code == 1)


# -- 6. early size check -------------------------------------------------------------------

def test_huge_design_is_refused_at_once(cli, tmp_path):
    path = tmp_path / "huge.ir.json"
    random_ir(np.random.default_rng(0), 65536, 65536, input_size=1, output_size=1).save(path)
    started = time.monotonic()
    code, _, err = cli("generate", path, "-o", tmp_path / "out")
    assert code == 2 and "estimated to need" in err and "--max-memory" in err
    assert time.monotonic() - started < 20
    assert not (tmp_path / "out").exists()


# -- 7. --top ------------------------------------------------------------------------------

@pytest.mark.parametrize("top", ["module", "always", "reg", "logic", "héllo", "1x"])
def test_top_must_be_a_verilog_name(cli, ir_file, tmp_path, top):
    code, _, err = cli("generate", ir_file, "-o", tmp_path / "d", "--top", top)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--top" in err
    with pytest.raises(HadamhwError, match="--top"):
        hadamhw.generate(ir_file, tmp_path / "e", top=top)


# -- 8. one line instead of a traceback; SIGTERM cleans up ---------------------------------

def test_empty_calibration_data_is_one_line(cli, tmp_path):
    assert cli("train", *TRAIN, "-o", tmp_path / "m.pt")[0] == 0
    np.save(tmp_path / "empty.npy", np.zeros((0, 20), dtype=np.int64))
    code, _, err = cli("lower", tmp_path / "m.pt", "-o", tmp_path / "m.ir.json",
                       "--calib-data", tmp_path / "empty.npy")
    assert code == 2 and "holds no inputs" in err and len(err.strip().splitlines()) == 1


@pytest.mark.needs("verilator")
def test_sigterm_during_a_batch_build_is_143_and_leaves_nothing(cli, ir_file, tmp_path,
                                                                monkeypatch):
    import subprocess

    from hadamhw.verify import tools

    out = hadamhw.generate(ir_file, tmp_path / "d").path
    started: list[subprocess.Popen] = []

    # SIGTERM while Verilator and the compilers it starts run: 20 ms after the build starts
    # (a build of this design from a warm ccache takes under 0.3 s, none under 20 ms)
    timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGTERM))

    class Recorded(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)
            if kwargs.get("start_new_session") and not timer.is_alive():
                timer.start()

    monkeypatch.setattr(tools.subprocess, "Popen", Recorded)
    try:
        code, _, err = cli("sim", out, "--batch", "--sequences", "4", "--build-dir",
                           tmp_path / "b")
    finally:
        timer.cancel()
        timer.join()
    assert code == 143 and "terminated" in err
    assert not list((tmp_path / "b").rglob(".tmp-*"))  # the build folder is removed
    groups = [proc.pid for proc in started if proc.args and "verilator" in str(proc.args[0])]
    assert groups
    deadline = time.monotonic() + 10  # killed processes are reaped by init, not at once
    while any(_group_alive(pgid) for pgid in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pgid for pgid in groups if _group_alive(pgid)]  # no process of it is left


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# -- digests: every reading command names a changed file -----------------------------------

@pytest.mark.needs("verilator")
def test_changed_hdl_is_named_strict_refuses_and_sim_sees_it(cli, ir_file, tmp_path):
    out = hadamhw.generate(ir_file, tmp_path / "d").path
    code, stdout, err = cli("sim", out, "--batch", "--sequences", "20", "--json")
    assert code == 0 and json.loads(stdout)["modified_files"] == [] and "changed" not in err
    _one_byte_change(out / "hadamrnn_update.v")
    code, stdout, err = cli("sim", out, "--batch", "--sequences", "20", "--json")
    assert code == 1  # the changed RTL is simulated as it is, and its mismatch reported
    assert json.loads(stdout)["modified_files"] == ["hadamrnn_update.v"]
    assert "'hadamrnn_update.v' changed since 'hadamhw generate'" in err
    for command in (["sim", out, "--batch"], ["report", out, "--quiet"]):
        code, _, err = cli(*command, "--strict")
        assert code == 2 and "--strict" in err and "hadamrnn_update.v" in err
    with pytest.warns(UserWarning, match="hadamrnn_update.v"):
        design = hadamhw.open_design(out)
    assert design.modified_files == ["hadamrnn_update.v"]
    with pytest.raises(HadamhwError, match="hadamrnn_update.v"):
        hadamhw.open_design(out, strict=True)


def test_report_names_a_changed_file(cli, ir_file, tmp_path, monkeypatch):
    import hadamhw.report

    out = hadamhw.generate(ir_file, tmp_path / "d").path
    _one_byte_change(out / "hadamrnn_rotate.v")

    def no_synthesis(design, *args, **kwargs):
        raise HadamhwError(f"stub: would synthesize {design.modified_files}")

    monkeypatch.setattr(hadamhw.report, "synthesize", no_synthesis)
    code, _, err = cli("report", out, "--quiet", "--json")
    assert code == 2 and "'hadamrnn_rotate.v' changed" in err
    assert "stub: would synthesize ['hadamrnn_rotate.v']" in err


@pytest.mark.hls
def test_csim_names_a_changed_file(cli, ir_file, tmp_path):
    out = hadamhw.generate(ir_file, tmp_path / "h", target="hls").path
    source = out / "hadamrnn.cpp"
    source.write_text(source.read_text() + "// a note\n")
    code, stdout, err = cli("csim", out, "--sequences", "4", "--json", "--build-dir",
                            tmp_path / "b")
    assert code == 0 and json.loads(stdout)["modified_files"] == ["hadamrnn.cpp"]
    assert "'hadamrnn.cpp' changed" in err
    code, _, err = cli("csim", out, "--strict")
    assert code == 2 and "hadamrnn.cpp" in err


def test_manifest_digests_are_deterministic_and_complete(ir_file, tmp_path):
    a = hadamhw.generate(ir_file, tmp_path / "a").path
    b = hadamhw.generate(ir_file, tmp_path / "b").path
    assert _contents(a) == _contents(b)
    manifest = json.loads((a / "manifest.json").read_text())
    assert set(manifest["files_sha256"]) == set(_contents(a)) - {"manifest.json"}
    assert len(manifest["design_id"]) == 64


def test_exit_codes_are_in_every_commands_help():
    from hadamhw.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        assert "130" in command.epilog and "143" in command.epilog, name
    assert "does not route" in sub.choices["report"].epilog


def test_meta_is_bounded_by_the_schema(cli, ir_file, tmp_path):
    data = json.loads(ir_file.read_text())
    data["meta"] = {"junk": "x" * 5000}
    path = tmp_path / "meta.ir.json"
    path.write_text(json.dumps(data))
    code, _, err = cli("generate", path, "-o", tmp_path / "d")
    assert code == 2 and "meta.junk" in err and len(err.strip().splitlines()) == 1
