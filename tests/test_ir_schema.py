"""IR JSON form and validation: round trips and one-line errors naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hadamhw.errors import HadamhwError
from hadamhw.ir import IntegerRNN
from hadamhw.ir.random import random_ir


@pytest.fixture
def ir_dict():
    return random_ir(np.random.default_rng(0), 8, 4, output_bits=8).to_dict()


@pytest.mark.parametrize("seed", range(6))
def test_json_round_trip_is_identical(seed):
    rng = np.random.default_rng(seed)
    ir = random_ir(rng, int(rng.choice([4, 8, 16])), None if seed % 2 else 4,
                   mode=["linear", "vanilla"][seed % 2], readout=["every", "last"][seed // 3],
                   input_kind=["int", "token"][seed % 3 == 0], input_size=5,
                   output_bits=8 if seed == 2 else None)
    text = ir.to_json()
    again = IntegerRNN.from_json(text)
    assert again.to_json() == text
    assert json.loads(text)["format"] == "hadamhw-ir"


def test_save_and_load(tmp_path):
    ir = random_ir(np.random.default_rng(1), 16, 8)
    ir.save(tmp_path / "m.ir.json")
    assert IntegerRNN.load(tmp_path / "m.ir.json").to_json() == ir.to_json()


def _mutate(d: dict, path: str, value):
    keys = path.split(".")
    target = d
    for k in keys[:-1]:
        target = target[k]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


_DELETE = object()

BAD_CASES = [
    ("version", 2, "'version'.*not supported"),
    ("format", "onnx", "'format'"),
    ("hidden_size", _DELETE, "'hidden_size': is missing"),
    ("extra_field", 1, "'extra_field': is not a field"),
    ("block_size", 3, "'block_size': 3 is not a power of two"),
    ("block_size", 16, "'block_size': 16 does not divide"),
    ("signs", [1, -1, 1], "'signs': shape"),
    ("signs", [1, 0, 1, 1, 1, 1, 1, 1], r"'signs\[1\]': must be one of -1, 1, got 0"),
    ("input_weight", [[1, 2, 3]], "'input_weight': shape"),
    ("output_bias", [1.5, 0, 0, 0, 0], r"'output_bias\[0\]': must be an integer, got 1.5"),
    ("widths.state", 1, "'widths.state'"),
    ("widths.fwht", [13], "'widths.fwht': has 1 stages"),
    ("widths.fwht", [13, 13], "'widths.fwht\\[1\\]': 13 bits cannot hold stage 2"),
    ("widths.rotated", 3, "'widths.rotated': 3 bits cannot hold"),
    ("widths.requant_sum", 10, "'widths.requant_sum': 10 bits cannot hold"),
    ("widths.output_acc", 4, "'widths.output_acc'"),
    ("widths.input_acc", 2, "'widths.input_acc'"),
    ("widths.readout_in", 2, "'widths.readout_in'"),
    ("widths.bogus", 3, "'widths.bogus': is not a field of IR version 1"),
    ("widths.shifted", _DELETE, "'widths.shifted': is missing"),
    ("requant.shift", -1, "'requant.shift'"),
    ("input.kind", "float", "'input.kind'"),
    ("mode", "gru", "'mode'"),
    ("readout", "sometimes", "'readout'"),
    # the holes of issue 15: each was accepted, or ended in a traceback
    ("input.signed", "false", "'input.signed': must be a boolean, got \"false\""),
    ("input.scale", "abc", "'input.scale': must be a number, got \"abc\""),
    ("input.scale", 0, "'input.scale': must be > 0, got 0"),
    ("hidden_size", True, "'hidden_size': must be an integer, got true"),
    ("hidden_size", 8.0, "'hidden_size': must be an integer, got 8.0"),
    ("requant.shift", True, "'requant.shift': must be an integer, got true"),
    ("requant.shift", _DELETE, "'requant.shift': is missing"),
    ("requant.shift", 61, "'requant.shift': must be <= 60, got 61"),
    ("requant.input_mult", 1 << 70, "'requant.input_mult': must be <= "),
    ("meta", [1, 2], "'meta': must be an object, got \\[1, 2\\]"),
    ("scales.state", None, "'scales.state': must be a number, got null"),
    ("scales.bogus", 1.0, "'scales.bogus': is not a field of IR version 1"),
    ("input.extra", 1, "'input.extra': is not a field of IR version 1"),
    ("output_requant.bits", "8", "'output_requant.bits': must be an integer, got \"8\""),
    ("output_requant.shift", -2, "'output_requant.shift': must be >= 0, got -2"),
    ("output_requant", [], "'output_requant': must be an object or null, got \\[\\]"),
    ("widths", None, "'widths': must be an object, got null"),
    ("widths.fwht", 13, "'widths.fwht': must be an array, got 13"),
    ("widths.fwht", [], "'widths.fwht': must have at least 1 entries"),
    ("widths.state", 1000, "'widths.state': must be <= 48, got 1000"),
    ("input_weight", [[1, 2, 3]] * 7 + [[1, 2]], "'input_weight': is not a rectangular array"),
    ("input_weight", [[1, "2", 3]] * 8, "'input_weight\\[0\\]\\[1\\]': must be an integer"),
    ("input_weight", {"a": 1}, "'input_weight': must be an array"),
    ("output_weight", [[[1]]] * 5, "'output_weight\\[0\\]\\[0\\]': must be an integer"),
    ("input_bias", [1 << 63] * 8, "'input_bias\\[0\\]': must be <= 4611686018427387903"),
    ("signs", [True] * 8, "'signs\\[0\\]': must be one of -1, 1, got true"),
    ("format", None, "'format': expected 'hadamhw-ir', got null"),
    ("version", "1", "'version': version \"1\" is not supported"),
    ("version", 1.0, "'version': version 1.0 is not supported"),
]


@pytest.mark.parametrize("path,value,message", BAD_CASES)
def test_malformed_ir_is_rejected_naming_the_field(ir_dict, path, value, message):
    _mutate(ir_dict, path, value)
    with pytest.raises(HadamhwError, match=message) as info:
        IntegerRNN.from_dict(ir_dict)
    assert "\n" not in str(info.value)


def test_value_outside_declared_width(ir_dict):
    w = ir_dict["widths"]["output_weight"]
    ir_dict["output_weight"][2][3] = 1 << w  # grows the need: width check names the field
    with pytest.raises(HadamhwError, match="'widths.output_weight'"):
        IntegerRNN.from_dict(ir_dict)


def test_bias_outside_accumulator(ir_dict):
    ir_dict["output_bias"][0] = 1 << 40
    with pytest.raises(HadamhwError, match="'widths.output_acc'"):
        IntegerRNN.from_dict(ir_dict)


def test_bad_json_and_missing_file(tmp_path):
    with pytest.raises(HadamhwError, match="not valid JSON"):
        IntegerRNN.from_json("{nope")
    with pytest.raises(HadamhwError, match="no such IR file"):
        IntegerRNN.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "hadamhw-ir", "version": 7}')
    with pytest.raises(HadamhwError, match="bad.json: IR field 'version'"):
        IntegerRNN.load(bad)


def test_wider_declared_widths_are_allowed(ir_dict):
    """A width above the worst case is legal and kept as declared; the output width of a
    requantized output stays the requantization's."""
    need = IntegerRNN.from_dict(ir_dict).widths
    ir_dict["widths"]["output_acc"] += 3
    ir_dict["widths"]["requant_sum"] += 1
    ir = IntegerRNN.from_dict(ir_dict)
    assert ir.widths.output_acc == need.output_acc + 3
    assert ir.widths.requant_sum == need.requant_sum + 1
    assert ir.widths.output == ir.output_requant.bits == need.output
    assert ir.to_dict()["widths"] == ir_dict["widths"]


