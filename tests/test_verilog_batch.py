"""Generated Verilog against the golden model through the direct Verilator harness.

Each configuration is generated and built once (module-scoped build cache) and checked on
every output integer, with random input gaps and output back-pressure, then once more
without them to check the throughput the manifest states.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.backends import verilog_sections as vs
from hadamhw.design import generate as generate_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_inputs, random_ir
from hadamhw.ir.stimulus import expected, make_stimulus
from hadamhw.resources import templates_dir
from hadamhw.verify.tools import lint
from hadamhw.verify.verilator_batch import build, run_batch

pytestmark = [pytest.mark.sim, pytest.mark.needs("verilator")]

FACTORS = {
    "n": (8, 16, 64, 128),
    "state": (8, 12, 16),
    "block": ("4", "n"),
    "mode": ("linear", "vanilla"),
    "readout": ("every", "last"),
    "fold": ("parallel", "stage"),
    "input": ("int", "token"),
    "saturating": (False, True),
    "output_bits": (None, 6),
    # the lean datapath: requant constants as the lowering chooses them (M_a a power of
    # two, M_r a shift or 5 CSD digits) or arbitrary ones; U and V as da4ml's shared graph
    # or CSD trees; the readout at once (None) or serial with 1 or 3 lanes (readout last)
    "requant": ("lean", "random"),
    "cmvm": ("da4ml", "csd"),
    "lanes": (None, 1, 3),
    # interleaved streams (3: not a power of two; auto: the loop's depth), pipeline
    # registers placed for a target clock
    "streams": (1, 3, "auto"),
    "pipeline": ("none", "auto"),
    "target": (150, 250),
}
# Every pair of option values meets in at least one row (test_table_is_pairwise checks it,
# with log2 m odd or even as one more factor); each (n, state) pair of the first twelve rows
# appears once, so the slow n = 128 builds are three.
PAIRWISE = [
    (8, 8, "4", "linear", "last", "stage", "token", False, 6, "lean", "csd", 1, 1, "none", 150),
    (8, 12, "n", "vanilla", "last", "stage", "int", True, 6, "random", "da4ml", None, "auto",
     "none", 250),
    (8, 16, "4", "vanilla", "every", "parallel", "token", True, None, "random", "csd", None, 3,
     "none", 150),
    (16, 8, "4", "linear", "every", "stage", "int", False, None, "lean", "da4ml", None, 1,
     "none", 250),
    (16, 12, "4", "vanilla", "last", "parallel", "token", False, None, "lean", "csd", 3,
     "auto", "auto", 250),
    (16, 16, "n", "vanilla", "every", "parallel", "token", True, 6, "lean", "da4ml", None,
     "auto", "auto", 250),
    (64, 8, "4", "vanilla", "last", "parallel", "token", True, None, "random", "da4ml", 1,
     "auto", "auto", 250),
    (64, 12, "n", "vanilla", "last", "parallel", "int", False, None, "random", "csd", 3, 1,
     "none", 150),
    (64, 16, "n", "linear", "every", "stage", "int", False, 6, "lean", "csd", None, 3, "none",
     250),
    (128, 8, "n", "vanilla", "last", "stage", "int", True, None, "lean", "csd", 3, 3, "none",
     150),
    (128, 12, "4", "linear", "every", "parallel", "token", False, 6, "random", "da4ml", None,
     "auto", "none", 250),
    (128, 16, "n", "linear", "last", "stage", "token", True, None, "random", "da4ml", 1, 1,
     "auto", 250),
    (8, 16, "n", "linear", "last", "parallel", "int", False, 6, "random", "da4ml", 3, 1, "none",
     150),
    (16, 12, "4", "linear", "last", "stage", "int", False, 6, "random", "da4ml", 1, 3, "auto",
     150),
    (8, 8, "n", "linear", "every", "parallel", "int", True, 6, "lean", "da4ml", None, "auto",
     "auto", 150),
]
# Beyond the pairs: the single-stage bank (m = 2) and unsigned integer inputs.
EXTRA = [
    (8, 12, "2", "linear", "every", "stage", "int", True, None, "lean", "csd", None, 1, "none",
     150),
    (8, 12, "2", "vanilla", "every", "stage", "token", True, None, "lean", "csd", None, 2,
     "auto", 250),
]


def _parity(r: dict) -> str:
    m = r["n"] if r["block"] == "n" else int(r["block"])
    return "odd" if (m.bit_length() - 1) % 2 else "even"


def _possible(a: str, va, b: str, vb) -> bool:
    """Pairs no configuration can have: a serial readout of every step; an odd log2 m with
    m = 4 or with n = 16 or 64 (m = n or m = 4: both even)."""
    pair = {a: va, b: vb}
    if pair.get("readout") == "every" and pair.get("lanes") is not None:
        return False
    odd_impossible = pair.get("block") == "4" or pair.get("n") in (16, 64)
    return not (pair.get("parity") == "odd" and odd_impossible)


def _row(values: tuple) -> dict:
    return dict(zip(FACTORS, values, strict=True))


def _ids(values: tuple) -> str:
    r = _row(values)
    return (f"n{r['n']}-m{r['block']}-B{r['state']}-{r['mode']}-{r['readout']}-{r['fold']}-"
            f"{r['input']}{'-sat' if r['saturating'] else ''}"
            f"{'-o' + str(r['output_bits']) if r['output_bits'] else ''}-{r['requant']}-"
            f"{r['cmvm']}{'-lanes' + str(r['lanes']) if r['lanes'] else ''}"
            f"-P{r['streams']}-{r['pipeline']}{r['target'] if r['pipeline'] != 'none' else ''}")


def test_table_is_pairwise():
    rows = [{**_row(v), "parity": _parity(_row(v))} for v in PAIRWISE]
    factors = {**FACTORS, "parity": ("even", "odd")}
    for a, b in itertools.combinations(factors, 2):
        need = {(va, vb) for va, vb in itertools.product(factors[a], factors[b])
                if _possible(a, va, b, vb)}
        have = {(r[a], r[b]) for r in rows}
        assert need <= have, f"{a} x {b} misses {sorted(need - have, key=str)}"
    for r in rows:
        assert _possible("readout", r["readout"], "lanes", r["lanes"])


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("verilator-batch")


def _make_ir(values: tuple, seed: int):
    r = _row(values)
    n = r["n"]
    m = n if r["block"] == "n" else int(r["block"])
    kind = r["input"]
    extra = ({"input_size": 10} if kind == "token"
             else {"input_size": 3, "input_bits": 4 + n % 3, "input_signed": seed % 2 == 0})
    return random_ir(np.random.default_rng(seed), n, m, mode=r["mode"], readout=r["readout"],
                     state_bits=r["state"], input_kind=kind, output_size=7,
                     saturating=r["saturating"], output_bits=r["output_bits"],
                     requant=r["requant"], **extra)


def _options(values: tuple) -> GenerateOptions:
    r = _row(values)
    return GenerateOptions(fold=r["fold"], cmvm=r["cmvm"], readout_lanes=r["lanes"],
                           streams=r["streams"], pipeline=r["pipeline"],
                           target_mhz=r["target"])


@pytest.mark.parametrize("values", PAIRWISE + EXTRA, ids=_ids)
def test_bit_exact(values, build_dir, tmp_path):
    r = _row(values)
    seed = PAIRWISE.index(values) if values in PAIRWISE else 100 + EXTRA.index(values)
    ir = _make_ir(values, seed)
    if r["saturating"]:  # the clamp must really be exercised
        x = random_inputs(np.random.default_rng(seed), ir, 16, 12)
        assert golden_run(ir, x).saturated > 0
    man = generate_design(ir, tmp_path / "rtl", _options(values))
    assert man["readout_lanes"] == r["lanes"] and man["cmvm"] == r["cmvm"]
    sequences = 40 if r["n"] <= 16 else 24
    stim = make_stimulus(ir, sequences=sequences, seed=seed, max_steps=14, extreme=0.3)
    beats = sum(len(o) for o in stim.outputs) * (ir.output_size + 1)  # words + argmax

    result = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, seed=seed, gaps=True)
    assert result.simulator == "verilator-batch"
    assert result.mismatches == [], result.mismatches[0].describe()
    assert result.outputs_checked == beats
    assert result.ok

    # no gaps, no back-pressure, the streams in turn: one step every cycles_per_step cycles,
    # plus the pipeline (a stream alone: one every cycles_per_step_per_stream, which bounds
    # the tail when the streams' lengths differ); a serial readout holds back the next
    # sequence's last step while it runs
    fast = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, seed=seed, gaps=False)
    assert fast.ok and fast.outputs_checked == beats
    serial = len(stim.sequences) * man["readout_cycles"]
    per_step = man.get("cycles_per_step_per_stream", man["cycles_per_step"])
    assert fast.cycles <= (stim.steps * per_step + serial + man["latency_cycles"]
                           + man.get("reset_cycles", 0) + 1)
    streams = man.get("streams", 1)
    if streams == 1:
        assert fast.cycles <= (stim.steps * man["cycles_per_step"] + serial
                               + man["latency_cycles"] + 1)
    if r["lanes"]:
        assert man["readout_cycles"] == vs.serial_readout_cycles(ir, r["lanes"]) + 1
        if "pipeline" not in man:
            assert man["latency_cycles"] == man["cycles_per_step"] + man["readout_cycles"]
    if r["streams"] == 3 or r["pipeline"] == "auto":
        assert "pipeline" in man and man["loop_depth"] <= man["streams"] * (
            man["cycles_per_step"])


def test_build_is_cached(build_dir, tmp_path):
    ir = _make_ir(EXTRA[0], 100)
    generate_design(ir, tmp_path / "a", GenerateOptions(fold="stage"))
    generate_design(ir, tmp_path / "b", GenerateOptions(fold="stage"))
    first = build(tmp_path / "a", build_dir)
    again = build(tmp_path / "b", build_dir)  # same HDL elsewhere: same executable
    assert again.cached and again.executable == first.executable


def _mutated_design(tmp_path: Path, ir, old: str, new: str, fold: str = "parallel",
                    lanes: int | None = None, **options) -> Path:
    """The design rendered from a copy of the templates with `old` (found in exactly one
    template file, once) replaced by `new`; it must differ from the clean render."""
    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir() / "verilog", tdir)
    # the deep fold's own templates (fold/) are not used by parallel and stage designs
    hits = [p for p in sorted(tdir.rglob("*.j2"))
            if old in p.read_text() and p.parent.name != "fold"]
    assert len(hits) == 1 and hits[0].read_text().count(old) == 1, hits
    hits[0].write_text(hits[0].read_text().replace(old, new))
    opts = GenerateOptions(fold=fold, readout_lanes=lanes, **options)
    generate_design(ir, tmp_path / "rtl", opts, template_dir=tdir)
    if old != new:
        assert vg.render(ir, opts, template_dir=tdir) != vg.render(ir, opts)
    return tmp_path / "rtl"


def test_detects_wrong_argmax_tie_break(build_dir, tmp_path):
    """Saturated 3-bit outputs tie often: a >= comparison picks the highest index."""
    ir = random_ir(np.random.default_rng(7), 8, 4, output_size=6, output_bits=3,
                   saturating=True)
    rtl = _mutated_design(tmp_path, ir, "{{ a.gt }} = {{ a.right_val }} >",
                          "{{ a.gt }} = {{ a.right_val }} >=")
    result = run_batch(rtl, make_stimulus(ir, sequences=30, seed=1), build_dir=build_dir)
    assert not result.ok
    assert {m.index for m in result.mismatches} == {-1}


def test_detects_back_pressure_violation(build_dir, tmp_path):
    """A FIFO that forgets m_axis_tready drops beats: only the gaps run can tell."""
    ir = random_ir(np.random.default_rng(8), 8, 8)
    rtl = _mutated_design(tmp_path, ir, "wire out_fire = m_axis_tvalid & m_axis_tready;",
                          "wire out_fire = m_axis_tvalid;")
    stim = make_stimulus(ir, sequences=20, seed=2)
    assert run_batch(rtl, stim, build_dir=build_dir, gaps=False).ok
    broken = run_batch(rtl, stim, build_dir=build_dir, gaps=True, seed=3)
    assert not broken.ok


def _all_outputs_off_by_one(stim):
    """The stimulus with every expected output word wrong (argmax left as it is)."""
    return type(stim)(stim.sequences, [o + 1 for o in stim.outputs], stim.argmax)


def test_mismatch_count_is_the_true_total(build_dir, tmp_path):
    """Details stop at the harness's first 1000 mismatches; the count does not."""
    ir = random_ir(np.random.default_rng(9), 8, 4, output_size=5)
    generate_design(ir, tmp_path / "rtl", GenerateOptions())
    stim = make_stimulus(ir, sequences=80, seed=5, min_steps=4, max_steps=8)
    wrong = sum(int(o.size) for o in stim.outputs)
    assert wrong > 1000
    result = run_batch(tmp_path / "rtl", _all_outputs_off_by_one(stim), build_dir=build_dir)
    assert result.mismatch_count == wrong
    assert result.to_dict()["mismatches"] == wrong
    assert len(result.mismatches) == 1000
    assert {m.expected - m.got for m in result.mismatches} == {1}


