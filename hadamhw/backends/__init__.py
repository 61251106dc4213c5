"""Code generators: one module per target, each a thin context builder over its templates.

A backend module provides `generate(ir, out_dir, options) -> manifest dict`; it writes every
file into out_dir (including a copy of the IR as model.ir.json and manifest.json).
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
