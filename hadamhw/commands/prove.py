"""`hadamhw prove`: formal proofs about a generated design (see docs/verification.md)."""

from __future__ import annotations

import json

from hadamhw.commands.common import add_strict_argument, open_design_folder
from hadamhw.commands.options import COUNT
from hadamhw.commands.paths import user_path


def register(sub) -> None:
    p = sub.add_parser(
        "prove", help="prove a generated design equal to its IR, overflow-free, AXI-correct",
        description="Prove properties of a folder written by 'hadamhw generate' (the "
                    "single-cycle design): its arithmetic blocks equal the IR's linear maps, no "
                    "node overflows, the design equals a spec rendered from the IR (bounded "
                    "model checking from reset), and it keeps the AXI4-Stream rules. "
                    "Exit status 0: all proved; 1: a property failed or did not close; "
                    "2: bad input.")
    p.add_argument("design", type=user_path, help="a folder written by 'hadamhw generate'")
    p.add_argument("--depth", type=COUNT, default=4,
                   help="cycles from reset for the equivalence's bounded model check (4: "
                        "reset and one whole step through to its output beat)")
    p.add_argument("--timeout", type=COUNT, default=600,
                   help="seconds per solver run (default 600)")
    p.add_argument("--solver", choices=("yices", "z3"), default="yices")
    p.add_argument("--induction", action="store_true",
                   help="also try unbounded equivalence by k-induction (closes for small "
                        "designs, n = 4; at n = 16 it does not within minutes)")
    p.add_argument("--work", type=user_path, default=None,
                   help="folder for the solver runs and traces (default DESIGN/prove)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_strict_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from hadamhw.prove.run import prove, report

    design = open_design_folder(args.design, "prove", args.strict)
    results = prove(design.path, depth=args.depth, timeout=args.timeout,
                    solver=args.solver, work=args.work, induction=args.induction)
    if args.json:
        print(json.dumps({**report(results), "modified_files": design.modified_files},
                         indent=2))
    else:
        for r in results:
            print(r.line())
    return 0 if all(r.status == "proved" for r in results) else 1