@pytest.mark.parametrize("streams", [1, 3])
def test_jobs_share_the_sequences(build_dir, tmp_path, streams):
    """Three harness processes check what one does; a mismatch names the sequence by its
    index in the whole stimulus, not in its process's share."""
    ir = random_ir(np.random.default_rng(10), 8, 4, output_size=4)
    generate_design(ir, tmp_path / "rtl", GenerateOptions(streams=streams))
    stim = make_stimulus(ir, sequences=25, seed=6, min_steps=2, max_steps=9)
    one = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, seed=1)
    three = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, seed=1, jobs=3)
    assert one.ok and three.ok
    assert three.outputs_checked == one.outputs_checked == stim.steps * (ir.output_size + 1)
    assert three.sequences == 25 and three.steps == stim.steps
    # sequence 20 lies in the third share (sequences 16-24): one wrong word
    outputs = [o.copy() for o in stim.outputs]
    outputs[20][-1, 2] += 1
    broken = run_batch(tmp_path / "rtl", type(stim)(stim.sequences, outputs, stim.argmax),
                       build_dir=build_dir, jobs=3)
    assert broken.mismatch_count == 1
    bad = broken.mismatches[0]
    assert (bad.sequence, bad.step, bad.index) == (20, len(outputs[20]) - 1, 2)
    # more processes than sequences: one per sequence
    assert run_batch(tmp_path / "rtl", type(stim)(stim.sequences[:2], stim.outputs[:2],
                                                  stim.argmax[:2]),
                     build_dir=build_dir, jobs=8).ok
    with pytest.raises(HadamhwError, match="jobs must be at least 1"):
        run_batch(tmp_path / "rtl", stim, build_dir=build_dir, jobs=0)


