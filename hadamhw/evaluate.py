"""Float model vs integer model on a task split: metrics, argmax agreement, saturation."""

from __future__ import annotations

import numpy as np
import torch

from hadamhw.ir.encode import encode_inputs
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.schema import IntegerRNN
from hadamhw.nn.model import HadamRNN
from hadamhw.tasks.base import Task
from hadamhw.train import predict


def integer_logits(ir: IntegerRNN, x, batch_size: int = 1000) -> tuple[np.ndarray, int, int]:
    """Integer outputs for every sequence, with saturation counts."""
    xi = encode_inputs(ir, x)
    outs, saturated, total = [], 0, 0
    for i in range(0, len(xi), batch_size):
        res = golden_run(ir, xi[i:i + batch_size])
        outs.append(res.outputs)
        saturated += res.saturated
        total += res.state_elements
    return np.concatenate(outs), saturated, total


def evaluate(task: Task, split: str = "test", model: HadamRNN | None = None,
             ir: IntegerRNN | None = None, limit: int | None = None) -> dict:
    x, y = task.split(split)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    report: dict = {"task": task.name, "split": split, "sequences": int(len(y)),
                    "steps": int(x.shape[1])}
    float_pred = None
    if model is not None:
        logits = predict(model.float(), x)
        report["float"] = task.metrics(logits, y)
        float_pred = task.predictions(logits).numpy()
    if ir is not None:
        outs, saturated, total = integer_logits(ir, x)
        real = torch.from_numpy(outs.astype(np.float64) * ir.scales.output)
        report["integer"] = task.metrics(real, y)
        report["integer"]["saturation_rate"] = saturated / max(1, total)
        report["state_bits"] = ir.widths.state
        if float_pred is not None:
            agree = task.predictions(real).numpy() == float_pred
            report["argmax_agreement"] = float(agree.mean())
    return report


def format_report(report: dict) -> str:
    lines = [f"{report['task']} {report['split']}: {report['sequences']} sequences x "
             f"{report['steps']} steps"]
    keys = ["accuracy", "recall_accuracy", "cross_entropy", "ce_over_baseline"]
    for name in ("float", "integer"):
        if name in report:
            m = report[name]
            shown = ", ".join(f"{k} {m[k]:.6g}" for k in keys if k in m)
            label = name if name == "float" else f"integer ({report['state_bits']}-bit state)"
            lines.append(f"  {label}: {shown}")
    if "integer" in report:
        lines.append(f"  state saturation rate: {report['integer']['saturation_rate']:.4%}")
    if "argmax_agreement" in report:
        lines.append(f"  argmax agreement float vs integer: {report['argmax_agreement']:.4%}")
    return "\n".join(lines)
