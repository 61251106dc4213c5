"""Verilog generation: Pease ordering, determinism, manifest, lint, error cases (fast)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions, get_backend
from hadamhw.backends import verilog as vg
from hadamhw.backends import verilog_sections as vs
from hadamhw.design import generate as generate_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.golden import fwht_stage
from hadamhw.ir.random import random_ir
from hadamhw.ir.schema import IntegerRNN, Requant
from hadamhw.netlist.plan import requant_plan
from hadamhw.resources import templates_dir
from hadamhw.verify import tools


def _ir(seed: int = 0, n: int = 8, m: int | None = 4, **kw) -> IntegerRNN:
    return random_ir(np.random.default_rng(seed), n, m, **kw)


def _verilator_available() -> bool:
    try:
        tools.verilator_bin()
    except HadamhwError:
        return False
    return True


needs_verilator = pytest.mark.needs("verilator")  # skipped without it; failed when CI is set


# -- the constant-geometry stage -----------------------------------------------------------------
@pytest.mark.parametrize("n,m", [(2, 2), (8, 2), (8, 4), (8, 8), (16, 4), (64, 64), (128, 8),
                                 (128, 128)])
def test_pease_stages_equal_golden_fwht(n, m):
    rng = np.random.default_rng(n * 1000 + m)
    x = rng.integers(-2048, 2048, size=(5, n)).astype(np.int64)
    golden = x
    half = 1
    while half < m:
        golden = fwht_stage(golden, half)
        half *= 2
    pease = x
    k = m.bit_length() - 1
    for _ in range(k):
        pease = vs.pease_stage(pease, m)
    np.testing.assert_array_equal(pease, golden)


def test_pease_wiring_is_one_permutation():
    """Every input feeds one butterfly and every output is written once: a fixed shuffle."""
    for n, m in [(8, 4), (16, 16), (128, 4)]:
        bfs = vs.pease_butterflies(n, m)
        assert len(bfs) == n // 2
        ins = sorted(i for a, b, _, _ in bfs for i in (a, b))
        outs = sorted(o for _, _, s, d in bfs for o in (s, d))
        assert ins == list(range(n)) and outs == list(range(n))
        # blockwise: a butterfly never mixes two blocks
        assert all(a // m == b // m == s // m == d // m for a, b, s, d in bfs)


def test_golden_butterflies_match_fwht_stage():
    n, m = 16, 8
    x = np.arange(n, dtype=np.int64) * 7 - 50
    for j, bfs in enumerate(vs.golden_butterflies(n, m)):
        y = np.empty_like(x)
        for a, b, s, d in bfs:
            y[s], y[d] = x[a] + x[b], x[a] - x[b]
        np.testing.assert_array_equal(y, fwht_stage(x, 1 << j))
        x = y


# -- determinism and manifest ---------------------------------------------------------------------
@pytest.mark.parametrize("fold", ["parallel", "stage"])
def test_generation_is_deterministic(tmp_path, fold):
    ir = _ir(3, 16, 8, input_kind="token", input_size=7, output_bits=6)
    options = GenerateOptions(fold=fold, top="core")
    first = vg.render(ir, options)
    second = vg.render(IntegerRNN.from_json(ir.to_json()), options)
    assert first == second
    generate_design(ir, tmp_path / "a", options)
    generate_design(ir, tmp_path / "b", options)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(first)
    for name in names:
        text = (tmp_path / "a" / name).read_bytes()
        assert text == (tmp_path / "b" / name).read_bytes()
        assert str(tmp_path).encode() not in text
        assert b"/work/" not in text and b"/home/" not in text


def test_manifest_contents(tmp_path):
    ir = _ir(1, 16, 4, input_kind="int", input_size=3, input_bits=5, input_signed=True,
             output_size=5, output_bits=7)
    man = generate_design(ir, tmp_path, GenerateOptions())
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert man == on_disk
    text = (tmp_path / "manifest.json").read_text()
    assert text == json.dumps(on_disk, indent=2, sort_keys=True) + "\n"
    assert man["format"] == "hadamhw-design" and man["version"] == 1
    assert man["target"] == "verilog" and man["top"] == "hadamrnn"
    # the core and its arithmetic blocks (rotation, state update, readout), blocks first
    assert man["hdl_files"] == ["hadamrnn_rotate.v", "hadamrnn_update.v", "hadamrnn_readout.v",
                                "hadamrnn.v"]
    assert man["ir"] == "model.ir.json"
    assert IntegerRNN.load(tmp_path / "model.ir.json").equals(ir)
    assert man["fold"] == "parallel" and man["recurrent"] == "fwht"
    assert man["cycles_per_step"] == 1 and man["latency_cycles"] == 2
    assert man["input"] == {"kind": "int", "words": 3, "word_bits": 5, "signed": True}
    assert man["output"] == {"words": 5, "word_bits": 7}
    assert man["argmax_bits"] == 3
    ports = {p["name"]: (p["direction"], p["width"]) for p in man["ports"]}
    assert ports == {
        "clk": ("input", 1), "rst": ("input", 1), "s_axis_tvalid": ("input", 1),
        "s_axis_tready": ("output", 1), "s_axis_tdata": ("input", 15),
        "s_axis_tlast": ("input", 1), "m_axis_tvalid": ("output", 1),
        "m_axis_tready": ("input", 1), "m_axis_tdata": ("output", 35),
        "m_axis_tuser": ("output", 3), "m_axis_tlast": ("output", 1)}
    adds = man["adders_per_step"]
    assert adds["recurrent"] == 16 * 2
    assert adds["total"] == adds["recurrent"] + adds["input"] + adds["requant"] + adds["readout"]
    assert adds["input"] > 0 and adds["requant"] > 0 and adds["readout"] > 0
    assert man["widths"] == ir.to_dict()["widths"]
    assert man["state_bits"] == 16 * ir.widths.state
    assert man["weight_bits"] == {"input": ir.widths.input_weight,
                                  "output": ir.widths.output_weight}
    assert man["weight_storage_bits"] > 0
    assert (man["hidden_size"], man["block_size"], man["input_size"], man["output_size"]) == (
        16, 4, 3, 5)
    assert man["mode"] == ir.mode and man["readout"] == ir.readout
    readme = (tmp_path / "README.md").read_text()
    for port in ports:
        assert f"`{port}`" in readme
    assert "hadamrnn u_rnn" in readme


@pytest.mark.parametrize("m,cycles", [(2, 1), (4, 2), (8, 3), (128, 7)])
def test_stage_fold_cycles(m, cycles):
    ir = _ir(2, 128 if m == 128 else 8, m)
    man = json.loads(vg.render(ir, GenerateOptions(fold="stage"))["manifest.json"])
    assert man["cycles_per_step"] == cycles
    assert man["latency_cycles"] == cycles + 1
    assert man["hdl_files"] == ["hadamrnn.v"]
    assert man["adders_per_step"]["recurrent"] == ir.hidden_size * ir.k


def test_token_input_has_no_input_adders():
    ir = _ir(4, 8, 8, input_kind="token", input_size=5)
    man = json.loads(vg.render(ir)["manifest.json"])
    assert man["input"] == {"kind": "token", "words": 1, "word_bits": 3, "signed": False}
    assert man["adders_per_step"]["input"] == 0


def test_no_multiplication_operator():
    for fold in ("parallel", "stage"):
        files = vg.render(_ir(5, 16, 16, output_bits=8), GenerateOptions(fold=fold))
        # the design's files; the test bench beside them is not hardware
        for name in json.loads(files["manifest.json"])["hdl_files"]:
            text = files[name]
            code = "\n".join(line.split("//")[0] for line in text.splitlines())
            code = re.sub(r"\(\* keep \*\)", "", code)  # the attribute, not an operator
            assert "*" not in code, name


def _kept_nodes(text: str) -> list[tuple[str, str]]:
    return re.findall(r"\(\* keep \*\) wire \[\d+:0\] (\w+);\n  assign \1 = ([^;]+);", text)


@pytest.mark.parametrize("m,cmvm,lanes", [(4, "da4ml", None), (8, "csd", None),
                                          (16, "csd", 2), (8, "da4ml", 1)])
def test_sums_are_trees_of_kept_two_input_adders(m, cmvm, lanes):
    """Every adder node is a (* keep *) wire holding one two-input add or subtract (a
    shifted copy or a constant has none), and they add up to the manifest's count."""
    ir = _ir(6, 16, m, requant="lean", readout="last" if lanes else "every", output_bits=7)
    files = vg.render(ir, GenerateOptions(cmvm=cmvm, readout_lanes=lanes))
    # the core and its update/readout blocks (the single-cycle core's adders live there)
    hdl = json.loads(files["manifest.json"])["hdl_files"]
    text = "".join(files[f] for f in hdl if not f.endswith("_rotate.v"))
    nodes = _kept_nodes(text)
    assert nodes
    ops = [len(re.findall(r" [+-] ", expr)) for _, expr in nodes]
    assert set(ops) <= {0, 1}, nodes
    man = json.loads(files["manifest.json"])
    adds = man["adders_per_step"]
    assert sum(ops) == adds["input"] + adds["requant"] + adds["readout"]
    assert man["cmvm"] == cmvm and man["readout_lanes"] == lanes


