"""tools/datapath_costs.py: the core's adder bits and the floor column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hadamhw.backends import verilog as vg
from hadamhw.ir.random import random_ir
from tests.tool_module import load_tool


@pytest.fixture(scope="module")
def costs():
    return load_tool("datapath_costs")


def test_core_adder_bits_by_hand(costs):
    # 12-bit state, k = 2: level 1 is 13 bits wide, the last level 15 (14 + 1 for the
    # folded signs), 16 adders a level
    ir = random_ir(np.random.default_rng(0), 16, 4, requant="lean")
    assert ir.widths.state == 12
    assert costs.core_adder_bits(ir) == 16 * (13 + 15) == 448


@pytest.mark.parametrize("n, m", [(16, 4), (16, 16), (32, 8)])
def test_core_adder_bits_match_the_generated_rotation(costs, n, m):
    ir = random_ir(np.random.default_rng(1), n, m, requant="lean")
    stages = vg.rotate_fwht_context(ir, "t")["stages"]
    assert len(stages) == ir.k
    assert costs.core_adder_bits(ir) == n * sum(st["width"] for st in stages)


def test_rows_carry_the_floor(costs, capsys):
    assert costs.main(["--pairs", "16:4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(costs.CHOICES)
    assert {r["core_bits"] for r in rows} == {448}
    lean = next(r for r in rows if r["choice"] == "lean constants, da4ml")
    assert lean["bits"]["total"] + lean["core_bits"] == 1797 + 448
    assert costs.main(["--pairs", "16:4"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].endswith("| core adder bits | core + datapath adder bits |")
    assert any(line.endswith("| 448 | 2245 |") for line in table)
