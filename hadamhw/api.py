"""Python API for notebooks and scripts: the CLI's flow as functions and a Design object.

    import hadamhw
    ir = hadamhw.load("copy.pt")                       # lower a checkpoint (or read an IR)
    design = hadamhw.generate(ir, "rtl/")              # Verilog (target="hls": HLS C++)
    y = design.predict(x)                              # the compiled hardware model's integers
    assert (y == design.golden(x)).all()               # the golden model's, bit for bit

`predict` runs the Verilator batch harness for a Verilog design and the g++ C simulation for
an HLS design (hadamhw.verify.predict); `simulate` and `report` are `hadamhw sim` and
`hadamhw report`. Every error is a HadamhwError with a one-line message.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN

__all__ = ["Design", "generate", "load", "lower", "open_design"]


def lower(checkpoint: str | Path, *, state_bits: int = 12, calib: int = 512,
          calib_data: str | Path | None = None, percentile: float = 100.0,
          precision: int = 16, output_bits: int | None = None,
          data: str | Path | None = None, state_scale: str = "pow2",
          rotate_digits: int | None = None) -> IntegerRNN:
    """Lower a checkpoint written by `hadamhw train` (or `import-ref`) to the integer IR.

    The options are `hadamhw lower`'s: calibration on `calib` sequences of the checkpoint's
    task (or the inputs in `calib_data`, a .npy file), state width `state_bits`, the state
    scale (`pow2` or `calibrated`), the CSD digits of M_r for odd log2 m
    (`rotate_digits`, None: the default), ...
    """
    from hadamhw.commands.common import lower_checkpoint

    path = Path(checkpoint)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such checkpoint")
    args = argparse.Namespace(state_bits=state_bits, calib=calib,
                              calib_data=None if calib_data is None else str(calib_data),
                              percentile=percentile, precision=precision,
                              output_bits=output_bits, data=None if data is None else str(data),
                              state_scale=state_scale, rotate_digits=rotate_digits)
    return lower_checkpoint(path, args)[0]


def load(path: str | Path, **lowering) -> IntegerRNN:
    """An IR from a .ir.json file, or lowered from a checkpoint (options: see `lower`)."""
    from hadamhw.commands.inputs import IR, input_kind

    path = Path(path)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such file")
    if input_kind(path) == IR:
        if lowering:
            raise HadamhwError(f"{path} is an IR: lowering options "
                               f"({', '.join(sorted(lowering))}) apply to checkpoints only")
        return IntegerRNN.load(path)
    return lower(path, **lowering)


def _as_ir(model: IntegerRNN | str | Path) -> IntegerRNN:
    return model if isinstance(model, IntegerRNN) else load(model)


def generate(model: IntegerRNN | str | Path, output: str | Path | None = None, *,
             target: str = "verilog", fold: str | int = "parallel", recurrent: str = "fwht",
             top: str = "hadamrnn", streams: int | str = 1, pipeline: int | str = "none",
             target_mhz: float | None = None) -> Design:
    """Generate Verilog or HLS C++ for an IR (or an IR file, or a checkpoint).

    output: the design folder; None writes into a temporary folder that lives as long as the
    returned Design. fold: "parallel", "stage" or a number F of butterfly units (a power of
    two up to n/2; the vectors then live in block RAM). streams, pipeline, target_mhz: as
    `hadamhw generate --streams P --pipeline none|auto|N --target-mhz F` (interleaved
    sequences, pipeline registers).
    """
    from hadamhw.backends import TARGET_MHZ, GenerateOptions, get_backend

    ir = _as_ir(model)
    options = GenerateOptions(fold=fold, recurrent=recurrent, top=top, streams=streams,
                              pipeline=pipeline,
                              target_mhz=TARGET_MHZ if target_mhz is None else target_mhz)
    options.validate()
    backend = get_backend(target)
    temporary = None
    if output is None:
        temporary = tempfile.TemporaryDirectory(prefix="hadamhw-design-")
        output = temporary.name
    backend.generate(ir, Path(output), options)
    design = open_design(output)
    design._temporary = temporary
    return design


def open_design(path: str | Path) -> Design:
    """A folder written by `hadamhw generate` (or `generate` here)."""
    return Design(path)


class Design:
    """A generated design folder: its manifest, its IR, and the tools that run it."""

    def __init__(self, path: str | Path) -> None:
        from hadamhw.backends.manifest import read_design_manifest

        self.path = Path(path)
        self.manifest = read_design_manifest(self.path, fields=("top",))
        self.target = self.manifest.get("target", "verilog")
        ir_path = self.path / self.manifest.get("ir", "model.ir.json")
        if not ir_path.is_file():
            raise HadamhwError(f"{self.path}: the IR copy '{ir_path.name}' is missing")
        self.ir = IntegerRNN.load(ir_path)
        self._temporary = None  # a TemporaryDirectory owned by this object, if any
        self.last_prediction = None

    def __repr__(self) -> str:
        m = self.manifest
        return (f"Design({str(self.path)!r}, target={self.target!r}, top={m['top']!r}, "
                f"n={self.ir.hidden_size}, m={self.ir.block_size}, "
                f"fold={m.get('fold', 'parallel')!r})")

    @property
    def top(self) -> str:
        return self.manifest["top"]

    @property
    def files(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    def predict(self, x, *, return_argmax: bool = False,
                build_dir: str | Path | None = None):
        """The hardware model's integer outputs for a batch x.

        x: (batch, steps) token ids or (batch, steps, inputs) integers (float arrays are
        quantized with the IR's input scale). Returns outputs shaped like the golden model's:
        (batch, steps, outputs) for readout 'every', (batch, outputs) for 'last'; with
        return_argmax, (outputs, argmax). A Verilog design runs compiled by Verilator (the
        first call builds it, later calls reuse the build), an HLS design in its C simulation.
        """
        from hadamhw.verify.predict import predict

        result = predict(self.path, x, build_dir=build_dir)
        self.last_prediction = result
        return (result.outputs, result.argmax) if return_argmax else result.outputs

    def golden(self, x, *, return_argmax: bool = False):
        """The golden model's integer outputs for the same batch (the reference of predict)."""
        from hadamhw.ir.golden import run
        from hadamhw.verify.predict import integer_batch

        res = run(self.ir, integer_batch(self.ir, x))
        outputs, argmax = np.asarray(res.outputs), np.asarray(res.argmax)
        return (outputs, argmax) if return_argmax else outputs

    def simulate(self, sequences: int = 1000, *, seed: int = 0, min_steps: int = 1,
                 max_steps: int = 16, cocotb: bool = False, simulator: str = "verilator",
                 gaps: bool = True, jobs: int = 1):
        """`hadamhw sim`: random sequences against the golden model; a CheckResult.

        Verilog designs run in the Verilator batch harness (cocotb=True: the cocotb bench on
        `simulator`), HLS designs in the C simulation. jobs: batch harness processes side
        by side, each on a share of the sequences (`sim --batch --jobs`).
        """
        from hadamhw.ir.stimulus import make_stimulus

        stimulus = make_stimulus(self.ir, sequences=sequences, seed=seed,
                                 min_steps=min_steps, max_steps=max_steps)
        if self.target == "hls":
            from hadamhw.verify.csim import run_csim

            return run_csim(self.path, stimulus)
        if cocotb:
            from hadamhw.verify.cocotb_sim import run_cocotb

            return run_cocotb(self.path, stimulus, simulator=simulator, seed=seed, gaps=gaps)
        from hadamhw.verify.verilator_batch import run_batch

        return run_batch(self.path, stimulus, seed=seed, gaps=gaps, jobs=jobs)

    def report(self, fpga: str = "generic", *, pnr: bool = False,
               freq_mhz: float | None = None, progress: bool = False) -> dict:
        """`hadamhw report`: Yosys (and with pnr, nextpnr) cost of a Verilog design."""
        if self.target != "verilog":
            raise HadamhwError(f"{self.path}: report synthesizes Verilog designs; this one is "
                               f"{self.target}")
        from hadamhw.report import make_report

        return make_report(self.path, fpga, pnr=pnr, progress=progress, freq_mhz=freq_mhz)
