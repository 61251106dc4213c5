"""The place-and-route options of every sweep, declared once, with hadamhw report's defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from hadamhw.errors import HadamhwError
from hadamhw.report.pnr import (
    DEFAULT_FREQ_MHZ,
    DEFAULT_PLACER,
    DEFAULT_ROUTER,
    NAMED_DEVICES,
    PLACERS,
    ROUTERS,
    nondefault_choices,
)
from hadamhw.report.synth import LUT_MAPPERS, check_lut_mapper

OPTION_NAMES = ("device", "freq", "seeds", "router", "placer", "lut_mapper")


def default_mapper(family: str = "ecp5") -> str:
    """The LUT mapper hadamhw report uses on `family` unless told (abc9 on ice40 and ecp5)."""
    return check_lut_mapper(family, None)


@dataclass(frozen=True)
class PnrOptions:
    """How a sweep's designs are synthesized and placed: hadamhw report's defaults unless
    a tool's command line names another choice."""

    family: str = "ecp5"
    device: str | None = None  # None: the smallest device that holds the design
    freq_mhz: float | None = None  # None: the tool's own clock (hadamhw report: 100 MHz)
    seeds: tuple[int, ...] = (1,)
    router: str = DEFAULT_ROUTER
    placer: str = DEFAULT_PLACER
    lut_mapper: str = field(default_factory=default_mapper)

    def mapper_choices(self) -> list[str]:
        """The LUT mapper where it is not the family's default (names runs apart)."""
        return [] if self.lut_mapper == default_mapper(self.family) else [self.lut_mapper]

    def pnr_choices(self) -> list[str]:
        """Router and placer where they are not nextpnr's defaults, router first."""
        return nondefault_choices(self.router, self.placer)

    def report_flags(self) -> list[str]:
        """The `hadamhw report` flags these options differ from its defaults by."""
        out = []
        if self.freq_mhz is not None and self.freq_mhz != DEFAULT_FREQ_MHZ:
            out += ["--freq", f"{self.freq_mhz:g}"]
        for flag, value, default in (("--lut-mapper", self.lut_mapper,
                                      default_mapper(self.family)),
                                     ("--router", self.router, DEFAULT_ROUTER),
                                     ("--placer", self.placer, DEFAULT_PLACER)):
            if value != default:
                out += [flag, value]
        return out


def add_pnr_arguments(parser: argparse.ArgumentParser, *, family: str = "ecp5",
                      include: tuple[str, ...] = OPTION_NAMES, clock_flag: str = "--freq",
                      clock_help: str | None = None) -> None:
    """Add the place-and-route options named in `include` to a tool's parser, each with
    hadamhw report's default; `pnr_options(args)` reads them back."""
    unknown = sorted(set(include) - set(OPTION_NAMES))
    if unknown:
        raise ValueError(f"unknown place-and-route option {unknown[0]!r}")
    add = {"device": _add_device, "freq": _add_clock, "seeds": _add_seeds,
           "router": _add_router, "placer": _add_placer, "lut_mapper": _add_mapper}
    for name in include:
        add[name](parser, family=family, clock_flag=clock_flag, clock_help=clock_help)


def _add_device(parser, *, family, **_) -> None:
    parser.add_argument("--device", choices=sorted(NAMED_DEVICES.get(family, {})) or None,
                        help=f"{family} device to place on (default: the smallest that holds "
                             "the design; nextpnr's legalizer can stall on a tight fit)")


def _add_clock(parser, *, clock_flag, clock_help, **_) -> None:
    parser.add_argument(clock_flag, dest="freq", type=float, default=None,
                        help=clock_help or f"nextpnr's target clock in MHz (default: "
                                           f"hadamhw report's, {DEFAULT_FREQ_MHZ:g})")


def _add_seeds(parser, **_) -> None:
    parser.add_argument("--seeds", default="1", metavar="S,...",
                        help="nextpnr seeds (default 1): seed 1 places the design, every other "
                             "seed places the same netlist again")


def _add_router(parser, **_) -> None:
    parser.add_argument("--router", choices=ROUTERS, default=DEFAULT_ROUTER,
                        help=f"nextpnr's router (default {DEFAULT_ROUTER}); other choices' "
                             "runs are named apart and marked in the table")


def _add_placer(parser, **_) -> None:
    parser.add_argument("--placer", choices=PLACERS, default=DEFAULT_PLACER,
                        help=f"nextpnr's placer (default {DEFAULT_PLACER}); static with "
                             "router2 is the combination for designs whose heap placement "
                             "does not route")


def _add_mapper(parser, *, family, **_) -> None:
    parser.add_argument("--lut-mapper", choices=LUT_MAPPERS, default=default_mapper(family),
                        help=f"Yosys's LUT mapping (default {default_mapper(family)}, "
                             "timing-driven); abc maps in seconds where abc9 takes hours, "
                             "its results are kept apart and marked")


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise HadamhwError(f"--seeds: {text!r} is not a list of integers") from None


def pnr_options(args: argparse.Namespace, family: str | None = None) -> PnrOptions:
    """The options add_pnr_arguments added (those a tool left out keep their defaults; None
    stands for the default too)."""
    family = family or getattr(args, "fpga", None) or "ecp5"
    mapper = getattr(args, "lut_mapper", None) or default_mapper(family)
    return PnrOptions(family=family, device=getattr(args, "device", None),
                      freq_mhz=getattr(args, "freq", None),
                      seeds=parse_seeds(getattr(args, "seeds", None) or "1"),
                      router=getattr(args, "router", None) or DEFAULT_ROUTER,
                      placer=getattr(args, "placer", None) or DEFAULT_PLACER,
                      lut_mapper=check_lut_mapper(family, mapper))
