"""One library for configuration grids: `hadamhw sweep` and the docs tables' specs.

- designs: each configuration's design generated in-process through hadamhw.design, the sweep's
  fixed-seed random IRs, and the one place that reads a design's HDL files;
- cache: ONE result cache keyed by the digest of a design's HDL files (plus the options and
  tool versions that made the result); a result of other RTL is moved aside, measured again;
- tables: ONE Markdown table writer (a table between `<!-- NAME table begin -->` / `end`
  markers) and ONE JSON record writer;
- options: ONE declaration of the place-and-route options (device, clock, seeds, router,
  placer, LUT mapper) with hadamhw report's defaults, and the argparse helper that adds them;
- results: what a sweep keeps of a report, and a placed netlist's further nextpnr seeds;
- `hadamhw sweep` (docs/sweep.md): spec (the TOML spec), trial (one trial, keyed by its RTL),
  engines (local pool, Ray; the progress line), run (the driver, resuming), store (the one
  SQLite results file), search (Optuna), views (table kinds, Pareto fronts), models (models
  trained, lowered and evaluated once before the trials), cores (`[fpga] hierarchy`: the
  recurrent core's own cells); streams, folds, blocks, compare: the docs tables' own rows.
"""

from __future__ import annotations

from hadamhw.report.sweep.cache import KEY, ResultCache, hdl_digest, tool_versions
from hadamhw.report.sweep.designs import (
    design_hdl,
    generate_design,
    hdl_files,
    parse_list,
    parse_pairs,
    render_design,
    sweep_ir,
    uptime,
)
from hadamhw.report.sweep.options import (
    PnrOptions,
    add_pnr_arguments,
    default_mapper,
    pnr_options,
)
from hadamhw.report.sweep.results import (
    decided,
    report_choices,
    report_numbers,
    report_record,
)
from hadamhw.report.sweep.tables import markdown_table, markers, replace_marked, write_json

__all__ = ["KEY", "PnrOptions", "ResultCache", "add_pnr_arguments", "decided", "default_mapper",
           "design_hdl", "generate_design", "hdl_digest", "hdl_files", "markdown_table",
           "markers", "parse_list", "parse_pairs", "pnr_options", "render_design",
           "replace_marked", "report_choices", "report_numbers", "report_record", "sweep_ir",
           "tool_versions", "uptime", "write_json"]
