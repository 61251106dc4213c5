"""hadamhw: HadamRNN / Block-HadamRNN from training to bit-exact hardware."""

__version__ = "0.1.0"
