"""The typed netlist: intervals, the evaluator against the golden model over a pairwise set
of IR options, the adder counts of `hadamhw generate`, the IR width check."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import nonzero_digits
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_inputs, random_ir
from hadamhw.netlist import single_cycle as sc
from hadamhw.netlist.check import check_ir_widths
from hadamhw.netlist.evaluate import Simulator
from hadamhw.netlist.nodes import (
    Add,
    Clamp,
    Input,
    Netlist,
    Operand,
    Output,
    Reg,
    Rom,
    adders_by_group,
    bits,
    check_registers,
)
from hadamhw.netlist.plan import requant_plan

FACTORS = {
    "input": ("token", "int"),
    "signed": (False, True),
    "mode": ("linear", "vanilla"),
    "readout": ("every", "last"),
    "output_bits": (None, 8),
    "blocks": ("m=n", "m<n"),
    "parity": ("even", "odd"),
    "state": (8, 12),
    "cmvm": ("da4ml", "csd"),
    "saturating": (False, True),
    "requant": ("random", "lean"),
}
# (n, m) per block layout and parity of log2 m
SIZES = {("m=n", "even"): (16, 16), ("m=n", "odd"): (8, 8), ("m<n", "even"): (16, 4),
         ("m<n", "odd"): (16, 8)}


def _possible(row: dict) -> bool:
    return not (row["input"] == "token" and row["signed"])  # token ids are unsigned


def covering_rows(factors: dict[str, tuple], possible=lambda row: True) -> list[dict]:
    """A greedy covering array: every possible pair of option values meets in a row."""
    names = list(factors)
    rows = [dict(zip(names, vals, strict=True)) for vals in itertools.product(*factors.values())]
    rows = [r for r in rows if possible(r)]

    def pairs(r: dict) -> set:
        return {(a, r[a], b, r[b]) for a, b in itertools.combinations(names, 2)}

    todo = set().union(*(pairs(r) for r in rows))
    table = []
    while todo:
        best = max(rows, key=lambda r: len(pairs(r) & todo))
        table.append(best)
        todo -= pairs(best)
    return table


PAIRWISE = covering_rows(FACTORS, _possible)


def _ids(row: dict) -> str:
    return "-".join(f"{v}" for v in row.values())


def make_ir(row: dict, seed: int):
    n, m = SIZES[row["blocks"], row["parity"]]
    extra = ({"input_size": 6} if row["input"] == "token"
             else {"input_size": 3, "input_bits": 4, "input_signed": row["signed"]})
    return random_ir(np.random.default_rng(seed), n, m, mode=row["mode"],
                     readout=row["readout"], state_bits=row["state"], input_kind=row["input"],
                     output_size=5, saturating=row["saturating"],
                     output_bits=row["output_bits"], requant=row["requant"], **extra)


def golden_equal(nl: Netlist, ir, seed: int, latency: int = 0) -> bool:
    """Two batches of sequences back to back, with idle cycles, against the golden model:
    every output integer and argmax of every step."""
    rng = np.random.default_rng(1000 + seed)
    xs = [random_inputs(rng, ir, 12, 7), random_inputs(rng, ir, 12, 4)]
    got = sc.simulate(nl, ir, xs, latency=latency, idle_after=frozenset({1, 2, 6, 8}))
    for x, (y, am) in zip(xs, got, strict=True):
        want = golden_run(ir, x)
        if not (np.array_equal(want.outputs, y) and np.array_equal(want.argmax, am)):
            return False
    return True


def test_table_is_pairwise():
    assert 6 <= len(PAIRWISE) <= 16
    for a, b in itertools.combinations(FACTORS, 2):
        need = {(va, vb) for va, vb in itertools.product(FACTORS[a], FACTORS[b])
                if _possible({**PAIRWISE[0], a: va, b: vb})}
        assert need <= {(r[a], r[b]) for r in PAIRWISE}, (a, b)


@pytest.mark.parametrize("row", PAIRWISE, ids=_ids)
def test_evaluator_equals_golden(row):
    seed = PAIRWISE.index(row)
    ir = make_ir(row, seed)
    nl = sc.build(ir, row["cmvm"])
    assert check_ir_widths(nl, ir, {"requant_sum": requant_plan(ir).common}) > 0
    assert golden_equal(nl, ir, seed)
    if row["saturating"]:  # the clamp is exercised
        x = random_inputs(np.random.default_rng(seed), ir, 12, 7)
        assert golden_run(ir, x).saturated > 0


def test_evaluator_equals_golden_at_n_64():
    ir = random_ir(np.random.default_rng(7), 64, 64, input_kind="int", input_size=4,
                   output_size=10, output_bits=10)
    assert golden_equal(sc.build(ir, "da4ml"), ir, 7)


@pytest.mark.parametrize("row", PAIRWISE, ids=_ids)
def test_adders_match_generate(row):
    """The same adders as the string-built sections of `hadamhw generate` (the stage fold
    still renders from them; its input, readout and CSD requantization graphs are the
    single-cycle core's, and its recurrence spends n log2 m adders as well)."""
    ir = make_ir(row, PAIRWISE.index(row))
    files = vg.render(ir, GenerateOptions(cmvm=row["cmvm"], fold="stage"))
    want = json.loads(files["manifest.json"])["adders_per_step"]
    have = adders_by_group(sc.build(ir, row["cmvm"]))
    groups = ["input", "recurrent", "readout"]
    if row["cmvm"] == "csd" or nonzero_digits(requant_plan(ir).rotate) <= 2:
        groups.append("requant")
    bits = json.loads(files["manifest.json"])["adder_bits"]
    parallel_bits = json.loads(vg.render(ir, GenerateOptions(cmvm=row["cmvm"]))[
        "manifest.json"])["adder_bits"]
    for group in groups:
        assert have.get(group, 0) == want[group], group
        if group in ("input", "readout"):  # the stage fold's r has other bounds
            assert parallel_bits[group] == bits[group], group
    parallel = json.loads(vg.render(ir, GenerateOptions(cmvm=row["cmvm"]))["manifest.json"])
    assert parallel["adders_per_step"] == {"input": 0, **have, "total": sum(have.values())}


def test_evaluator_sees_a_wrong_builder(monkeypatch):
    """The comparison can fail: a rotation without the sign flip differs from golden."""
    row = PAIRWISE[0]
    ir = make_ir(row, 0)
    real = sc.rotation

    def unsigned_rotation(nl, ir_, h):
        plain = SimpleNamespace(hidden_size=ir_.hidden_size, block_size=ir_.block_size,
                                signs=np.ones_like(ir_.signs))
        return real(nl, plain, h)

    monkeypatch.setattr(sc, "rotation", unsigned_rotation)
    assert not golden_equal(sc.build(ir, row["cmvm"]), ir, 0)


# -- intervals -----------------------------------------------------------------------------
def test_width_and_signedness_follow_the_interval():
    assert bits(0, 0) == (1, False)
    assert bits(0, 255) == (8, False)
    assert bits(-1, 0) == (1, True)
    assert bits(-128, 127) == (8, True)
    assert bits(-129, 0) == (9, True)


def test_affine_intervals_are_exact_for_shared_operands():
    nl = Netlist()
    x = nl.add(Input(name="x", lo=-8, hi=7))
    seven = nl.add(Add(a=Operand(x, 3), b=Operand(x, 0, -1)))  # 8x - x
    assert (nl[seven].lo, nl[seven].hi) == (-56, 49)  # not [-71, 64]
    zero = nl.add(Add(a=Operand(seven), b=Operand(x, 0, -7)))
    assert (nl[zero].lo, nl[zero].hi) == (0, 0)
    clamp = nl.add(Clamp(a=seven, low=-10, high=100))
    assert (nl[clamp].lo, nl[clamp].hi) == (-10, 49)


def test_rom_interval_includes_the_default_only_when_reachable():
    nl = Netlist()
    a = nl.add(Input(name="a", lo=0, hi=3))
    assert (nl[nl.add(Rom(addr=a, table=(1, 2, 3, 4), default=-99))].lo) == 1
    b = nl.add(Input(name="b", lo=0, hi=7))
    assert (nl[nl.add(Rom(addr=b, table=(1, 2, 3, 4), default=-99))].lo) == -99


def test_register_check_refuses_a_register_too_narrow_for_its_data():
    nl = Netlist()
    x = nl.add(Input(name="x", lo=0, hi=300))
    r = nl.add(Reg(lo=0, hi=255))
    nl.connect(r, x)
    nl.add(Output(a=r, name="y"))
    with pytest.raises(HadamhwError, match="register"):
        check_registers(nl)


def test_ir_width_check_catches_a_node_beyond_the_declared_width():
    ir = make_ir(PAIRWISE[0], 0)
    nl = sc.build(ir, "csd")
    nl.tags["fwht[0]"] = nl.tags["rotated"]  # r has one bit more than the first stage
    with pytest.raises(HadamhwError, match="fwht"):
        check_ir_widths(nl, ir)


def test_evaluator_refuses_nodes_over_63_bits():
    nl = Netlist()
    x = nl.add(Input(name="x", lo=-(1 << 62), hi=(1 << 62) - 1))
    nl.add(Add(a=Operand(x, 4), b=Operand(x)))
    with pytest.raises(HadamhwError, match="63"):
        Simulator(nl, 1)


def test_evaluator_wraps_to_the_node_width():
    """A register declared too narrow wraps as the hardware's would."""
    nl = Netlist()
    x = nl.add(Input(name="x", lo=0, hi=7))
    r = nl.add(Reg(lo=0, hi=3))
    nl.connect(r, x)
    nl.add(Output(a=r, name="y"))
    sim = Simulator(nl, 2)
    sim.step({"x": np.array([5, 2])})
    assert sim.step({"x": 0})["y"].tolist() == [1, 2]


def test_architecture_doc_example_runs():
    """docs/architecture.md's worked example runs as written (its asserts included)."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "architecture.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "architecture.md", "exec"), scope)
    assert scope["latency"] > 0 and "module hadamrnn_core" in scope["verilog"]


def test_simulate_refuses_values_outside_their_intervals():
    """A state register declared half as wide as it must be: refused, not just wrong."""
    from dataclasses import replace

    row = PAIRWISE[2]  # saturating: the state reaches its full range
    ir = make_ir(row, 2)
    nl = sc.build(ir, row["cmvm"])
    for i in nl.registers():
        if nl[i].group == "state":
            nl.nodes[i] = replace(nl[i], lo=nl[i].lo // 2, hi=nl[i].hi // 2)
    with pytest.raises(HadamhwError, match="left their intervals"):
        golden_equal(nl, ir, 2)
