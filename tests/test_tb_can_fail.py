"""The simulation checks can fail: designs rendered from deliberately corrupted templates.

Each variant copies templates/verilog and changes one arithmetic decision (a butterfly sign,
the rounding, the rounding shift, a bit width) while keeping the Verilog lint-clean, so the
design still builds and only simulation can tell. The IR (no saturation, full-size blocks)
and the stimulus (sequences of 6 to 14 steps) make every variant change outputs; the same
copy without a corruption must pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.ir.random import random_ir
from hadamhw.resources import templates_dir
from hadamhw.verify.stimulus import make_stimulus

pytestmark = pytest.mark.sim

ASSIGN = "  assign {{ a.lhs }} = {{ a.expr }};"
REQUANT_KEEP = "{% for d in requant_decls %}\n{% if d.keep %}\n" \
               "  (* keep *) wire [{{ d.msb }}:0] {{ d.name }};\n  assign {{ d.name }} = "
REQUANT = REQUANT_KEEP + "{{ d.expr }};\n{% else %}\n"
DECL_HEAD = REQUANT + "  wire {% if d.signed %}signed {% endif %}[{{ d.msb }}:0] {{ d.name }} = "
DECL = DECL_HEAD + "{{ d.expr }};"

# variant -> (template file, text to replace, replacement, fold)
VARIANTS = {
    # Second butterfly of every stage adds instead of subtracting (parallel rotate module).
    "butterfly-sign": (
        "rotate_fwht.v.j2", ASSIGN,
        "  assign {{ a.lhs }} = {{ a.expr.replace(' - ', ' + ', 1) if loop.index == 2 "
        "else a.expr }};", "parallel"),
    # The same in the stage-serial bank of butterflies.
    "stage-butterfly-sign": (
        "top.v.j2", "{% for a in bank.butterflies %}\n" + ASSIGN,
        "{% for a in bank.butterflies %}\n  assign {{ a.lhs }} = "
        "{{ a.expr.replace(' - ', ' + ', 1) if loop.index == 2 else a.expr }};", "stage"),
    # Round half up becomes round down: the 2^(S-1) constant of v is dropped (it is the
    # first operand of the first node of v's adder tree).
    "rounding": (
        "top.v.j2", REQUANT_KEEP + "{{ d.expr }};",
        REQUANT_KEEP + "{{ (d.expr.split(\"'h\", 1)[0] ~ \"'h0 \" ~ d.expr.split(' ', 1)[1]) "
                       "if d.name.startswith('v_') and \"'h\" in d.expr else d.expr }};",
        "parallel"),
    # q = v >>> (S - 1) instead of v >>> S.
    "shift": (
        "top.v.j2", DECL,
        DECL_HEAD + "{% if d.name.startswith('q_') %}{% set p = d.expr[:-1].split('[') %}"
                    "{% set b = p[1].split(':') %}{{ p[0] }}[{{ b[0] | int - 1 }}:"
                    "{{ b[1] | int - 1 }}]{% else %}{{ d.expr }}{% endif %};", "parallel"),
    # The input accumulator a enters the requantization sum one bit narrower than
    # widths.input_acc (sign-extended from bit W-2): values outside W-1 bits wrap.
    "width": (
        "top.v.j2", DECL,
        DECL_HEAD + "{% if d.name.startswith('ae_') %}{% set p = d.expr.split('{') %}"
                    "{% set name = p[3].split('[')[0] %}"
                    "{% set top = p[3].split('[')[1].split(']')[0] | int - 1 %}"
                    "{{ '{{' }}{{ p[2] | int + 1 }}{{ '{' }}{{ name }}[{{ top }}]{{ '}}' }}, "
                    "{{ name }}[{{ top }}:0]{{ '}' }}"
                    "{% else %}{{ d.expr }}{% endif %};", "parallel"),
}


def _ir():
    # Full Hadamard blocks (k = 4 stages), a state far from saturation, readout every step.
    return random_ir(np.random.default_rng(7), 16, 16, state_bits=12, input_size=3,
                     output_size=4, saturating=False, shift=14)


def _templates(tmp: Path, variant: str | None, fold: str) -> Path:
    copy = tmp / f"templates-{variant or 'clean'}-{fold}"
    shutil.copytree(templates_dir() / "verilog", copy)
    if variant is not None:
        name, old, new, _ = VARIANTS[variant]
        path = copy / name
        text = path.read_text()
        assert text.count(old) == 1, f"{name} no longer holds the text {variant} corrupts"
        path.write_text(text.replace(old, new))
    return copy


def _design(tmp: Path, variant: str | None, fold: str) -> tuple[Path, dict, dict]:
    """(design folder, corrupted render, clean render)."""
    from hadamhw.backends.verilog import render

    ir = _ir()
    options = GenerateOptions(fold=fold)
    files = render(ir, options, template_dir=_templates(tmp, variant, fold))
    clean = render(ir, options)
    out = tmp / f"design-{variant or 'clean'}-{fold}"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    return out, files, clean


def _stimulus():
    return make_stimulus(_ir(), sequences=12, seed=11, min_steps=6, max_steps=14)


def test_stimulus_drives_the_input_accumulator_past_one_bit_less():
    """Precondition of the 'width' variant: some a = U x + b needs all widths.input_acc bits."""
    ir = _ir()
    x = np.concatenate(_stimulus().sequences)
    a = x @ ir.input_weight.T + ir.input_bias
    half = 1 << (ir.widths.input_acc - 2)
    assert np.any((a < -half) | (a >= half))


def _assert_value_mismatch(result) -> None:
    assert not result.ok, "the corrupted design passed: the check cannot fail"
    first = result.mismatches[0]
    # A wrong value (an output word or the argmax), named by sequence, step and index.
    assert first.index >= -1, first.describe()
    assert first.sequence >= 0 and first.step >= 0
    assert first.expected != first.got
    assert f"sequence {first.sequence}, step {first.step}" in first.describe()


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tb-can-fail")


@pytest.fixture(autouse=True)
def _verilator():
    from hadamhw.verify.cocotb_sim import simulator_available

    reason = simulator_available("verilator")
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("fold", ["parallel", "stage"])
def test_clean_copy_renders_identically_and_passes(fold, tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb
    from hadamhw.verify.verilator_batch import run_batch

    design, files, clean = _design(tmp, None, fold)
    assert files == clean
    stimulus = _stimulus()
    result = run_cocotb(design, stimulus, simulator="verilator", seed=1)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    batch = run_batch(design, stimulus, seed=1)
    assert batch.ok, batch.mismatches[0].describe() if batch.mismatches else "no outputs"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cocotb_reports_corruption(variant, tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb

    fold = VARIANTS[variant][3]
    design, files, clean = _design(tmp, variant, fold)
    changed = [name for name in clean if files[name] != clean[name]]
    assert changed, f"{variant}: the corruption changed nothing"
    result = run_cocotb(design, _stimulus(), simulator="verilator", seed=2)
    _assert_value_mismatch(result)


@pytest.mark.parametrize("variant", ["butterfly-sign", "width"])
def test_batch_reports_corruption(variant, tmp):
    from hadamhw.verify.verilator_batch import run_batch

    design = tmp / f"design-{variant}-{VARIANTS[variant][3]}"
    if not design.is_dir():
        design = _design(tmp, variant, VARIANTS[variant][3])[0]
    _assert_value_mismatch(run_batch(design, _stimulus(), seed=2))


def test_icarus_reports_corruption(tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb, simulator_available

    reason = simulator_available("icarus")
    if reason:
        pytest.skip(reason)
    design = tmp / "design-rounding-parallel"
    if not design.is_dir():
        design = _design(tmp, "rounding", "parallel")[0]
    _assert_value_mismatch(run_cocotb(design, _stimulus(), simulator="icarus", seed=3))


def _run_generated_testbench(design: Path) -> subprocess.CompletedProcess:
    """The self-checking Verilog bench written beside the design, on Icarus."""
    man = json.loads((design / "manifest.json").read_text())
    sources = [*man["hdl_files"], man["testbench"]["file"]]
    subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", *sources], cwd=design, check=True,
                   capture_output=True, timeout=300)
    return subprocess.run(["vvp", "-n", "tb.vvp"], cwd=design, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_generated_testbench_reports_corruption(variant, tmp):
    """The design's own test bench (the FuseSoC sim target) passes the clean copy and fails
    every corrupted one."""
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("Icarus Verilog (iverilog, vvp) is not on PATH")
    fold = VARIANTS[variant][3] if variant else "parallel"
    design = tmp / f"design-{variant or 'clean'}-{fold}"
    if not design.is_dir():
        design = _design(tmp, variant, fold)[0]
    proc = _run_generated_testbench(design)
    if variant is None:
        assert proc.returncode == 0, proc.stdout
        assert "PASS: " in proc.stdout
    else:
        assert proc.returncode == 1, proc.stdout
        assert "MISMATCH beat " in proc.stdout and "FAIL: " in proc.stdout
