"""`hadamhw info`: print what a checkpoint or an IR file holds."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.inputs import DESIGN, FOLDER, IR, MISSING, input_kind
from hadamhw.commands.paths import user_path
from hadamhw.errors import HadamhwError


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
        out = {k: data[k] for k in ("format", "version", "hidden_size", "block_size",
                                     "output_size", "mode", "readout", "input", "requant",
                                     "output_requant", "widths", "meta")}
        print(json.dumps(out, indent=2, sort_keys=True, default=str))
        return 0
    inp = ir.input
    inputs = f"{inp.size} tokens" if inp.kind == "token" else \
        f"{inp.size} x {inp.bits}-bit {'signed' if inp.signed else 'unsigned'}"
    rq = ir.requant
    print(f"{path}: hadamhw integer IR v{data['version']}")
    print(f"  model: {_kind_text(ir.hidden_size, ir.block_size)}, n={ir.hidden_size}, "
          f"block_size={ir.block_size}, inputs={inputs}, outputs={ir.output_size}")
    print(f"  mode={ir.mode}, readout={ir.readout}, state_bits={ir.state_bits}, "
          f"U {ir.widths.input_weight}-bit, V {ir.widths.output_weight}-bit, "
          f"output {ir.widths.output}-bit")
    print(f"  requant: (r*{rq.rotate_mult} + a*{rq.input_mult}) >> {rq.shift}")
    task = ir.meta.get("task") or {}
    if task:
        print(f"  task: {_task_text(task)}")
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
    return 0
