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

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.design import DesignFolder
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN

__all__ = ["Design", "generate", "load", "lower", "open_design"]


@dataclass
class Lowered:
    """What lowering a checkpoint gives: the IR, the summary of its choices, the float model
    and the task it was trained on (None when the checkpoint names none)."""

    ir: IntegerRNN
    summary: dict
    model: object
    task: object


def lower_checkpoint(checkpoint: str | Path, *, state_bits: int | None = None,
                     calib: int = 512, calib_data: str | Path | None = None,
                     percentile: float = 100.0, precision: int = 16,
                     output_bits: int | None = None, data: str | Path | None = None,
                     state_scale: str = "pow2", rotate_digits: int | None = None,
                     command: str = "lower") -> Lowered:
    """Lower a checkpoint with `hadamhw lower`'s options (see `lower`); command names the
    caller in the errors."""
    from hadamhw.inputs import expect_checkpoint

    path = Path(checkpoint)
    expect_checkpoint(path, command)  # before torch is imported: an IR is refused without it
    from hadamhw.checkpoint import load_checkpoint
    from hadamhw.ir.lower import DEFAULT_STATE_BITS, LoweringSettings, calibration_inputs, lower
    from hadamhw.ir.requant import DEFAULT_ROTATE_DIGITS
    from hadamhw.tasks import task_from_metadata

    settings = LoweringSettings(
        state_bits=DEFAULT_STATE_BITS if state_bits is None else state_bits,
        calib=calib, precision=precision, percentile=percentile, output_bits=output_bits,
        state_scale=state_scale,
        rotate_digits=DEFAULT_ROTATE_DIGITS if rotate_digits is None else rotate_digits)
    model, payload = load_checkpoint(path)
    task_meta = payload.get("task")
    task = task_from_metadata(task_meta, data=None if data is None else str(data)) \
        if task_meta else None
    if calib_data:
        calib_x = _calibration_file(Path(calib_data), model)
    elif task is not None:
        calib_x = calibration_inputs(task, settings.calib, settings.seed)
    else:
        raise HadamhwError(f"{path}: the checkpoint names no task to calibrate on; "
                           "give --calib-data FILE.npy")
    input_quant = None
    if task is not None and task.input_quant is not None:
        input_quant = task.input_quant.to_dict()
    meta = {"name": path.stem, "source": path.name, "task": task_meta}
    ir, summary = lower(model, calib_x, settings, input_quant=input_quant, meta=meta)
    return Lowered(ir, summary, model, task)


def _calibration_file(path: Path, model):
    """The calibration inputs of a .npy file; an empty array is one line, not a traceback."""
    from hadamhw.ir.lower import load_calibration_file

    try:
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (OSError, ValueError) as exc:
        raise HadamhwError(f"{path}: cannot read calibration array ({exc})") from None
    if not shape or 0 in shape:
        raise HadamhwError(f"{path}: the calibration array holds no inputs (shape {shape}); "
                           "give at least one sequence of at least one step")
    return load_calibration_file(path, model)


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
    path = Path(checkpoint)
    if not path.is_file():
        raise HadamhwError(f"{path}: no such checkpoint")
    return lower_checkpoint(path, state_bits=state_bits, calib=calib, calib_data=calib_data,
                            percentile=percentile, precision=precision,
                            output_bits=output_bits, data=data, state_scale=state_scale,
                            rotate_digits=rotate_digits).ir


def load(path: str | Path, **lowering) -> IntegerRNN:
    """An IR from a .ir.json file, or lowered from a checkpoint (options: see `lower`)."""
    from hadamhw.inputs import IR, input_kind

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
             target_mhz: float | None = None, cmvm: str = "da4ml",
             readout_lanes: int | None = None, force: bool = False,
             max_memory_gb: float | None = None, token_table: str = "rom",
             axi_data_bits: int = 64, token_table_base: int = 0,
             mem_gbps: float = 12.8) -> Design:
    """Generate Verilog or HLS C++ for an IR (or an IR file, or a checkpoint).

    output: the design folder, written atomically (hadamhw.design); None writes into a
    temporary folder that lives as long as the returned Design. A non-empty folder that
    holds no design is refused unless force. fold: "parallel", "stage" or a number F of
    butterfly units (a power of two up to n/2; the vectors then live in block RAM). streams,
    pipeline, target_mhz, cmvm, readout_lanes: as `hadamhw generate --streams P --pipeline
    none|auto|N --target-mhz F --cmvm C --readout-lanes L`. max_memory_gb: refuse a design
    whose estimated generator memory is larger (default hadamhw.design.MAX_MEMORY_GB).
    token_table, axi_data_bits, token_table_base, mem_gbps: as `hadamhw generate
    --token-table rom|external --axi-data-bits D --token-table-base ADDR --mem-gbps G`.
    """
    from hadamhw.backends import TARGET_MHZ, GenerateOptions
    from hadamhw.design import (
        check_design_folder,
        check_size,
        check_top_name,
        render_design,
        write_design,
    )

    if output is not None:
        check_design_folder(output, force=force)  # before any work
    ir = _as_ir(model)
    options = GenerateOptions(fold=fold, recurrent=recurrent, top=top, streams=streams,
                              pipeline=pipeline, cmvm=cmvm, readout_lanes=readout_lanes,
                              target_mhz=TARGET_MHZ if target_mhz is None else target_mhz,
                              token_table=token_table, axi_data_bits=axi_data_bits,
                              token_table_base=token_table_base, mem_gbps=mem_gbps)
    options.validate()
    check_top_name(top, target)
    check_size(ir, target, options, max_memory_gb)
    files = render_design(ir, target, options)
    temporary = None
    if output is None:
        temporary = tempfile.TemporaryDirectory(prefix="hadamhw-design-")
        output = temporary.name
    design = Design(write_design(files, output, force=force))
    design._temporary = temporary
    return design