@pytest.mark.parametrize("fold", ["parallel", "stage"])
def test_detects_missing_serial_readout_stall(build_dir, tmp_path, fold):
    """Without the stall, a last step that arrives while the serial readout runs restarts
    it on the new state: short sequences back to back (no gaps) must catch that."""
    ir = random_ir(np.random.default_rng(9), 16, 4, readout="last", output_size=5,
                   requant="lean")
    stim = make_stimulus(ir, sequences=30, seed=5, min_steps=1, max_steps=3)
    clean = _mutated_design(tmp_path / "clean", ir, "& ~(ro_busy_q & s_axis_tlast)",
                            "& ~(ro_busy_q & s_axis_tlast)", fold=fold, lanes=1)
    assert run_batch(clean, stim, build_dir=build_dir, gaps=False).ok
    rtl = _mutated_design(tmp_path / "broken", ir, "& ~(ro_busy_q & s_axis_tlast)", "",
                          fold=fold, lanes=1)
    broken = run_batch(rtl, stim, build_dir=build_dir, gaps=False)
    assert not broken.ok


def test_harness_rejects_bad_vector_files(build_dir, tmp_path):
    """The harness's own reader, text and binary: a foreign file, a cut-off one, a negative
    count, a count larger than the file; and both forms of one stimulus run the same."""
    import subprocess

    from hadamhw.ir.stimulus import BINARY_VECTOR_MAGIC, write_vectors, write_vectors_binary

    def man_bits(design, port):
        return json.loads((design / "manifest.json").read_text())[port]["word_bits"]

    ir = random_ir(np.random.default_rng(11), 8, 4)
    generate_design(ir, tmp_path / "rtl", GenerateOptions())
    exe = build(tmp_path / "rtl", build_dir).executable
    good = tmp_path / "good.txt"
    write_vectors(ir, make_stimulus(ir, sequences=3, seed=1), good)
    text = good.read_text()
    cases = {"foreign": ("something else 1\n", "not a hadamhw vector file"),
             "cut": (text[: len(text) // 2], "truncated"),
             "negative": (text.replace("\n3 ", "\n-3 ", 1), "negative count")}
    # the binary form: the same integers as int64 after its magic line
    binary = tmp_path / "good.bin"
    write_vectors_binary(ir, make_stimulus(ir, sequences=3, seed=1), binary)
    data = binary.read_bytes()
    head = len(BINARY_VECTOR_MAGIC)
    count_at = head + 3 * 8  # the first sequence's step count
    cases.update({
        "binary cut": (data[: len(data) - 5], "truncated"),
        "binary negative": (data[:head] + (-3).to_bytes(8, "little", signed=True)
                            + data[head + 8:], "negative count"),
        "binary huge": (data[:count_at] + (1 << 40).to_bytes(8, "little") + data[count_at + 8:],
                        "truncated")})
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.vec"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        proc = subprocess.run([str(exe), str(path), str(tmp_path / "r.txt"), "0", "0", "100000",
                               "4", "8", "1"], capture_output=True, text=True)
        assert proc.returncode != 0 and message in proc.stderr, (name, proc.stderr)
    # both forms of one stimulus give the same run
    runs = []
    for path in (good, binary):
        proc = subprocess.run([str(exe), str(path), str(tmp_path / "r.txt"), "0", "0", "100000",
                               str(man_bits(tmp_path / "rtl", "input")),
                               str(man_bits(tmp_path / "rtl", "output")), "1"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        summary = (tmp_path / "r.txt").read_text().split("\n")[-2].split()
        runs.append(summary[:7])
    assert runs[0] == runs[1] and runs[0][3] == "0" and int(runs[0][2]) > 0


def test_not_a_design_folder(tmp_path):
    ir = random_ir(np.random.default_rng(0), 8, 4)
    with pytest.raises(HadamhwError, match="manifest.json"):
        run_batch(tmp_path, make_stimulus(ir, sequences=2))


def test_stimulus_of_another_model_is_rejected(tmp_path):
    ir = random_ir(np.random.default_rng(0), 8, 4, input_size=3)
    other = random_ir(np.random.default_rng(0), 8, 4, input_kind="token", input_size=5)
    generate_design(ir, tmp_path, GenerateOptions())
    with pytest.raises(HadamhwError, match="sequence 0 has shape"):
        run_batch(tmp_path, make_stimulus(other, sequences=2))


@pytest.mark.slow
def test_lowered_model_n128_thousands_of_sequences(build_dir, tmp_path):
    """A model that went through the real lowering (n = 128, copy-task-like token input)."""
    torch = pytest.importorskip("torch")
    from hadamhw.ir.lower import LoweringSettings, lower
    from hadamhw.nn.model import HadamRNN, ModelConfig

    torch.manual_seed(0)
    model = HadamRNN(ModelConfig(input_size=10, hidden_size=128, output_size=9,
                                 input_kind="onehot", readout="every"))
    calib = torch.randint(0, 10, (64, 100))
    ir, _ = lower(model, calib, LoweringSettings(state_bits=12, output_bits=10))
    generate_design(ir, tmp_path / "rtl", GenerateOptions())
    stim = make_stimulus(ir, sequences=3000, seed=4, min_steps=5, max_steps=40)
    result = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, seed=4, gaps=True)
    assert result.mismatches == [], result.mismatches[0].describe()
    assert result.outputs_checked == stim.steps * (ir.output_size + 1)


# -- interleaved streams and pipeline registers ------------------------------------------------
def _stream_ir(seed: int = 21):
    """Full Hadamard blocks (4 butterfly levels to pipeline), no saturation."""
    return random_ir(np.random.default_rng(seed), 16, 16, state_bits=12, output_size=5,
                     requant="lean")


STREAM_OPTIONS = {"streams": 4, "pipeline": "auto", "target_mhz": 250}
# a register of a feed-forward delay chain in the input section that follows another one:
# input words wait (x_i), nodes of U's adder graph (in_n<j>) or the drive (d_i)
DELAY_CHAIN = r"((?:x|d)_\d+|in_n\d+)_c(\d+) <= \1_c\d+;"


def test_stream_designs_are_pipelined():
    """Preconditions of the corruptions below: registers inside the rotation and in the
    drive's delay chains, a loop deeper than one, four streams."""
    man = vg.render(_stream_ir(), GenerateOptions(**STREAM_OPTIONS))
    manifest = json.loads(man["manifest.json"])
    assert manifest["streams"] == 4 and manifest["tid_bits"] == 2
    assert 2 <= manifest["loop_depth"] <= 4
    assert manifest["pipeline"]["stages"]["rotation"] >= 1
    assert "f1_0_q <= f1_0;" in man["hadamrnn_rotate.v"]
    assert re.search(DELAY_CHAIN, man["hadamrnn.v"])


@pytest.mark.parametrize("equal", [True, False])
@pytest.mark.parametrize("fold", ["parallel", "stage"])
def test_streams_in_turn_take_one_step_per_cycle(build_dir, tmp_path, fold, equal):
    """P streams in turn, each sequence as long as the others: every stream issues once every
    P cycles, at least the loop depth, so the core takes cycles_per_step per step; one
    stream alone takes cycles_per_step_per_stream."""
    ir = _stream_ir()
    streams = "auto" if fold == "parallel" else 2
    man = generate_design(ir, tmp_path / "rtl", GenerateOptions(fold=fold, streams=streams,
                                                             pipeline="auto"))
    P = man["streams"]
    assert man["loop_depth"] <= P * man["cycles_per_step"]
    rng = np.random.default_rng(3)
    length = 9
    seqs = [random_inputs(rng, ir, 1, length)[0] for _ in range(4 * P)]
    stim = expected(ir, seqs)
    if equal:
        result = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, gaps=False)
        assert result.ok
        assert result.cycles <= (stim.steps * man["cycles_per_step"] + man["latency_cycles"]
                                 + man["reset_cycles"] + 1)
    else:  # one stream alone
        result = run_batch(tmp_path / "rtl", stim, build_dir=build_dir, gaps=False, streams=1)
        assert result.ok
        assert result.cycles <= (stim.steps * man["cycles_per_step_per_stream"]
                                 + man["latency_cycles"] + man["reset_cycles"] + 1)
        assert result.cycles >= stim.steps * man["cycles_per_step_per_stream"] - \
            man["cycles_per_step_per_stream"]


