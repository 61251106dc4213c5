"""`hadamhw sim`: simulate generated hardware against the golden model, bit-exact."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hadamhw.commands.common import (
    add_lowering_arguments,
    add_strict_argument,
    load_ir,
    open_design_folder,
)
from hadamhw.commands.inputs import DESIGN, FOLDER, expect_model, input_kind
from hadamhw.commands.options import COUNT, SEED, fold_option
from hadamhw.commands.paths import check_output_file, check_output_folder, user_path
from hadamhw.errors import HadamhwError

COCOTB_SEQUENCES = 20
BATCH_SEQUENCES = 1000


def register(sub) -> None:
    from hadamhw.verify.cocotb_sim import SIMULATORS

    p = sub.add_parser(
        "sim", help="simulate the generated hardware and compare it with the golden model",
        description="Generate the Verilog for a model (or take a 'hadamhw generate' folder), "
                    "stream random sequences (or the task's test inputs) through it and "
                    "compare every output word, the argmax and tlast with the golden model. "
                    "A design folder's files are checked against the digests in its "
                    "manifest: a changed file is named (and simulated as it is).")
    p.add_argument("model", type=user_path,
                   help="model.pt (lowered on the fly), model.ir.json, or a folder written by "
                        "'hadamhw generate' (Verilog or HLS)")
    p.add_argument("--sequences", type=COUNT, default=None,
                   help=f"sequences to simulate (default {COCOTB_SEQUENCES}, "
                        f"{BATCH_SEQUENCES} with --batch)")
    p.add_argument("--seed", type=SEED, default=0,
                   help="seed of the random sequences, input gaps and back-pressure")
    p.add_argument("--min-steps", type=COUNT, default=1, help="shortest random sequence (1)")
    p.add_argument("--max-steps", type=COUNT, default=16, help="longest random sequence (16)")
    p.add_argument("--task-data", action="store_true",
                   help="simulate the first --sequences test inputs of the model's task "
                        "instead of random sequences")
    p.add_argument("--simulator", choices=SIMULATORS, default="verilator",
                   help="cocotb simulator (default verilator)")
    p.add_argument("--batch", action="store_true",
                   help="fast direct Verilator C++ harness instead of cocotb (many sequences)")
    p.add_argument("--jobs", type=COUNT, default=1, metavar="J",
                   help="--batch: run J harness processes side by side, each on a share of "
                        "the sequences (default 1; up to the free cores)")
    p.add_argument("--no-gaps", action="store_true",
                   help="stream at full rate: no input gaps, no output back-pressure")
    p.add_argument("--waves", nargs="?", type=_waves_path, const="", default=None,
                   metavar="FILE",
                   help="write waveforms (cocotb only; default <top>.vcd for Verilator, "
                        "<top>.fst for Icarus, in --build-dir or the current folder)")
    p.add_argument("--fold", type=fold_option, default=None, metavar="FOLD",
                   help="fold of the generated design (default parallel; a design folder "
                        "keeps its own)")
    p.add_argument("--build-dir", type=user_path, default=None, metavar="DIR",
                   help="keep the generated design and the simulator builds here "
                        "(default: a temporary design and the user cache)")
    p.add_argument("--stimulus", type=user_path, default=None, metavar="FILE",
                   help="replay a cycle stimulus (the counterexample.json 'hadamhw prove' "
                        "writes for a failed property) on a design folder, cycle by cycle, "
                        "in cocotb or with --batch in the batch harness; every cycle's "
                        "outputs are compared with the spec (exit 1 on a mismatch)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_strict_argument(p)
    add_lowering_arguments(p)
    p.set_defaults(func=run)


def _waves_path(text: str) -> str:
    """--waves FILE as an absolute path; bare --waves ("") picks the default name later."""
    return user_path(text) if text else ""


def _check_args(args) -> None:
    if args.max_steps < args.min_steps:
        raise HadamhwError(f"--max-steps ({args.max_steps}) is below --min-steps "
                           f"({args.min_steps})")
    if args.batch and args.simulator != "verilator":
        raise HadamhwError("--batch runs the Verilator C++ harness; drop --simulator "
                           f"{args.simulator} or --batch")
    if args.batch and args.waves is not None:
        raise HadamhwError("--waves needs the cocotb simulation; drop --batch")
    if args.jobs != 1 and not args.batch:
        raise HadamhwError(f"--jobs {args.jobs} shares the sequences between batch harness "
                           "processes; add --batch or drop --jobs")


def _folder_design(design, args):
    """A design folder given to sim: its fold must be the one asked for; its IR is fixed."""
    fold = design.manifest.get("fold")
    if args.fold is not None and fold not in (None, args.fold):
        raise HadamhwError(f"{design.path} was generated with fold {fold!r}, not "
                           f"{args.fold!r}; run 'hadamhw generate' again or drop --fold")
    if args.state_bits is not None:
        raise HadamhwError("--state-bits applies when lowering a checkpoint; a design folder "
                           "has its widths fixed (run 'hadamhw generate' again)")
    return design.ir


def _generated_design(ir, args, folder: Path):
    """The Verilog of a model, written into `folder` for this run."""
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import DesignFolder, render_design, write_design

    options = GenerateOptions(fold=args.fold or "parallel")
    options.validate()
    return DesignFolder(write_design(render_design(ir, "verilog", options), folder,
                                     force=True))


def _stimulus(ir, args, count: int):
    from hadamhw.ir.stimulus import expected, make_stimulus

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


def _check_outputs(args, path: Path, design) -> None:
    """Every path the run writes, checked before lowering, building or simulating."""
    if args.build_dir:
        check_output_folder(args.build_dir, "build folder")
    if args.waves is None:
        return
    if not args.waves:
        # the default name needs the top module: the design's, or the generator's default
        top = design.top if design is not None else "hadamrnn"
        ext = "vcd" if args.simulator == "verilator" else "fst"
        args.waves = str(Path(args.build_dir or Path.cwd()) / f"{top}.{ext}")
    check_output_file(args.waves, "waveform file", example="waves.vcd")
    args.waves_before = _file_signature(args.waves)


def _file_signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def run(args) -> int:
    _check_args(args)
    path = Path(args.model)
    kind = input_kind(path)
    if args.stimulus is not None:
        return _replay(args, path, kind)
    design = None
    if kind in (FOLDER, DESIGN):
        design = open_design_folder(path, "sim", args.strict)  # names what a folder lacks
    else:
        expect_model(path, "sim")
    _check_outputs(args, path, design)
    build_root = Path(args.build_dir) if args.build_dir else None
    count = args.sequences or (BATCH_SEQUENCES if args.batch else COCOTB_SEQUENCES)
    with tempfile.TemporaryDirectory(prefix="hadamhw-sim-") as tmp:
        if design is not None:
            ir = _folder_design(design, args)
        else:
            ir = load_ir(path, args, "sim")
            design = _generated_design(
                ir, args, (build_root / "design") if build_root else Path(tmp) / "design")
        stimulus = _stimulus(ir, args, count)
        result = _simulate(design, stimulus, args, build_root)
    _report(result, args, design.modified_files)
    if args.waves is not None and _written_waves(args) is None:
        raise HadamhwError(f"{args.waves}: the simulator wrote no waveform file")
    return 0 if result.ok else 1


def _simulate(design, stimulus, args, build_root: Path | None):
    gaps = not args.no_gaps
    if design.target == "hls":
        if args.batch or args.waves is not None:
            raise HadamhwError(f"{design.path} is an HLS design: it is checked by C simulation "
                               "(drop --batch / --waves)")
        from hadamhw.verify.csim import run_csim

        return run_csim(design, stimulus,
                        build_dir=None if build_root is None else build_root / "csim")
    if args.batch:
        from hadamhw.verify.verilator_batch import run_batch

        batch_dir = None if build_root is None else build_root / "batch"
        return run_batch(design, stimulus, build_dir=batch_dir, seed=args.seed, gaps=gaps,
                         jobs=args.jobs)
    from hadamhw.verify.cocotb_sim import run_cocotb

    waves = None if args.waves is None else Path(args.waves)
    return run_cocotb(design, stimulus, simulator=args.simulator, seed=args.seed,
                      gaps=gaps, waves=waves,
                      build_dir=None if build_root is None else build_root / "cocotb")


def _report(result, args, modified: list[str]) -> None:
    # A failing run stops at its first mismatch: a rate over all steps would be wrong.
    rate = result.steps / result.seconds if result.seconds and result.ok else None
    if args.json:
        out = result.to_dict()
        out["steps_per_second"] = None if rate is None else round(rate, 1)
        first = result.mismatches[0] if result.mismatches else None
        out["first_mismatch_at"] = None if first is None else {
            "sequence": first.sequence, "step": first.step, "index": first.index}
        out["waves"] = _written_waves(args)
        out["modified_files"] = modified
        print(json.dumps(out, indent=2))
        return
    print(f"simulator: {result.simulator}")
    print(f"  sequences: {result.sequences}, time steps: {result.steps}, "
          f"outputs checked: {result.outputs_checked}")
    if rate is not None:
        cycles = f", {result.cycles} cycles" if result.cycles is not None else ""
        print(f"  simulation: {result.seconds:.3f} s{cycles}, {rate:,.0f} time-steps/s")
    if _written_waves(args):
        print(f"  waves: {args.waves}")
    if result.ok:
        print("  mismatches: 0 (bit-exact)")
        return
    if not result.mismatches:
        print("  FAILED: no outputs were checked")
        return
    print(f"  mismatches: {result.mismatch_count}")
    for m in result.mismatches[:10]:
        print(f"  MISMATCH {m.describe()}")
    if result.mismatch_count > 10:
        print(f"  ... and {result.mismatch_count - 10} more")



def _written_waves(args) -> str | None:
    """The waveform file, when one was asked for and this run wrote it."""
    if args.waves is None or not Path(args.waves).is_file():
        return None
    if _file_signature(args.waves) == getattr(args, "waves_before", None):
        return None  # an older file left as it was
    return args.waves


# -- --stimulus: a cycle stimulus replayed ------------------------------------------------
_NOT_WITH_STIMULUS = (("sequences", None), ("task_data", False), ("jobs", 1), ("waves", None),
                      ("no_gaps", False), ("fold", None), ("min_steps", 1), ("max_steps", 16))


def _replay(args, path: Path, kind) -> int:
    """Replay the stimulus on the design folder; exit 1 when an output differs from the
    spec's, 0 when every cycle agrees."""
    from hadamhw.verify.cycle_stimulus import check_for_design, read_cycle_stimulus
    from hadamhw.verify.replay import replay_batch, replay_cocotb

    for name, default in _NOT_WITH_STIMULUS:
        if getattr(args, name) != default:
            raise HadamhwError(f"--{name.replace('_', '-')} does not apply to --stimulus (the "
                               "stimulus fixes every cycle's inputs)")
    if kind not in (FOLDER, DESIGN):
        raise HadamhwError(f"--stimulus replays on a design folder written by 'hadamhw "
                           f"generate'; {path} is not one")
    design = open_design_folder(path, "sim", args.strict)
    if design.target != "verilog":
        raise HadamhwError(f"{design.path} is an HLS design: --stimulus replays Verilog")
    stim = read_cycle_stimulus(args.stimulus)
    check_for_design(stim, args.stimulus, design.design_id, design.ir,
                     int(design.manifest.get("streams", 1) or 1))
    build_root = Path(args.build_dir) if args.build_dir else None
    if args.batch:
        result = replay_batch(design, stim, build_dir=build_root and build_root / "batch")
    else:
        result = replay_cocotb(design, stim, simulator=args.simulator,
                               build_dir=build_root and build_root / "cocotb")
    _replay_report(result, stim, args)
    return 0 if result.ok else 1


def _replay_report(result, stim, args) -> None:
    from dataclasses import asdict

    from hadamhw.verify.replay import describe, report_lines, reproduced

    if not args.json:
        print("\n".join(report_lines(result, stim, args.stimulus)))
        return
    cex = stim.counterexample
    prop = cex.property if cex is not None else "replay"
    hit = reproduced(result, stim)
    print(json.dumps({"simulator": result.simulator, "stimulus": args.stimulus,
                      "cycles": result.cycles, "bit_exact": result.ok,
                      "counterexample": None if cex is None else asdict(cex),
                      "reproduced": None if hit is None else describe(hit, prop),
                      "mismatches": [{**asdict(m), "message": describe(m, prop)}
                                     for m in result.mismatches]}, indent=2))

