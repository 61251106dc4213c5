"""IR JSON form and validation: round trips and one-line errors naming the field."""

from __future__ import annotations

import json

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
    ("signs", [1, 0, 1, 1, 1, 1, 1, 1], "'signs': entry 1 is 0"),
    ("input_weight", [[1, 2, 3]], "'input_weight': shape"),
    ("output_bias", [1.5, 0, 0, 0, 0], "'output_bias': must hold integers"),
    ("widths.state", 1, "'widths.state'"),
    ("widths.fwht", [13], "'widths.fwht': has 1 stages"),
    ("widths.fwht", [13, 13], "'widths.fwht\\[1\\]': 13 bits cannot hold stage 2"),
    ("widths.rotated", 3, "'widths.rotated': 3 bits cannot hold"),
    ("widths.requant_sum", 10, "'widths.requant_sum': 10 bits cannot hold"),
    ("widths.output_acc", 4, "'widths.output_acc'"),
    ("widths.input_acc", 2, "'widths.input_acc'"),
    ("widths.readout_in", 2, "'widths.readout_in'"),
    ("widths.bogus", 3, "'widths.bogus': is not a width"),
    ("widths.shifted", _DELETE, "'widths.shifted': is missing"),
    ("requant.shift", -1, "'requant.shift'"),
    ("input.kind", "float", "'input.kind'"),
    ("mode", "gru", "'mode'"),
    ("readout", "sometimes", "'readout'"),
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
    ir_dict["widths"]["output_acc"] += 3
    ir_dict["widths"]["output"] = ir_dict["widths"]["output"]
    IntegerRNN.from_dict(ir_dict)