def test_transport_registers_carry_the_drive_across(build_dir, tmp_path):
    """Where the delay model says the drive's net crosses more than a stage (here: a clock
    the n = 16 design would need at n = 128), a plain register more sits between the drive
    and the loop, and the readout waits as long; the design stays bit-exact, and skipping
    that register is caught."""
    ir = _stream_ir()
    fast = {**STREAM_OPTIONS, "target_mhz": 700}
    plain = json.loads(vg.render(ir, GenerateOptions(**STREAM_OPTIONS))["manifest.json"])
    assert plain["pipeline"]["transport_registers"] == 0
    files = vg.render(ir, GenerateOptions(**fast))
    manifest = json.loads(files["manifest.json"])
    assert manifest["pipeline"]["transport_registers"] == 1
    chain = re.search(r"(d_\d+)_c(\d+) <= \1_c\d+;", files["hadamrnn.v"])
    assert chain, "no drive register behind another"
    stim = make_stimulus(ir, sequences=40, seed=6, min_steps=3, max_steps=12)
    old, new = STREAM_CORRUPTIONS["drive-register-skipped"]
    clean = _mutated_design(tmp_path / "clean", ir, old, old, **fast)
    assert run_batch(clean, stim, build_dir=build_dir, seed=4).ok
    skipped = new.replace("SKIP", f"{chain.group(1)}_c{chain.group(2)}")
    broken = run_batch(_mutated_design(tmp_path / "broken", ir, old, skipped, **fast), stim,
                       build_dir=build_dir, seed=4)
    assert not broken.ok


