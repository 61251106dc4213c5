"""Code generators: one module per target, each a thin context builder over its templates.

A backend module provides `render(...)`: every file of a design (including a copy of the IR
as model.ir.json and manifest.json), which hadamhw.design, the one writer of design folders,
writes atomically. Backends never write a design folder themselves.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import jinja2

from hadamhw.errors import HadamhwError

TARGETS = {
    "verilog": "hadamhw.backends.verilog",
    "hls": "hadamhw.backends.hls",
}
FOLDS = ("parallel", "stage")
RECURRENT_CORES = ("fwht", "dense")
CMVM_METHODS = ("da4ml", "csd")  # hadamhw.backends.adder_graph
PIPELINE_MODES = ("none", "auto")  # or a loop depth (an integer >= 1)
MAX_STREAMS = 256  # AXI4-Stream TID is at most 8 bits
MAX_LOOP_DEPTH = 64
TARGET_MHZ = 150.0
TOKEN_TABLES = ("rom", "external")  # where a token input's drive table lives


@dataclass(frozen=True)
class GenerateOptions:
    # parallel: one time step per cycle; stage: one FWHT stage per cycle (n/2 butterflies);
    # an integer F (a power of two < n/2): F butterfly units, the vector in block RAM
    fold: str | int = "parallel"
    recurrent: str = "fwht"  # fwht: butterflies; dense: adder tree per row of W (baseline)
    top: str = "hadamrnn"  # name of the top module / function
    # constant matrix-vector products U x and V z: da4ml's shared adder graph, or one CSD
    # adder tree per row (Verilog; the HLS tool does its own sharing)
    cmvm: str = "da4ml"
    # readout "last": outputs computed per cycle by a serial readout (None: all at once)
    readout_lanes: int | None = None
    # interleaved sequences sharing the datapath (C-slow); AXI4-Stream TID names the stream.
    # "auto": as many as the recurrence loop's pipeline depth (one time step per cycle)
    streams: int | str = 1
    # pipeline registers: "none" (the recurrence and its readout in one cycle each), "auto"
    # (placed from the delay model against target_mhz; the loop only as deep as the streams
    # allow), or an integer: that loop depth, the feed-forward parts as "auto"
    pipeline: str | int = "none"
    target_mhz: float = TARGET_MHZ
    # token inputs: the drive table in an on-chip ROM ("rom") or in external memory read over
    # AXI4 ("external", hadamhw.backends.verilog_token_axi): its AXI data width, the default
    # of its base address (Verilog parameter TOKEN_TABLE_BASE) and the memory bandwidth
    # (GB/s) of the manifest's steps-per-second figure
    token_table: str = "rom"
    axi_data_bits: int = 64
    token_table_base: int = 0
    mem_gbps: float = 12.8

    def validate(self) -> None:
        from hadamhw.backends.fold import parse_fold

        if parse_fold(self.fold) != self.fold:
            raise HadamhwError(f"--fold must be one of {FOLDS} or a number of butterfly units "
                               f"(an int), got {self.fold!r}")
        if self.recurrent not in RECURRENT_CORES:
            raise HadamhwError(f"--recurrent must be one of {RECURRENT_CORES}, "
                               f"got {self.recurrent!r}")
        if self.cmvm not in CMVM_METHODS:
            raise HadamhwError(f"--cmvm must be one of {CMVM_METHODS}, got {self.cmvm!r}")
        if self.readout_lanes is not None and (isinstance(self.readout_lanes, bool) or
                                               not isinstance(self.readout_lanes, int) or
                                               self.readout_lanes < 1):
            raise HadamhwError(f"--readout-lanes must be a positive integer, "
                               f"got {self.readout_lanes!r}")
        if not self.top.isidentifier() or self.top.startswith("_"):
            raise HadamhwError(f"--top must be a plain identifier, got {self.top!r}")
        if self.streams != "auto" and not _int_in(self.streams, 1, MAX_STREAMS):
            raise HadamhwError(f"--streams must be 'auto' or an integer in [1, {MAX_STREAMS}], "
                               f"got {self.streams!r}")
        if self.pipeline not in PIPELINE_MODES and not _int_in(self.pipeline, 1,
                                                                MAX_LOOP_DEPTH):
            raise HadamhwError(f"--pipeline must be 'none', 'auto' or a loop depth in "
                               f"[1, {MAX_LOOP_DEPTH}], got {self.pipeline!r}")
        if (isinstance(self.target_mhz, bool) or not isinstance(self.target_mhz, (int, float))
                or not 0 < self.target_mhz <= 1000):
            raise HadamhwError(f"--target-mhz must be a number in (0, 1000], "
                               f"got {self.target_mhz!r}")
        if self.token_table not in TOKEN_TABLES:
            raise HadamhwError(f"--token-table must be one of {TOKEN_TABLES}, "
                               f"got {self.token_table!r}")
        if self.token_table == "rom":
            for name, value, default in (("axi-data-bits", self.axi_data_bits, 64),
                                         ("token-table-base", self.token_table_base, 0),
                                         ("mem-gbps", self.mem_gbps, 12.8)):
                if value != default:
                    raise HadamhwError(f"--{name} {value}: applies to --token-table external "
                                       "only")
        if isinstance(self.fold, int) and self.streams != 1:
            raise HadamhwError(f"--streams {self.streams}: --fold {self.fold} keeps one "
                               "sequence's state in block RAM; use --fold stage or parallel "
                               "for streams")
        if isinstance(self.fold, int) and self.pipeline != "none":
            # The deep fold is a multi-cycle loop with registered RAM reads already; the delay
            # model that places pipeline registers knows the parallel and stage datapaths.
            raise HadamhwError(f"--pipeline {self.pipeline}: --fold {self.fold} is not "
                               "pipelined by the generator (use --fold stage or parallel)")

    @property
    def streamed(self) -> bool:
        """True for the interleaved / pipelined architecture (anything but one stream
        without pipeline registers, which keeps the original single-cycle core)."""
        return self.streams != 1 or self.pipeline != "none"


def _int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def get_backend(target: str):
    if target not in TARGETS:
        raise HadamhwError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    return importlib.import_module(TARGETS[target])


def template_environment(template_dir: Path) -> jinja2.Environment:
    """The Jinja2 set-up every backend renders with: strict, whitespace-controlled, no escaping."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_template(env: jinja2.Environment, name: str, ctx: dict) -> str:
    """Render one template; a missing template or a template error is a one-line error."""
    try:
        return env.get_template(name).render(**ctx)
    except jinja2.TemplateNotFound:
        raise HadamhwError(f"template {name} not found in {env.loader.searchpath[0]}") from None
    except jinja2.TemplateError as exc:
        where = f"{name}:{exc.lineno}" if getattr(exc, "lineno", None) else name
        raise HadamhwError(f"template {where}: {exc.message or exc}") from None
