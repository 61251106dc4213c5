"""The dense baseline core (`--recurrent dense`): bit-exact, lint-clean, no multipliers.

Three checks of different reach: the rotate module alone against numpy's W·h on every row's
worst-case inputs (Icarus, seconds); whole generated designs against the golden model with
the Verilator batch harness (sim); Yosys on the rotate module (synth): zero $mul cells, one
adder tree per row kept apart, and more logic than the butterflies.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.backends.verilog_dense import dense_matrix, dense_rotate_context, sylvester
from hadamhw.design import generate as generate_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import fwht_stage
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus

FACTORS = {"n": (8, 16, 32), "block": ("4", "n"), "mode": ("linear", "vanilla")}
# Every pair of option values meets at least once (test_table_is_pairwise).
PAIRWISE = [
    (8, "4", "linear"),
    (8, "n", "vanilla"),
    (16, "4", "vanilla"),
    (16, "n", "linear"),
    (32, "4", "linear"),
    (32, "n", "vanilla"),
]


def _ir(values: tuple, seed: int):
    n, block, mode = values
    m = n if block == "n" else int(block)
    # Every other configuration saturates, so the state reaches its extremes.
    return random_ir(np.random.default_rng(seed), n, m, mode=mode, state_bits=12,
                     weight_bits=4, saturating=seed % 2 == 1,
                     readout="every" if seed % 3 else "last")


def _ids(values: tuple) -> str:
    return f"n{values[0]}-m{values[1]}-{values[2]}"


def test_table_is_pairwise():
    for a, b in itertools.combinations(range(len(FACTORS)), 2):
        names = list(FACTORS)
        need = set(itertools.product(FACTORS[names[a]], FACTORS[names[b]]))
        assert need <= {(v[a], v[b]) for v in PAIRWISE}


def test_dense_matrix_is_the_transform():
    ir = _ir((16, "4", "linear"), 3)
    w = dense_matrix(ir)
    h = np.random.default_rng(0).integers(-2048, 2048, size=(5, 16))
    f = h
    for half in (1, 2):
        f = fwht_stage(f, half)
    assert np.array_equal(h @ w.T, ir.signs * f)
    assert (np.abs(w).sum(axis=1) == 4).all()
    assert np.array_equal(sylvester(4) @ sylvester(4), 4 * np.eye(4, dtype=np.int64))


@pytest.mark.parametrize("values", PAIRWISE, ids=_ids)
def test_one_adder_tree_per_row(values):
    ir = _ir(values, 0)
    n, m = ir.hidden_size, ir.block_size
    ctx = dense_rotate_context(ir, "core")
    assert ctx["adders"] == n * (m - 1)
    assert [inst["row"] for inst in ctx["instances"]] == list(range(n))
    # rows with equal coefficients share a module; at most the 2m of (±1) x H_m rows exist
    assert len(ctx["row_modules"]) <= min(n, 2 * m)
    for mod in ctx["row_modules"]:
        assert len(mod["nodes"]) == m - 1 and mod["nodes"][-1]["root"]
        assert sorted(mod["positive"] + mod["negative"]) == list(range(m))
        assert int(mod["nodes"][-1]["msb"]) + 1 == ir.widths.rotated


def test_dense_generation_is_deterministic(tmp_path):
    ir = _ir((8, "n", "linear"), 0)
    a = vg.render(ir, GenerateOptions(recurrent="dense"))
    b = vg.render(ir, GenerateOptions(recurrent="dense"))
    assert a == b
    text = a["hadamrnn_rotate.v"]
    assert "module hadamrnn_rotate (" in text and "keep_hierarchy" in text
    code = re.sub(r"\(\*.*?\*\)|/\*.*?\*/", "", re.sub(r"//.*", "", text))
    assert "*" not in code  # no multiplication operator anywhere
    with pytest.raises(HadamhwError, match="--recurrent dense supports --fold parallel only"):
        vg.render(ir, GenerateOptions(recurrent="dense", fold="stage"))


# -- the rotate module alone, on worst-case inputs -----------------------------------------

def _pack(values: np.ndarray, bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) % (1 << bits)) << (i * bits)
    return word


def _unpack(word: int, count: int, bits: int) -> list[int]:
    out = []
    for i in range(count):
        v = (word >> (i * bits)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


def _worst_case_states(ir, rng: np.random.Generator) -> np.ndarray:
    """Per row, the states that drive r_i to its largest and smallest value; plus extremes
    and random states."""
    lo, hi = ir.state_range
    w = dense_matrix(ir)
    rows = [np.where(w[i] < 0, lo, hi) for i in range(ir.hidden_size)]
    rows += [np.where(w[i] > 0, lo, hi) for i in range(ir.hidden_size)]
    n = ir.hidden_size
    rows += [np.full(n, lo), np.full(n, hi), np.zeros(n, dtype=np.int64)]
    rows += list(rng.integers(lo, hi + 1, size=(32, n)))
    return np.asarray(rows, dtype=np.int64)


@pytest.mark.sim
@pytest.mark.needs("icarus")
@pytest.mark.parametrize("values", PAIRWISE, ids=_ids)
def test_rotate_module_matches_the_matrix(values, tmp_path):
    ir = _ir(values, 1)
    n, bh, br = ir.hidden_size, ir.widths.state, ir.widths.rotated
    files = vg.render(ir, GenerateOptions(recurrent="dense", top="core"))
    (tmp_path / "core_rotate.v").write_text(files["core_rotate.v"])
    states = _worst_case_states(ir, np.random.default_rng(7))
    (tmp_path / "h.hex").write_text("".join(f"{_pack(h, bh):x}\n" for h in states))
    (tmp_path / "tb.v").write_text(f"""\