def test_deep_output_fifo_is_distributed_ram(build_dir, tmp_path):
    """A FIFO of more than 32 slots (a long pipeline) is marked for distributed RAM, a
    shallower one is left to the tool; both stay bit-exact with random back-pressure."""
    ir = random_ir(np.random.default_rng(1), 32, 32, state_bits=12, output_size=5,
                   requant="lean")
    attribute = '(* ram_style = "distributed" *)'
    for target, depth in ((700, 32), (1000, 64)):
        rtl = tmp_path / f"rtl{target}"
        man = generate_design(ir, rtl, GenerateOptions(streams="auto", pipeline="auto",
                                                   target_mhz=target))
        assert man["output_fifo_depth"] == depth
        assert (attribute in (rtl / "hadamrnn.v").read_text()) == (depth > 32)
        assert lint(rtl) == []
        stim = make_stimulus(ir, sequences=30, seed=2, min_steps=2, max_steps=10)
        assert run_batch(rtl, stim, build_dir=build_dir, seed=5, gaps=True).ok


def _first_skippable(text: str) -> str:
    """The first delayed copy in the input section (an input word, a node of U's graph or
    the drive) that is two or more registers long."""
    found = re.search(DELAY_CHAIN, text)
    assert found, "no input-section delay chain of two registers"
    return f"{found.group(1)}_c{found.group(2)}"