@pytest.mark.parametrize("m", [4, 8, 16, 32])
def test_lean_requant_costs_one_adder_per_digit(m):
    """M_a a power of two, M_r a shift (even log2 m) or D CSD digits: D adders per element,
    the drive's rounding constant folded into the input projection's bias."""
    from hadamhw.ir.csd import nonzero_digits

    ir = _ir(3, 32, m, requant="lean", rotate_digits=3)
    man = json.loads(vg.render(ir)["manifest.json"])
    digits = nonzero_digits(ir.requant.rotate_mult)
    assert digits == (1 if ir.k % 2 == 0 else 3)
    assert man["adders_per_step"]["requant"] == 32 * digits
    assert man["requant"]["rotate_digits"] == digits
    rq, plan = ir.requant, man["requant"]
    assert plan["rotate_mult"] << plan["common_shift"] == rq.rotate_mult
    assert plan["input_mult"] << plan["common_shift"] == rq.input_mult
    assert plan["shift"] + plan["common_shift"] == rq.shift
    # the random ("precise") constants of the same IR cost several adders per element
    precise = json.loads(vg.render(_ir(3, 32, m, shift=15))["manifest.json"])
    assert precise["adders_per_step"]["requant"] >= 1.5 * man["adders_per_step"]["requant"]