module tb;
  reg  [{n * bh - 1}:0] mem [0:{len(states) - 1}];
  reg  [{n * bh - 1}:0] h;
  wire [{n * br - 1}:0] r;
  integer i;
  core_rotate dut (.h(h), .r(r));
  initial begin
    $readmemh("h.hex", mem);
    for (i = 0; i < {len(states)}; i = i + 1) begin
      h = mem[i];
      #1 $display("%h", r);
    end
    $finish;
  end
endmodule
""")
    subprocess.run(["iverilog", "-g2005", "-o", "tb.vvp", "tb.v", "core_rotate.v"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=300)
    run = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in run.stdout.splitlines() if line and "$finish" not in line
             and not line.startswith("VCD")]
    got = np.array([_unpack(int(line, 16), n, br) for line in lines], dtype=np.int64)
    want = states @ dense_matrix(ir).T
    assert got.shape == want.shape
    assert np.array_equal(got, want), np.argwhere(got != want)[:5]
    # the worst cases reach both ends of the rotated range, within m of m·2^(Bh-1)
    m, m_half = ir.block_size, ir.block_size * (1 << (bh - 1))
    assert want.max() >= m_half - m and want.min() <= -m_half + m


# -- whole designs against the golden model ------------------------------------------------

@pytest.fixture(scope="module")
def batch_build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dense-batch")


@pytest.mark.sim
@pytest.mark.needs("verilator")
@pytest.mark.parametrize("values", PAIRWISE, ids=_ids)
def test_dense_design_is_bit_exact(values, batch_build_dir, tmp_path):
    from hadamhw.verify.tools import lint
    from hadamhw.verify.verilator_batch import run_batch

    seed = PAIRWISE.index(values)
    ir = _ir(values, seed)
    man = generate_design(ir, tmp_path / "rtl", GenerateOptions(recurrent="dense"))
    assert man["recurrent"] == "dense"
    assert man["adders_per_step"]["recurrent"] == ir.hidden_size * (ir.block_size - 1)
    assert lint(tmp_path / "rtl") == []
    stim = make_stimulus(ir, sequences=24, seed=seed, max_steps=12, extreme=0.3)
    result = run_batch(tmp_path / "rtl", stim, build_dir=batch_build_dir, seed=seed)
    assert result.mismatches == [], result.mismatches[0].describe()
    assert result.outputs_checked == sum(o.size + len(o) for o in stim.outputs)


# -- synthesis -----------------------------------------------------------------------------

@pytest.mark.synth
def test_dense_core_synthesizes_without_multipliers(tmp_path):
    from hadamhw.report.synth import HdlSources, synthesize

    ir = _ir((16, "n", "linear"), 0)
    luts = {}
    for rec in ("fwht", "dense"):
        files = vg.render(ir, GenerateOptions(recurrent=rec))
        folder = tmp_path / rec
        folder.mkdir()
        (folder / "hadamrnn_rotate.v").write_text(files["hadamrnn_rotate.v"])
        design = HdlSources(folder, {}, [folder / "hadamrnn_rotate.v"], "hadamrnn_rotate")
        res = synthesize(design, "ice40", folder / "build", progress=False)
        assert res.total.mul == 0 and res.total.dsp == 0 and res.total.ffs == 0
        luts[rec] = res.total.luts
        if rec == "dense":
            patterns = [m for m in res.modules if m.name.startswith("hadamrnn_rotate_row")]
            assert sum(m.instances for m in patterns) == 16  # one tree per row, kept apart
            assert all(m.own.carry > 0 for m in patterns)  # carry-chain adders, not LUT FAs
    # 240 adders against 64 (n·(m-1) vs n·log2 m); measured about 2.6x on ice40
    assert luts["dense"] > 2 * luts["fwht"]
