"""`hadamhw eval`: float vs integer model on a task's test split."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.common import add_lowering_arguments, lower_checkpoint
from hadamhw.commands.inputs import IR, expect_checkpoint, expect_model
from hadamhw.commands.options import COUNT, SEQ_LEN
from hadamhw.commands.paths import user_path
from hadamhw.errors import HadamhwError


def register(sub) -> None:
    from hadamhw.tasks import TASKS

    p = sub.add_parser("eval", help="compare the float and the integer model on task data",
                       description="Report the float model's metric, the integer model's "
                                   "metric, their argmax agreement and the state saturation.")
    p.add_argument("model", type=user_path,
                   help="model.pt (lowered on the fly) or model.ir.json")
    p.add_argument("--task", choices=TASKS, default=None,
                   help="task to evaluate on (default: the one recorded in the model)")
    p.add_argument("--seq-len", type=SEQ_LEN, default=None, help="copy task delay T override")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--limit", type=COUNT, default=None,
                   help="evaluate the first N sequences (N >= 1)")
    p.add_argument("--checkpoint", type=user_path, default=None,
                   help="with an IR file: the float checkpoint to compare against")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    add_lowering_arguments(p)
    p.set_defaults(func=run)


def _task(args, meta: dict | None):
    from hadamhw.tasks import get_task, task_from_metadata

    if args.task is None:
        if not meta:
            raise HadamhwError("the model records no task; give --task")
        if args.seq_len is not None:
            meta = {**meta, "seq_len": args.seq_len}
        return task_from_metadata(meta, data=args.data)
    seq_len = args.seq_len
    if seq_len is None and meta and meta.get("name") == args.task:
        seq_len = meta.get("seq_len")
    return get_task(args.task, seq_len=seq_len, seed=(meta or {}).get("seed", 0), data=args.data)


def run(args) -> int:
    from hadamhw.checkpoint import load_checkpoint
    from hadamhw.evaluate import evaluate, format_report
    from hadamhw.ir.schema import IntegerRNN

    path = Path(args.model)
    model = None
    if expect_model(path, "eval") == IR:
        if args.state_bits is not None:
            raise HadamhwError("--state-bits applies when lowering a checkpoint; an IR file "
                               "has its widths fixed (run 'hadamhw lower' again)")
        if args.checkpoint:
            expect_checkpoint(args.checkpoint, "eval", option="--checkpoint")
        ir = IntegerRNN.load(path)
        if args.checkpoint:
            model, _ = load_checkpoint(args.checkpoint)
        meta = ir.meta.get("task")
    else:
        if args.checkpoint:
            raise HadamhwError(f"--checkpoint {args.checkpoint}: the model {path} is already "
                               "a checkpoint, the float model compared against; --checkpoint "
                               "goes with an IR file")
        ir, _, model, _ = lower_checkpoint(path, args, "eval")
        meta = ir.meta.get("task")
    task = _task(args, meta)
    if model is not None:
        c = model.config
        if (c.input_size, c.output_size) != (task.input_size, task.output_size):
            raise HadamhwError(f"model ({c.input_size} inputs, {c.output_size} outputs) does "
                               f"not fit task {task.name}")
    report = evaluate(task, args.split, model=model, ir=ir, limit=args.limit)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
