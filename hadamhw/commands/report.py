"""`hadamhw report`: synthesize a generated design and report its hardware cost."""

from __future__ import annotations

import sys
from pathlib import Path

from hadamhw.commands.common import add_strict_argument, open_design_folder
from hadamhw.commands.inputs import expect_design
from hadamhw.commands.options import float_range
from hadamhw.commands.paths import check_output_file, check_output_folder, user_path
from hadamhw.errors import HadamhwError


def register(sub) -> None:
    from hadamhw.report.pnr import PLACERS, ROUTERS
    from hadamhw.report.synth import FAMILIES, LUT_MAPPERS

    p = sub.add_parser(
        "report", help="synthesize a generated design and report LUTs, FFs, Fmax",
        description="Synthesize a generated design folder with Yosys (hierarchically: per "
                    "module and in total) and report LUTs, flip-flops, carry cells, $mul cells "
                    "(must be zero), memory bits, beside the manifest's analytical adder "
                    "count, cycles per step and storage. With --pnr, place and route with "
                    "nextpnr through a few-pin wrapper and report Fmax. The design's files "
                    "are checked against the digests in its manifest first.")
    p.add_argument("design", metavar="OUT", type=user_path,
                   help="design folder written by 'hadamhw generate'")
    p.add_argument("--fpga", choices=FAMILIES, default="generic",
                   help="technology: generic (4-input LUTs), ice40, ecp5, xilinx (xc7); "
                        "default generic")
    p.add_argument("--pnr", action="store_true",
                   help="also place and route (ice40, ecp5) and report Fmax")
    p.add_argument("--device", default=None, metavar="NAME",
                   help="with --pnr: place on this device (ice40: hx1k, hx8k, up5k; ecp5: 25k, "
                        "45k, 85k) instead of the smallest one that holds the design")
    p.add_argument("--freq", type=float_range(0), default=None, metavar="MHZ",
                   help="target clock for place and route (default 100 MHz)")
    p.add_argument("--seed", type=int, default=1, metavar="S",
                   help="with --pnr: nextpnr's placement seed (default 1); Fmax moves by "
                        "several per cent between seeds near a design's limit")
    p.add_argument("--router", choices=ROUTERS, default=None,
                   help="with --pnr: nextpnr's router (default router1, nextpnr's own); "
                        "router2 (negotiated congestion) is the other choice on congested designs")
    p.add_argument("--placer", choices=PLACERS, default=None,
                   help="with --pnr: nextpnr's placer (default heap, nextpnr's own); static "
                        "(electrostatic) spreads the cells more evenly and, with --router "
                        "router2, is the combination to try on a design that does not route")
    p.add_argument("--lut-mapper", choices=LUT_MAPPERS, default=None,
                   help="Yosys's LUT mapping: abc9 (ice40, ecp5, xilinx; timing-driven; the "
                        "default) or abc (generic; on ecp5 too: area-oriented, seconds instead "
                        "of an hour on an unpipelined n = 128 design, LUT4s within a few per "
                        "cent, the same carry cells)")
    p.add_argument("--mem-gbps", type=float_range(0), default=None, metavar="GB/S",
                   help="a design with an external token table: the memory bandwidth of its "
                        "computed steps per second (default: the manifest's)")
    p.add_argument("--top", default=None, help="top module (default: the manifest's)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    p.add_argument("--plot", type=user_path, default=None, metavar="FILE.png",
                   help="write a bar chart of the per-module cells (.png, .svg, .pdf, ...)")
    p.add_argument("--build-dir", type=user_path, default=None,
                   help="folder for scripts, logs and netlists (default OUT/build/report-FPGA)")
    p.add_argument("--timeout", type=float_range(0), default=None, metavar="S",
                   help="give up on a tool after this many seconds")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_strict_argument(p)
    p.set_defaults(func=run)


def _check_plot(path: str) -> None:
    """--plot: a writable file in a format matplotlib writes (else synthesis would be lost)."""
    check_output_file(path, "plot", example="report.png")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise HadamhwError("--plot needs matplotlib (pip install 'hadamhw[synth]')") from None
    formats = FigureCanvasBase.get_supported_filetypes()
    if Path(path).suffix.lstrip(".").lower() not in formats:
        raise HadamhwError(f"{path}: --plot writes the format its suffix names, one of "
                           f"{', '.join('.' + f for f in sorted(formats))}")


def _check_outputs(args):
    """Every path the report writes, checked before synthesis (minutes) starts; returns
    the design folder, read once."""
    from hadamhw.report.synth import check_lut_mapper, load_design

    check_lut_mapper(args.fpga, args.lut_mapper)  # before the design is even read
    folder = open_design_folder(expect_design(args.design, "report", "verilog"), "report",
                                args.strict)
    design = load_design(folder, args.top)
    if args.build_dir:
        check_output_folder(args.build_dir, "build folder")
    else:
        from hadamhw.report.synth import default_build_dir

        check_output_folder(default_build_dir(design, args.fpga, args.lut_mapper),
                            "build folder",
                            hint="; give --build-dir")
    if args.plot:
        _check_plot(args.plot)
    return folder


def run(args) -> int:
    from hadamhw.report import make_report
    from hadamhw.report.render import (
        mul_warning,
        plot_report,
        render_json,
        render_markdown,
        render_text,
    )

    design = _check_outputs(args)
    report = make_report(design, args.fpga, top=args.top, pnr=args.pnr,
                         build_dir=args.build_dir, progress=not args.quiet,
                         freq_mhz=args.freq, timeout=args.timeout, device=args.device,
                         seed=args.seed, router=args.router, placer=args.placer,
                         lut_mapper=args.lut_mapper, mem_gbps=args.mem_gbps)
    if args.json:
        sys.stdout.write(render_json(report))
        warning = mul_warning(report)
        if warning:
            print(warning, file=sys.stderr)
    elif args.markdown:
        sys.stdout.write(render_markdown(report))
    else:
        sys.stdout.write(render_text(report))
    if args.plot:
        plot_report(report, args.plot)
    return _status(report, args)


def _status(report: dict, args) -> int:
    """1 for multipliers, and with --pnr for a design that does not fit, does not route or
    (with --freq) misses the clock; the reason on stderr. 0 otherwise."""
    pnr = report.get("pnr")
    reasons = ["the design holds multipliers"] if report["mul_cells"] else []
    if pnr is not None and pnr["status"] != "routed":
        reasons.append(f"place and route: {pnr['status']}")
    elif pnr is not None and args.freq is not None and (pnr["fmax_mhz"] or 0) < args.freq:
        reasons.append(f"Fmax {pnr['fmax_mhz']} MHz misses --freq {args.freq:g} MHz")
    for reason in reasons:
        print(f"hadamhw report: {reason} (exit status 1)", file=sys.stderr)
    return 1 if reasons else 0
