"""`hadamhw info`: print what a checkpoint holds."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("info", help="print what a checkpoint holds")
    p.add_argument("checkpoint")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
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
    resume = payload.get("resume")
    if isinstance(resume, dict):
        best = resume.get("best") or {}
        print(f"  training state: step {resume.get('step')} of {resume.get('total_steps')}, "
              f"{float(resume.get('train_seconds', 0)):.0f} s; weights are the best validated "
              f"so far (step {best.get('step', 'none')}); continue with "
              f"'hadamhw train --resume {args.checkpoint} -o MODEL.pt'")
    return 0
