"""The simulation checks can fail: designs rendered from deliberately corrupted templates.

Each variant copies templates/verilog and changes one arithmetic or control decision (a
butterfly sign, the rounding constant folded into the input drive, the rounding shift, a bit
width, one adder of the requantization or of da4ml's graphs for U and V, the serial
readout's accumulator reset and per-cycle constant, a token's drive) so that the design
still builds and only simulation can tell. The IRs (no saturation; full-size blocks, or
log2 m odd with a serial readout and token input) and the stimulus (sequences of 6 to 14
steps) make every variant change outputs; the same copy without a corruption must pass.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.resources import templates_dir
from tests.needs import need

pytestmark = pytest.mark.sim

ASSIGN = "  assign {{ a.lhs }} = {{ a.expr }};"
NODE = "  assign {{ d.name }} = {{ d.expr }};"  # a kept adder node (parts/macros.v.j2)
DRIVE = "  wire [{{ d.msb }}:0] {{ d.name }} = {{ d.expr }};"  # d_i (parts/input.v.j2)
QUOTIENT = "= {{ el.q.expr }};"  # q_i = v_i >>> S' (parts/requant.v.j2)


def _flip_node(name: str) -> str:
    """Adder node `name` subtracts where it adds, or adds where it subtracts."""
    flipped = ("(d.expr.replace(' - ', ' + ', 1) if ' - ' in d.expr "
               "else d.expr.replace(' + ', ' - ', 1))")
    return f"  assign {{{{ d.name }}}} = {{{{ {flipped} if d.name == '{name}' else d.expr }}}};"


# variant -> (template file, text to replace, replacement, fold, IR)
VARIANTS = {
    # Second butterfly of every stage adds instead of subtracting (parallel rotate module).
    "butterfly-sign": (
        "rotate_fwht.v.j2", ASSIGN,
        "  assign {{ a.lhs }} = {{ a.expr.replace(' - ', ' + ', 1) if loop.index == 2 "
        "else a.expr }};", "parallel", "every"),
    # The same in the stage-serial bank of butterflies.
    "stage-butterfly-sign": (
        "parts/rotation.v.j2", "{% for a in bank.butterflies %}\n" + ASSIGN,
        "{% for a in bank.butterflies %}\n  assign {{ a.lhs }} = "
        "{{ a.expr.replace(' - ', ' + ', 1) if loop.index == 2 else a.expr }};", "stage",
        "every"),
    # Round half up becomes round down: the 2^(S-1) constant, folded into the drive's bias,
    # is taken out again.
    "rounding": (
        "parts/input.v.j2", DRIVE,
        "  wire [{{ d.msb }}:0] {{ d.name }} = {{ d.expr }} - "
        "{{ d.msb + 1 }}'d{{ plan.round_const }};", "parallel", "every"),
    # q = v >>> (S' - 1) instead of v >>> S'.
    "shift": (
        "parts/requant.v.j2", QUOTIENT,
        "= {% set p = el.q.expr[:-1].split('[') %}{% if p | length == 2 %}"
        "{% set b = p[1].split(':') %}{{ p[0] }}[{{ b[0] | int - 1 }}:{{ b[1] | int - 1 }}]"
        "{% else %}{{ el.q.expr }}{% endif %};", "parallel", "every"),
    # The drive d enters the requantization one bit narrower than its interval needs
    # (sign-extended from bit W-2): values outside W-1 bits wrap.
    "width": (
        "parts/input.v.j2", DRIVE,
        "  wire [{{ d.msb }}:0] {{ d.name }} = {{ '{{' }}2{{ '{' }}{{ d.expr }}"
        "[{{ d.msb - 1 }}]{{ '}}' }}, {{ d.expr }}[{{ d.msb - 2 }}:0]{{ '}' }};",
        "parallel", "every"),
    # One adder of the requantization, of the input projection (da4ml's graph) and of the
    # readout (da4ml's graph) subtracts instead of adding.
    "requant-node": ("parts/macros.v.j2", NODE, _flip_node("rq_n0"), "parallel", "every"),
    "input-node": ("parts/macros.v.j2", NODE, _flip_node("in_n0"), "parallel", "every"),
    "readout-node": ("parts/macros.v.j2", NODE, _flip_node("ro_n0"), "stage", "every"),
    # Serial readout: the Horner accumulator is not cleared at an output's first plane.
    "serial-first": (
        "parts/readout.v.j2", "  wire ro_first = ", "  wire ro_first = 1'b0 & ", "parallel",
        "last"),
    # Serial readout: every cycle adds the first cycle's constant (the -1 digit count and c).
    "serial-constant": (
        "parts/readout.v.j2", "{{ lane.prefix }}_k = {{ t.k }};",
        "{{ lane.prefix }}_k = {{ lane.table[0].k }};", "stage", "last"),
    # Token input: token 0 reads the bias-only drive (its column of U is lost).
    "token-drive": (
        "parts/input.v.j2", "{{ e.token }}: d_rom = {{ e.value }};",
        "{{ e.token }}: d_rom = {{ input.rom.default if loop.first else e.value }};",
        "parallel", "last"),
}
LANES = {"every": None, "last": 2}


def _ir(kind: str = "every"):
    if kind == "every":
        # Full Hadamard blocks (k = 4 stages), a state far from saturation, readout every step,
        # constants with 16 significant bits (so the rounding constant is in the drive).
        return random_ir(np.random.default_rng(7), 16, 16, state_bits=12, input_size=3,
                         output_size=4, saturating=False, shift=14)
    # Readout 'last' read out serially, token input (a drive ROM), the lean constants with
    # log2 m odd (M_r with 5 CSD digits).
    return random_ir(np.random.default_rng(8), 16, 8, state_bits=12, input_kind="token",
                     input_size=10, output_size=5, readout="last", requant="lean")


def _templates(tmp: Path, variant: str | None, fold: str, kind: str) -> Path:
    copy = tmp / f"templates-{variant or 'clean'}-{fold}-{kind}"
    if copy.is_dir():
        # Another test of this session already made (and corrupted) this copy.
        return copy
    shutil.copytree(templates_dir() / "verilog", copy)
    if variant is not None:
        name, old, new, _, _ = VARIANTS[variant]
        path = copy / name
        text = path.read_text()
        assert text.count(old) == 1, f"{name} no longer holds the text {variant} corrupts"
        path.write_text(text.replace(old, new))
    return copy


def _design(tmp: Path, variant: str | None, fold: str,
            kind: str = "every") -> tuple[Path, dict, dict]:
    """(design folder, corrupted render, clean render)."""
    from hadamhw.backends.verilog import render

    ir = _ir(kind)
    options = GenerateOptions(fold=fold, readout_lanes=LANES[kind])
    files = render(ir, options, template_dir=_templates(tmp, variant, fold, kind))
    clean = render(ir, options)
    out = tmp / f"design-{variant or 'clean'}-{fold}-{kind}"
    out.mkdir(exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    return out, files, clean


def _stimulus(kind: str = "every"):
    return make_stimulus(_ir(kind), sequences=12, seed=11, min_steps=6, max_steps=14)


def test_stimulus_drives_the_drive_past_one_bit_less():
    """Preconditions: some drive d = (U x + b) M_a' + round needs all the bits of its wire
    (the 'width' variant), and the drive holds a rounding constant ('rounding')."""
    from hadamhw.backends.verilog import render
    from hadamhw.netlist.plan import requant_plan

    ir = _ir()
    plan = requant_plan(ir)
    assert plan.round_const > 0
    files = render(ir, GenerateOptions())
    text = files["hadamrnn.v"] + files.get("hadamrnn_update.v", "")  # d_i: the update block
    widths = {int(i): int(msb) + 1 for msb, i in re.findall(r"wire \[(\d+):0\] d_(\d+) =", text)}
    x = np.concatenate(_stimulus().sequences)
    d = (x @ ir.input_weight.T + ir.input_bias) * plan.input + plan.round_const
    half = np.array([1 << (widths[i] - 2) for i in range(ir.hidden_size)])
    assert np.any((d < -half) | (d >= half))
    # the 'shift' variant moves a plain slice v_i[hi:S'] down by one bit
    assert re.search(rf"wire \[\d+:0\] q_0 = v_0\[\d+:{plan.shift}\];", text)


def test_variants_target_the_nodes_they_name():
    """The node variants need nodes of those names that hold a + or - to flip."""
    from hadamhw.backends.verilog import render

    for kind, fold in (("every", "parallel"), ("every", "stage")):
        files = render(_ir(kind), GenerateOptions(fold=fold))
        # the single-cycle core's adder nodes live in its update and readout blocks
        text = "".join(files.get(f"hadamrnn{b}.v", "") for b in ("", "_update", "_readout"))
        for name in ("rq_n0", "in_n0", "ro_n0"):
            assert re.search(rf"assign {name} = [^;]* [+-] ", text), name


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
    need("verilator")  # a skip on a developer's machine, a failure when CI is set


@pytest.mark.parametrize("fold,kind", [("parallel", "every"), ("stage", "every"),
                                       ("parallel", "last"), ("stage", "last")])
def test_clean_copy_renders_identically_and_passes(fold, kind, tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb
    from hadamhw.verify.verilator_batch import run_batch

    design, files, clean = _design(tmp, None, fold, kind)
    assert files == clean
    stimulus = _stimulus(kind)
    result = run_cocotb(design, stimulus, simulator="verilator", seed=1)
    assert result.ok, result.mismatches[0].describe() if result.mismatches else "no outputs"
    batch = run_batch(design, stimulus, seed=1)
    assert batch.ok, batch.mismatches[0].describe() if batch.mismatches else "no outputs"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cocotb_reports_corruption(variant, tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb

    fold, kind = VARIANTS[variant][3], VARIANTS[variant][4]
    design, files, clean = _design(tmp, variant, fold, kind)
    changed = [name for name in clean if files[name] != clean[name]]
    assert changed, f"{variant}: the corruption changed nothing"
    result = run_cocotb(design, _stimulus(kind), simulator="verilator", seed=2)
    _assert_value_mismatch(result)


@pytest.mark.parametrize("variant", ["butterfly-sign", "width", "input-node", "serial-first"])
def test_batch_reports_corruption(variant, tmp):
    from hadamhw.verify.verilator_batch import run_batch

    fold, kind = VARIANTS[variant][3], VARIANTS[variant][4]
    design = tmp / f"design-{variant}-{fold}-{kind}"
    if not design.is_dir():
        design = _design(tmp, variant, fold, kind)[0]
    _assert_value_mismatch(run_batch(design, _stimulus(kind), seed=2))


@pytest.mark.needs("icarus")
def test_icarus_reports_corruption(tmp):
    from hadamhw.verify.cocotb_sim import run_cocotb
    design = tmp / "design-rounding-parallel-every"
    if not design.is_dir():
        design = _design(tmp, "rounding", "parallel")[0]
    _assert_value_mismatch(run_cocotb(design, _stimulus(), simulator="icarus", seed=3))


def _run_generated_testbench(design: Path) -> subprocess.CompletedProcess:
    """The self-checking Verilog bench written beside the design, on Icarus."""
    man = json.loads((design / "manifest.json").read_text())
    sources = [*man["hdl_files"], man["verilog_testbench"]["file"]]
    subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", *sources], cwd=design, check=True,
                   capture_output=True, timeout=300)
    return subprocess.run(["vvp", "-n", "tb.vvp"], cwd=design, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.needs("icarus")
@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_generated_testbench_reports_corruption(variant, tmp):
    """The design's own test bench (the FuseSoC sim target) passes the clean copy and fails
    every corrupted one."""
    fold, kind = (VARIANTS[variant][3], VARIANTS[variant][4]) if variant else ("parallel", "every")
    design = tmp / f"design-{variant or 'clean'}-{fold}-{kind}"
    if not design.is_dir():
        design = _design(tmp, variant, fold, kind)[0]
    proc = _run_generated_testbench(design)
    if variant is None:
        assert proc.returncode == 0, proc.stdout
        assert "PASS: " in proc.stdout
    else:
        assert proc.returncode == 1, proc.stdout
        assert "MISMATCH beat " in proc.stdout and "FAIL: " in proc.stdout