@pytest.mark.parametrize("size,bits", [(5, 3), (8, 3), (1, 1)])
def test_token_rom_holds_the_requantized_drive(size, bits):
    """Entry t is (U[:, t] + b) M_a' + round; ids without a column (size <= id < 2^bits)
    get the bias-only drive, b M_a' + round (no input, as if U's column were zero)."""
    ir = _ir(4, 8, 4, input_kind="token", input_size=size, requant="random")
    assert ir.input.bits == max(1, (size - 1).bit_length())
    text = vg.render(ir)["hadamrnn_update.v"]  # the token ROM lives in the update block
    plan = requant_plan(ir)
    assert plan.common > 0 or plan.input == ir.requant.input_mult
    width = int(re.search(r"reg  \[(\d+):0\] d_rom;", text).group(1)) + 1
    wd = width // 8

    def unpack(literal: str) -> list[int]:
        value = int(literal.split("'h")[1], 16)
        out = []
        for i in range(8):
            v = (value >> (i * wd)) & ((1 << wd) - 1)
            out.append(v - (1 << wd) if v >> (wd - 1) else v)
        return out

    entries = dict(re.findall(r"\n      (\d+'h[0-9a-f]+): d_rom = (\d+'h[0-9a-f]+);", text))
    assert len(entries) == size
    half = (1 << (ir.requant.shift - 1)) >> plan.common
    for tok, literal in entries.items():
        t = int(tok.split("'h")[1], 16)
        want = (ir.input_weight[:, t] + ir.input_bias) * plan.input + half
        assert unpack(literal) == [int(v) for v in want]
    default = re.search(r"default: d_rom = (\d+'h[0-9a-f]+);", text)
    if size == 1 << bits:
        assert default is None
    else:
        assert unpack(default.group(1)) == [int(v) for v in ir.input_bias * plan.input + half]
    assert json.loads(vg.render(ir)["manifest.json"])["adders_per_step"]["input"] == 0


