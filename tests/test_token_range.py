"""Token ids outside the vocabulary: one behaviour in the golden model, Verilog and HLS C++.

The rule (hadamhw/ir/schema.py, docs/ir-format.md): an id v with size <= v < 2^input.bits
drives the bias only, a = b, as if U's column for v were zero; ids the port cannot carry
are refused. The golden side is hand-checked in test_golden.py; here the generated hardware
must agree with it on stimulus full of such ids, and the two behaviours it replaced (a ROM
default of a = 0 in Verilog, an out-of-bounds table read in the HLS C++) must be caught.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import Stimulus, expected, make_stimulus, write_vectors
from hadamhw.resources import templates_dir

VOCAB = 10  # on a 4-bit port: ids 10..15 drive the bias only


def _ir(seed: int = 5):
    return random_ir(np.random.default_rng(seed), 16, 4, input_kind="token", input_size=VOCAB,
                     state_bits=12, output_size=4, readout="every")


def _stimulus(ir) -> Stimulus:
    """Every id of the port, in and out of the vocabulary, in mixed and pure sequences."""
    rng = np.random.default_rng(1)
    top = 1 << ir.input.bits
    sequences = [np.arange(top), np.arange(top)[::-1], np.full(5, top - 1),
                 np.full(4, VOCAB), np.array([VOCAB, 0, top - 1, 3, VOCAB + 2])]
    sequences += [rng.integers(0, top, int(rng.integers(1, 12))) for _ in range(12)]
    return expected(ir, sequences)


def test_stimulus_holds_out_of_vocabulary_ids():
    ir = _ir()
    assert ir.input.bits == 4 and ir.input.bias_only_tokens
    ids = np.concatenate(_stimulus(ir).sequences)
    assert set(ids.tolist()) == set(range(16))
    # The random stimulus of `hadamhw sim` / `csim` (and of every token design in the
    # cocotb, batch and HLS sweeps) reaches both ends of the bias-only range too.
    random_ids = np.concatenate(make_stimulus(ir, sequences=40, seed=0).sequences)
    assert {VOCAB, 15} <= set(random_ids.tolist()) and random_ids.max() <= 15
    from tests.test_cocotb_sim import CONFIGS
    from tests.test_cocotb_sim import _ir as cocotb_ir

    for index, cfg in enumerate(CONFIGS):
        if cfg["input_kind"] == "token":
            design_ir = cocotb_ir(index)
            seqs = make_stimulus(design_ir, sequences=10, seed=index, max_steps=10).sequences
            assert np.concatenate(seqs).max() >= design_ir.input.size, index


def test_the_rule_is_not_vacuous():
    """On this IR bias-only differs from both replaced behaviours: a = 0 (h would stay 0)
    and a clamped id (the last column)."""
    from hadamhw.ir.golden import run

    ir = _ir()
    bias_only = run(ir, np.array([[VOCAB, 15, VOCAB]]), return_states=True).states
    assert np.any(bias_only != 0)
    clamped = run(ir, np.array([[VOCAB - 1] * 3]), return_states=True).states
    assert not np.array_equal(bias_only, clamped)


@pytest.fixture(scope="module")
def verilog_design(tmp_path_factory):
    from hadamhw.design import generate

    out = tmp_path_factory.mktemp("token-verilog")
    generate(_ir(), out, GenerateOptions())
    return out


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_verilog_batch_bias_only_tokens_bit_exact(verilog_design):
    from hadamhw.verify.verilator_batch import run_batch

    stim = _stimulus(_ir())
    result = run_batch(verilog_design, stim, seed=3)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    assert result.outputs_checked == sum(o.size + len(o) for o in stim.outputs)


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_cocotb_bias_only_tokens_bit_exact(verilog_design):
    from hadamhw.verify.cocotb_sim import run_cocotb

    stim = _stimulus(_ir())
    result = run_cocotb(verilog_design, stim, simulator="verilator", seed=4)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"


@pytest.mark.sim
@pytest.mark.needs("verilator")
def test_verilog_rom_default_without_bias_is_caught(tmp_path):
    """The replaced Verilog behaviour (default entry: no drive at all) fails the batch check
    at the first out-of-vocabulary id."""
    from hadamhw.design import generate
    from hadamhw.verify.verilator_batch import run_batch

    templates = tmp_path / "templates"
    shutil.copytree(templates_dir() / "verilog", templates)
    part = templates / "parts" / "input.v.j2"
    old = "default: d_rom = {{ input.rom.default }};"
    assert part.read_text().count(old) == 1
    part.write_text(part.read_text().replace(old, "default: d_rom = {{ input.rom.msb + 1 }}'d0;"))
    ir = _ir()
    generate(ir, tmp_path / "rtl", GenerateOptions(), template_dir=templates)
    stim = _stimulus(ir)
    result = run_batch(tmp_path / "rtl", stim, seed=3)
    assert not result.ok
    first = result.mismatches[0]
    # the first sequence walks the ids upwards: the first wrong output is at id 10
    assert (first.sequence, first.step) == (0, VOCAB), first.describe()


@pytest.fixture(scope="module")
def hls_design(tmp_path_factory):
    from hadamhw.backends.hls import render

    out = tmp_path_factory.mktemp("token-hls")
    render(_ir(), out, GenerateOptions())
    return out


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_csim_bias_only_tokens_bit_exact(hls_design, tmp_path):
    from hadamhw.verify.csim import run_csim

    stim = _stimulus(_ir())
    result = run_csim(hls_design, stim, tmp_path)
    assert result.ok, [m.describe() for m in result.mismatches[:5]]


def _asan_run(design: Path, source: Path, vectors: Path, exe: Path) -> subprocess.CompletedProcess:
    from hadamhw.verify import csim

    cmd = csim.compile_command(csim.find_compiler(), csim.find_ap_types(),
                               [design / "hadamrnn_tb.cpp", source], exe)
    cmd[1:1] = ["-fsanitize=address", "-fno-omit-frame-pointer"]
    build = subprocess.run(cmd, capture_output=True, text=True, cwd=design)
    assert build.returncode == 0, build.stderr
    return subprocess.run([str(exe), str(vectors)], capture_output=True, text=True, cwd=design)


@pytest.mark.hls
@pytest.mark.xdist_group("hls")
def test_hls_top_never_reads_out_of_bounds(hls_design, tmp_path):
    """Under AddressSanitizer the generated top passes the out-of-vocabulary stimulus; the
    replaced line (the table indexed by the raw id) is reported as a global buffer overflow."""
    ir = _ir()
    vectors = tmp_path / "vectors.txt"
    write_vectors(ir, _stimulus(ir), vectors)
    clean = _asan_run(hls_design, hls_design / "hadamrnn.cpp", vectors, tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert "AddressSanitizer" not in clean.stderr and "mismatches 0: PASS" in clean.stdout

    text = (hls_design / "hadamrnn.cpp").read_text()
    start = text.index("        const unsigned token = x[0].to_uint();")
    end = text.index("        }\n", text.index("} else {", start)) + len("        }\n")
    old = "        input_acc[i] = INPUT_BIAS[i] + INPUT_WEIGHT[i][x[0].to_uint()];\n"
    unsafe = tmp_path / "unsafe.cpp"
    unsafe.write_text(text[:start] + old + text[end:])
    (tmp_path / "hadamrnn.h").write_text((hls_design / "hadamrnn.h").read_text())
    bad = _asan_run(hls_design, unsafe, vectors, tmp_path / "unsafe")
    assert bad.returncode != 0 and "global-buffer-overflow" in bad.stderr
