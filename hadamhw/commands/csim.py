"""`hadamhw csim`: C-simulate a generated HLS design against the golden model."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hadamhw.errors import HadamhwError

SHOWN_MISMATCHES = 10


def register(sub) -> None:
    p = sub.add_parser("csim", help="C-simulate an HLS design (g++) against the golden model",
                       description="Build the design's C++ test bench with g++ against the "
                                   "Xilinx ap_types headers, replay random sequences and "
                                   "compare every output with the golden model.")
    p.add_argument("design", help="folder written by 'hadamhw generate --target hls'")
    p.add_argument("--sequences", type=int, default=32,
                   help="random sequences to replay (default 32)")
    p.add_argument("--seed", type=int, default=0, help="stimulus seed (default 0)")
    p.add_argument("--max-steps", type=int, default=24,
                   help="longest sequence; lengths are drawn from [1, max] (default 24)")
    p.add_argument("--build-dir", default=None,
                   help="where to build and cache the executable (default DESIGN/csim)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from hadamhw.ir.schema import IntegerRNN
    from hadamhw.verify.csim import build_csim, read_manifest, run_csim
    from hadamhw.verify.stimulus import make_stimulus

    design = Path(args.design)
    if not design.is_dir():
        raise HadamhwError(f"{design}: no such design folder")
    if args.sequences < 1:
        raise HadamhwError(f"--sequences must be >= 1, got {args.sequences}")
    if args.max_steps < 1:
        raise HadamhwError(f"--max-steps must be >= 1, got {args.max_steps}")
    manifest = read_manifest(design)
    ir = IntegerRNN.load(design / manifest["ir"])
    stimulus = make_stimulus(ir, sequences=args.sequences, seed=args.seed,
                             max_steps=args.max_steps)
    start = time.perf_counter()
    build_csim(design, args.build_dir)
    build_seconds = time.perf_counter() - start
    result = run_csim(design, stimulus, args.build_dir)
    if args.json:
        print(json.dumps({**result.to_dict(), "build_seconds": round(build_seconds, 3)},
                         indent=2))
    else:
        verdict = "bit-exact" if result.ok else f"{len(result.mismatches)} mismatches"
        print(f"{result.simulator}: {result.sequences} sequences, {result.steps} steps, "
              f"{result.outputs_checked} outputs checked: {verdict} "
              f"(build {build_seconds:.1f} s, run {result.seconds:.2f} s)")
        for mismatch in result.mismatches[:SHOWN_MISMATCHES]:
            print(f"  {mismatch.describe()}")
        if len(result.mismatches) > SHOWN_MISMATCHES:
            print(f"  ... and {len(result.mismatches) - SHOWN_MISMATCHES} more")
    return 0 if result.ok else 1