# -- lint ---------------------------------------------------------------------------------------
LINT_CASES = [
    # n, m, fold, kind, mode, readout, state, output_bits, extra random_ir arguments
    (8, 2, "stage", "int", "linear", "every", 8, None, {}),
    (8, 8, "stage", "token", "vanilla", "last", 12, 6, {"input_size": 8}),
    (16, 4, "parallel", "int", "vanilla", "every", 16, None, {"input_signed": False}),
    (16, 16, "parallel", "token", "linear", "last", 2, 4, {"input_size": 3}),
    (32, 8, "stage", "int", "linear", "last", 12, None, {"output_size": 1}),
    (128, 128, "parallel", "token", "linear", "every", 12, 8, {"input_size": 10}),
    (128, 4, "stage", "int", "vanilla", "every", 16, None, {"input_size": 1}),
    # the lean datapath: requant constants as the lowering chooses, CSD or da4ml products,
    # serial readouts with one lane, several lanes and one lane per output
    (16, 8, "parallel", "int", "linear", "last", 12, None,
     {"requant": "lean", "cmvm": "csd", "lanes": 1}),
    (32, 32, "stage", "token", "vanilla", "last", 10, 6,
     {"requant": "lean", "lanes": 2, "input_size": 5}),
    (16, 16, "parallel", "int", "vanilla", "last", 8, None,
     {"requant": "lean", "lanes": 5, "input_signed": False, "rotate_digits": 2}),
    (64, 2, "stage", "int", "linear", "every", 12, 9, {"requant": "lean", "cmvm": "csd"}),
    (8, 8, "parallel", "int", "linear", "last", 12, None,
     {"requant": "lean", "lanes": 1, "output_size": 1}),
]


@needs_verilator
def _lint_id(c: tuple) -> str:
    lanes = f"-lanes{c[8]['lanes']}" if "lanes" in c[8] else ""
    return f"n{c[0]}m{c[1]}-{c[2]}-{c[3]}-{c[5]}{lanes}"


@pytest.mark.parametrize("case", LINT_CASES, ids=_lint_id)
def test_lint_clean(tmp_path, case):
    n, m, fold, kind, mode, readout, state, obits, extra = case
    extra = dict(extra)
    cmvm, lanes = extra.pop("cmvm", "da4ml"), extra.pop("lanes", None)
    ir = _ir(n + m, n, m, input_kind=kind, mode=mode, readout=readout, state_bits=state,
             output_bits=obits, **extra)
    generate_design(ir, tmp_path, GenerateOptions(fold=fold, cmvm=cmvm, readout_lanes=lanes))
    assert tools.lint(tmp_path) == []


def _edge_ir() -> IntegerRNN:
    """Zero columns of U and V, a zero rotation constant, a one-word output."""
    base = _ir(9, 8, 4, input_size=3, output_size=1)
    U = base.input_weight.copy()
    U[:, 1] = 0
    V = base.output_weight.copy()
    V[:, 2] = 0
    parts = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)
             if f.name not in ("widths",)}
    parts.update(input_weight=U, output_weight=V,
                 requant=Requant(rotate_mult=0, input_mult=base.requant.input_mult,
                                 shift=base.requant.shift))
    return IntegerRNN.build(state_bits=base.widths.state, **parts)


@needs_verilator
@pytest.mark.parametrize("fold,cmvm", [("parallel", "da4ml"), ("stage", "csd")])
def test_lint_clean_edge_cases(tmp_path, fold, cmvm):
    generate_design(_edge_ir(), tmp_path, GenerateOptions(fold=fold, cmvm=cmvm))
    assert tools.lint(tmp_path) == []


@needs_verilator
def test_lint_reports_problems(tmp_path):
    generate_design(_ir(0), tmp_path, GenerateOptions())
    path = tmp_path / "hadamrnn.v"
    text = path.read_text().replace("wire in_readout = 1'b1;", "wire in_readout = 2'b01;")
    path.write_text(text)
    messages = tools.lint(tmp_path)
    assert messages and any("WIDTH" in m for m in messages)


