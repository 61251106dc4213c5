"""A sweep's spec (TOML): its models, generate options, FPGA flow, grid and optional search.

    [sweep]                 # name: the docs table's markers; table: how --markdown draws it
    name = "example"
    table = "trials"        # trials | pnr_streams | sweep_hw | block_table | fold_cost
    [[models]]              # one or more: random = {n, m, seed, ...}, ir = FILE, checkpoint = FILE
                            # (train = {task = "copy", ...}: trained into it when missing)
    name = "r8"
    random = { n = 8, m = 4, seed = 0 }
    [generate]              # hadamhw generate's options (fixed for every trial)
    fold = "parallel"
    [fpga]                  # synthesis and place and route
    family = "generic"
    hierarchy = "whole"     # whole (the core's own cells kept) | core (the core alone)
    [verify]
    sequences = 0           # > 0: bit-exact batch simulation of that many sequences first
    accuracy = false        # true: each model's float and integer accuracy (test split)
    [grid]                  # lists: every combination is a trial (keys of the three tables
    n = [4, 8]              # above, or random-model keys: n, m, seed, state_bits, ...)
    [search]                # optional: Optuna over `space` instead of the whole grid
    n_trials = 4
    objective = "fmax_mhz"  # a results column; direction maximize / minimize
    space = { pnr_seed = [1, 2, 3] }

Every error is one line naming the file and the key.
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from hadamhw.errors import HadamhwError

TABLE_KINDS = ("trials", "pnr_streams", "sweep_hw", "block_table", "fold_cost")
GENERATE_KEYS = ("fold", "recurrent", "top", "cmvm", "readout_lanes", "streams", "pipeline",
                 "target_mhz")
FPGA_KEYS = ("family", "pnr", "device", "freq_mhz", "pnr_seed", "router", "placer",
             "lut_mapper", "timeout", "memory_mb", "hierarchy")
FPGA_DEFAULTS = {"family": "generic", "pnr": False, "pnr_seed": 1, "timeout": 3600.0,
                 "memory_mb": 2048}
VERIFY_KEYS = ("sequences", "max_steps", "seed", "accuracy", "accuracy_limit")
RANDOM_KEYS = ("n", "m", "seed", "state_bits", "weight_bits", "input_kind", "input_size",
               "input_bits", "output_size", "readout", "requant", "rotate_digits")
SECTIONS = ("sweep", "models", "generate", "fpga", "verify", "grid", "search")
OBJECTIVES = {"fmax_mhz": "maximize", "steps_per_second": "maximize",
              "lut_eq": "minimize", "luts": "minimize", "ffs": "minimize"}


@dataclass
class SweepSpec:
    """A parsed spec; `trials()` expands it into the grid's trials."""

    path: Path
    name: str
    table: str
    models: list[dict]
    generate: dict = field(default_factory=dict)
    fpga: dict = field(default_factory=dict)
    verify: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    search: dict | None = None
    text: str = ""

    def fail(self, key: str, message: str) -> HadamhwError:
        return spec_error(self.path, key, message)

    def trials(self) -> list[dict]:
        """Every combination of the models and the grid's lists, in spec order."""
        keys = list(self.grid)
        out = []
        for model in self.models:
            for values in itertools.product(*(self.grid[k] for k in keys)):
                out.append(self.trial(model, dict(zip(keys, values, strict=True))))
        return out

    def trial(self, model: dict, chosen: dict) -> dict:
        """One trial: the model (random keys of `chosen` applied), its options (the spec's,
        the model's own, the grid's), its label."""
        values = flat(chosen)
        model = dict(model)
        if model.get("random") is not None:
            model["random"] = {**model["random"],
                               **{k: v for k, v in values.items() if k in RANDOM_KEYS}}
        generate = {**self.generate, **model.get("generate", {}),
                    **{k: v for k, v in values.items() if k in GENERATE_KEYS}}
        fpga = {**FPGA_DEFAULTS, **self.fpga, **model.get("fpga", {}),
                **{k: v for k, v in values.items() if k in FPGA_KEYS}}
        return {"model": model, "generate": generate, "fpga": fpga, "verify": dict(self.verify),
                "chosen": dict(chosen), "label": trial_label(model["name"], chosen)}


def flat(chosen: dict) -> dict:
    """The grid's choices as options: a table item (several options set together) merged."""
    out = {}
    for key, value in chosen.items():
        out.update(value if isinstance(value, dict) else {key: value})
    return out


