"""Counterexamples of `hadamhw prove` a person can use: each corrupted design of
tests/test_prove.py fails its proof, the solver's inputs are written as a cycle stimulus
(counterexample.json), and `hadamhw sim DESIGN --stimulus FILE` replays it in the batch
harness and in cocotb, naming the same property, step, stream and output; the same
stimulus passes on the uncorrupted design. The trace readers on hand-written files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir
from hadamhw.prove import counterexample as cx
from hadamhw.prove.run import (
    axi_property,
    design_view,
    equivalence_property,
    induction_property,
    rotation_property,
)
from hadamhw.prove.witness import read_vcd, read_witness, trace_steps, vcd_steps
from hadamhw.verify import replay
from hadamhw.verify.cycle_stimulus import (
    CycleInput,
    CycleStimulus,
    check_for_design,
    read_cycle_stimulus,
    write_cycle_stimulus,
)
from tests.test_prove import _corrupt, _need_prove_tools
from tests.test_prove import design as design  # noqa: F401  (fixtures shared with it)
from tests.test_prove import small_design as small_design  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
HADAMHW = [str(Path(sys.executable).parent / "hadamhw")]


# -- the trace readers, on hand-written files --------------------------------------------------
WITNESS = {
    "format": "Yosys Witness Trace", "generator": "hand",
    "clocks": [{"path": ["\\clk"], "edge": "posedge", "offset": 0}],
    "signals": [
        {"path": ["\\rst"], "width": 1, "offset": 0, "init_only": False},
        {"path": ["\\s_axis_tdata"], "width": 4, "offset": 0, "init_only": False},
        {"path": ["\\s_axis_tdata"], "width": 2, "offset": 4, "init_only": False},
        {"path": ["\\u_d", "\\hidden"], "width": 3, "offset": 0, "init_only": False},
        {"path": ["\\u_d", "\\h_q"], "width": 5, "offset": 0, "init_only": True},
    ],
    # MSB first: h_q (step 0 only), hidden, tdata[5:4], tdata[3:0], rst
    "steps": [{"bits": "10101" "111" "01" "1?10" "1"},
              {"bits": "000" "10" "0011" "0"}],
}

VCD = """$version hand $end
$timescale 1ns $end
$var integer 32 t smt_step $end
$scope module top $end
$var wire 1 ! rst $end
$var wire 6 " s_axis_tdata $end
$scope module u_d $end
$var wire 3 # hidden $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
b0 t
1!
b011x10 "
b111 #
$end
#5
#10
b1 t
0!
b100011 "
#15
"""


def test_witness_reader_gives_top_level_ports_per_step(tmp_path):
    path = tmp_path / "trace.yw"
    path.write_text(json.dumps(WITNESS))
    steps = read_witness(path)
    # step 0: tdata = 01 (offset 4) and 1?10 -> 0b01_1010 (an open bit reads 0)
    assert steps == [{"rst": 1, "s_axis_tdata": 0b011010},
                     {"rst": 0, "s_axis_tdata": 0b100011}]


def test_vcd_reader_gives_the_same_steps(tmp_path):
    path = tmp_path / "trace.vcd"
    path.write_text(VCD)
    times = [t for t, _ in read_vcd(path)]
    assert times == [0, 5, 10, 15]
    assert read_vcd(path)[0][1]["top.u_d.hidden"] == 7
    assert vcd_steps(path) == [{"rst": 1, "s_axis_tdata": 0b011010},
                               {"rst": 0, "s_axis_tdata": 0b100011}]


def test_trace_steps_prefers_the_witness_and_refuses_foreign_files(tmp_path):
    (tmp_path / "trace.vcd").write_text(VCD.replace("b100011", "b000001"))
    (tmp_path / "trace.yw").write_text(json.dumps(WITNESS))
    assert trace_steps(tmp_path / "trace.vcd")[1]["s_axis_tdata"] == 0b100011
    (tmp_path / "trace.yw").unlink()
    assert trace_steps(tmp_path / "trace.vcd")[1]["s_axis_tdata"] == 1
    (tmp_path / "other.yw").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(HadamhwError, match="field 'format'"):
        read_witness(tmp_path / "other.yw")
    (tmp_path / "plain.vcd").write_text(VCD.replace("smt_step", "counter"))
    with pytest.raises(HadamhwError, match="smt_step"):
        vcd_steps(tmp_path / "plain.vcd")


def test_port_words_and_output_names():
    ir = random_ir(np.random.default_rng(3), 16, 4, input_kind="int", input_size=3)
    bits = ir.input.bits
    packed = (1 << bits) - 1 | (1 << (2 * bits))  # word 0 all ones (-1), word 2 = 1
    assert cx.decode_words(ir, packed) == (-1, 0, 1)
    assert cx.named_output("eq_y12") == "y12"
    assert cx.named_output("eq_argmax") == "argmax"
    assert cx.named_output("tvalid_held") == "m_axis_tvalid"
    assert cx.named_output("same_h_q") == "h_q"
    assert cx.port_cycles(ir, [{"rst": 0, "s_axis_tvalid": 0, "s_axis_tdata": 0,
                                "s_axis_tlast": 0, "m_axis_tready": 0}]) is None


# -- the spec's cycles against the golden model (no simulator) ---------------------------------
def _stream(ir, rows: list[tuple[int, ...]], ready: int = 1) -> tuple[CycleInput, ...]:
    """A reset, then one sequence at full rate, then idle cycles to drain its beats."""
    zero = tuple(0 for _ in rows[0])
    beats = [CycleInput(0, 1, r, int(k == len(rows) - 1), ready) for k, r in enumerate(rows)]
    return (CycleInput(1, 0, zero, 0, 0), *beats, *[CycleInput(0, 0, zero, 0, 1)] * 6)


def test_spec_cycles_offer_the_golden_beats_in_order():
    from hadamhw.ir.golden import run as golden_run

    ir = random_ir(np.random.default_rng(5), 16, 4, readout="every", input_kind="int",
                   input_size=3, output_size=4, output_bits=8)
    rng = np.random.default_rng(0)
    x = rng.integers(-8, 8, size=(5, 3))
    expected = golden_run(ir, x[None])
    cycles = _stream(ir, [tuple(int(v) for v in r) for r in x])
    offered = [e.beat for e in replay.spec_cycles(ir, cycles) if e is not None and e.beat]
    assert [b.words for b in offered] == [tuple(int(v) for v in o) for o in expected.outputs[0]]
    assert [b.argmax for b in offered] == [int(a) for a in expected.argmax[0]]
    assert [b.last for b in offered] == [0, 0, 0, 0, 1]


def test_spec_back_pressure_drops_s_axis_tready_at_three_beats():
    ir = random_ir(np.random.default_rng(5), 16, 4, readout="every", input_kind="int",
                   input_size=3)
    cycles = _stream(ir, [(1, 2, 3)] * 5, ready=0)
    ready = [e.s_axis_tready for e in replay.spec_cycles(ir, cycles)[1:7]]
    assert ready == [1, 1, 1, 0, 0, 0]


def test_compare_names_the_cycle_stream_and_output():
    ir = random_ir(np.random.default_rng(5), 16, 4, readout="every", input_kind="int",
                   input_size=3, output_size=4, output_bits=8)
    stim = CycleStimulus("0" * 64, _stream(ir, [(1, -2, 3)]))
    spec = replay.spec_cycles(ir, stim.cycles)
    observed = [replay.Observed(e.s_axis_tready, e.m_axis_tvalid, e.beat.last if e.beat else 0,
                                e.beat.argmax if e.beat else 0, 0,
                                e.beat.words if e.beat else (0,) * 4) if e else
                replay.Observed(0, 0, 0, 0, 0, (0,) * 4) for e in spec]
    assert replay.compare(ir, stim, observed) == []
    k = next(i for i, e in enumerate(spec) if e and e.beat)
    words = list(observed[k].words)
    words[2] += 1
    observed[k] = dataclasses.replace(observed[k], words=tuple(words))
    found = replay.compare(ir, stim, observed)
    assert [(m.cycle, m.output, m.stream, m.sequence_step) for m in found] == [(k, "y2", 0, 0)]
    assert replay.describe(found[0], "equivalence.bmc").startswith(
        f"equivalence.bmc: step {k} (cycle from reset), stream 0, output word 2 (y2)")


# -- the stimulus file ---------------------------------------------------------------------------
def _good_file(tmp_path: Path, design_id: str = "a" * 64) -> Path:
    ir = random_ir(np.random.default_rng(5), 16, 4, input_kind="int", input_size=3)
    return write_cycle_stimulus(CycleStimulus(design_id, _stream(ir, [(1, -2, 3)])),
                                tmp_path / "stim.json")


def test_stimulus_file_round_trip_and_errors(tmp_path):
    path = _good_file(tmp_path)
    stim = read_cycle_stimulus(path)
    assert stim.cycles[1] == CycleInput(0, 1, (1, -2, 3), 1, 1)
    doc = json.loads(path.read_text())
    del doc["cycles"][2]["rst"]
    path.write_text(json.dumps(doc))
    with pytest.raises(HadamhwError, match=r"stim.json: field 'cycles\[2\].rst' is missing"):
        read_cycle_stimulus(path)
    doc["cycles"][2]["rst"] = 2
    path.write_text(json.dumps(doc))
    with pytest.raises(HadamhwError, match=r"field 'cycles\[2\].rst' must be <= 1"):
        read_cycle_stimulus(path)
    path.write_text("{")
    with pytest.raises(HadamhwError, match="stim.json: not a JSON stimulus file"):
        read_cycle_stimulus(path)


def test_stimulus_is_checked_against_the_design(tmp_path):
    ir = random_ir(np.random.default_rng(5), 16, 4, input_kind="int", input_size=3)
    stim = read_cycle_stimulus(_good_file(tmp_path))
    check_for_design(stim, "s.json", "a" * 64, ir)
    with pytest.raises(HadamhwError, match="s.json: field 'design_id' names design aaaa"):
        check_for_design(stim, "s.json", "b" * 64, ir)
    with pytest.raises(HadamhwError, match=r"not this design \(none"):
        check_for_design(stim, "s.json", None, ir)
    lo, _ = ir.input.range()
    bad = CycleStimulus(stim.design_id, (*stim.cycles[:1], CycleInput(0, 1, (lo - 1, 0, 0), 0, 1)))
    with pytest.raises(HadamhwError, match=r"field 'cycles\[1\].s_axis_tdata\[0\]' must lie"):
        check_for_design(bad, "s.json", "a" * 64, ir)
    short = CycleStimulus(stim.design_id, (CycleInput(1, 0, (0,), 0, 0),))
    with pytest.raises(HadamhwError, match=r"'cycles\[0\].s_axis_tdata' must have 3 word"):
        check_for_design(short, "s.json", "a" * 64, ir)


# -- every corrupted design of tests/test_prove.py: proof fails, counterexample replays ---------
def _adder_flip(folder: Path) -> tuple[str, str, str]:
    """The first input-drive adder's sign flipped (it lives in the update block)."""
    text = (folder / "hadamrnn_update.v").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("  assign in_n0 = "))
    flipped = line.replace(" + ", " - ", 1) if " + " in line else line.replace(" - ", " + ", 1)
    return "hadamrnn_update.v", line, flipped


