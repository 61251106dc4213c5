"""Lowering: quantize a trained float model into the integer IR, calibrated on data.

Scales: U and V keep their training quantization (p-bit codes, scale alpha / 2^(p-1)); the
state scale s_h comes from the calibrated range of the float hidden state; the one
requantization h' = round_shift(r M_r + a M_a, S) uses M_r / 2^S ~ 1/sqrt(m) and
M_a / 2^S ~ s_a / s_h, with S chosen so that both constants keep `precision` bits.
Widths then follow from worst-case intervals in `IntegerRNN.build`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hadamhw import __version__
from hadamhw.errors import HadamhwError
from hadamhw.ir.encode import encode_inputs
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.requant import DEFAULT_ROTATE_DIGITS, MAX_ROTATE_DIGITS, lean_requant
from hadamhw.ir.schema import InputSpec, IntegerRNN, OutputRequant, Requant, Scales
from hadamhw.nn.model import HadamRNN
from hadamhw.nn.quant import quantize_codes

DEFAULT_STATE_BITS = 12
DEFAULT_PRECISION = 16
STATE_SCALES = ("pow2", "calibrated")
FALLBACK_WEIGHT_BITS = 8  # for models trained with float U / V


@dataclass
class LoweringSettings:
    state_bits: int = DEFAULT_STATE_BITS
    calib: int = 512
    precision: int = DEFAULT_PRECISION
    percentile: float = 100.0
    output_bits: int | None = None
    input_bits: int = 8  # real inputs without a task quantizer
    seed: int = 0
    # pow2: the state step is the accumulator step times a power of two, so M_a is a shift
    # (the state range uses half to all of its bits); calibrated: the state step is
    # h_max / (2^(B_h-1) - 1) exactly and M_a keeps `precision` significant bits.
    state_scale: str = "pow2"
    # Non-zero CSD digits of M_r when log2(block size) is odd (pow2 state scale only).
    rotate_digits: int = DEFAULT_ROTATE_DIGITS

    def validate(self) -> None:
        if not 2 <= self.state_bits <= 32:
            raise HadamhwError(f"--state-bits must be in [2, 32], got {self.state_bits}")
        if self.calib < 1:
            raise HadamhwError(f"--calib must be >= 1, got {self.calib}")
        if not 4 <= self.precision <= 30:
            raise HadamhwError(f"--precision must be in [4, 30], got {self.precision}")
        if not 0 < self.percentile <= 100:
            raise HadamhwError(f"--percentile must be in (0, 100], got {self.percentile}")
        if self.state_scale not in STATE_SCALES:
            raise HadamhwError(f"--state-scale must be one of {STATE_SCALES}, "
                               f"got {self.state_scale!r}")
        if not 1 <= self.rotate_digits <= MAX_ROTATE_DIGITS:
            raise HadamhwError(f"--rotate-digits must be in [1, {MAX_ROTATE_DIGITS}], "
                               f"got {self.rotate_digits}")
        if self.output_bits is not None and not 2 <= self.output_bits <= 32:
            raise HadamhwError(f"--output-bits must be in [2, 32], got {self.output_bits}")


def calibration_inputs(task, count: int, seed: int = 0) -> torch.Tensor:
    """The first `count` training sequences (never the test split)."""
    generator = torch.Generator().manual_seed(seed + 7919)
    batch = next(task.train_batches(count, generator))
    return batch[0]


def load_calibration_file(path: str | Path, model: HadamRNN) -> torch.Tensor:
    path = Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise HadamhwError(f"{path}: cannot read calibration array ({exc})") from None
    cfg = model.config
    if cfg.input_kind == "real":
        if arr.ndim == 2 and cfg.input_size == 1:
            arr = arr[..., None]
        if arr.ndim != 3 or arr.shape[-1] != cfg.input_size:
            raise HadamhwError(f"{path}: expected shape (sequences, steps, {cfg.input_size}), "
                               f"got {arr.shape}")
        return torch.from_numpy(arr.astype(np.float32))
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise HadamhwError(f"{path}: expected integer token ids of shape (sequences, steps), "
                           f"got {arr.dtype} {arr.shape}")
    if arr.min() < 0 or arr.max() >= cfg.num_tokens:
        raise HadamhwError(f"{path}: token ids must lie in [0, {cfg.num_tokens})")
    return torch.from_numpy(arr.astype(np.int64))


def _codes(weight: torch.Tensor, bits: int | None) -> tuple[np.ndarray, float, int]:
    bits = FALLBACK_WEIGHT_BITS if bits is None else bits
    q, scale = quantize_codes(weight.detach().double(), bits)
    return q.numpy().astype(np.int64), float(scale), bits


def lower(model: HadamRNN, calib_x: torch.Tensor, settings: LoweringSettings | None = None,
          input_quant: dict | None = None, meta: dict | None = None) -> tuple[IntegerRNN, dict]:
    """Return the IR and a summary of the choices made."""
    settings = settings or LoweringSettings()
    settings.validate()
    cfg = model.config
    model = model.eval().double()
    n, m = cfg.hidden_size, cfg.m
    k = m.bit_length() - 1
    with torch.no_grad():
        logits, states = model(calib_x if cfg.input_kind != "real" else calib_x.double(),
                               return_states=True)
    magnitude = states.abs().flatten().numpy()
    h_max = float(np.percentile(magnitude, settings.percentile))
    if not math.isfinite(h_max) or h_max <= 0:
        h_max = 1.0
    h_levels = (1 << (settings.state_bits - 1)) - 1
    s_h = h_max / h_levels

    u_codes, s_u, u_bits = _codes(model.input_layer.weight, cfg.weight_bits)
    bias = (model.recurrent.bias.detach().double().numpy() if model.recurrent.bias is not None
            else np.zeros(n))
    if cfg.input_kind == "onehot":
        table, s_a = u_codes, s_u
        spec = dict(kind="token", size=cfg.input_size,
                    bits=max(1, (cfg.input_size - 1).bit_length()), signed=False, scale=1.0)
        s_x = 1.0
    elif cfg.input_kind == "embedding":
        u_fq = model.input_layer.quantized_weight().detach().double()
        real_table = (u_fq @ model.embedding.weight.detach().double().T).numpy()
        table_bits = max(8, u_bits + 4)
        s_a = max(float(np.abs(real_table).max()), 1e-30) / ((1 << (table_bits - 1)) - 1)
        table = np.round(real_table / s_a).astype(np.int64)
        spec = dict(kind="token", size=cfg.vocab_size,
                    bits=max(1, (cfg.vocab_size - 1).bit_length()), signed=False, scale=1.0)
        s_x = 1.0
    else:
        if input_quant is not None:
            x_bits, s_x, signed = input_quant["bits"], input_quant["scale"], input_quant["signed"]
        else:
            x_abs = float(calib_x.abs().max())
            signed = bool((calib_x < 0).any())
            x_bits = settings.input_bits
            s_x = max(x_abs, 1e-30) / ((1 << (x_bits - 1 if signed else x_bits)) - 1)
        table, s_a = u_codes, s_u * s_x
        spec = dict(kind="int", size=cfg.input_size, bits=x_bits, signed=signed, scale=s_x)
    # The bias enters the accumulator beside U x: on U's grid it would be rounded by up to
    # half a weight step, an error the loop adds up every step. Refine the accumulator grid
    # (the weights become codes times 2^F, still one shift) until the bias error is below
    # 1/16 of a state step.
    refine = max(0, math.ceil(math.log2(s_a / s_h)) + 3) if s_a > 0 else 0
    table = np.asarray(table, dtype=np.int64) << refine
    s_a = s_a / 2**refine
    b_codes = np.round(bias / s_a).astype(np.int64)

    lowering_meta: dict
    if settings.state_scale == "pow2":
        # The smallest state step s_a 2^j that still covers the calibrated range: M_a = 2^e.
        j = max(0, math.ceil(math.log2(s_h / s_a) - 1e-12)) if s_a > 0 else 0
        s_h = s_a * 2.0**j
        choice = lean_requant(m, j, settings.rotate_digits)
        shift, rotate_mult, input_mult = choice.shift, choice.rotate_mult, choice.input_mult
        lowering_meta = choice.as_meta(settings.state_bits)
        lowering_meta["state_range_bits_used"] = math.log2(max(h_max / s_h, 1e-300)) + 1
    ratio = s_a / s_h
    if settings.state_scale == "calibrated":
        shift = max(settings.precision - 1 + (k + 1) // 2,
                    math.ceil(settings.precision - 1 - math.log2(ratio)) if ratio > 0 else 1, 1)
        rotate_mult = round(2.0 ** shift / math.sqrt(m))
        input_mult = round(ratio * 2.0 ** shift)
        lowering_meta = {"state_scale": "calibrated", "precision": settings.precision}

    v_codes, s_v, _ = _codes(model.output_layer.weight, model.output_layer.bits)
    s_y = s_v * s_h
    c = (model.output_layer.bias.detach().double().numpy() if model.output_layer.bias is not None
         else np.zeros(cfg.output_size))
    c_codes = np.round(c / s_y).astype(np.int64)

    output_requant = None
    s_out = s_y
    if settings.output_bits is not None:
        y_max = max(float(logits.abs().max()), 1e-30)
        s_out = y_max / ((1 << (settings.output_bits - 1)) - 1)
        o_ratio = s_y / s_out
        o_shift = max(settings.precision - 1 - math.floor(math.log2(o_ratio)), 0)
        output_requant = OutputRequant(mult=round(o_ratio * 2.0 ** o_shift), shift=o_shift,
                                       bits=settings.output_bits)

    ir_meta = {"hadamhw_version": __version__, **(meta or {})}
    ir = IntegerRNN.build(
        state_bits=settings.state_bits, hidden_size=n, block_size=m,
        output_size=cfg.output_size, mode=cfg.mode, readout=cfg.readout,
        input=InputSpec(**spec), signs=model.recurrent.signs().detach().numpy().astype(np.int64),
        input_weight=table, input_bias=b_codes, output_weight=v_codes, output_bias=c_codes,
        requant=Requant(rotate_mult=rotate_mult, input_mult=input_mult, shift=shift),
        output_requant=output_requant,
        scales=Scales(input=s_x, input_weight=s_u, input_acc=s_a, state=s_h,
                      output_weight=s_v, output=s_out),
        meta=ir_meta,
    )
    golden = golden_run(ir, encode_inputs(ir, calib_x))
    summary = {
        "calibration_sequences": int(calib_x.shape[0]),
        "calibration_steps": int(calib_x.shape[1]),
        "state_abs_max": float(magnitude.max()),
        "state_range_used": h_max,
        "percentile": settings.percentile,
        "calibration_saturation_rate": golden.saturation_rate,
        "rotate_gain_error": rotate_mult / 2.0 ** shift * math.sqrt(m) - 1.0,
        "input_gain_error": (input_mult / 2.0 ** shift / ratio - 1.0) if ratio > 0 else 0.0,
    }
    ir.meta["calibration"] = {k: v for k, v in summary.items()}
    ir.meta["lowering"] = lowering_meta
    summary["lowering"] = lowering_meta
    return ir, summary


def format_summary(ir: IntegerRNN, summary: dict) -> str:
    w, s, rq = ir.widths, ir.scales, ir.requant
    lines = [
        f"integer HadamRNN: n={ir.hidden_size}, block_size={ir.block_size}, mode={ir.mode}, "
        f"readout={ir.readout}, input={ir.input.kind} ({ir.input.size}, {ir.input.bits} bits)",
        f"  widths: state {w.state}, input acc {w.input_acc}, FWHT stages "
        f"{list(w.fwht)}, rotated {w.rotated}, requant sum {w.requant_sum}, "
        f"readout acc {w.output_acc}, output {w.output}",
        f"  weights: U {w.input_weight} bits, V {w.output_weight} bits",
        f"  requant: h' = round_shift(r*{rq.rotate_mult} + a*{rq.input_mult}, {rq.shift})  "
        f"(1/sqrt(m) gain error {summary['rotate_gain_error']:+.2e}, "
        f"input gain error {summary['input_gain_error']:+.2e})",
        *_lowering_lines(summary.get("lowering")),
        f"  scales: state {s.state:.6g}, input acc {s.input_acc:.6g}, output {s.output:.6g}",
        f"  calibration: {summary['calibration_sequences']} sequences x "
        f"{summary['calibration_steps']} steps, |h| max {summary['state_abs_max']:.6g}, "
        f"range used {summary['state_range_used']:.6g} (percentile {summary['percentile']:g})",
        f"  expected saturation rate (calibration data): "
        f"{summary['calibration_saturation_rate']:.3%}",
    ]
    if ir.input.kind == "token":
        table_bits = ir.input.size * ir.hidden_size * w.input_acc
        lines.append(f"  token table (U column + b per token, the ROM): {ir.input.size} x "
                     f"{ir.hidden_size} words of {w.input_acc} bits = {table_bits:,} bits "
                     f"({table_bits / 8192:,.1f} KiB)")
    if ir.output_requant is not None:
        o = ir.output_requant
        lines.append(f"  output requant: y' = sat{o.bits}(round_shift(y*{o.mult}, {o.shift}))")
    return "\n".join(lines)


def _lowering_lines(lowering: dict | None) -> list[str]:
    if not lowering or lowering.get("state_scale") != "pow2":
        return []
    horizon = lowering["gain_horizon_steps"]
    return [f"  lean requant: M_a = 2^{lowering['input_mult_log2']}, M_r with "
            f"{lowering['rotate_digits']} CSD digit(s); state range uses "
            f"{lowering['state_range_bits_used']:.2f} of its bits; gain drift below one "
            f"state step for " + ("every step count" if horizon is None
                                  else f"{horizon} step(s)")]