STREAM_CORRUPTIONS = {
    # the pipeline registers of a butterfly stage (in the loop) pass their inputs through
    "rotation-register-skipped": (
        "  always @(posedge clk) begin\n{% for e in st.elements %}",
        "  always @* begin\n{% for e in st.elements %}"),
    # a feed-forward delay chain (of the input section) one register short
    "drive-register-skipped": (
        "{% for r in pipe.regs %}\n    {{ r.name }} <= {{ r.src }};",
        "{% for r in pipe.regs %}\n    {{ r.name }} <= "
        "{{ r.skip if r.name == 'SKIP' else r.src }};"),
    # a stream's new state written to another stream's entry
    "state-to-another-slot": (
        "{{ g.clr }} ? {{ g.clr_idx }} : {{ g.tid }};",
        "{{ g.clr }} ? {{ g.clr_idx }} : ({{ g.tid }} ^ {{ stream.tid_bits }}'d1);"),
    # one group of state elements sees a sequence's end a cycle late (its copy of tlast
    # taken from another group's copy instead of the cycle before)
    "state-group-late": (
        "    {{ g.last }}  <= {{ sw.early.last }};",
        "    {{ g.last }}  <= {% if g.index %}wr_last_g0{% else %}{{ sw.early.last }}{% endif %};"),
    # the output beat carries the id of the beat waiting at the input
    "wrong-output-tid": (
        "{% if tid_bits %}{{ stream.fifo_tid }}, {% endif %}",
        "{% if tid_bits %}in_tid_q, {% endif %}"),
    # a stream's step issues before its previous step has left the loop
    "no-hazard-check": ("  wire hazard = {{ stream.hazard.wire }};", "  wire hazard = 1'b0;"),
    # stream 0's earlier steps drop out of the registered hazard
    "hazard-forgets-a-stream": (
        "      recent_q[{{ r.stream }}] <= {{ r.expr }};",
        "      recent_q[{{ r.stream }}] <= {{ \"1'b0\" if r.stream == 0 else r.expr }};"),
    # the registered hazard forgets the step issuing now (a stream's next beat right behind)
    "hazard-misses-the-issuing-step": ("(s_axis_tvalid ? hazard_after_issue : hazard_waiting)",
                                       "(s_axis_tvalid ? hazard_arriving : hazard_waiting)"),
    # a readout step issues without a free output credit (unpipelined: a 4-slot FIFO that
    # random back-pressure overflows quickly)
    "no-credit-check": ("(~in_readout | credit_free)", "1'b1", {"pipeline": "none"}),
    # the registered credit check never sees the last credit taken
    "credit-last-missed": ("(credit_last & go_out)", "(1'b0 & go_out)", {"pipeline": "none"}),
    # control registers (a clock past DelayModel.control_path): the registered credit return
    # counts a cycle of m_axis_tready without a beat as a beat taken (two pipeline registers
    # and a short readout: the random back-pressure fills the 32 slots)
    "credit-returned-without-a-beat": ("      out_fire_q <= out_fire;",
                                       "      out_fire_q <= m_axis_tready;", {"pipeline": 2}),
    # the hazard's copy of the stream id keeps its first value
    "hazard-select-unloaded": ("      hazard_tid_q <= s_axis_tid;",
                               "      hazard_tid_q <= hazard_tid_q;"),
    # the FIFO's head turns valid with the strobe of the cycle before the write
    "fifo-strobe-early": ("      fifo_valid_q <= {{ stream.fifo_strobe }} |",
                          "      fifo_valid_q <= {{ stream.fifo_count_wr }} |"),
}


@pytest.mark.parametrize("name", list(STREAM_CORRUPTIONS))
def test_detects_stream_corruption(build_dir, tmp_path, name):
    """Random interleaving, gaps and back-pressure catch each corruption of the stream
    logic; the same template copy without the change passes."""
    ir = _stream_ir()
    old, new, *extra = STREAM_CORRUPTIONS[name]
    options = {**STREAM_OPTIONS, **(extra[0] if extra else {})}
    if "SKIP" in new:
        clean = vg.render(ir, GenerateOptions(**options))["hadamrnn.v"]
        new = new.replace("SKIP", _first_skippable(clean))
    stim = make_stimulus(ir, sequences=40, seed=6, min_steps=3, max_steps=12)
    clean_rtl = _mutated_design(tmp_path / "clean", ir, old, old, **options)
    assert run_batch(clean_rtl, stim, build_dir=build_dir, seed=4).ok
    rtl = _mutated_design(tmp_path / "broken", ir, old, new, **options)
    broken = run_batch(rtl, stim, build_dir=build_dir, seed=4)
    assert not broken.ok, f"{name}: the corrupted design passed"
