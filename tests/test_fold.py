"""The deep fold (--fold F): bank layout, addressing, schedule, generation and errors (fast).

The simulations against the golden model are in tests/test_fold_sim.py; the corrupted
templates in tests/test_fold_can_fail.py.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.backends.fold import FoldPlan, check_units, parse_fold, simulate_rotation
from hadamhw.backends.verilog_fold import plan_for
from hadamhw.design import generate as generate_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import fwht_stage
from hadamhw.ir.random import random_ir


def _fwht(h: np.ndarray, m: int) -> np.ndarray:
    f, half = np.asarray(h, dtype=np.int64), 1
    while half < m:
        f, half = fwht_stage(f, half), half * 2
    return f


def _shapes(max_n: int = 128):
    """(n, m, F) for every block size and every fold below n/2."""
    n = 4
    while n <= max_n:
        for k in range(1, n.bit_length() - 1 + 1):
            m = 1 << k
            if n % m == 0:
                units = 1
                while units < n // 2:
                    yield n, m, units
                    units *= 2
        n *= 2


def test_bank_layout_by_hand():
    """n = m = 8, one unit: two banks of four words; the half bit (= the bank) flips in the
    upper half of the block (elements 4..7)."""
    plan = FoldPlan(8, 8, 1)
    assert plan.skew and plan.banks == 2 and plan.words == 4 and plan.block_cycles == 4
    assert [plan.location(e) for e in range(8)] == [
        (0, 0, 0), (1, 0, 0), (0, 0, 1), (1, 0, 1), (1, 0, 2), (0, 0, 2), (1, 0, 3), (0, 0, 3)]
    # cycle c = 1: butterfly (1, 5) -> (2, 3); half 1 reads word 0 (element 1), half 0 word 2
    # (element 5); element 2 goes to half 0, element 3 to half 1, both at word 1
    assert plan.butterfly_elements(1, 0) == (1, 5, 2, 3)
    assert plan.operands(1, 0) == ((1, 0), (0, 0))
    assert (plan.read_word(1, 1), plan.read_word(0, 1)) == (0, 2)
    assert plan.write_swap(1) == 0 and plan.write_swap(2) == 1
    # the reads of cycle 2 (elements 2 and 6) need word 1, written in cycle 1 of the previous
    # stage: with 3 cycles from issue to a readable write, one idle cycle per stage
    assert plan.gap == 1 and plan.cycles_per_step == 3 * (4 + 1)


@pytest.mark.parametrize("n,m,units", list(_shapes()))
def test_rotation_through_the_banks_is_the_fwht(n, m, units):
    plan = FoldPlan(n, m, units)
    h = np.random.default_rng(n * 1000 + m * 10 + units).integers(-2048, 2048, n)
    assert np.array_equal(simulate_rotation(plan, h).astype(np.int64), _fwht(h, m))


@pytest.mark.parametrize("n,m,units", list(_shapes(64)))
def test_each_cycle_uses_every_bank_once(n, m, units):
    """2F operands from 2F different banks (one word per half), 2F results into 2F
    different banks (one word per half): one read and one write port per half suffice."""
    plan = FoldPlan(n, m, units)
    for c in range(plan.words):
        sources, read_words = set(), {0: set(), 1: set()}
        for u in range(units):
            a, b, s, d = plan.butterfly_elements(c, u)
            for e, (half, lane) in zip((a, b), plan.operands(c, u), strict=True):
                assert plan.location(e) == (half, lane, plan.read_word(half, c))
                sources.add((half, lane))
                read_words[half].add(plan.read_word(half, c))
            assert (s, d) == (2 * c * units + 2 * u, 2 * c * units + 2 * u + 1)
        assert len(sources) == 2 * units and all(len(w) == 1 for w in read_words.values())
        written = {plan.location(2 * c * units + t) for t in range(2 * units)}
        assert {word for _, _, word in written} == {c} and len(written) == 2 * units
        for t in range(2 * units):  # the write multiplexer: half h takes half h ^ swap
            half, lane, _ = plan.location(2 * c * units + t)
            assert half == (t // units) ^ plan.write_swap(c) and lane == t % units


def _stale_reads(plan: FoldPlan, gap: int) -> int:
    """Two stages on a timed RAM: a write lands `pipeline` cycles after its read was issued;
    a read sees only writes that landed in an earlier cycle. Count the stale reads."""
    S, latency = plan.words, plan.pipeline
    landed = {}  # word -> cycle its write of the first stage lands
    for c in range(S):
        landed[c] = c + latency
    stale = 0
    for c in range(S):
        issue = S + gap + c
        for half in (0, 1):
            if landed[plan.read_word(half, c)] >= issue:
                stale += 1
    return stale


@pytest.mark.parametrize("pipeline", [2, 3])
@pytest.mark.parametrize("n,m,units", [s for s in _shapes(64) if s[0] >= 8])
def test_gap_is_safe_and_minimal(n, m, units, pipeline):
    plan = FoldPlan(n, m, units, pipeline=pipeline)
    assert _stale_reads(plan, plan.gap) == 0
    if plan.gap:
        assert _stale_reads(plan, plan.gap - 1) > 0
    assert plan.cycles_per_step >= plan.k * (plan.words + plan.gap)


def test_cycles_per_step_formula():
    """k (n/(2F) + gap); two readout beats in flight bound short steps."""
    plan = FoldPlan(512, 512, 1, outputs=10)
    assert (plan.cycles_per_step, plan.overhead_cycles) == (2304, 0)
    assert FoldPlan(512, 512, 16, pipeline=3).cycles_per_step == 144
    short = FoldPlan(16, 4, 2, outputs=12)
    assert short.step_cycles == 8
    in_flight = short.step_cycles - short.gap + short.tail_cycles + 1
    assert short.cycles_per_step == -(-in_flight // 2) > short.step_cycles


def test_parse_fold_and_units():
    assert parse_fold("parallel") == "parallel" and parse_fold("stage") == "stage"
    assert parse_fold("8") == 8 and parse_fold(1) == 1
    for bad in ("3", "0", "-2", "abc", "", True, 2.5):
        with pytest.raises(HadamhwError, match="--fold"):
            parse_fold(bad)
    with pytest.raises(HadamhwError, match="from 1 to 32"):
        check_units(64, 64)
    with pytest.raises(HadamhwError, match="must be one of"):
        GenerateOptions(fold="4").validate()  # a string number is not an option value


# -- generation -------------------------------------------------------------------------------
def _ir(n=16, m=16, **kw):
    return random_ir(np.random.default_rng(3), n, m, **kw)


@pytest.mark.parametrize("kind", ["int", "token"])
def test_generation_is_deterministic(kind):
    ir = _ir(input_kind=kind, input_size=10 if kind == "token" else 3)
    a = vg.render(ir, GenerateOptions(fold=2))
    b = vg.render(ir, GenerateOptions(fold=2))
    assert a == b and set(a) == {"hadamrnn.v", "README.md", "manifest.json", "model.ir.json",
                                 "hadamrnn_tb.v", "hadamrnn_tb_in.hex",
                                 "hadamrnn_tb_expect.hex", "hadamrnn.core"}


def test_half_n_units_is_the_stage_fold():
    ir = _ir()
    assert vg.render(ir, GenerateOptions(fold=8)) == vg.render(ir, GenerateOptions(fold="stage"))
    assert vg.cycles_per_step(ir, 8) == ir.k


@pytest.mark.parametrize("readout", ["every", "last"])
def test_manifest(readout, tmp_path):
    ir = _ir(64, 16, readout=readout, output_size=5)
    man = generate_design(ir, tmp_path, GenerateOptions(fold=4))
    plan = plan_for(ir, 4)
    fp = man["fold_plan"]
    assert man["fold"] == 4 and man["cycles_per_step"] == plan.cycles_per_step
    assert man["latency_cycles"] == plan.latency_cycles
    assert fp["butterfly_units"] == 4 and fp["banks"] == 8 and fp["words_per_bank"] == 8
    assert fp["ideal_cycles_per_step"] == 64 * 4 // 8
    assert fp["overhead_cycles"] == man["cycles_per_step"] - fp["ideal_cycles_per_step"]
    assert fp["ram_bits"] == 2 * 64 * max(ir.widths.fwht)
    assert fp["adder_units"]["butterflies"] == 8
    assert man["output_fifo_depth"] == 2 and man["readout_lanes"] is None
    # the schema accepts it, and the other tools read it
    from hadamhw.design import read_design_manifest

    assert read_design_manifest(tmp_path, target="verilog")["fold"] == 4
    assert vg.cycles_per_step(ir, 4) == man["cycles_per_step"]


def test_no_multiplication_operator():
    """Adders only: no `*` in the Verilog except `(* keep *)` and `always @*`."""
    for kind in ("int", "token"):
        for m in (8, 16):  # log2 m odd: M_r' a CSD constant; even: a shift
            ir = _ir(16, m, input_kind=kind, input_size=10 if kind == "token" else 3,
                     requant="random")
            text = vg.render(ir, GenerateOptions(fold=1))["hadamrnn.v"]
            code = "\n".join(line.split("//")[0] for line in text.splitlines())
            code = re.sub(r"\(\* keep \*\)|@\*", "", code)  # an attribute, a sensitivity
            assert "*" not in code


def test_ram_is_inferable():
    """The vector: two memories with one synchronous read and one write each, in their own
    always blocks (what Yosys maps to SB_RAM40_4K / DP16KD); the tables: ROMs with a
    registered read."""
    text = vg.render(_ir(64, 64), GenerateOptions(fold=2))["hadamrnn.v"]
    for half in (0, 1):
        assert re.search(rf"reg  \[\d+:0\] ram{half} \[0:31\];", text)
        assert f"ram{half}[wr_addr] <= wr{half}_data;" in text
        assert f"rd{half}_q <= ram{half}[rd{half}_addr];" in text
    for rom in ("sign_rom", "uw_rom", "bias_rom", "vw_rom"):
        assert re.search(rf"<= {rom}\[[^\]]+\];", text)


def test_refused_combinations():
    ir = _ir(readout="last")
    with pytest.raises(HadamhwError, match="--readout-lanes"):
        vg.render(ir, GenerateOptions(fold=2, readout_lanes=1))
    with pytest.raises(HadamhwError, match="--recurrent dense"):
        vg.render(ir, GenerateOptions(fold=2, recurrent="dense"))
    with pytest.raises(HadamhwError, match="n = 16 has 8 butterflies"):
        vg.render(ir, GenerateOptions(fold=16))


@pytest.mark.needs("verilator")
@pytest.mark.parametrize("n,m,units,kind,readout", [
    (8, 2, 1, "int", "every"), (8, 8, 2, "token", "last"), (16, 4, 1, "int", "last"),
    (64, 64, 16, "token", "every"), (32, 8, 8, "int", "every")])
def test_lint_clean(n, m, units, kind, readout, tmp_path):
    from hadamhw.verify import tools

    ir = random_ir(np.random.default_rng(n + units), n, m, input_kind=kind, readout=readout,
                   input_size=10 if kind == "token" else 3, output_size=1 + n % 7,
                   output_bits=6 if units == 1 else None, input_signed=units % 2 == 0)
    generate_design(ir, tmp_path, GenerateOptions(fold=units))
    assert tools.lint(tmp_path) == []


def test_cli_fold_option(cli, tmp_path):
    ir = _ir(readout="last")
    ir.save(tmp_path / "m.ir.json")
    code, out, _ = cli("generate", str(tmp_path / "m.ir.json"), "--fold", "2", "-o",
                       str(tmp_path / "rtl"))
    assert code == 0 and "cycles per step: " in out
    assert json.loads((tmp_path / "rtl" / "manifest.json").read_text())["fold"] == 2
    code, _, err = cli("generate", str(tmp_path / "m.ir.json"), "--fold", "3", "-o",
                       str(tmp_path / "bad"))
    assert code == 2 and "--fold" in err and "power of two" in err
    code, _, err = cli("generate", str(tmp_path / "m.ir.json"), "--fold", "32", "-o",
                       str(tmp_path / "bad2"))
    assert code == 2 and "--fold 32" in err and len(err.strip().splitlines()) == 1


def test_hls_fold(tmp_path):
    from hadamhw.backends.hls import render

    ir = _ir(readout="last")
    man = render(ir, tmp_path, GenerateOptions(fold=2))
    assert man["fold"] == 2 and man["fold_plan"]["units"] == 2
    src = (tmp_path / "hadamrnn.cpp").read_text()
    assert "const int UNITS = 2;" in src and "BIND_STORAGE variable=half0 type=ram_s2p" in src
    assert man["cycles_per_step"] == plan_for(ir, 2).step_cycles
    stage = render(ir, tmp_path / "s", GenerateOptions(fold=8))
    assert stage["fold"] == "stage"


@pytest.mark.synth
@pytest.mark.parametrize("family,ram_cell", [("ice40", "SB_RAM40_4K"), ("ecp5", "DP16KD")])
def test_synthesis_maps_the_vector_to_block_ram(family, ram_cell, tmp_path):
    """Yosys infers the two RAM halves (and the constant tables) as block RAM, not LUTs;
    adders only: zero $mul, zero DSP."""
    from hadamhw.report import make_report

    ir = _ir(64, 64, input_size=2, output_size=3)
    generate_design(ir, tmp_path / "rtl", GenerateOptions(fold=2))
    report = make_report(tmp_path / "rtl", family, progress=False, build_dir=tmp_path / "b")
    total = report["total"]
    assert report["mul_cells"] == 0 and total["dsp"] == 0
    assert total["memory_bits"] >= plan_for(ir, 2).ram_bits(max(ir.widths.fwht))
    stat = "\n".join(p.read_text() for p in (tmp_path / "b").rglob("*.log"))
    assert ram_cell in stat


@pytest.mark.parametrize("extra,message", [
    (("--streams", "4"), "--streams 4: --fold 2 keeps one sequence's state in block RAM"),
    (("--streams", "auto"), "--streams auto: --fold 2 keeps one sequence's state"),
    (("--pipeline", "auto"), "--pipeline auto: --fold 2 is not pipelined by the generator"),
])
@pytest.mark.parametrize("target", ["verilog", "hls"])
def test_streams_and_pipeline_are_refused_in_one_line(cli, tmp_path, extra, message, target):
    """Interleaved streams and generator pipelining are not combined with the deep fold in
    either backend: one line, exit 2, and no design folder."""
    ir_path = tmp_path / "m.ir.json"
    _ir().save(ir_path)
    code, out, err = cli("generate", ir_path, "--target", target, "--fold", "2", *extra,
                         "-o", tmp_path / "rtl")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "rtl").exists()