def trial_label(model: str, chosen: dict) -> str:
    def text(key, value) -> str:
        if isinstance(value, dict):
            return ",".join(f"{k}={v}" for k, v in value.items())
        return f"{key}={value}"

    return " ".join([model, *(text(k, v) for k, v in chosen.items())])


def spec_error(path: Path, key: str, message: str) -> HadamhwError:
    return HadamhwError(f"{path}: {key}: {message}")


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a spec file."""
    path = Path(path)
    toml = toml_module()
    try:
        text = path.read_text()
        data = toml.loads(text)
    except OSError as exc:
        raise HadamhwError(f"{path}: cannot read the spec ({exc.strerror})") from None
    except toml.TOMLDecodeError as exc:
        raise HadamhwError(f"{path}: not valid TOML ({exc})") from None
    return parse_spec(path, data, text)


def toml_module():
    """tomllib (Python 3.11+), or tomli, its backport, on 3.10."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise HadamhwError("hadamhw sweep reads TOML specs: it needs Python 3.11+ or tomli")


def parse_spec(path: Path, data: dict, text: str = "") -> SweepSpec:
    for key in data:
        if key not in SECTIONS:
            raise spec_error(path, key, f"unknown section; expected {', '.join(SECTIONS)}")
    sweep = table_of(path, data, "sweep")
    known(path, "sweep", sweep, ("name", "table", "description"))
    name, table = sweep.get("name"), sweep.get("table", "trials")
    if not isinstance(name, str) or not name.isidentifier():
        raise spec_error(path, "sweep.name", "give a name of letters, digits and '_'")
    if table not in TABLE_KINDS:
        raise spec_error(path, "sweep.table", f"{table!r}; choose from {', '.join(TABLE_KINDS)}")
    spec = SweepSpec(path, name, table, parse_models(path, data.get("models")),
                     generate=checked_table(path, data, "generate", GENERATE_KEYS),
                     fpga=checked_table(path, data, "fpga", FPGA_KEYS),
                     verify=checked_table(path, data, "verify", VERIFY_KEYS),
                     grid=parse_grid(path, table_of(path, data, "grid")), text=text)
    if "search" in data:
        spec.search = parse_search(path, table_of(path, data, "search"))
    check_values(spec)
    return spec


