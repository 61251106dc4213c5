"""Render README.md's measured figures from docs/measured.json (hadamhw.report.figures).

    python tools/docs_figures.py                 # rewrite the marked blocks of README and docs
    python tools/docs_figures.py --check         # list stale blocks, exit 1 if any
    python tools/docs_figures.py --set demo_time --value '{"seconds": 170, ...}' \
        --command "python tools/time_flow.py --demo" --load "1.1-1.4"

A block is the text between `<!-- figures NAME begin -->` and `<!-- figures NAME end -->`,
rendered from templates/docs/NAME.md.j2. --set records a new measurement of one figure
(at the checkout's commit, today's date) and re-renders. Exit status: 0 done (or nothing
stale), 1 stale blocks (--check), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.report import figures

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "results.md", ROOT / "docs" / "hardware-cost.md")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--record", type=Path, default=ROOT / "docs" / "measured.json")
    p.add_argument("--doc", type=Path, action="append", default=None,
                   help="a document whose marked blocks are rendered (repeat; default: "
                        f"{', '.join(str(d.relative_to(ROOT)) for d in DOCUMENTS)})")
    p.add_argument("--check", action="store_true", help="only list stale blocks")
    p.add_argument("--set", dest="figure", help="record a new measurement of this figure")
    p.add_argument("--value", help="the figure's value as JSON (with --set)")
    p.add_argument("--command", help="the command that measured it (with --set)")
    p.add_argument("--load", help="the machine's load while it ran (with --set)")
    p.add_argument("--what", help="what the figure measures (a new figure)")
    p.add_argument("--commit", help="the commit it was measured at (default: this checkout's)")
    return p.parse_args(argv)


def record_measurement(args: argparse.Namespace, record: dict) -> dict:
    if not (args.value and args.command and args.load):
        raise HadamhwError("--set needs --value, --command and --load")
    try:
        value = json.loads(args.value)
    except json.JSONDecodeError as exc:
        raise HadamhwError(f"--value: not JSON ({exc.msg})") from None
    return figures.set_figure(record, args.figure, value, what=args.what,
                              command=args.command, load=args.load,
                              commit=args.commit or figures.current_commit(ROOT))


def run(args: argparse.Namespace) -> int:
    record = figures.load_record(args.record)
    if args.figure:
        record = record_measurement(args, record)
        figures.write_record(args.record, record)
    stale = 0
    for doc in args.doc or DOCUMENTS:
        stale += render_or_check(doc, record, args)
    return 1 if stale and args.check else 0


def render_or_check(doc: Path, record: dict, args: argparse.Namespace) -> int:
    """Blocks of doc that were stale (with --check: listed, else rewritten)."""
    text = doc.read_text(encoding="utf-8")
    stale = figures.stale_blocks(text, record, str(doc))
    for name in stale:
        print(f"{doc}: block '{name}' differs from {args.record}"
              if args.check else f"{doc}: block '{name}' rendered from {args.record}")
    if stale and not args.check:
        doc.write_text(figures.render_document(text, record, str(doc)), encoding="utf-8")
    return len(stale)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except HadamhwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