def open_design(path: str | Path, *, strict: bool = False) -> Design:
    """A folder written by `hadamhw generate` (or `generate` here). Files changed since
    generation are in `modified_files` (a warning names them); strict: an error instead."""
    design = Design(path, strict=strict)
    for note in design.notes():
        warnings.warn(note, stacklevel=2)
    return design


class Design(DesignFolder):
    """A generated design folder (hadamhw.design.DesignFolder: its manifest, its checked
    files, its IR) and the tools that run it."""

    def __init__(self, path: str | Path, *, strict: bool = False) -> None:
        super().__init__(path, strict=strict)
        self.require(fields=("top",))
        self.ir  # noqa: B018 -- read now: a missing or broken IR copy fails open_design
        self._temporary = None  # a TemporaryDirectory owned by this object, if any
        self.last_prediction = None

    def __repr__(self) -> str:
        m = self.manifest
        return (f"Design({str(self.path)!r}, target={self.target!r}, top={m['top']!r}, "
                f"n={self.ir.hidden_size}, m={self.ir.block_size}, "
                f"fold={m.get('fold', 'parallel')!r})")

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

        result = predict(self, x, build_dir=build_dir)
        self.last_prediction = result
        return (result.outputs, result.argmax) if return_argmax else result.outputs

    def golden(self, x, *, return_argmax: bool = False):
        """The golden model's integer outputs for the same batch (the reference of predict)."""
        from hadamhw.verify.predict import golden_outputs

        return golden_outputs(self.ir, x, return_argmax=return_argmax)

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

            return run_csim(self, stimulus)
        if cocotb:
            from hadamhw.verify.cocotb_sim import run_cocotb

            return run_cocotb(self, stimulus, simulator=simulator, seed=seed, gaps=gaps)
        from hadamhw.verify.verilator_batch import run_batch

        return run_batch(self, stimulus, seed=seed, gaps=gaps, jobs=jobs)

    def prove(self, *, depth: int = 4, timeout: int = 600, solver: str = "yices",
              induction: bool = False) -> dict:
        """`hadamhw prove`: the design's properties proved against its IR (the JSON report;
        its "proved" is true when every property is). Single-cycle designs only, for now."""
        from hadamhw.prove.run import prove, report

        return report(prove(self.path, depth=depth, timeout=timeout, solver=solver,
                            induction=induction))

    def report(self, fpga: str = "generic", *, pnr: bool = False,
               freq_mhz: float | None = None, progress: bool = False) -> dict:
        """`hadamhw report`: Yosys (and with pnr, nextpnr) cost of a Verilog design."""
        if self.target != "verilog":
            raise HadamhwError(f"{self.path}: report synthesizes Verilog designs; this one is "
                               f"{self.target}")
        from hadamhw.report import make_report

        return make_report(self, fpga, pnr=pnr, progress=progress, freq_mhz=freq_mhz)


def sweep(spec: str | Path, results: str | Path, *, jobs: int = 1, engine: str = "local",
          address: str | None = None, limit: int | None = None, quiet: bool = True,
          retry_failed: bool = False):
    """`hadamhw sweep SPEC -o RESULTS`: run a sweep spec's trials (docs/sweep.md) into
    RESULTS/results.sqlite; a SweepSummary (trials run, finished before, failed, left)."""
    from hadamhw.report.sweep.run import SweepRun, run_sweep
    from hadamhw.report.sweep.spec import load_spec

    how = SweepRun(jobs=jobs, engine=engine, address=address, limit=limit, quiet=quiet,
                   retry_failed=retry_failed)
    return run_sweep(load_spec(spec), results, how, lower=load)