def table_of(path: Path, data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise spec_error(path, key, "must be a table ([" + key + "])")
    return value


def known(path: Path, section: str, table: dict, keys: tuple[str, ...]) -> None:
    for key in table:
        if key not in keys:
            raise spec_error(path, f"{section}.{key}",
                             f"unknown key; expected one of {', '.join(keys)}")


def checked_table(path: Path, data: dict, section: str, keys: tuple[str, ...],
                  where: str | None = None) -> dict:
    where = where or section
    table = table_of(path, data, section)
    known(path, where, table, keys)
    for key, value in table.items():
        if isinstance(value, (list, dict)):
            raise spec_error(path, f"{where}.{key}", "one value here; lists go in [grid]")
    return table


def parse_models(path: Path, models) -> list[dict]:
    if not isinstance(models, list) or not models:
        raise spec_error(path, "models", "give one or more [[models]] tables")
    out, names = [], set()
    for i, model in enumerate(models):
        where = f"models[{i}]"
        if not isinstance(model, dict):
            raise spec_error(path, where, "must be a table")
        known(path, where, model, ("name", "random", "ir", "checkpoint", "steps", "generate",
                                   "fpga", "train"))
        sources = [k for k in ("random", "ir", "checkpoint") if k in model]
        if len(sources) != 1:
            raise spec_error(path, where, "give exactly one of random, ir, checkpoint")
        out.append(parse_model(path, where, model, sources[0]))
        if (train := parse_train(path, where, model)) is not None:
            out[-1]["train"] = train
        for section, keys in (("generate", GENERATE_KEYS), ("fpga", FPGA_KEYS)):
            out[-1][section] = checked_table(path, model, section, keys, f"{where}.{section}")
        if out[-1]["name"] in names:
            raise spec_error(path, f"{where}.name", f"{out[-1]['name']!r} is used twice")
        names.add(out[-1]["name"])
    return out


def parse_train(path: Path, where: str, model: dict) -> dict | None:
    """A model's `hadamhw train` options: trained into its checkpoint when that is missing."""
    train = model.get("train")
    if train is None:
        return None
    if not isinstance(train, dict) or "checkpoint" not in model:
        raise spec_error(path, f"{where}.train", "a table of hadamhw train options, with the "
                         "model's checkpoint = FILE to train into")
    for key, value in train.items():
        if isinstance(value, (list, dict)) or value is False:
            raise spec_error(path, f"{where}.train.{key}", "one value (true: the flag alone)")
    return dict(train)


def parse_model(path: Path, where: str, model: dict, source: str) -> dict:
    value = model[source]
    if source == "random":
        if not isinstance(value, dict):
            raise spec_error(path, f"{where}.random", "a table like { n = 8, m = 4, seed = 0 }")
        known(path, f"{where}.random", value, RANDOM_KEYS)
        if not isinstance(value.get("n"), int):
            raise spec_error(path, f"{where}.random.n", "the hidden size n (an integer)")
        default = f"random_n{value['n']}_m{value.get('m', value['n'])}"
        return {"name": model.get("name", default), "random": dict(value),
                "steps": model.get("steps")}
    file = Path(value) if Path(value).is_absolute() else path.parent / value
    return {"name": model.get("name", Path(value).name.split(".")[0]), source: str(file),
            "random": None, "steps": model.get("steps")}


GRID_KEYS = GENERATE_KEYS + FPGA_KEYS + RANDOM_KEYS


def parse_grid(path: Path, grid: dict, where: str = "grid") -> dict:
    """Lists of values of an option, or lists of tables (options set together) under a
    name of their own: `variant = [{ streams = 1 }, { streams = "auto", pipeline = "auto" }]`."""
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise spec_error(path, f"{where}.{key}", "must be a non-empty list")
        tables = [v for v in values if isinstance(v, dict)]
        if tables and len(tables) != len(values):
            raise spec_error(path, f"{where}.{key}", "all values tables, or none")
        for name in (k for t in tables for k in t) if tables else [key]:
            if name not in GRID_KEYS:
                raise spec_error(path, f"{where}.{key}", f"unknown option {name!r}; expected "
                                 "generate, fpga or random-model keys")
    return dict(grid)


def parse_search(path: Path, search: dict) -> dict:
    known(path, "search", search, ("n_trials", "objective", "direction", "seed", "space"))
    n = search.get("n_trials")
    if not isinstance(n, int) or n < 1:
        raise spec_error(path, "search.n_trials", "a positive integer")
    objective = search.get("objective", "fmax_mhz")
    if objective not in OBJECTIVES:
        raise spec_error(path, "search.objective", f"{objective!r}; choose from "
                         f"{', '.join(OBJECTIVES)}")
    direction = search.get("direction", OBJECTIVES[objective])
    if direction not in ("maximize", "minimize"):
        raise spec_error(path, "search.direction", "maximize or minimize")
    space = parse_grid(path, table_of(path, search, "space"), "search.space")
    if not space:
        raise spec_error(path, "search.space", "name the lists to search, e.g. pnr_seed = [1, 2]")
    return {"n_trials": n, "objective": objective, "direction": direction,
            "seed": search.get("seed", 0), "space": space}


NUMBER, INTEGER, TEXT = ((int, float), "a number"), ((int,), "an integer"), ((str,), "a string")
FPGA_TYPES = {"pnr": ((bool,), "true or false"), "device": TEXT, "freq_mhz": NUMBER,
              "pnr_seed": INTEGER, "router": TEXT, "placer": TEXT, "lut_mapper": TEXT,
              "timeout": NUMBER, "memory_mb": INTEGER, "family": TEXT, "hierarchy": TEXT}


def check_values(spec: SweepSpec) -> None:
    """The options' values, checked the way hadamhw generate / report check them."""
    from hadamhw.backends import GenerateOptions
    from hadamhw.report.sweep.cores import HIERARCHIES

    for trial in spec.trials()[:64] if not spec.search else spec.trials()[:1]:
        try:
            GenerateOptions(**trial["generate"]).validate()
        except (HadamhwError, TypeError) as exc:
            raise spec.fail("generate", str(exc)) from None
        for key, value in trial["fpga"].items():
            kinds, what = FPGA_TYPES[key]
            if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
                raise spec.fail(f"fpga.{key}", f"{value!r}: give {what}")
        if trial["fpga"].get("hierarchy", "whole") not in HIERARCHIES:
            raise spec.fail("fpga.hierarchy", f"{trial['fpga']['hierarchy']!r}; choose from "
                            f"{', '.join(HIERARCHIES)}")
    family = spec.fpga.get("family", "generic")
    if family not in ("generic", "ice40", "ecp5", "xilinx"):
        raise spec.fail("fpga.family", f"{family!r}; choose from generic, ice40, ecp5, xilinx")
    if spec.fpga.get("pnr") and family not in ("ice40", "ecp5"):
        raise spec.fail("fpga.pnr", f"place and route needs family ice40 or ecp5, not {family}")
