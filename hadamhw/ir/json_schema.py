"""Checking a JSON document against one of the schemas shipped in the package.

The IR (`ir-v1.schema.json`) and the design manifest (`design-manifest-v1.schema.json`) are
published as JSON Schema, draft 2020-12. `first_error` validates a parsed document with the
`jsonschema` library and turns the first violation into (JSON path, one-line message), so
that every caller reports "field 'requant.shift': is missing" the same way.

Two rules are stricter than the schema language can say: an integer must be a JSON integer
literal (JSON Schema counts 3.0 as an integer; hadamhw does not), and a boolean is never a
number (as in JSON Schema). Large integer arrays (weight matrices) are checked by an
equivalent fast path first, since jsonschema costs about 10 us per element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from itertools import islice
from pathlib import Path

_SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMAS = {
    "ir": "ir-v1.schema.json",
    "manifest": "design-manifest-v1.schema.json",
    "measured": "measured-v1.schema.json",
    "cycle_stimulus": "cycle-stimulus-v1.schema.json",
}
# How many violations are collected before the most relevant one is chosen.
_MAX_ERRORS = 64
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TYPE_NAMES = {"integer": "an integer", "number": "a number", "boolean": "a boolean",
               "string": "a string", "array": "an array", "object": "an object",
               "null": "null"}
# jsonschema's numeric and array-length keywords, as the message words them
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
_ITEM_BOUNDS = {"minItems": "at least", "maxItems": "at most"}


def schema_path(name: str) -> Path:
    """The shipped schema file of `name` ("ir", "manifest", "measured", "cycle_stimulus")."""
    return _SCHEMA_DIR / SCHEMAS[name]


@cache
def load_schema(name: str) -> dict:
    return json.loads(schema_path(name).read_text())


@cache
def _validator(name: str):
    import jsonschema

    schema = load_schema(name)
    base = jsonschema.Draft202012Validator
    base.check_schema(schema)
    # An integer is an int literal: JSON Schema would take 3.0, which then reaches Python
    # code as a float.
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    strict = jsonschema.validators.extend(base, type_checker=checker)
    return strict(schema)


def format_path(parts: Iterable) -> str:
    """JSON path as the error messages write it: requant.shift, widths.fwht[1], U[3][0]."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(str(part)):
            text += f".{part}" if text else str(part)
        else:  # a key that is not a plain name is quoted, control characters escaped
            text += f"[{json.dumps(str(part))}]"
    return text


def show(value, limit: int = 60) -> str:
    """A value as JSON, shortened for a one-line message."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _describe(error, unknown: str) -> tuple[list, str]:
    """(path, message) of one jsonschema ValidationError, in hadamhw's words."""
    path = list(error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = [key for key in expected if key not in value]
        return path + [missing[0]], "is missing"
    if keyword == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(key) for key in value if key not in known)
        return path + [extra[0]], unknown
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        return path, f"must be {wanted}, got {show(value)}"
    if keyword == "enum":
        choices = ", ".join(show(v) for v in expected)
        return path, f"must be one of {choices}, got {show(value)}"
    if keyword == "const":
        return path, f"must be {show(expected)}, got {show(value)}"
    if keyword in _BOUNDS:
        return path, f"must be {_BOUNDS[keyword]} {expected}, got {show(value)}"
    if keyword in _ITEM_BOUNDS:
        return path, f"must have {_ITEM_BOUNDS[keyword]} {expected} entries, got {len(value)}"
    if keyword in ("minLength", "pattern"):
        what = error.schema.get("description", f"a string matching {expected}")
        return path, f"must be {what}, got {show(value)}"
    if keyword in ("anyOf", "oneOf"):
        return path, f"has none of its allowed forms, got {show(value)}"
    return path, error.message.splitlines()[0][:200]


def _relevance(error) -> tuple:
    # The shallowest violation first: a missing object says more than its missing parts.
    return (len(error.absolute_path), [str(p) for p in error.absolute_path])


def first_error(name: str, document, fast_arrays: dict[str, tuple[int, tuple]] | None = None,
                unknown: str = "is not a known field") -> tuple[str, str] | None:
    """(JSON path, message) of the most relevant violation of schema `name`, or None.

    fast_arrays: top-level field -> (nesting depth, allowed leaf values or ()) for integer
    arrays that may be checked by the fast path; a field that fails it is left to jsonschema,
    which then names the exact element. unknown: the message for a field the schema does
    not define.
    """
    doc = document
    if fast_arrays and isinstance(document, dict):
        doc = dict(document)
        for key, (depth, allowed) in fast_arrays.items():
            if key in doc and _plain_int_array(doc[key], depth, allowed):
                doc[key] = []  # valid as an array of any depth: nothing left to check
    errors = list(islice(_validator(name).iter_errors(doc), _MAX_ERRORS))
    if not errors:
        return None
    path, message = _describe(min(errors, key=_relevance), unknown)
    return format_path(path), message


_INT62 = (-(1 << 62), (1 << 62) - 1)


def _plain_int_array(value, depth: int, allowed: tuple) -> bool:
    """True when `value` is a depth-nested list of int literals within the schema's bounds
    (or within `allowed`): exactly what its sub-schema accepts, checked without jsonschema."""
    if not isinstance(value, list):
        return False
    if depth > 1:
        return all(_plain_int_array(row, depth - 1, allowed) for row in value)
    if not all(type(v) is int for v in value):
        return False
    if not value:
        return True
    if allowed:
        return all(v in allowed for v in value)
    return _INT62[0] <= min(value) and max(value) <= _INT62[1]
