"""Data sets and their metrics: copy task, (permuted) digits, (permuted) MNIST, IMDB, GLUE
SST-2 and QQP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hadamhw.errors import HadamhwError

if TYPE_CHECKING:
    from hadamhw.tasks.base import InputQuant, Task

TASKS = ("copy", "digits", "pdigits", "smnist", "pmnist", "imdb", "sst2", "qqp")
GLUE_TASKS = ("sst2", "qqp")  # the GLUE tasks of the reference's configs
# Tasks whose token ids go through a word embedding read from an .npz data file.
EMBEDDING_TASKS = ("imdb", *GLUE_TASKS)


def get_task(name: str, seq_len: int | None = None, seed: int = 0, data: str | None = None,
             **options) -> Task:
    """Build a task by name. seq_len is the copy-task delay T, or the steps kept of IMDB
    reviews (GLUE: the data file's steps); image tasks ignore it. `data` is the MNIST folder
    or the IMDB / GLUE .npz file."""
    if name == "copy":
        from hadamhw.tasks.copy import CopyTask

        return CopyTask(seq_len=100 if seq_len is None else seq_len, seed=seed, **options)
    if name in ("digits", "pdigits"):
        from hadamhw.tasks.digits import digits_task

        return digits_task(permute=name == "pdigits", seed=seed)
    if name == "imdb":
        from hadamhw.tasks.imdb import ImdbTask

        return ImdbTask(data, seq_len=seq_len, seed=seed, **options)
    if name in GLUE_TASKS:
        from hadamhw.tasks.glue import GlueTask

        return GlueTask(name, data, seq_len=seq_len, seed=seed, **options)
    if name in ("smnist", "pmnist"):
        from hadamhw.tasks.mnist import mnist_task

        return mnist_task(data, permute=name == "pmnist", seed=seed)
    raise HadamhwError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")


def task_from_metadata(meta: dict, data: str | None = None) -> Task:
    options = dict(meta.get("options", {}))
    data = data or options.pop("data", None)
    options.pop("data", None)
    if meta["name"] == "copy":
        return get_task("copy", seq_len=meta["seq_len"], seed=meta.get("seed", 0), **options)
    if meta["name"] in EMBEDDING_TASKS:
        return get_task(meta["name"], seq_len=meta["seq_len"], seed=meta.get("seed", 0),
                        data=data, **options)
    return get_task(meta["name"], seed=meta.get("seed", 0), data=data)


def __getattr__(name: str):
    # Lazily: the command line registers `--task` choices from TASKS without torch.
    if name in ("InputQuant", "Task"):
        from hadamhw.tasks import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EMBEDDING_TASKS", "GLUE_TASKS", "TASKS", "InputQuant", "Task", "get_task",
           "task_from_metadata"]
