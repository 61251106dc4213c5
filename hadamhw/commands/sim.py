"""`hadamhw sim`: simulate generated hardware against the golden model, bit-exact."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hadamhw.backends.manifest import read_design_manifest
from hadamhw.commands.common import add_lowering_arguments, load_ir
from hadamhw.errors import HadamhwError

COCOTB_SEQUENCES = 20
BATCH_SEQUENCES = 1000


def register(sub) -> None:
    from hadamhw.backends import FOLDS
    from hadamhw.verify.cocotb_sim import SIMULATORS

    p = sub.add_parser(
        "sim", help="simulate the generated hardware and compare it with the golden model",
        description="Generate the Verilog for a model (or take a 'hadamhw generate' folder), "
                    "stream random sequences (or the task's test inputs) through it and "
                    "compare every output word, the argmax and tlast with the golden model. "
                    "Exit status 0: bit-exact; 1: a mismatch.")
    p.add_argument("model", help="model.pt (lowered on the fly), model.ir.json, or a folder "
                                 "written by 'hadamhw generate' (Verilog or HLS)")
    p.add_argument("--sequences", type=int, default=None,
                   help=f"sequences to simulate (default {COCOTB_SEQUENCES}, "
                        f"{BATCH_SEQUENCES} with --batch)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the random sequences, input gaps and back-pressure")
    p.add_argument("--min-steps", type=int, default=1, help="shortest random sequence (1)")
    p.add_argument("--max-steps", type=int, default=16, help="longest random sequence (16)")
    p.add_argument("--task-data", action="store_true",
                   help="simulate the first --sequences test inputs of the model's task "
                        "instead of random sequences")
    p.add_argument("--simulator", choices=SIMULATORS, default="verilator",
                   help="cocotb simulator (default verilator)")
    p.add_argument("--batch", action="store_true",
                   help="fast direct Verilator C++ harness instead of cocotb (many sequences)")
    p.add_argument("--no-gaps", action="store_true",
                   help="stream at full rate: no input gaps, no output back-pressure")
    p.add_argument("--waves", nargs="?", const="", default=None, metavar="FILE",
                   help="write waveforms (cocotb only; default <top>.vcd for Verilator, "
                        "<top>.fst for Icarus, in --build-dir or the current folder)")
    p.add_argument("--fold", choices=FOLDS, default=None,
                   help="fold of the generated design (default parallel; a design folder "
                        "keeps its own)")
    p.add_argument("--build-dir", default=None, metavar="DIR",
                   help="keep the generated design and the simulator builds here "
                        "(default: a temporary design and the user cache)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_lowering_arguments(p)
    p.set_defaults(func=run)


def _check_args(args) -> None:
    if args.sequences is not None and args.sequences < 1:
        raise HadamhwError(f"--sequences must be >= 1, got {args.sequences}")
    if args.min_steps < 1:
        raise HadamhwError(f"--min-steps must be >= 1, got {args.min_steps}")
    if args.max_steps < args.min_steps:
        raise HadamhwError(f"--max-steps ({args.max_steps}) is below --min-steps "
                           f"({args.min_steps})")
    if args.batch and args.simulator != "verilator":
        raise HadamhwError("--batch runs the Verilator C++ harness; drop --simulator "
                           f"{args.simulator} or --batch")
    if args.batch and args.waves is not None:
        raise HadamhwError("--waves needs the cocotb simulation; drop --batch")


def _design_ir(design_dir: Path, manifest: dict, args):
    from hadamhw.ir.schema import IntegerRNN

    if args.state_bits is not None:
        raise HadamhwError("--state-bits applies when lowering a checkpoint; a design folder "
                           "has its widths fixed (run 'hadamhw generate' again)")
    path = design_dir / manifest.get("ir", "model.ir.json")
    if not path.is_file():
        raise HadamhwError(f"{design_dir}: the IR copy '{path.name}' is missing")
    return IntegerRNN.load(path)


def _stimulus(ir, args, count: int):
    from hadamhw.verify.stimulus import expected, make_stimulus

    if not args.task_data:
        return make_stimulus(ir, sequences=count, seed=args.seed, min_steps=args.min_steps,
                             max_steps=args.max_steps)
    from hadamhw.ir.encode import encode_inputs
    from hadamhw.tasks import task_from_metadata

    meta = ir.meta.get("task")
    if not meta:
        raise HadamhwError("--task-data: the model records no task (lower a checkpoint "
                           "trained by 'hadamhw train')")
    task = task_from_metadata(meta, data=args.data)
    x, _ = task.split("test")
    x = encode_inputs(ir, x[:count])
    return expected(ir, [x[i] for i in range(len(x))])


def run(args) -> int:
    from hadamhw.backends import GenerateOptions

    _check_args(args)
    path = Path(args.model)
    if not path.exists():
        raise HadamhwError(f"{path}: no such file or folder")
    build_root = Path(args.build_dir) if args.build_dir else None
    count = args.sequences or (BATCH_SEQUENCES if args.batch else COCOTB_SEQUENCES)
    with tempfile.TemporaryDirectory(prefix="hadamhw-sim-") as tmp:
        if path.is_dir():
            design_dir = path
            manifest = read_design_manifest(design_dir)
            if args.fold is not None and manifest.get("fold") not in (None, args.fold):
                raise HadamhwError(f"{design_dir} was generated with fold "
                                   f"{manifest.get('fold')!r}, not {args.fold!r}; run "
                                   "'hadamhw generate' again or drop --fold")
            ir = _design_ir(design_dir, manifest, args)
        else:
            ir = load_ir(path, args)
            options = GenerateOptions(fold=args.fold or "parallel")
            options.validate()
            design_dir = (build_root / "design") if build_root else Path(tmp) / "design"
            from hadamhw.backends.verilog import generate

            manifest = generate(ir, design_dir, options)
        stimulus = _stimulus(ir, args, count)
        result = _simulate(design_dir, manifest, stimulus, args, build_root)
    _report(result, args)
    return 0 if result.ok else 1


def _simulate(design_dir: Path, manifest: dict, stimulus, args, build_root: Path | None):
    gaps = not args.no_gaps
    if manifest.get("target") == "hls":
        if args.batch or args.waves is not None:
            raise HadamhwError(f"{design_dir} is an HLS design: it is checked by C simulation "
                               "(drop --batch / --waves)")
        from hadamhw.verify.csim import run_csim

        return run_csim(design_dir, stimulus,
                        build_dir=None if build_root is None else build_root / "csim")
    if args.batch:
        from hadamhw.verify.verilator_batch import run_batch

        batch_dir = None if build_root is None else build_root / "batch"
        return run_batch(design_dir, stimulus, build_dir=batch_dir, seed=args.seed, gaps=gaps)
    from hadamhw.verify.cocotb_sim import run_cocotb

    waves = None
    if args.waves is not None:
        default = f"{manifest.get('top', 'hadamrnn')}." + \
            ("vcd" if args.simulator == "verilator" else "fst")
        waves = Path(args.waves or (build_root or Path.cwd()) / default)
        args.waves_path = str(waves)
    return run_cocotb(design_dir, stimulus, simulator=args.simulator, seed=args.seed,
                      gaps=gaps, waves=waves,
                      build_dir=None if build_root is None else build_root / "cocotb")


def _report(result, args) -> None:
    # A failing run stops at its first mismatch: a rate over all steps would be wrong.
    rate = result.steps / result.seconds if result.seconds and result.ok else None
    if args.json:
        out = result.to_dict()
        out["steps_per_second"] = None if rate is None else round(rate, 1)
        first = result.mismatches[0] if result.mismatches else None
        out["first_mismatch_at"] = None if first is None else {
            "sequence": first.sequence, "step": first.step, "index": first.index}
        out["waves"] = getattr(args, "waves_path", None)
        print(json.dumps(out, indent=2))
        return
    print(f"simulator: {result.simulator}")
    print(f"  sequences: {result.sequences}, time steps: {result.steps}, "
          f"outputs checked: {result.outputs_checked}")
    if rate is not None:
        cycles = f", {result.cycles} cycles" if result.cycles is not None else ""
        print(f"  simulation: {result.seconds:.3f} s{cycles}, {rate:,.0f} time-steps/s")
    if getattr(args, "waves_path", None):
        print(f"  waves: {args.waves_path}")
    if result.ok:
        print("  mismatches: 0 (bit-exact)")
        return
    if not result.mismatches:
        print("  FAILED: no outputs were checked")
        return
    print(f"  mismatches: {len(result.mismatches)}")
    for m in result.mismatches[:10]:
        print(f"  MISMATCH {m.describe()}")
    if len(result.mismatches) > 10:
        print(f"  ... and {len(result.mismatches) - 10} more")