@pytest.mark.parametrize("path,value,fragment", [
    ("input.signed", "false", "IR field 'input.signed': must be a boolean, got \"false\""),
    ("input.scale", "abc", "IR field 'input.scale': must be a number, got \"abc\""),
    ("hidden_size", True, "IR field 'hidden_size': must be an integer, got true"),
    ("meta", [1, 2], "IR field 'meta': must be an object, got [1, 2]"),
    ("requant.shift", _DELETE, "IR field 'requant.shift': is missing"),
])
def test_cli_refuses_a_bad_ir_in_one_line_with_status_2(cli, tmp_path, ir_dict, path, value,
                                                        fragment):
    """The holes of issue 15, through the command line: status 2, one line naming the file
    and the field (`"meta": [1, 2]` used to end in a traceback with status 1)."""
    _mutate(ir_dict, path, value)
    bad = tmp_path / "bad.ir.json"
    bad.write_text(json.dumps(ir_dict))
    for command in (("generate", bad, "--target", "hls", "-o", tmp_path / "out"),
                    ("sim", bad, "--sequences", "1")):
        code, out, err = cli(*command)
        assert code == 2, err
        assert err.splitlines() == [f"hadamhw {command[0]}: error: {bad}: {fragment}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text,fragment", [
    ('{"format": "hadamhw-ir", "version": 1, "hidden_size": NaN}', "NaN is not a JSON number"),
    ("[1, 2]", "the top level must be a JSON object, got [1, 2]"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
    ("", "not valid JSON"),
])
def test_json_level_problems_are_one_line(tmp_path, text, fragment):
    bad = tmp_path / "bad.ir.json"
    bad.write_text(text)
    with pytest.raises(HadamhwError) as info:
        IntegerRNN.load(bad)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    bad.write_bytes(b"\xff\xfe{")
    with pytest.raises(HadamhwError, match="not UTF-8 text"):
        IntegerRNN.load(bad)


def test_meta_nested_too_deep_is_refused(ir_dict):
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    ir_dict["meta"] = deep
    with pytest.raises(HadamhwError, match="'meta': is nested more than 64 levels"):
        IntegerRNN.from_dict(ir_dict)


def test_token_inputs_must_be_unsigned(ir_dict):
    ir = random_ir(np.random.default_rng(0), 8, 4, input_kind="token", input_size=5)
    data = ir.to_dict()
    data["input"]["signed"] = True
    with pytest.raises(HadamhwError, match="'input.signed': token ids are unsigned"):
        IntegerRNN.from_dict(data)


def test_python_construction_checks_types_too():
    from hadamhw.ir import InputSpec

    ir = random_ir(np.random.default_rng(0), 8, 4)
    parts = {k: getattr(ir, k) for k in ("hidden_size", "block_size", "output_size", "mode",
                                         "readout", "signs", "input_weight", "input_bias",
                                         "output_weight", "output_bias", "requant")}
    with pytest.raises(HadamhwError, match="'input.signed': must be a boolean"):
        IntegerRNN.build(state_bits=12, input=InputSpec("int", 3, 4, signed="false"), **parts)
    with pytest.raises(HadamhwError, match="'input.scale': must be a positive finite number"):
        IntegerRNN.build(state_bits=12, input=InputSpec("int", 3, 4, scale=float("nan")),
                         **parts)
    with pytest.raises(HadamhwError, match="'widths.state'"):
        IntegerRNN.build(state_bits=True, input=InputSpec("int", 3, 4), **parts)


def test_schema_file_is_valid_draft_2020_12_and_matches_the_loader():
    import jsonschema

    import hadamhw.ir
    from hadamhw.ir.json_schema import load_schema, schema_path

    for name in ("ir", "manifest"):
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema_path(name).parent == Path(hadamhw.ir.__file__).parent  # in the package
    # A plain draft 2020-12 validator accepts what hadamhw writes.
    ir = random_ir(np.random.default_rng(4), 16, 4, output_bits=8)
    jsonschema.Draft202012Validator(load_schema("ir")).validate(json.loads(ir.to_json()))
    # The schema lists exactly the fields the loader writes.
    assert set(load_schema("ir")["properties"]) == set(ir.to_dict())
    assert set(load_schema("ir")["properties"]["widths"]["properties"]) == \
        set(ir.to_dict()["widths"])
