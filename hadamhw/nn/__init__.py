"""Torch modules: the Hadamard recurrent weight, QAT linear layers, the RNN."""

from hadamhw.nn.hadamard import HadamardRecurrent, fwht, sylvester
from hadamhw.nn.model import HadamRNN, ModelConfig
from hadamhw.nn.quant import QuantLinear, fake_quantize, quantize_codes

__all__ = [
    "HadamRNN",
    "HadamardRecurrent",
    "ModelConfig",
    "QuantLinear",
    "fake_quantize",
    "fwht",
    "quantize_codes",
    "sylvester",
]
