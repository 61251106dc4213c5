"""`hadamhw info`: print what a checkpoint or an IR file holds."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.inputs import DESIGN, FOLDER, IR, MISSING, input_kind
from hadamhw.commands.paths import user_path
from hadamhw.errors import HadamhwError

# The IR's big arrays; the summary gives their shapes instead.
_ARRAYS = ("signs", "input_weight", "input_bias", "output_weight", "output_bias")


def register(sub) -> None:
    p = sub.add_parser("info", help="print what a checkpoint or an IR file holds",
                       description="Print the model, task and metrics of a checkpoint, or the "
                                   "model, widths and requantization of an integer IR file.")
    p.add_argument("model", metavar="MODEL",
                   type=user_path, help="model.pt (a checkpoint) or model.ir.json (an IR file)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _kind_text(n: int, m: int) -> str:
    return "HadamRNN (binary)" if m == n else \
        f"Block-HadamRNN (ternary, density {m / n:.3g})"


def _task_text(task: dict) -> str:
    return f"{task.get('name')} (seq_len {task.get('seq_len')}, seed {task.get('seed')})"


def run(args) -> int:
    path = Path(args.model)
    kind = input_kind(path)
    if kind == MISSING:
        raise HadamhwError(f"{path}: no such file; 'hadamhw info' takes a checkpoint (model.pt) "
                           "or an IR file (model.ir.json)")
    if kind == DESIGN:
        raise HadamhwError(f"{path}: is a design folder from 'hadamhw generate'; its "
                           "manifest.json describes it, and 'hadamhw info "
                           f"{path / 'model.ir.json'}' its model")
    if kind == FOLDER:
        raise HadamhwError(f"{path}: is a folder; 'hadamhw info' takes a checkpoint (model.pt) "
                           "or an IR file (model.ir.json)")
    if kind == IR:
        return _ir_info(path, args.json)
    return _checkpoint_info(path, args.json)


def _ir_info(path: Path, as_json: bool) -> int:
    from hadamhw.ir.schema import IntegerRNN

    ir = IntegerRNN.load(path)
    data = ir.to_dict()
    if as_json:
        out = {k: v for k, v in data.items() if k not in _ARRAYS}
        out["shapes"] = {name: list(getattr(ir, name).shape) for name in _ARRAYS}
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    w, rq, inp = ir.widths, ir.requant, ir.input
    kind = _kind_text(ir.hidden_size, ir.block_size)
    if inp.kind == "token":
        drive = f"token ids, vocabulary {inp.size}, {inp.bits}-bit port"
        if inp.bias_only_tokens:
            last = (1 << inp.bits) - 1
            ids = f"id {last} drives" if last == inp.size else f"ids {inp.size}..{last} drive"
            drive += f" ({ids} the bias only)"
    else:
        drive = (f"{inp.size} x {inp.bits}-bit {'signed' if inp.signed else 'unsigned'} "
                 f"integers, scale {inp.scale:.6g}")
    print(f"{path}: hadamhw integer IR v{data['version']}")
    print(f"  model: {kind}, n={ir.hidden_size}, block_size={ir.block_size}, "
          f"outputs={ir.output_size}, mode={ir.mode}, readout={ir.readout}")
    print(f"  input: {drive}")
    print(f"  widths: state {w.state}, input acc {w.input_acc}, FWHT stages {list(w.fwht)}, "
          f"rotated {w.rotated}, requant sum {w.requant_sum}, readout acc {w.output_acc}, "
          f"output {w.output}; weights U {w.input_weight}, V {w.output_weight} bits")
    print(f"  requant: h' = sat{w.state}(round_shift(r*{rq.rotate_mult} + "
          f"a*{rq.input_mult}, {rq.shift}))")
    if ir.output_requant is not None:
        o = ir.output_requant
        print(f"  output requant: y' = sat{o.bits}(round_shift(y*{o.mult}, {o.shift}))")
    meta = ir.meta
    task = meta.get("task") if isinstance(meta.get("task"), dict) else None
    if task:
        print(f"  task: {task.get('name')} (seq_len {task.get('seq_len')})")
    if meta.get("source"):
        print(f"  lowered from: {meta['source']}")
    return 0


def _checkpoint_info(path: Path, as_json: bool) -> int:
    from hadamhw.checkpoint import read_checkpoint
    from hadamhw.nn.model import ModelConfig

    payload = read_checkpoint(path)
    config = ModelConfig.from_dict(payload["config"])
    if as_json:
        out = {k: payload[k] for k in ("format", "version", "config", "task", "training")}
        out["metrics"] = {k: v for k, v in payload.get("metrics", {}).items() if k != "history"}
        print(json.dumps(out, indent=2, sort_keys=True, default=str))
        return 0
    print(f"{path}: hadamhw checkpoint v{payload['version']}")
    print(f"  model: {_kind_text(config.hidden_size, config.m)}, n={config.hidden_size}, "
          f"block_size={config.m}, inputs={config.input_size} ({config.input_kind}), "
          f"outputs={config.output_size}")
    print(f"  mode={config.mode}, readout={config.readout}, weight_bits={config.weight_bits}")
    task = payload.get("task") or {}
    if task:
        print(f"  task: {_task_text(task)}")
    params = sum(v.numel() for v in payload["state_dict"].values())
    print(f"  parameters: {params}")
    for split in ("val", "test"):
        m = payload.get("metrics", {}).get(split)
        if m:
            print(f"  {split}: " + ", ".join(f"{k} {v:.6g}" for k, v in m.items()))
    resume = payload.get("resume")
    if isinstance(resume, dict):
        best = resume.get("best") or {}
        print(f"  training state: step {resume.get('step')} of {resume.get('total_steps')}, "
              f"{float(resume.get('train_seconds', 0)):.0f} s; weights are the best validated "
              f"so far (step {best.get('step', 'none')}); continue with "
              f"'hadamhw train --resume {path} -o MODEL.pt'")
    return 0