def _butterfly_flip(folder: Path) -> tuple[str, str, str]:
    text = (folder / "hadamrnn_rotate.v").read_text()
    line = next(ln for ln in text.splitlines() if "assign f1[" in ln and " + " in ln)
    return "hadamrnn_rotate.v", line, line.replace(" + ", " - ", 1)


STALE = ("hadamrnn.v", "wr_ptr_q  <= 2'd0;", "wr_ptr_q  <= 2'd1;")
TVALID = ("hadamrnn.v", "assign m_axis_tvalid = (wr_ptr_q != rd_ptr_q);",
          "assign m_axis_tvalid = (wr_ptr_q != rd_ptr_q) & (pending_q != 2'd3);")

# (design fixture, corruption, property run, its name). The flipped butterfly (which fails
# equivalence.rotation_module, a state not port values) is replayed through the equivalence
# at depth 5, two steps: the first step whose rotation sees a non-zero state.
VARIANTS = {
    "drive_adder": ("design", _adder_flip,
                    lambda v, w: equivalence_property(v, w, 4, "yices", 300)),
    "butterfly": ("small_design", _butterfly_flip,
                  lambda v, w: equivalence_property(v, w, 5, "yices", 300)),
    "stale_beat": ("design", lambda _: STALE, lambda v, w: axi_property(v, w, "yices", 300)),
    "tvalid_dropped": ("design", lambda _: TVALID,
                       lambda v, w: axi_property(v, w, "yices", 300)),
    "stale_beat_induction": ("small_design", lambda _: STALE,
                             lambda v, w: induction_property(v, w, "yices", 300)),
}


