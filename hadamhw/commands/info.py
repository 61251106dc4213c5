"""`hadamhw info`: print what a checkpoint or an integer IR file holds."""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.commands.common import is_ir_path

# The IR's big arrays; the summary gives their shapes instead.
_ARRAYS = ("signs", "input_weight", "input_bias", "output_weight", "output_bias")


def register(sub) -> None:
    p = sub.add_parser("info", help="print what a checkpoint or an IR file holds",
                       description="Summarize a checkpoint (model.pt: model, task, metrics) "
                                   "or an integer IR (model.ir.json: sizes, widths, "
                                   "requantization, provenance). An IR needs no torch.")
    p.add_argument("checkpoint", metavar="MODEL", help="model.pt or model.ir.json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    if is_ir_path(Path(args.checkpoint)):
        return _ir_info(args)
    from hadamhw.checkpoint import read_checkpoint
    from hadamhw.nn.model import ModelConfig

    payload = read_checkpoint(args.checkpoint)
    config = ModelConfig.from_dict(payload["config"])
    if args.json:
        out = {k: payload[k] for k in ("format", "version", "config", "task", "training")}
        out["metrics"] = {k: v for k, v in payload.get("metrics", {}).items() if k != "history"}
        print(json.dumps(out, indent=2, sort_keys=True, default=str))
        return 0
    kind = "HadamRNN (binary)" if config.m == config.hidden_size else \
        f"Block-HadamRNN (ternary, density {config.m / config.hidden_size:.3g})"
    print(f"{args.checkpoint}: hadamhw checkpoint v{payload['version']}")
    print(f"  model: {kind}, n={config.hidden_size}, block_size={config.m}, "
          f"inputs={config.input_size} ({config.input_kind}), outputs={config.output_size}")
    print(f"  mode={config.mode}, readout={config.readout}, weight_bits={config.weight_bits}")
    task = payload.get("task") or {}
    if task:
        print(f"  task: {task.get('name')} (seq_len {task.get('seq_len')}, "
              f"seed {task.get('seed')})")
    params = sum(v.numel() for v in payload["state_dict"].values())
    print(f"  parameters: {params}")
    for split in ("val", "test"):
        m = payload.get("metrics", {}).get(split)
        if m:
            print(f"  {split}: " + ", ".join(f"{k} {v:.6g}" for k, v in m.items()))
    return 0


def _ir_info(args) -> int:
    from hadamhw.ir.schema import IntegerRNN

    ir = IntegerRNN.load(args.checkpoint)
    data = ir.to_dict()
    if args.json:
        out = {k: v for k, v in data.items() if k not in _ARRAYS}
        out["shapes"] = {name: list(getattr(ir, name).shape) for name in _ARRAYS}
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    w, rq, inp = ir.widths, ir.requant, ir.input
    kind = "HadamRNN (binary)" if ir.block_size == ir.hidden_size else \
        f"Block-HadamRNN (ternary, density {ir.block_size / ir.hidden_size:.3g})"
    if inp.kind == "token":
        drive = f"token ids, vocabulary {inp.size}, {inp.bits}-bit port"
        if inp.bias_only_tokens:
            last = (1 << inp.bits) - 1
            ids = f"id {last} drives" if last == inp.size else f"ids {inp.size}..{last} drive"
            drive += f" ({ids} the bias only)"
    else:
        drive = (f"{inp.size} x {inp.bits}-bit {'signed' if inp.signed else 'unsigned'} "
                 f"integers, scale {inp.scale:.6g}")
    print(f"{args.checkpoint}: hadamhw integer IR v{data['version']}")
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
