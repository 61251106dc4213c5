"""The measured figures that README.md states, rendered from one record.

docs/measured.json holds every figure the README's prose gives (test-suite time, demo time
and table, training time, hardware highlights), each with the command that measured it, the
commit, the date and the machine's load; its schema is hadamhw/ir/measured-v1.schema.json.
A README block between `<!-- figures NAME begin -->` and `<!-- figures NAME end -->` is the
template templates/docs/NAME.md.j2 rendered from that record (and, for the integer
contract, from the lowering's own defaults), so a figure is changed in the record and the
README follows: `python tools/docs_figures.py` writes the blocks, `--check` lists stale
ones, and tests/test_docs_figures.py fails while any block differs from its rendering.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path

from hadamhw.backends import render_template, template_environment
from hadamhw.errors import HadamhwError
from hadamhw.ir.json_schema import first_error
from hadamhw.ir.schema import parse_json
from hadamhw.resources import templates_dir

RECORD_FORMAT = "hadamhw-measured"
BEGIN, END = "<!-- figures {} begin -->", "<!-- figures {} end -->"


def load_record(path: str | Path) -> dict:
    """The checked record: every figure has its value, command, commit, date and load."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HadamhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
    record = parse_json(text, str(path))
    problem = first_error("measured", record)
    if problem is not None:
        raise HadamhwError(f"{path}: field '{problem[0]}': {problem[1]}")
    return record


def write_record(path: str | Path, record: dict) -> None:
    """Write the record (checked first), atomically, in its one layout."""
    problem = first_error("measured", record)
    if problem is not None:
        raise HadamhwError(f"{path}: field '{problem[0]}': {problem[1]}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def current_commit(root: str | Path) -> str:
    """The short commit of the checkout at root (what a new measurement is taken at)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise HadamhwError(f"{root}: not a git checkout (a figure needs its commit)") from None
    return out.stdout.strip()


def set_figure(record: dict, name: str, value, *, what: str | None = None, command: str,
               commit: str, load: str, date: str | None = None, **extra) -> dict:
    """The record with figure `name` measured anew (what, unit, source kept unless given)."""
    figure = dict(record["figures"].get(name, {}))
    if what is None and "what" not in figure:
        raise HadamhwError(f"figure '{name}' is new: say what it measures")
    figure.update({k: v for k, v in extra.items() if v is not None})
    figure.update(value=value, command=command, commit=commit, load=load,
                  date=date or datetime.date.today().isoformat())
    if what is not None:
        figure["what"] = what
    return {**record, "figures": {**record["figures"], name: figure}}


def _lowering_defaults() -> dict:
    from hadamhw.ir.lower import LoweringSettings
    from hadamhw.ir.requant import MAX_ROTATE_DIGITS

    settings = LoweringSettings()
    return {"state_scale": settings.state_scale, "rotate_digits": settings.rotate_digits,
            "max_rotate_digits": MAX_ROTATE_DIGITS, "state_bits": settings.state_bits,
            "precision": settings.precision}


def _context(record: dict) -> dict:
    return {"f": {name: fig["value"] for name, fig in record["figures"].items()},
            "at": {name: fig for name, fig in record["figures"].items()},
            "lowering": _lowering_defaults()}


def render_block(name: str, record: dict, template_dir: Path | None = None) -> str:
    """The text of block `name` from the record (its template, StrictUndefined)."""
    tdir = template_dir if template_dir is not None else templates_dir() / "docs"
    env = template_environment(tdir)
    env.filters["num"] = _number
    return render_template(env, f"{name}.md.j2", _context(record)).rstrip("\n")


def _number(value, digits: int | None = None) -> str:
    """1348 -> 1,348; 203.7 -> 203.7; digits: fixed decimals."""
    if digits is not None:
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,}".rstrip("0").rstrip(".")


def blocks(text: str, where: str) -> list[tuple[str, int, int]]:
    """(name, start, end) of each marked block's body in text, in order."""
    found, pos = [], 0
    prefix = BEGIN.split("{}")[0]
    while (start := text.find(prefix, pos)) >= 0:
        line_end = text.find("\n", start)
        name = text[start + len(prefix):line_end].removesuffix(" begin -->").strip()
        if text[start:line_end] != BEGIN.format(name):
            raise HadamhwError(f"{where}: malformed figures marker {text[start:line_end]!r}")
        end = text.find(END.format(name), line_end)
        if end < 0:
            raise HadamhwError(f"{where}: block '{name}' has no '{END.format(name)}'")
        found.append((name, line_end + 1, end))
        pos = end + len(END.format(name))
    return found


def render_document(text: str, record: dict, where: str,
                    template_dir: Path | None = None) -> str:
    """text with every marked block replaced by its rendering."""
    out, pos = [], 0
    for name, start, end in blocks(text, where):
        out += [text[pos:start], render_block(name, record, template_dir), "\n"]
        pos = end
    return "".join(out) + text[pos:]


def stale_blocks(text: str, record: dict, where: str,
                 template_dir: Path | None = None) -> list[str]:
    """Names of the blocks whose text differs from their rendering from the record."""
    stale = []
    for name, start, end in blocks(text, where):
        if text[start:end] != render_block(name, record, template_dir) + "\n":
            stale.append(name)
    return stale