@pytest.mark.synth
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_counterexample_replays_as_the_same_failure(variant, request, tmp_path):
    _need_prove_tools()
    fixture, corruption, prove_it = VARIANTS[variant]
    good = request.getfixturevalue(fixture)
    bad = _corrupt(good, tmp_path, *corruption(good))
    view, man = design_view(bad)
    res = prove_it(view, tmp_path / "work")
    assert res.status == "failed", res.line()
    cx.attach(res, bad, view.ir, man.get("design_id"), view.top)
    assert res.stimulus and Path(res.stimulus).parent == Path(res.trace).parent, res.line()
    assert f"--stimulus {res.stimulus}" in res.line()
    stim = read_cycle_stimulus(res.stimulus)
    cex = stim.counterexample
    assert (cex.property, cex.step, cex.stream) == (res.name, res.step, 0)
    assert cex.output == cx.named_output(cex.assertion) and cex.assertion in res.message
    _replays_as_the_same_failure(bad, good, stim)


def _replays_as_the_same_failure(bad: Path, good: Path, stim: CycleStimulus) -> None:
    """The bad design shows the counterexample's mismatch (its step, stream and output) in
    the batch harness and in cocotb; the good design shows none."""
    cex = stim.counterexample
    for run in (replay.replay_batch, replay.replay_cocotb):
        failing = run(bad, stim)
        hit = replay.reproduced(failing, stim)
        assert hit is not None, (run.__name__, replay.report_lines(failing, stim, "cex"))
        assert (hit.cycle, hit.stream) == (cex.step, 0)
        assert replay.same_output(hit, cex.output)
        assert run(good, stim).ok, run.__name__


