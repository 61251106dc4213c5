"""The deep fold (--fold F) against the golden model: cocotb (Verilator, an Icarus subset),
the direct Verilator harness (bit-exact, then at full rate for the throughput the manifest
states) and the HLS C simulation, on random IRs.

The table is pairwise over F in {1, 2, n/4} and the other options: every pair of values of
any two factors meets in at least one row (test_table_is_pairwise). Between the rows: the
skewed and the whole-block bank layouts, a gap between stages (F = m/4 with m = n), the
product stage of an odd log2 m, one stage (m = 2), unsigned inputs and one output.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends.verilog_fold import plan_for
from hadamhw.design import generate as generate_design
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_inputs, random_ir
from hadamhw.ir.stimulus import make_stimulus
from tests.needs import need

FACTORS = {
    "fold": ("1", "2", "n/4"),
    "n": (8, 16, 64),
    "state": (8, 12, 16),
    "block": ("2", "4", "n"),
    "mode": ("linear", "vanilla"),
    "readout": ("every", "last"),
    "input": ("int", "token"),
    "saturating": (False, True),
    "output_bits": (None, 6),
    "requant": ("lean", "random"),
}
PAIRWISE = [
    ("1", 8, 8, "2", "vanilla", "last", "int", True, 6, "lean"),
    ("1", 16, 12, "n", "linear", "last", "int", True, None, "lean"),
    ("1", 64, 16, "4", "vanilla", "every", "int", True, 6, "lean"),
    ("2", 8, 12, "4", "vanilla", "every", "int", True, 6, "random"),
    ("2", 16, 16, "2", "vanilla", "every", "token", False, None, "lean"),
    ("2", 64, 8, "n", "linear", "last", "token", False, None, "random"),
    ("n/4", 8, 16, "n", "vanilla", "every", "token", True, 6, "lean"),
    ("n/4", 16, 8, "4", "linear", "every", "int", False, 6, "random"),
    ("n/4", 64, 12, "2", "linear", "last", "token", False, None, "random"),
    ("1", 8, 16, "4", "linear", "last", "token", False, None, "random"),
]
OUTPUTS = (3, 10, 1, 7, 9, 4, 5, 2, 6, 8)  # output words per row (one row has one)
ICARUS_ROWS = (0, 7)


def _row(values: tuple) -> dict:
    return dict(zip(FACTORS, values, strict=True))


def _ids(values: tuple) -> str:
    r = _row(values)
    return (f"F{r['fold'].replace('/', '')}-n{r['n']}-m{r['block']}-B{r['state']}-{r['mode']}-"
            f"{r['readout']}-{r['input']}{'-sat' if r['saturating'] else ''}"
            f"{'-o' + str(r['output_bits']) if r['output_bits'] else ''}-{r['requant']}")


def test_table_is_pairwise():
    rows = [_row(v) for v in PAIRWISE]
    for a, b in itertools.combinations(FACTORS, 2):
        need_pairs = set(itertools.product(FACTORS[a], FACTORS[b]))
        have = {(r[a], r[b]) for r in rows}
        assert need_pairs <= have, f"{a} x {b} misses {sorted(need_pairs - have, key=str)}"


def test_table_covers_the_layouts():
    plans = [plan_for(_ir(i), _units(_row(v))) for i, v in enumerate(PAIRWISE)]
    assert {p.skew for p in plans} == {False, True}
    assert any(p.gap for p in plans) and any(p.k == 1 for p in plans)
    assert {p.pipeline for p in plans} == {2, 3}


def _units(r: dict) -> int:
    return r["n"] // 4 if r["fold"] == "n/4" else int(r["fold"])


def _ir(index: int):
    r = _row(PAIRWISE[index])
    n = r["n"]
    m = n if r["block"] == "n" else int(r["block"])
    kind = r["input"]
    extra = ({"input_size": 10} if kind == "token"
             else {"input_size": 1 + index % 3, "input_bits": 4 + index % 3,
                   "input_signed": index % 2 == 0})
    return random_ir(np.random.default_rng(500 + index), n, m, mode=r["mode"],
                     readout=r["readout"], state_bits=r["state"], input_kind=kind,
                     output_size=OUTPUTS[index], saturating=r["saturating"],
                     output_bits=r["output_bits"], requant=r["requant"], **extra)


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    """index -> (IR, generated design folder), generated once per worker."""
    root = tmp_path_factory.mktemp("fold-designs")
    made: dict[int, tuple] = {}

    def get(index: int):
        if index not in made:
            ir = _ir(index)
            out = root / f"design{index}"
            generate_design(ir, out, GenerateOptions(fold=_units(_row(PAIRWISE[index]))))
            made[index] = (ir, out)
        return made[index]

    return get


def _stimulus(ir, index: int, sequences: int = 10):
    return make_stimulus(ir, sequences=sequences, seed=index, min_steps=1, max_steps=9,
                         extreme=0.3)


@pytest.mark.sim
@pytest.mark.parametrize("index", range(len(PAIRWISE)), ids=[_ids(v) for v in PAIRWISE])
def test_cocotb_bit_exact(index, designs):
    from hadamhw.verify.cocotb_sim import run_cocotb

    need("verilator")
    ir, design = designs(index)
    if _row(PAIRWISE[index])["saturating"]:  # the clamp must really be exercised
        assert golden_run(ir, random_inputs(np.random.default_rng(index), ir, 16, 9)).saturated
    stimulus = _stimulus(ir, index)
    result = run_cocotb(design, stimulus, simulator="verilator", seed=index)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    beats = sum(len(o) for o in stimulus.outputs) * (ir.output_size + 1)
    assert result.outputs_checked > beats  # the stream test, and the reset test beyond it


@pytest.mark.sim
@pytest.mark.needs("icarus")
@pytest.mark.parametrize("index", ICARUS_ROWS, ids=[_ids(PAIRWISE[i]) for i in ICARUS_ROWS])
def test_icarus_bit_exact(index, designs):
    from hadamhw.verify.cocotb_sim import run_cocotb

    ir, design = designs(index)
    result = run_cocotb(design, _stimulus(ir, index, 5), simulator="icarus", seed=index)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fold-batch")


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("index", range(len(PAIRWISE)), ids=[_ids(v) for v in PAIRWISE])
def test_batch_bit_exact_and_rate(index, designs, batch_dir):
    from hadamhw.verify.verilator_batch import run_batch

    ir, design = designs(index)
    man = json.loads((design / "manifest.json").read_text())
    stimulus = make_stimulus(ir, sequences=60, seed=index, max_steps=12, extreme=0.3)
    beats = sum(len(o) for o in stimulus.outputs) * (ir.output_size + 1)
    result = run_batch(design, stimulus, build_dir=batch_dir, seed=index, gaps=True)
    assert result.mismatches == [], result.mismatches[0].describe()
    assert result.outputs_checked == beats
    # full rate: one step every cycles_per_step cycles at most (every step_cycles while no
    # readout tail holds it back), then the last beat's latency
    fast = run_batch(design, stimulus, build_dir=batch_dir, seed=index, gaps=False)
    assert fast.ok and fast.outputs_checked == beats
    bound = (stimulus.steps - 1) * man["cycles_per_step"] + man["latency_cycles"] + 1
    least = (stimulus.steps - 1) * man["fold_plan"]["step_cycles"] + man["latency_cycles"]
    assert least <= fast.cycles <= bound


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
@pytest.mark.parametrize("index", range(len(PAIRWISE)), ids=[_ids(v) for v in PAIRWISE])
def test_hls_csim_bit_exact(index, tmp_path):
    from hadamhw.backends.hls import render
    from hadamhw.verify import csim

    ir = _ir(index)
    render(ir, tmp_path, GenerateOptions(fold=_units(_row(PAIRWISE[index]))))
    stimulus = make_stimulus(ir, sequences=16, seed=index, max_steps=12)
    result = csim.run_csim(tmp_path, stimulus, tmp_path / "csim")
    readouts = sum(len(o) for o in stimulus.outputs)
    assert result.outputs_checked == readouts * (ir.output_size + 1)
    assert result.ok, [m.describe() for m in result.mismatches[:5]]
