"""HadamRNN / Block-HadamRNN: h_t = W h_{t-1} + U x_t + b, y_t = V relu(h_t) + c."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from hadamhw.errors import HadamhwError
from hadamhw.nn import fused
from hadamhw.nn.hadamard import HadamardRecurrent, check_block_size
from hadamhw.nn.quant import QuantLinear, check_bits

MODES = ("linear", "vanilla")
READOUTS = ("every", "last")
INPUT_KINDS = ("real", "onehot", "embedding")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored verbatim in checkpoints.

    input_kind: 'real' feeds float vectors of input_size; 'onehot' feeds token ids in
    [0, input_size); 'embedding' feeds token ids in [0, vocab_size) through a float
    embedding table of width input_size.
    """

    input_size: int
    hidden_size: int
    output_size: int
    block_size: int | None = None
    weight_bits: int | None = 4
    mode: str = "linear"
    readout: str = "every"
    input_kind: str = "real"
    vocab_size: int | None = None
    padding_idx: int | None = None  # embedding row held at zero (nn.Embedding padding_idx)
    bias: bool = True
    output_bias: bool = True
    quantize_output: bool = True  # False keeps V in float (the reference's QOUTPUT: false)

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size", "output_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise HadamhwError(
                    f"model config: {name} must be a positive integer, got {value!r}")
        check_block_size(self.hidden_size, self.m)
        check_bits(self.weight_bits)
        if self.mode not in MODES:
            raise HadamhwError(f"model config: mode must be one of {MODES}, got {self.mode!r}")
        if self.readout not in READOUTS:
            raise HadamhwError(
                f"model config: readout must be one of {READOUTS}, got {self.readout!r}"
            )
        if self.input_kind not in INPUT_KINDS:
            raise HadamhwError(
                f"model config: input_kind must be one of {INPUT_KINDS}, got {self.input_kind!r}"
            )
        if self.input_kind == "embedding" and (
            not isinstance(self.vocab_size, int) or self.vocab_size < 1
        ):
            raise HadamhwError("model config: input_kind 'embedding' needs a positive vocab_size")
        if self.padding_idx is not None and (
            self.input_kind != "embedding" or not 0 <= self.padding_idx < self.vocab_size
        ):
            raise HadamhwError("model config: padding_idx needs input_kind 'embedding' and "
                               f"must lie in [0, vocab_size), got {self.padding_idx!r}")

    @property
    def m(self) -> int:
        return self.hidden_size if self.block_size is None else self.block_size

    @property
    def num_tokens(self) -> int | None:
        """Size of the token alphabet for token inputs, None for real inputs."""
        if self.input_kind == "onehot":
            return self.input_size
        if self.input_kind == "embedding":
            return self.vocab_size
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HadamhwError(f"model config: unknown field(s) {unknown}")
        return cls(**data)


class HadamRNN(nn.Module):
    def __init__(self, config: ModelConfig, use_fwht: bool = True) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = (
            nn.Embedding(c.vocab_size, c.input_size, padding_idx=c.padding_idx)
            if c.input_kind == "embedding" else None
        )
        self.input_layer = QuantLinear(c.input_size, c.hidden_size, c.weight_bits, bias=False)
        self.recurrent = HadamardRecurrent(c.hidden_size, c.m, bias=c.bias, use_fwht=use_fwht)
        self.output_layer = QuantLinear(c.hidden_size, c.output_size,
                                        c.weight_bits if c.quantize_output else None,
                                        bias=c.output_bias)

    def _token_ids(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise HadamhwError(f"expected token ids of shape (batch, steps), got {tuple(x.shape)}")
        return x.long()

    def _onehot_table(self) -> torch.Tensor:
        """U_q transposed, (d_in, n): one-hot token k times U is row k. Made contiguous
        (small): gathering rows of the transposed view is several times slower."""
        return self.input_layer.quantized_weight().T.contiguous()

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """U x_t for every step: (B, T, n)."""
        c = self.config
        if c.input_kind == "real":
            if x.dim() != 3 or x.shape[-1] != c.input_size:
                raise HadamhwError(
                    f"expected real inputs of shape (batch, steps, {c.input_size}), "
                    f"got {tuple(x.shape)}"
                )
            return self.input_layer(x.to(self.input_layer.weight.dtype))
        ids = self._token_ids(x)
        if c.input_kind == "onehot":
            return nn.functional.embedding(ids, self._onehot_table())
        return self.input_layer(self.embedding(ids))

    def states(self, x: torch.Tensor, relu_out: bool = False) -> torch.Tensor:
        """h_1..h_T (B, T, n) for inputs x: h_t = act(W h_{t-1} + U x_t + b), h_0 = 0; relu(h_t)
        instead when relu_out (the readout's input).

        The FWHT path runs the fused recurrence (hadamhw.nn.fused: the whole loop in C++,
        for one-hot inputs with the lookup of U x_t inside it) where it applies, else this
        Python loop; the dense path (use_fwht=False) always loops.
        """
        rec = self.recurrent
        vanilla = self.config.mode == "vanilla"
        scaled_signs = rec.signs() * rec.scale
        if rec.use_fwht and self.config.input_kind == "onehot":
            ids, table = self._token_ids(x), self._onehot_table()
            if fused.usable(table, scaled_signs, rec.bias, tokens=ids):
                return fused.recurrence(table, scaled_signs, rec.bias, rec.block_size, vanilla,
                                        relu_out, tokens=ids)
            drive = nn.functional.embedding(ids, table)
        else:
            drive = self.input_projection(x)
        if rec.use_fwht and fused.usable(drive, scaled_signs, rec.bias):
            return fused.recurrence(drive, scaled_signs, rec.bias, rec.block_size, vanilla,
                                    relu_out)
        if rec.bias is not None:
            drive = drive + rec.bias
        batch, steps, n = drive.shape
        h = drive.new_zeros(batch, n)
        states = []
        # unbind once: indexing drive[:, t] inside the loop would make every step's backward
        # scatter into a zeroed (batch, steps, n) tensor, quadratic in the sequence length.
        for drive_t in drive.unbind(1):
            h = rec.rotate(h, scaled_signs) + drive_t
            if vanilla:
                h = torch.relu(h)
            states.append(h)
        hs = torch.stack(states, dim=1)
        return torch.relu(hs) if relu_out else hs

    def forward(self, x: torch.Tensor, return_states: bool = False):
        """Logits (B, T, d_out) for readout 'every', (B, d_out) for 'last'."""
        if self.config.readout == "every" and not return_states:
            # the readout needs relu(h_t) only, which the fused recurrence returns directly
            return self.output_layer(self.states(x, relu_out=True))
        hs = self.states(x)
        readout_in = hs if self.config.readout == "every" else hs[:, -1]
        logits = self.output_layer(torch.relu(readout_in))
        return (logits, hs) if return_states else logits
