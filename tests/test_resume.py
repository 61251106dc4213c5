"""Resumable training: periodic atomic checkpoints, exact resume, stop on signal, rescue of
the final model when its path fails."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

import hadamhw.checkpoint as checkpoint_module
from hadamhw.checkpoint import (
    atomic_save,
    checkpoint_payload,
    read_checkpoint,
    save_final_checkpoint,
)
from hadamhw.errors import HadamhwError
from hadamhw.nn import HadamRNN, ModelConfig
from hadamhw.train import Trainer

TINY = ["--task", "copy", "--seq-len", "4", "--hidden", "16", "--block-size", "4",
        "--batch-size", "8", "--val-every", "3", "--no-progress"]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = read_checkpoint(a)["state_dict"], read_checkpoint(b)["state_dict"]
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resumed_run_equals_uninterrupted_run(cli, tmp_path):
    code, _, err = cli("train", *TINY, "--steps", "12", "--checkpoint-every", "0",
                       "-o", tmp_path / "full.pt")
    assert code == 0, err
    assert not (tmp_path / "full.resume.pt").exists()  # no resume file when not asked
    code, out, err = cli("train", *TINY, "--steps", "6", "--checkpoint-every", "3",
                         "-o", tmp_path / "half.pt")
    assert code == 0, err
    resume = tmp_path / "half.resume.pt"
    assert f"resume checkpoint (to train further with --resume): {resume}" in out
    state = read_checkpoint(resume)
    assert state["resume"]["step"] == 6 and state["metrics"]["partial"]["step"] == 6
    code, out, _ = cli("info", resume)
    assert code == 0 and "training state: step 6 of 6" in out and "--resume" in out
    code, _, err = cli("train", "--resume", resume, "--steps", "12", "--no-progress",
                       "-o", tmp_path / "resumed.pt")
    assert code == 0, err
    assert same_weights(tmp_path / "full.pt", tmp_path / "resumed.pt")
    full = read_checkpoint(tmp_path / "full.pt")
    resumed = read_checkpoint(tmp_path / "resumed.pt")
    assert resumed["metrics"]["test"] == full["metrics"]["test"]
    assert [h["step"] for h in resumed["metrics"]["history"]] == [3, 6, 9, 12]
    assert resumed["training"]["resumed"] == 1 and resumed["training"]["steps"] == 12
    # the resume file follows the run: now at step 12
    assert read_checkpoint(resume)["resume"]["step"] == 12


def test_periodic_checkpoint_holds_best_weights_and_state(cli, tmp_path, monkeypatch):
    seen = []
    real = checkpoint_module.atomic_save

    def spy(payload, path):
        real(payload, path)
        if "resume" in payload:
            seen.append((payload["resume"]["step"], sorted(payload["resume"])))

    monkeypatch.setattr("hadamhw.checkpoint.atomic_save", spy)
    code, _, err = cli("train", *TINY, "--steps", "10", "--checkpoint-every", "4",
                       "-o", tmp_path / "m.pt")
    assert code == 0, err
    assert [s for s, _ in seen] == [4, 8, 10]
    assert seen[0][1] == ["best", "history", "model", "optimizer", "rng", "scheduler",
                          "settings", "step", "total_steps", "train_seconds", "version"]
    state = read_checkpoint(tmp_path / "m.resume.pt")
    best = state["resume"]["best"]
    assert best["step"] in (3, 6, 9, 10)
    assert all(torch.equal(state["state_dict"][k], best["state_dict"][k])
               for k in best["state_dict"])
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_sigterm_stops_at_a_step_saves_and_resumes_exactly(cli, tmp_path, monkeypatch):
    code, _, err = cli("train", *TINY, "--steps", "9", "--checkpoint-every", "0",
                       "-o", tmp_path / "full.pt")
    assert code == 0, err
    real = Trainer._validate

    def validate_then_signal(self, loss):
        real(self, loss)
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Trainer, "_validate", validate_then_signal)
    out_path = tmp_path / "part.pt"
    code, _, err = cli("train", *TINY, "--steps", "9", "--checkpoint-every", "0",
                       "-o", out_path)
    assert code == 143  # 128 + SIGTERM
    assert "SIGTERM: stopping after this step" in err
    resume = tmp_path / "part.resume.pt"
    assert f"stopped at step 3 of 9; state saved in {resume}" in err
    assert not out_path.exists()
    monkeypatch.setattr(Trainer, "_validate", real)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored
    code, _, err = cli("train", "--resume", resume, "--no-progress", "-o", out_path)
    assert code == 0, err
    assert same_weights(tmp_path / "full.pt", out_path)


@pytest.mark.parametrize("extra,message", [
    (["--lr", "0.5"], "--lr 0.5 differs from the resumed run's 0.001"),
    (["--hidden", "32"], "--hidden 32 differs"),
    (["--steps", "3"], "at step 6, beyond the 3 steps asked for"),
])
def test_resume_refuses_changed_settings(cli, tmp_path, extra, message):
    code, _, err = cli("train", *TINY, "--steps", "6", "--checkpoint-every", "3",
                       "-o", tmp_path / "m.pt")
    assert code == 0, err
    code, _, err = cli("train", "--resume", tmp_path / "m.resume.pt", *extra, "-o",
                       tmp_path / "n.pt")
    assert code == 2 and message in err and "Traceback" not in err


def test_resume_needs_a_resume_checkpoint(cli, tmp_path):
    code, _, err = cli("train", *TINY, "--steps", "2", "-o", tmp_path / "m.pt")
    assert code == 0, err
    code, _, err = cli("train", "--resume", tmp_path / "m.pt", "-o", tmp_path / "n.pt")
    assert code == 2 and "no training state to resume from" in err
    code, _, err = cli("train", "--resume", tmp_path / "none.pt", "-o", tmp_path / "n.pt")
    assert code == 2 and "no such checkpoint" in err
    code, _, err = cli("train", "--steps", "2", "-o", tmp_path / "n.pt")
    assert code == 2 and "--task is required" in err


def test_resume_refuses_a_different_batch_stream(tmp_path):
    from hadamhw.tasks import get_task
    from hadamhw.train import TrainSettings, config_for_task

    task = get_task("copy", seq_len=4)
    config = config_for_task(task, 16, 4, 4, "linear")
    settings = TrainSettings(steps=4, batch_size=8, val_every=2, progress=False)
    trainer = Trainer(task, config, settings)
    trainer.run()
    state = trainer.resume_state()
    state["rng"]["batches"] = torch.Generator().manual_seed(99).get_state()
    with pytest.raises(HadamhwError, match="training batches differ"):
        Trainer(task, config, settings, resume=state)


def _payload() -> dict:
    torch.manual_seed(0)
    return checkpoint_payload(HadamRNN(ModelConfig(input_size=2, hidden_size=8,
                                                   output_size=2)), None)


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    atomic_save({"a": torch.ones(2)}, path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's private 0600

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        atomic_save({"a": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_final_checkpoint_is_rescued_when_its_path_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    target = blocker / "model.pt"
    with pytest.raises(HadamhwError) as info:
        save_final_checkpoint(target, _payload())
    rescued = list(tmp_path.glob("model.rescued-*.pt"))
    assert len(rescued) == 1
    message = str(info.value)
    assert f"cannot write {target}" in message and f"saved to {rescued[0]}" in message
    assert read_checkpoint(rescued[0])["config"]["hidden_size"] == 8
    # a second rescue never overwrites the first
    with pytest.raises(HadamhwError):
        save_final_checkpoint(target, _payload())
    assert len(list(tmp_path.glob("model.rescued-*.pt"))) == 2


def test_final_checkpoint_falls_back_to_the_next_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    spare = tmp_path / "spare"
    spare.mkdir()
    with pytest.raises(HadamhwError, match=f"saved to {spare}"):
        save_final_checkpoint(blocker / "m.pt", _payload(), [blocker / "sub", spare])
    with pytest.raises(HadamhwError, match="nor a rescue copy"):
        save_final_checkpoint(blocker / "m.pt", _payload(), [blocker / "sub"])


def test_train_command_rescues_the_model(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real = checkpoint_module.atomic_save
    target = tmp_path / "out" / "m.pt"

    def fail_for_target(payload, path):
        if Path(path) == target:
            raise OSError(28, "No space left on device")
        real(payload, path)

    monkeypatch.setattr("hadamhw.checkpoint.atomic_save", fail_for_target)
    code, out, err = cli("train", *TINY, "--steps", "2", "-o", target)
    assert code == 2
    assert "test:" in out
    assert f"cannot write {target} (No space left on device)" in err
    rescued = list(tmp_path.glob("m.rescued-*.pt"))
    assert len(rescued) == 1 and f"saved to {rescued[0]}" in err
    assert read_checkpoint(rescued[0])["metrics"]["steps"] == 2