@pytest.mark.needs("icarus")
@pytest.mark.parametrize("fold", ["parallel", "stage"])
def test_icarus_accepts_verilog_2005(tmp_path, fold):
    ir = _ir(8, 16, 4, input_kind="token", input_size=6, output_bits=5)
    man = generate_design(ir, tmp_path, GenerateOptions(fold=fold))
    files = [str(tmp_path / f) for f in man["hdl_files"]]
    proc = subprocess.run(["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.out"),
                           *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""


# -- errors -------------------------------------------------------------------------------------
def test_dense_with_stage_fold_is_rejected(tmp_path):
    with pytest.raises(HadamhwError, match="dense.*parallel"):
        generate_design(_ir(), tmp_path, GenerateOptions(fold="stage", recurrent="dense"))
    assert not (tmp_path / "manifest.json").exists()


@pytest.mark.parametrize("options,match", [
    (GenerateOptions(fold="half"), "--fold"),
    (GenerateOptions(recurrent="sparse"), "--recurrent"),
    (GenerateOptions(top="2fast"), "--top"),
    (GenerateOptions(cmvm="mcm"), "--cmvm"),
    (GenerateOptions(readout_lanes=0), "--readout-lanes"),
    (GenerateOptions(readout_lanes=2), "readout 'last'"),
])
def test_bad_options(options, match):
    with pytest.raises(HadamhwError, match=match):
        vg.render(_ir(), options)


def test_more_readout_lanes_than_outputs_is_rejected():
    with pytest.raises(HadamhwError, match="more than the 5 outputs"):
        vg.render(_ir(readout="last"), GenerateOptions(readout_lanes=6))


def test_corrupted_template_names_the_file(tmp_path):
    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir() / "verilog", tdir)
    (tdir / "top.v.j2").write_text((tdir / "top.v.j2").read_text() + "\n{% for x in %}\n")
    with pytest.raises(HadamhwError, match=r"top\.v\.j2"):
        vg.render(_ir(), GenerateOptions(), template_dir=tdir)
    (tdir / "top.v.j2").unlink()
    with pytest.raises(HadamhwError, match=r"top\.v\.j2 not found"):
        vg.render(_ir(), GenerateOptions(), template_dir=tdir)
    with pytest.raises(HadamhwError, match="template folder not found"):
        vg.render(_ir(), GenerateOptions(), template_dir=tmp_path / "nowhere")


def test_template_with_unknown_variable_fails(tmp_path):
    tdir = tmp_path / "templates"
    shutil.copytree(templates_dir() / "verilog", tdir)
    path = tdir / "rotate_fwht.v.j2"
    path.write_text(path.read_text().replace("{{ top }}_rotate (", "{{ top_name }}_rotate ("))
    with pytest.raises(HadamhwError, match="rotate_fwht.v.j2.*top_name"):
        vg.render(_ir(), GenerateOptions(), template_dir=tdir)


def test_output_path_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(HadamhwError, match="not a folder"):
        generate_design(_ir(), target, GenerateOptions())


def test_lint_of_a_folder_without_design(tmp_path):
    with pytest.raises(HadamhwError, match="manifest.json"):
        tools.lint(tmp_path)


def test_backend_registry_and_cli(tmp_path, capsys):
    assert get_backend("verilog") is vg
    from hadamhw.cli import main

    ir_path = tmp_path / "model.ir.json"
    _ir(11, 8, 8).save(ir_path)
    out = tmp_path / "rtl"
    assert main(["generate", str(ir_path), "--target", "verilog", "-o", str(out),
                 "--fold", "stage", "--top", "rnn8"]) == 0
    assert (out / "rnn8.v").is_file() and (out / "manifest.json").is_file()
    assert "cycles per step: 3" in capsys.readouterr().out
    assert main(["generate", str(ir_path), "-o", str(tmp_path / "x"), "--fold", "stage",
                 "--recurrent", "dense"]) == 2
    assert "dense" in capsys.readouterr().err


def test_verilator_env():
    env = tools.verilator_env({"PATH": "/usr/bin"})
    assert env["MAKEFLAGS"] == "CFG_CXXFLAGS_PCH_I=-include"
    parts = env["PATH"].split(":")
    assert parts[-1] == "/usr/bin"
    if shutil.which("ccache"):
        assert env["OBJCACHE"] == "ccache"
    if _verilator_available():
        assert Path(tools.verilator_bin()).is_file()
