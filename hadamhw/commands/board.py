"""`hadamhw board`: a board top, pins, bitstream and flash.sh around a generated design."""

from __future__ import annotations

import json
import os


def register(sub) -> None:
    from hadamhw.board.boards import BOARDS
    from hadamhw.board.top import DEFAULT_BAUD

    p = sub.add_parser(
        "board", help="wrap a design for a board (UART link) and build its bitstream",
        description="Write a board top around a generated Verilog design (a UART host link "
                    "with the framing protocol of docs/board.md, the clock, a reset button, "
                    "status LEDs) and the board's pin file; unless --no-bitstream, synthesize, "
                    "place and route at the design clock (a timing miss is an error), pack "
                    "the bitstream and write flash.sh. Run it with hadamhw.board.connect.")
    p.add_argument("design", metavar="DESIGN", help="design folder written by 'hadamhw "
                                                    "generate --target verilog'")
    p.add_argument("--board", required=True, choices=sorted(BOARDS),
                   help="iCEBreaker (iCE40 UP5K, 12 MHz) or ULX3S (ECP5-85F, 25 MHz)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD,
                   help=f"UART baud rate (default {DEFAULT_BAUD})")
    p.add_argument("--clock-mhz", type=float, default=None, metavar="F",
                   help="design clock; other than the board oscillator, a PLL makes it")
    p.add_argument("--steps", type=int, default=None, metavar="T",
                   help="sequence length for the sequences-per-second estimate")
    p.add_argument("--lut-mapper", choices=("abc9", "abc"), default=None,
                   help="Yosys LUT mapper (default abc9; abc on ulx3s maps large designs "
                        "in minutes, not hours)")
    p.add_argument("--no-bitstream", action="store_true",
                   help="write the top and pins only (no synthesis, place and route)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from hadamhw.board import build

    summary = build(os.path.expanduser(args.design), args.board,
                    os.path.expanduser(args.output), baud=args.baud,
                    clock_mhz=args.clock_mhz, bitstream=not args.no_bitstream,
                    steps=args.steps, lut_mapper=args.lut_mapper, progress=True)
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"{summary['board']}: design hash {summary['hash']}, {summary['clock_mhz']:g} MHz"
          f"{' (PLL)' if summary['pll'] else ''}, {summary['baud']} baud")
    if "fmax_mhz" in summary:
        print(f"timing met: {summary['fmax_mhz']:.2f} MHz >= {summary['clock_mhz']:g} MHz")
        syn = summary["synth"]
        print(f"  Yosys: {syn['luts']} LUTs, {syn['ffs']} flip-flops, {syn['carry']} carry "
              f"cells, {syn['memory_bits']} memory bits")
        for name, use in summary["utilization"].items():
            print(f"  {name}: {use['used']} / {use['available']}")
    if "rates" in summary:
        r = summary["rates"]
        print(f"{r['steps']} steps a sequence: {r['uart_bound_per_s']:g} sequences/s "
              f"UART-bound, {r['core_bound_per_s']:g} core-bound")
    print(f"wrote {args.output}" + (" (flash.sh loads it)" if "bitstream" in summary else ""))
    return 0
