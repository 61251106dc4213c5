"""`hadamhw csim`: C-simulate a generated HLS design against the golden model."""

from __future__ import annotations

import json
import time

from hadamhw.commands.common import add_strict_argument, open_design_folder
from hadamhw.commands.inputs import expect_design
from hadamhw.commands.options import COUNT, SEED
from hadamhw.commands.paths import check_output_folder, user_path

SHOWN_MISMATCHES = 10


def register(sub) -> None:
    p = sub.add_parser("csim", help="C-simulate an HLS design (g++) against the golden model",
                       description="Build the design's C++ test bench with g++ against the "
                                   "Xilinx ap_types headers, replay random sequences and "
                                   "compare every output with the golden model.")
    p.add_argument("design", type=user_path,
                   help="folder written by 'hadamhw generate --target hls'")
    p.add_argument("--sequences", type=COUNT, default=32,
                   help="random sequences to replay (default 32)")
    p.add_argument("--seed", type=SEED, default=0, help="stimulus seed (default 0)")
    p.add_argument("--max-steps", type=COUNT, default=24,
                   help="longest sequence; lengths are drawn from [1, max] (default 24)")
    p.add_argument("--build-dir", type=user_path, default=None,
                   help="where to build and cache the executable (default DESIGN/csim)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_strict_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from hadamhw.ir.stimulus import make_stimulus
    from hadamhw.verify.csim import build_csim, read_hls_design, run_csim

    design = read_hls_design(open_design_folder(expect_design(args.design, "csim", "hls"),
                                                "csim", args.strict))
    if args.build_dir:
        check_output_folder(args.build_dir, "build folder")
    else:
        check_output_folder(design.path / "csim", "build folder", hint="; give --build-dir")
    ir = design.ir
    stimulus = make_stimulus(ir, sequences=args.sequences, seed=args.seed,
                             max_steps=args.max_steps)
    start = time.perf_counter()
    build_csim(design, args.build_dir)
    build_seconds = time.perf_counter() - start
    result = run_csim(design, stimulus, args.build_dir)
    if args.json:
        print(json.dumps({**result.to_dict(), "build_seconds": round(build_seconds, 3),
                          "modified_files": design.modified_files}, indent=2))
    else:
        verdict = "bit-exact" if result.ok else f"{result.mismatch_count} mismatches"
        print(f"{result.simulator}: {result.sequences} sequences, {result.steps} steps, "
              f"{result.outputs_checked} outputs checked: {verdict} "
              f"(build {build_seconds:.1f} s, run {result.seconds:.2f} s)")
        for mismatch in result.mismatches[:SHOWN_MISMATCHES]:
            print(f"  {mismatch.describe()}")
        if result.mismatch_count > SHOWN_MISMATCHES:
            print(f"  ... and {result.mismatch_count - SHOWN_MISMATCHES} more")
    return 0 if result.ok else 1