@pytest.mark.synth
def test_a_rotation_module_failure_gets_a_port_level_counterexample(small_design, tmp_path):
    """The rotation module's own trace is a state; the port-level counterexample comes
    from the miter two steps deep, under the rotation module's property."""
    _need_prove_tools()
    bad = _corrupt(small_design, tmp_path, *_butterfly_flip(small_design))
    view, man = design_view(bad)
    res = rotation_property(view, tmp_path / "work", "yices", 120)
    assert res.status == "failed" and res.message.startswith("assertion rotated_")
    cx.attach(res, bad, view.ir, man.get("design_id"), view.top)
    assert not res.stimulus  # the module's inputs are no port values
    cx.attach_rotation([res], view, tmp_path / "work", "yices", 120, man.get("design_id"))
    assert res.stimulus and "--stimulus" in res.line()
    stim = read_cycle_stimulus(res.stimulus)
    cex = stim.counterexample
    assert cex.property == "equivalence.rotation_module" and cex.assertion.startswith("eq_")
    assert cex.step >= 4  # the second step's beat
    _replays_as_the_same_failure(bad, small_design, stim)


# -- the commands ---------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*HADAMHW, *args], capture_output=True, text=True, env=env)


@pytest.mark.synth
def test_prove_prints_the_replay_and_sim_replays_it(design, tmp_path):
    _need_prove_tools()
    bad = _corrupt(design, tmp_path, *STALE)
    run = _cli("prove", str(bad), "--json", "--depth", "1", "--work", str(tmp_path / "w"))
    assert run.returncode == 1, run.stderr
    axi = next(p for p in json.loads(run.stdout)["properties"] if p["name"] == "axi.rules")
    stim = axi["stimulus"]
    assert stim.endswith("counterexample.json") and axi["replay"].endswith("--batch")
    for extra in (["--batch"], []):
        sim = _cli("sim", str(bad), "--stimulus", stim, *extra)
        assert sim.returncode == 1, sim.stderr
        assert ("MISMATCH axi.rules: step 1 (cycle from reset), stream 0, m_axis_tvalid: "
                "expected 0, got 1 (the counterexample's no_stale_beat, reproduced)") in sim.stdout
    ok = _cli("sim", str(design), "--stimulus", stim, "--batch", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["bit_exact"] is True


@pytest.fixture(scope="module")
def id_design(tmp_path_factory) -> Path:
    """A design written by the design writer (its manifest records its design_id)."""
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import render_design, write_design

    ir = random_ir(np.random.default_rng(5), 16, 4, input_kind="int", input_size=3)
    return write_design(render_design(ir, "verilog", GenerateOptions()),
                        tmp_path_factory.mktemp("cex") / "design")


def test_sim_refuses_a_bad_or_foreign_stimulus_in_one_line(id_design, tmp_path):
    path = _good_file(tmp_path)
    foreign = _cli("sim", str(id_design), "--stimulus", str(path), "--batch")
    assert foreign.returncode == 2
    assert foreign.stderr.count("\n") == 1 and "field 'design_id'" in foreign.stderr
    own = json.loads((id_design / "manifest.json").read_text())["design_id"]
    path = _good_file(tmp_path, own)
    doc = json.loads(path.read_text())
    doc["cycles"][0]["m_axis_tready"] = "1"
    path.write_text(json.dumps(doc))
    bad = _cli("sim", str(id_design), "--stimulus", str(path), "--batch")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert f"{path}: field 'cycles[0].m_axis_tready' must be an integer" in bad.stderr
    mixed = _cli("sim", str(id_design), "--stimulus", str(path), "--sequences", "3")
    assert mixed.returncode == 2 and "--sequences does not apply to --stimulus" in mixed.stderr


def test_replay_refuses_an_architecture_the_spec_model_does_not_state(tmp_path):
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import render_design, write_design

    ir = random_ir(np.random.default_rng(5), 16, 4, input_kind="int", input_size=3)
    folder = write_design(render_design(ir, "verilog", GenerateOptions(fold="stage")),
                          tmp_path / "stage")
    stim = CycleStimulus(None, _stream(ir, [(1, 2, 3)]))
    with pytest.raises(HadamhwError, match="single-cycle design only"):
        replay.replay_batch(folder, stim)


def test_a_base_case_failure_is_read_from_the_base_case_lines(tmp_path):
    """In prove mode sby runs the base case and the induction step at once; the induction's
    lines may come first (a loaded machine): the step, the assertion and the trace are the
    base case's."""
    from hadamhw.prove.sby import read_verdict

    job = tmp_path / "induct"
    (job / "engine_0").mkdir(parents=True)
    for name in ("trace.vcd", "trace_induct.vcd"):
        (job / "engine_0" / name).write_text("")
    tag = "SBY 06:00:00 [induct] engine_0"
    log = "\n".join([
        f"{tag}.induction: ##   0:00:00  Checking assertions in step 3..",
        f"{tag}.induction: ##   0:00:00  Assert failed in miter: same_h_q",
        f"{tag}.basecase: ##   0:00:00  Checking assertions in step 0..",
        f"{tag}.basecase: ##   0:00:00  Checking assertions in step 1..",
        f"{tag}.basecase: ##   0:00:00  Assert failed in miter: eq_m_axis_tvalid",
        "SBY 06:00:01 [induct] DONE (FAIL, rc=2)"])
    res = read_verdict(log, job, 1.0)
    assert (res.status, res.step, res.assertion) == ("fail", 1, "eq_m_axis_tvalid")
    assert res.vcd.endswith("engine_0/trace.vcd")
