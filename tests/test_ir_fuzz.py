"""Property test: no IR file, however mutated, gives a traceback or an accepted-but-wrong design.

Valid IRs are mutated (wrong types, missing and extra keys, huge and negative numbers, bools,
nested junk, truncated text) and fed to `hadamhw generate`. Every outcome must be one of:
- exit status 2 with one line naming the file (and, for a JSON problem, the field);
- exit status 0, and then the accepted IR is exactly what the file says (nothing coerced:
  "false" never becomes True) and the golden model, run on inputs that reach the range ends,
  keeps every intermediate inside its declared width (or refuses the IR as too wide for
  int64, again in one line).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hadamhw.cli import main
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_inputs, random_ir
from hadamhw.ir.schema import IntegerRNN

BASES = [
    random_ir(np.random.default_rng(1), 8, 4, output_bits=8, input_signed=False).to_dict(),
    random_ir(np.random.default_rng(2), 4, None, input_kind="token", input_size=3,
              readout="last", mode="vanilla").to_dict(),
    random_ir(np.random.default_rng(3), 8, 2, saturating=True, state_bits=6).to_dict(),
]
INPUT_DEFAULTS = {"signed": False, "scale": 1.0}
SCALE_DEFAULTS = {name: 1.0 for name in ("input", "input_weight", "input_acc", "state",
                                          "output_weight", "output")}

EDGE_INTS = [0, 1, -1, 2, 3, 7, 8, 31, 32, 33, 48, 60, 61, 62, 63, 64, 255, 256, 257,
             2**31 - 1, 2**31, 2**62 - 1, 2**62, 2**63, 2**64, -(2**63), 10**30]
scalars = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from(EDGE_INTS), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 4.0, -1.0]),
    st.text(max_size=6), st.sampled_from(["false", "true", "1", "abc", "int", "token"]),
)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=12)


def _paths(node, prefix=()):
    """Every (path, value) in the document; long arrays contribute a few elements only."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        picks = range(len(node)) if len(node) <= 3 else (0, 1, len(node) - 1)
        for i in picks:
            yield from _paths(node[i], (*prefix, i))


def _parent(doc, path):
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_documents(draw):
    doc = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    # A third of the examples only nudge integers: they are often still valid, and then
    # the accepted design must be exactly right.
    gentle = draw(st.integers(0, 2)) == 0
    actions = (["nudge"] if gentle else
               ["replace", "replace", "delete", "extra", "nudge", "wrap", "duplicate"])
    deltas = [-1, 1, 2] if gentle else [-1, 1, -(2**20), 2**20, 2**40]
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p, _ in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        key = path[-1]
        action = draw(st.sampled_from(actions))
        if action == "replace":
            parent[key] = draw(junk)
        elif action == "delete":
            del parent[key]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(junk)
        elif action == "extra":
            parent.append(draw(junk))
        elif action == "nudge":  # an integer leaf, a little or a lot: often still valid
            ints = [p for p, v in _paths(doc) if p and type(v) is int]
            if ints:
                where = draw(st.sampled_from(ints))
                _parent(doc, where)[where[-1]] += draw(st.sampled_from(deltas))
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(parent[key])
        if not isinstance(doc, dict):
            break
    text = json.dumps(doc, allow_nan=True)
    if draw(st.integers(0, 15)) == 0:  # now and then a truncated file
        text = text[:draw(st.integers(0, len(text)))]
    return doc, text


def _canonical(doc: dict) -> str:
    """The document as the IR reads it: defaults filled in, scales as floats."""
    full = dict(doc)
    full.setdefault("output_requant", None)
    full.setdefault("meta", {})
    full["input"] = {**INPUT_DEFAULTS, **doc["input"]}
    full["input"]["scale"] = float(full["input"]["scale"])
    full["scales"] = {k: float(v) for k, v in {**SCALE_DEFAULTS,
                                                **doc.get("scales", {})}.items()}
    return json.dumps(full, sort_keys=True)


def _assert_not_wrong(ir: IntegerRNN, doc: dict) -> None:
    # 1. What was accepted is what the file says: nothing coerced, nothing dropped.
    assert _canonical(ir.to_dict()) == _canonical(doc)
    # 2. The declared widths hold what the golden model computes at the range ends.
    rng = np.random.default_rng(0)
    try:
        res = golden_run(ir, random_inputs(rng, ir, 4, 6, extreme=0.8), trace=True)
    except HadamhwError as exc:
        assert "int64" in str(exc) and "\n" not in str(exc)
        return
    w = ir.widths
    for name, (lo, hi) in res.ranges.items():
        if name == "readout_in":
            assert lo >= 0 and hi < (1 << w.readout_in), name
            continue
        bits = w.fwht[int(name[5:-1])] if name.startswith("fwht[") else getattr(w, name)
        assert -(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1, name


def _generate(path: Path, out: Path) -> tuple[int, str]:
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = main(["generate", str(path), "--target", "verilog", "-o", str(out)])
    return code, stderr.getvalue()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(mutated_documents())
def test_mutated_ir_is_refused_in_one_line_or_exact(tmp_path, case):
    doc, text = case
    path = tmp_path / "m.ir.json"
    path.write_text(text)
    shutil.rmtree(tmp_path / "out", ignore_errors=True)  # tmp_path is shared by the examples
    code, err = _generate(path, tmp_path / "out")
    assert code in (0, 2), err
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"hadamhw generate: error: {path}: "), err
        event("refused")
        return
    event("accepted")
    ir = IntegerRNN.load(path)
    _assert_not_wrong(ir, json.loads(text))
    assert (tmp_path / "out" / "manifest.json").is_file()


@pytest.mark.parametrize("base", range(len(BASES)))
def test_unmutated_bases_are_accepted(base, tmp_path):
    """The property above is not vacuous: the bases themselves pass the same checks."""
    path = tmp_path / "m.ir.json"
    path.write_text(json.dumps(BASES[base]))
    code, err = _generate(path, tmp_path / "out")
    assert code == 0, err
    _assert_not_wrong(IntegerRNN.load(path), BASES[base])


def test_fast_array_check_agrees_with_jsonschema():
    """The fast path for integer arrays accepts exactly what the schema accepts."""
    from hadamhw.ir import json_schema

    validator = json_schema._validator("ir")
    base = BASES[0]
    samples = [[[1, 2], [3, 4]], [[1, True]], [[1, 2.0]], [[2**62]], [[-(2**62)]],
               [[2**62 - 1]], [[]], [], [[1], [2, 3]], [[[1]]], [1, 2], [[None]], [["1"]]]
    for sample in samples:
        fast = json_schema._plain_int_array(sample, 2, ())
        slow = not any(e.absolute_path and e.absolute_path[0] == "input_weight"
                       for e in validator.iter_errors({**base, "input_weight": sample}))
        assert not fast or slow, sample  # the fast path never accepts what jsonschema refuses
        if slow and all(isinstance(r, list) for r in sample):
            flat = [v for r in sample for v in r]
            if all(type(v) is int for v in flat):
                assert fast, sample
    for signs, ok in (([1, -1], True), ([1, 0], False), ([True, -1], False),
                      ([1.0, -1], False)):
        assert json_schema._plain_int_array(signs, 1, (-1, 1)) is ok
