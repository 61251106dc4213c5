"""The cocotb bench on generated Verilog: a pairwise sweep through Verilator, an Icarus subset.

Every configuration is generated and compiled once (builds are cached by content hash), then
streamed with random gaps and back-pressure and compared with the golden model word by word.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.verify.cocotb_sim import TESTS
from tests.needs import need

# Pairwise over n, state bits, block size, mode, readout, fold, saturation, input kind,
# requant constants, constant products and serial readout, and odd or even log2 m: every
# pair of values of any two factors meets in at least one row, except pairs no design can
# have (test_configurations_cover_every_pair checks it). Output size and output
# requantization vary along the rows as well.
FACTORS = {
    "n": (8, 16, 64),
    "state_bits": (8, 12, 16),
    "block": ("4", "n"),
    "mode": ("linear", "vanilla"),
    "readout": ("every", "last"),
    "fold": ("parallel", "stage"),
    "saturating": (False, True),
    "input_kind": ("int", "token"),
    # the lean datapath: requant constants as the lowering chooses them or arbitrary ones,
    # da4ml or CSD constant products, the readout at once or serial (one lane)
    "requant": ("lean", "random"),
    "cmvm": ("da4ml", "csd"),
    "lanes": (None, 1),
    # interleaved streams (the bench drives them in random order, a scoreboard per TID) and
    # pipeline registers for the default target clock
    "streams": (1, 4),
    "pipeline": ("none", "auto"),
}
CONFIGS = [
    dict(n=8, state_bits=8, block="4", mode="linear", readout="every", fold="stage",
         saturating=False, input_kind="token", output_size=1,
         requant="lean", cmvm="csd", lanes=None,
         streams=1, pipeline="none"),
    dict(n=8, state_bits=12, block="n", mode="vanilla", readout="last", fold="parallel",
         saturating=True, input_kind="int", output_size=5, output_bits=10,
         requant="random", cmvm="da4ml", lanes=1,
         streams=1, pipeline="none"),
    dict(n=8, state_bits=16, block="n", mode="vanilla", readout="every", fold="stage",
         saturating=False, input_kind="int", output_size=2, input_signed=False,
         requant="lean", cmvm="csd", lanes=None,
         streams=1, pipeline="auto"),
    dict(n=16, state_bits=8, block="4", mode="vanilla", readout="last", fold="parallel",
         saturating=True, input_kind="token", output_size=9,
         requant="lean", cmvm="da4ml", lanes=1,
         streams=4, pipeline="auto"),
    dict(n=16, state_bits=12, block="n", mode="linear", readout="every", fold="stage",
         saturating=True, input_kind="token", output_size=3,
         requant="lean", cmvm="csd", lanes=None,
         streams=1, pipeline="none"),
    dict(n=16, state_bits=16, block="4", mode="linear", readout="last", fold="parallel",
         saturating=False, input_kind="int", output_size=4,
         requant="random", cmvm="csd", lanes=None,
         streams=4, pipeline="none"),
    dict(n=64, state_bits=8, block="n", mode="vanilla", readout="last", fold="stage",
         saturating=True, input_kind="int", output_size=10,
         requant="random", cmvm="csd", lanes=1,
         streams=4, pipeline="auto"),
    dict(n=64, state_bits=12, block="4", mode="linear", readout="every", fold="parallel",
         saturating=False, input_kind="token", output_size=6,
         requant="lean", cmvm="da4ml", lanes=None,
         streams=1, pipeline="none"),
    dict(n=64, state_bits=16, block="4", mode="linear", readout="last", fold="parallel",
         saturating=True, input_kind="token", output_size=7, output_bits=12,
         requant="random", cmvm="da4ml", lanes=1,
         streams=4, pipeline="auto"),
    # odd log2 m (n = m = 8) beside the pairs above
    dict(n=8, state_bits=8, block="n", mode="linear", readout="last", fold="stage",
         saturating=False, input_kind="token", output_size=4, requant="lean", cmvm="da4ml",
         lanes=1,
         streams=4, pipeline="auto"),
    dict(n=8, state_bits=12, block="n", mode="linear", readout="every", fold="parallel",
         saturating=False, input_kind="token", output_size=3, requant="random", cmvm="csd",
         lanes=None,
         streams=4, pipeline="auto"),
]
ICARUS_CONFIGS = (0, 1, 4)  # small ones: Icarus is the slower simulator


def _config_id(cfg: dict) -> str:
    return (f"n{cfg['n']}-m{cfg['block']}-{cfg['mode']}-{cfg['readout']}-{cfg['fold']}-"
            f"s{cfg['state_bits']}{'-sat' if cfg['saturating'] else ''}-{cfg['input_kind']}-"
            f"{cfg['requant']}-{cfg['cmvm']}{'-lanes' + str(cfg['lanes']) if cfg['lanes'] else ''}"
            f"{'-P' + str(cfg['streams']) if cfg['streams'] != 1 else ''}"
            f"{'-piped' if cfg['pipeline'] != 'none' else ''}")


def _ir(index: int):
    cfg = CONFIGS[index]
    n = cfg["n"]
    kind = cfg["input_kind"]
    return random_ir(
        np.random.default_rng(1000 + index), n, 4 if cfg["block"] == "4" else n,
        mode=cfg["mode"], readout=cfg["readout"], state_bits=cfg["state_bits"],
        input_kind=kind, input_size=10 if kind == "token" else 3,
        input_signed=cfg.get("input_signed", True), output_size=cfg["output_size"],
        saturating=cfg["saturating"], output_bits=cfg.get("output_bits"),
        requant=cfg["requant"])


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    """index -> generated design folder (generated on first use, once per worker)."""
    from hadamhw.design import generate

    root = tmp_path_factory.mktemp("cocotb-designs")
    made: dict[int, tuple] = {}

    def get(index: int):
        if index not in made:
            ir = _ir(index)
            out = root / f"design{index}"
            cfg = CONFIGS[index]
            generate(ir, out, GenerateOptions(fold=cfg["fold"], cmvm=cfg["cmvm"],
                                              readout_lanes=cfg["lanes"],
                                              streams=cfg["streams"],
                                              pipeline=cfg["pipeline"]))
            made[index] = (ir, out)
        return made[index]

    return get


def _stream_words(stimulus, output_size: int) -> int:
    return sum(len(out) for out in stimulus.outputs) * (output_size + 1)


def _skip_without(simulator: str) -> None:
    need(simulator)  # a skip on a developer's machine, a failure when CI is set


def _parity(cfg: dict) -> str:
    m = cfg["n"] if cfg["block"] == "n" else int(cfg["block"])
    return "odd" if (m.bit_length() - 1) % 2 else "even"


def _possible(pair: dict) -> bool:
    """No serial readout of every step; log2 m is even for m = 4 and for n = m = 16, 64."""
    if pair.get("readout") == "every" and pair.get("lanes") is not None:
        return False
    return not (pair.get("parity") == "odd"
                and (pair.get("block") == "4" or pair.get("n") in (16, 64)))


def test_configurations_cover_every_pair():
    factors = {**FACTORS, "parity": ("even", "odd")}
    rows = [{**cfg, "parity": _parity(cfg)} for cfg in CONFIGS]
    for (a, va), (b, vb) in itertools.combinations(factors.items(), 2):
        seen = {(cfg[a], cfg[b]) for cfg in rows}
        missing = {(x, y) for x, y in itertools.product(va, vb)
                   if _possible({a: x, b: y})} - seen
        assert not missing, f"no configuration has {a}, {b} = {sorted(missing, key=str)[0]}"
    assert all(_possible(cfg) for cfg in rows)


@pytest.mark.sim
@pytest.mark.parametrize("index", range(len(CONFIGS)),
                         ids=[_config_id(c) for c in CONFIGS])
def test_verilator_cocotb_bit_exact(index, designs):
    from hadamhw.verify.cocotb_sim import run_cocotb

    _skip_without("verilator")
    ir, design = designs(index)
    stimulus = make_stimulus(ir, sequences=10, seed=index, min_steps=1, max_steps=10)
    result = run_cocotb(design, stimulus, simulator="verilator", seed=index)
    assert result.simulator == "verilator-cocotb"
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    assert result.sequences == 10 and result.steps == stimulus.steps
    # The stream test checked every word of every readout (+ argmax); the reset test more.
    assert result.outputs_checked > _stream_words(stimulus, ir.output_size)
    assert result.cycles is not None and result.cycles >= stimulus.steps


@pytest.mark.sim
@pytest.mark.parametrize("index", ICARUS_CONFIGS,
                         ids=[_config_id(CONFIGS[i]) for i in ICARUS_CONFIGS])
def test_icarus_cocotb_bit_exact(index, designs):
    from hadamhw.verify.cocotb_sim import run_cocotb

    _skip_without("icarus")
    ir, design = designs(index)
    stimulus = make_stimulus(ir, sequences=6, seed=50 + index, min_steps=1, max_steps=8)
    result = run_cocotb(design, stimulus, simulator="icarus", seed=index)
    assert result.simulator == "icarus-cocotb"
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    assert result.outputs_checked > _stream_words(stimulus, ir.output_size)


@pytest.mark.sim
@pytest.mark.parametrize("test", TESTS)
def test_bench_named_test(test, designs):
    """Each traffic pattern and the reset test alone, on a stage-fold core (whose s_axis_tready
    drops while it works), checked word by word."""
    from hadamhw.verify.cocotb_sim import run_cocotb

    _skip_without("verilator")
    index = 4  # stage fold, readout every, token input
    ir, design = designs(index)
    stimulus = make_stimulus(ir, sequences=8, seed=21, min_steps=2, max_steps=10)
    result = run_cocotb(design, stimulus, simulator="verilator", seed=5, tests=(test,))
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    if test.startswith("test_stream"):
        assert result.outputs_checked == _stream_words(stimulus, ir.output_size)
        assert result.cycles >= stimulus.steps * ir.k  # k cycles per step at least
    else:
        assert result.outputs_checked > 0


def test_bench_tests_are_the_runners():
    """The bench defines exactly the tests the runner names (one per traffic pattern)."""
    import ast

    from hadamhw.resources import sim_dir

    tree = ast.parse((sim_dir() / "hadamrnn_tb.py").read_text())
    traffic = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Traffic")
    patterns = [t.id for node in traffic.body if isinstance(node, ast.Assign)
                for t in node.targets]
    tests = [n.name for n in tree.body if isinstance(n, ast.AsyncFunctionDef)
             and n.name.startswith("test_")]
    assert tests == ["test_stream", "test_reset_midstream"]
    assert (*(f"test_stream/traffic={p}" for p in patterns), "test_reset_midstream") == TESTS


@pytest.mark.sim
def test_dense_baseline_bit_exact(tmp_path):
    """The dense adder-tree rotation (same module name and ports) under the same bench."""
    from hadamhw.design import generate
    from hadamhw.verify.cocotb_sim import run_cocotb

    _skip_without("verilator")
    ir = random_ir(np.random.default_rng(77), 16, 4, state_bits=10, saturating=True)
    generate(ir, tmp_path / "dense", GenerateOptions(recurrent="dense"))
    stimulus = make_stimulus(ir, sequences=8, seed=4, max_steps=10)
    result = run_cocotb(tmp_path / "dense", stimulus, simulator="verilator", seed=4)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"


@pytest.mark.sim
def test_full_rate_streaming_takes_one_cycle_per_step(designs):
    """Without gaps or back-pressure a parallel core takes a step every cycle."""
    from hadamhw.verify.cocotb_sim import run_cocotb

    _skip_without("verilator")
    index = 7  # parallel fold, readout every
    ir, design = designs(index)
    stimulus = make_stimulus(ir, sequences=8, seed=3, min_steps=4, max_steps=12)
    result = run_cocotb(design, stimulus, simulator="verilator", gaps=False,
                        tests=("test_stream/traffic=full_rate",))
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    assert result.outputs_checked == _stream_words(stimulus, ir.output_size)
    # The first output arrives after the latency; then one beat per cycle.
    assert result.cycles <= stimulus.steps + 4


@pytest.mark.sim
def test_build_is_cached(designs, tmp_path):
    from hadamhw.verify.cocotb_sim import build

    _skip_without("verilator")
    _, design = designs(0)
    first = build(design, "verilator")
    stamp = first / "hadamhw-build.json"
    before = (stamp.stat().st_ino, stamp.read_text())
    assert build(design, "verilator") == first
    # reused, not rebuilt: a rebuild renames a new folder (a new stamp file) into place;
    # a reuse only renews the stamp's time, which the cache's pruning goes by
    assert (stamp.stat().st_ino, stamp.read_text()) == before
    # Same HDL in another folder: same build.
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in design.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert build(copy, "verilator") == first


@pytest.mark.sim
@pytest.mark.parametrize("simulator,suffix", [("verilator", ".vcd"), ("icarus", ".fst")])
def test_waves(simulator, suffix, designs, tmp_path):
    from hadamhw.verify.cocotb_sim import run_cocotb

    _skip_without(simulator)
    ir, design = designs(0)
    stimulus = make_stimulus(ir, sequences=2, seed=1, max_steps=4)
    waves = tmp_path / f"trace{suffix}"
    result = run_cocotb(design, stimulus, simulator=simulator, waves=waves,
                        tests=("test_stream/traffic=full_rate",))
    assert result.ok
    assert waves.is_file() and waves.stat().st_size > 100
    if suffix == ".vcd":
        assert "s_axis_tvalid" in waves.read_text(errors="replace")


def test_bad_design_folder_is_a_one_line_error(tmp_path):
    from hadamhw.errors import HadamhwError
    from hadamhw.verify.cocotb_sim import read_manifest

    with pytest.raises(HadamhwError, match="no manifest.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "hadamhw-design", "top": "x", '
                                            '"hdl_files": ["x.v"], '
                                            '"input": {"words": 1, "word_bits": 4}, '
                                            '"output": {"words": 1, "word_bits": 8}, '
                                            '"argmax_bits": 1, '
                                            '"readout": "every"}')
    with pytest.raises(HadamhwError, match="x.v"):
        read_manifest(tmp_path)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    from hadamhw.verify.cocotb_sim import default_cache_dir

    monkeypatch.setenv("HADAMHW_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == Path(tmp_path) / "cocotb"
    monkeypatch.delenv("HADAMHW_CACHE_DIR")
    assert default_cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "hadamhw" / "cocotb"


@pytest.mark.sim
def test_build_failure_is_a_one_line_error(designs, tmp_path):
    from hadamhw.errors import HadamhwError
    from hadamhw.verify.cocotb_sim import build

    _skip_without("verilator")
    _, design = designs(0)
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in design.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    top = broken / "hadamrnn.v"
    top.write_text(top.read_text().replace("endmodule", "", 1))
    with pytest.raises(HadamhwError) as exc:
        build(broken, "verilator", build_dir=tmp_path / "cache")
    message = str(exc.value)
    assert "\n" not in message
    assert "build of" in message and "%Error" in message
    assert not any((tmp_path / "cache").glob("verilator-*/hadamhw-build.json"))
