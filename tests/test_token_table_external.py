"""`hadamhw generate --token-table external`: the drive table in memory, read over AXI4.

The image and its manifest layout against the IR's drive table, the refusals, and the
cocotb bench with cocotbext-axi's AxiRamRead holding the image: bit-exact against the
golden model under input gaps and output back-pressure, with a memory that answers at once
and with a slow one (AR back-pressure, R latency and gaps), out-of-vocabulary ids included.
Designs rendered from corrupted copies of the AXI master's template (an off-by-one row
address, a dropped prefetched token, a row overwritten while the core waits) must fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends.verilog_token_axi import table_layout
from hadamhw.design import generate, read_design, render_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import run as golden_run
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import expected, make_stimulus
from hadamhw.netlist.plan import drive_table, requant_plan
from hadamhw.resources import templates_dir

EXTERNAL = GenerateOptions(token_table="external", token_table_base=0x3000)


def _ir(n: int = 16, readout: str = "every", seed: int = 3):
    # vocabulary 10 on a 4-bit port: ids 10..15 drive the bias only
    return random_ir(np.random.default_rng(seed), n, n, input_kind="token", input_size=10,
                     output_size=5, readout=readout, requant="lean")


def _stimulus(ir):
    """Random sequences (whose extremes include ids 10 and 15) and one all out-of-vocabulary
    sequence, with the golden model's outputs."""
    stim = make_stimulus(ir, sequences=5, seed=4, min_steps=3, max_steps=9)
    oov = np.array([10, 15, 12, 3, 11], dtype=np.int64)
    return expected(ir, [*stim.sequences, oov])


def _decode(image: bytes, layout: dict) -> np.ndarray:
    """(rows, n) signed elements of an image."""
    w, n, stride = layout["element_bits"], layout["elements"], layout["row_stride_bytes"]
    rows = []
    for r in range(layout["rows"]):
        word = int.from_bytes(image[r * stride:(r + 1) * stride], "little")
        vals = [(word >> (i * w)) & ((1 << w) - 1) for i in range(n)]
        rows.append([v - (1 << w) if v >> (w - 1) else v for v in vals])
        assert word >> (n * w) == 0  # zero above the row
    return np.array(rows, dtype=object)


