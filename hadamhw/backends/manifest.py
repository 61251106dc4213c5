"""Reading the manifest.json that every backend writes beside its files.

The simulators, the C simulation and the synthesis report all start from a generated
design folder; this is the one place that reads its manifest and turns every way it can be
wrong into a one-line error naming the folder, the file or the field. The manifest is
checked against its published JSON Schema (hadamhw/ir/design-manifest-v1.schema.json,
described in docs/ir-format.md) before any field is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.ir.json_schema import first_error
from hadamhw.ir.schema import parse_json

DESIGN_FORMAT = "hadamhw-design"


def read_design_manifest(design_dir: str | Path, *, target: str | None = None,
                         purpose: str = "", fields: Iterable[str] = (),
                         file_fields: Iterable[str] = ()) -> dict:
    """The checked manifest of a folder written by `hadamhw generate`.

    target: the backend the caller needs ("verilog" also accepts an older manifest without a
    target field); purpose names the caller in that error. fields must be present;
    file_fields name fields holding one file name or a list of them, each of which must
    exist in the folder.
    """
    design = Path(design_dir)
    path = design / "manifest.json"
    if not design.is_dir():
        raise HadamhwError(f"{design}: no such design folder")
    if not path.is_file():
        raise HadamhwError(f"{design}: no manifest.json (not a folder from 'hadamhw generate')")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HadamhwError(f"{path}: not a hadamhw design manifest (not UTF-8 text)") from None
    except OSError as exc:
        raise HadamhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
    manifest = parse_json(text, str(path))
    if not isinstance(manifest, dict) or manifest.get("format") != DESIGN_FORMAT:
        raise HadamhwError(f"{path}: not a hadamhw design manifest")
    problem = first_error("manifest", manifest)
    if problem is not None:
        raise HadamhwError(f"{path}: field '{problem[0]}': {problem[1]}")
    found = manifest.get("target", "verilog" if target == "verilog" else None)
    if target is not None and found != target:
        raise HadamhwError(f"{path}: target is {found!r}; {purpose or 'this'} needs a design "
                           f"generated with --target {target}")
    file_fields = tuple(file_fields)
    for key in (*fields, *file_fields):
        if key not in manifest:
            raise HadamhwError(f"{path}: field '{key}': is missing")
    for key in file_fields:
        names = manifest[key] if isinstance(manifest[key], list) else [manifest[key]]
        if not names or not all(isinstance(name, str) and name for name in names):
            raise HadamhwError(f"{path}: field '{key}': must name files, got {manifest[key]!r}")
        for name in names:
            if not (design / name).is_file():
                raise HadamhwError(f"{design}: file '{name}' named in manifest.json ('{key}') "
                                   "is missing")
    return manifest
