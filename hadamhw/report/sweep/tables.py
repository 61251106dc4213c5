"""ONE Markdown table writer (between `<!-- NAME table begin -->` / `end` markers) and ONE
JSON record writer for every sweep."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from hadamhw.errors import HadamhwError


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name} table begin -->", f"<!-- {name} table end -->"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]],
                   align: Sequence[str] | str = "---:") -> str:
    """A Markdown table; cells are printed with str(); align: one separator for every
    column or one per column ("---", "--:", "---:")."""
    seps = [align] * len(header) if isinstance(align, str) else list(align)
    if len(seps) != len(header):
        raise ValueError(f"{len(seps)} alignments for {len(header)} columns")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(seps) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def replace_marked(path: str | Path, name: str, table: str, *, own_file: bool = False) -> None:
    """Put `table` between the NAME markers of a Markdown file and change nothing else.
    A new file gets the table alone; an existing file without both markers is refused,
    unless it is the table's own file (own_file: then it is written whole)."""
    path = Path(path)
    begin, end = markers(name)
    doc = path.read_text() if path.exists() else ""
    head, found, rest = doc.partition(begin)
    if found and end in rest:
        path.write_text(f"{head}{begin}\n{table.rstrip(chr(10))}\n{end}{rest.split(end, 1)[1]}")
    elif own_file or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table.rstrip("\n") + "\n")
    else:
        raise HadamhwError(f"{path}: no '{begin}' ... '{end}' markers to put the table "
                           "between")


def write_json(path: str | Path, value: object, *, indent: int = 1, sort_keys: bool = True,
               final_newline: bool = True) -> None:
    """A sweep's records as JSON, written whole (a half-written file is never left)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    text = json.dumps(value, indent=indent, sort_keys=sort_keys)
    partial.write_text(text + "\n" if final_newline else text)
    partial.replace(path)