@pytest.mark.parametrize("data_bits", [32, 64, 256])
def test_image_is_the_drive_table(data_bits):
    ir = _ir()
    files = render_design(ir, "verilog", GenerateOptions(token_table="external",
                                                         axi_data_bits=data_bits))
    man = json.loads(files["manifest.json"])
    t = man["token_table"]
    assert t == {**table_layout(ir, data_bits), **{k: t[k] for k in (
        "base_parameter", "base_default", "address_bits", "mem_gbps", "steps_per_second")}}
    table = drive_table(ir, requant_plan(ir))  # (n, vocabulary + 1): the last column OOV
    assert t["rows"] == ir.input.size + 1 and t["out_of_vocabulary_row"] == ir.input.size
    assert len(files["token_table.bin"]) == t["image_bytes"] == t["rows"] * t["row_stride_bytes"]
    assert (_decode(files["token_table.bin"], t) == table.T).all()
    # the stride: a power of two holding the burst, itself whole beats of the data width
    assert t["beats_per_row"] == -(-t["elements"] * t["element_bits"] // data_bits)
    assert t["bytes_per_step"] == t["beats_per_row"] * data_bits // 8
    assert t["row_stride_bytes"] & (t["row_stride_bytes"] - 1) == 0
    assert t["bytes_per_step"] <= t["row_stride_bytes"] < 2 * t["bytes_per_step"]
    assert t["steps_per_second"] == pytest.approx(12.8e9 / t["bytes_per_step"], rel=1e-6)
    assert man["cycles_per_step"] == max(2, t["beats_per_row"])
    names = [p["name"] for p in man["ports"]]
    assert {"m_axi_araddr", "m_axi_arlen", "m_axi_rdata", "m_axi_rlast"} <= set(names)
    assert man["hdl_files"] == ["hadamrnn_core_rotate.v", "hadamrnn_core_update.v",
                                "hadamrnn_core_readout.v", "hadamrnn_core.v", "hadamrnn.v"]


def test_generation_is_deterministic_and_rom_default_unchanged():
    ir = _ir()
    assert render_design(ir, "verilog", EXTERNAL) == render_design(ir, "verilog", EXTERNAL)
    rom = render_design(ir, "verilog", GenerateOptions())
    assert rom == render_design(ir, "verilog", GenerateOptions(token_table="rom"))
    assert "token_table" not in json.loads(rom["manifest.json"])
    assert "token_table.bin" not in rom


def test_manifest_schema_checks_the_layout(tmp_path):
    out = generate(_ir(), tmp_path / "d", EXTERNAL)
    assert out["token_table"]["base_default"] == 0x3000
    path = tmp_path / "d" / "manifest.json"
    man = json.loads(path.read_text())
    man["token_table"]["data_bits"] = 48
    path.write_text(json.dumps(man))
    with pytest.raises(HadamhwError, match="data_bits"):
        read_design(tmp_path / "d")


@pytest.mark.parametrize("ir_kind, options, target, words", [
    ("token", dict(streams=2), "verilog", "--streams 2"),
    ("token", dict(fold="stage"), "verilog", "--fold stage"),
    ("token", dict(pipeline="auto"), "verilog", "--pipeline auto"),
    ("token", dict(readout_lanes=1), "verilog", "--readout-lanes"),
    ("token", dict(axi_data_bits=48), "verilog", "--axi-data-bits"),
    ("token", dict(token_table_base=0x100), "verilog", "--token-table-base"),
    ("int", {}, "verilog", "int inputs"),
    ("token", {}, "hls", "Verilog target only"),
])
def test_refused_combinations(ir_kind, options, target, words):
    ir = _ir(readout="last") if ir_kind == "token" else random_ir(np.random.default_rng(1), 16)
    with pytest.raises(HadamhwError) as err:
        render_design(ir, target, GenerateOptions(token_table="external", **options))
    assert words in str(err.value) and "\n" not in str(err.value)
    assert "--token-table" in str(err.value) or words.startswith("--")


def test_external_options_need_the_external_table():
    with pytest.raises(HadamhwError, match="--axi-data-bits 128: applies to --token-table"):
        GenerateOptions(axi_data_bits=128).validate()


def test_cli_refuses_in_one_line(tmp_path):
    ir_path = tmp_path / "m.ir.json"
    ir_path.write_text(_ir().to_json())
    proc = subprocess.run([sys.executable, "-m", "hadamhw.cli", "generate", str(ir_path), "-o",
                           str(tmp_path / "d"), "--token-table", "external", "--streams", "2"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "--token-table external" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_batch_harness_refuses_external_design(tmp_path):
    from hadamhw.verify.verilator_batch import build

    generate(_ir(), tmp_path / "d", EXTERNAL)
    with pytest.raises(HadamhwError, match="without --batch"):
        build(tmp_path / "d", tmp_path / "build")


def test_golden_oov_ids_drive_the_bias_only():
    """What the image's extra row stands for: ids >= vocabulary behave as one id."""
    ir = _ir()
    a = golden_run(ir, np.array([[10, 3, 15]]))
    b = golden_run(ir, np.array([[13, 3, 11]]))
    assert (a.outputs == b.outputs).all() and (a.argmax == b.argmax).all()
    c = golden_run(ir, np.array([[9, 3, 15]]))  # the last id of the vocabulary is not OOV
    assert (a.outputs != c.outputs).any()


@pytest.mark.needs("verilator")
def test_lint_clean(tmp_path):
    from hadamhw.verify.tools import lint

    generate(_ir(), tmp_path / "d", EXTERNAL)
    assert lint(tmp_path / "d") == []
    generate(_ir(), tmp_path / "d32", GenerateOptions(token_table="external",
                                                       axi_data_bits=1024))
    assert lint(tmp_path / "d32") == []  # one beat a row: no shift register


def _vocab_ir(vocab: int):
    return random_ir(np.random.default_rng(7), 8, 8, input_kind="token", input_size=vocab,
                     output_size=3, readout="every", requant="lean")


@pytest.mark.needs("verilator")
@pytest.mark.parametrize("vocab", [1, 2, 16])
def test_lint_clean_at_vocabulary_edges(tmp_path, vocab):
    """One id; a port that carries no out-of-vocabulary id (2, 16: the row index is one bit
    wider than the id, row V unused)."""
    from hadamhw.verify.tools import lint

    generate(_vocab_ir(vocab), tmp_path / "d", GenerateOptions(token_table="external",
                                                               axi_data_bits=32))
    assert lint(tmp_path / "d") == []


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("vocab", [1, 16])
def test_cocotb_vocabulary_edges(tmp_path, vocab):
    from hadamhw.verify.cocotb_sim import TESTS, run_cocotb

    ir = _vocab_ir(vocab)
    generate(ir, tmp_path / "d", GenerateOptions(token_table="external", axi_data_bits=32))
    stim = make_stimulus(ir, sequences=4, seed=2, min_steps=2, max_steps=8)
    result = run_cocotb(tmp_path / "d", stim, seed=1, memory="slow", tests=TESTS[3:5],
                        build_dir=tmp_path / "cache")
    assert result.mismatches == [] and result.outputs_checked > 0


@pytest.mark.synth
def test_no_multipliers(tmp_path):
    from hadamhw.report import make_report

    generate(_ir(), tmp_path / "d", EXTERNAL)
    report = make_report(tmp_path / "d", "generic", progress=False, mem_gbps=25.6)
    assert report["mul_cells"] == 0
    t = report["token_table"]
    assert t["mem_gbps"] == 25.6 and t["steps_per_second"] == pytest.approx(
        25.6e9 / t["bytes_per_step"], rel=1e-6)
    from hadamhw.report.render import render_text

    text = render_text(report)
    assert "bytes read per time step" in text and "at 25.6 GB/s (computed)" in text


def _run(design: Path, memory: str, tmp_path: Path):
    from hadamhw.verify.cocotb_sim import run_cocotb

    ir = read_design(design).ir
    return run_cocotb(design, _stimulus(ir), seed=5, memory=memory,
                      build_dir=tmp_path / "cache")


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("readout, memory", [("every", "fast"), ("every", "slow"),
                                             ("last", "slow")])
def test_cocotb_bit_exact(tmp_path, readout, memory):
    ir = _ir(readout=readout)
    stim = _stimulus(ir)
    assert any((np.asarray(s) >= ir.input.size).any() for s in stim.sequences[:-1])
    generate(ir, tmp_path / "d", EXTERNAL)
    result = _run(tmp_path / "d", memory, tmp_path)
    assert result.mismatches == [], [m.describe() for m in result.mismatches[:3]]
    beats = sum(len(o) for o in stim.outputs)
    # every traffic pattern checks every beat; the reset test adds its own
    assert result.outputs_checked >= 5 * beats * (ir.output_size + 1)


# variant -> (text of templates/verilog/token_axi.v.j2, its corrupted replacement)
CORRUPTIONS = {
    # the row after the token's: an off-by-one address
    "address-off-by-one": ("{tok_row_q, {{ stride_zeros }}}",
                           "{tok_row_q + {{ row_msb + 1 }}'d1, {{ stride_zeros }}}"),
    # the next token taken over the one waiting for its read: a dropped prefetch
    "dropped-prefetch": ("assign s_axis_tready = ~tok_valid_q;", "assign s_axis_tready = 1'b1;"),
    # beats taken while the core has not taken the row before: a row overwritten
    "row-overwritten": ("assign m_axi_rready = ~row_full_q | core_ready;",
                        "assign m_axi_rready = 1'b1;"),
}


def _templates(tmp_path: Path, variant: str | None) -> Path:
    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir() / "verilog", tdir)
    if variant is not None:
        path = tdir / "token_axi.v.j2"
        old, new = CORRUPTIONS[variant]
        text = path.read_text()
        assert text.count(old) == 1
        path.write_text(text.replace(old, new))
    return tdir


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("variant", [None, *CORRUPTIONS])
def test_corrupted_master_fails(tmp_path, variant):
    from hadamhw.verify.cocotb_sim import TESTS, run_cocotb

    ir = _ir()
    design = tmp_path / "d"
    generate(ir, design, EXTERNAL, template_dir=_templates(tmp_path, variant))
    # full rate; gaps and back-pressure; a sink taking one beat in four (the core waits
    # with a whole row in the buffer while the memory could send the next)
    tests = (TESTS[0], TESTS[3], TESTS[4])
    result = run_cocotb(design, _stimulus(ir), seed=5, memory="fast", tests=tests,
                        build_dir=tmp_path / "cache")
    if variant is None:
        assert result.mismatches == []
    else:
        assert result.mismatches, f"{variant}: the bench did not notice"
