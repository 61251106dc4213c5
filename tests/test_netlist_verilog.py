"""The netlist's Verilog printer: lint-clean, and the printed module simulated by Icarus
equals the evaluator on random vectors, every integer of every cycle."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hadamhw.netlist import passes
from hadamhw.netlist import single_cycle as sc
from hadamhw.netlist.evaluate import Simulator
from hadamhw.netlist.nodes import (
    Add,
    Clamp,
    Const,
    Greater,
    Input,
    Mux,
    Neg,
    Netlist,
    Operand,
    Output,
    Reg,
    Relu,
    Rom,
    RoundShift,
)
from hadamhw.netlist.verilog import lit, print_module
from tests.test_netlist import PAIRWISE, make_ir

CYCLES = 60
LANES = 1  # the test bench runs one lane; the evaluator runs the same vectors


def _netlists():
    """Three small IRs: int inputs with output requant and readout last (csd), tokens
    (da4ml), and a pipelined readout."""
    a = make_ir(PAIRWISE[1], 1)
    b = make_ir(PAIRWISE[4], 4)
    c = make_ir(PAIRWISE[3], 3)
    return [("int_csd", sc.build(a, "csd")), ("token_da4ml", sc.build(b, "da4ml")),
            ("pipelined", passes.pipeline_readout(sc.build(c, "da4ml"), 2))]


def _zoo() -> Netlist:
    """Every node kind and printing path the builders do not reach: clamps to bounds that
    are no powers of two, negations, a negated shift, signed against unsigned
    comparisons, incomplete and complete ROMs, a shift past every bit, an enable-less
    register."""
    nl = Netlist()
    a = nl.add(Input(name="a", lo=-37, hi=90))
    b = nl.add(Input(name="b", lo=0, hi=13))
    c = nl.add(Input(name="c", lo=0, hi=3))
    k = nl.add(Const(value=-5))
    nodes = [
        nl.add(Clamp(a=a, low=-20, high=33)),
        nl.add(Clamp(a=b, low=2, high=9)),
        nl.add(Neg(a=a)),
        nl.add(Add(a=Operand(b, 3, -1))),
        nl.add(Add(a=Operand(a, 2), b=Operand(b, 0, -1))),
        nl.add(Add(a=Operand(k), b=Operand(b, 4, -1))),
        nl.add(Add(a=Operand(a, 0, -1), b=Operand(b, 1, -1))),
        nl.add(Greater(a=a, b=b)),
        nl.add(Greater(a=b, b=k)),
        nl.add(Rom(addr=b, table=(7, -3, 12), default=-8)),
        nl.add(Rom(addr=c, table=(1, 2, 3, 0))),
        nl.add(RoundShift(a=b, shift=6)),
        nl.add(RoundShift(a=a, shift=9)),
        nl.add(Relu(a=b)),
        nl.add(Relu(a=a)),
    ]
    r = nl.add(Reg(lo=-37, hi=90, init=-1))
    nl.connect(r, a)
    nodes.append(nl.add(Mux(sel=nodes[7], if1=r, if0=k)))
    for j, nd in enumerate(nodes):
        nl.add(Output(a=nd, name=f"o{j}"))
    return nl


CASES = _netlists() + [("zoo", _zoo())]


def _vectors(nl: Netlist, rng: np.random.Generator) -> list[dict[str, int]]:
    ports = [nd for nd in nl.nodes if isinstance(nd, Input)]
    return [{nd.name: int(rng.integers(nd.lo, nd.hi + 1)) for nd in ports}
            for _ in range(CYCLES)]


def _expected(nl: Netlist, vectors: list[dict[str, int]]) -> list[dict[str, int]]:
    sim = Simulator(nl, LANES)
    return [{k: int(v[0]) for k, v in sim.step(vec).items()} for vec in vectors]


def _testbench(nl: Netlist, module: str, vectors: list[dict[str, int]]) -> str:
    """Applies one vector per cycle after a reset cycle; prints the outputs in hex before
    each clock edge."""
    ins = [nd for nd in nl.nodes if isinstance(nd, Input)]
    outs = [nd for nd in nl.nodes if isinstance(nd, Output)]
    lines = ["`timescale 1ns/1ps", "module tb;", "  reg clk = 1'b0;", "  reg rst = 1'b1;"]
    lines += [f"  reg [{nd.width - 1}:0] {nd.name};" for nd in ins]
    lines += [f"  wire [{nd.width - 1}:0] {nd.name};" for nd in outs]
    conns = ["    .clk(clk)", "    .rst(rst)"] + [f"    .{nd.name}({nd.name})"
                                                 for nd in ins + outs]
    lines += [f"  {module} dut (", ",\n".join(conns), "  );", "  initial begin"]
    lines += [f"    {nd.name} = {lit(0, nd.width)};" for nd in ins]
    lines += ["    #1 clk = 1'b1; #1 clk = 1'b0; rst = 1'b0;"]
    fmt = " ".join(["%h"] * len(outs))
    args = ", ".join(nd.name for nd in outs)
    for vec in vectors:
        lines += [f"    {nd.name} = {lit(vec[nd.name], nd.width)};" for nd in ins]
        lines += [f'    #1 $display("{fmt}", {args});', "    clk = 1'b1; #1 clk = 1'b0;"]
    lines += ["    $finish;", "  end", "endmodule", ""]
    return "\n".join(lines)


def _signed(text: str, nd) -> int:
    v = int(text, 16)
    return v - (1 << nd.width) if nd.signed and v >> (nd.width - 1) else v


@pytest.mark.needs("verilator")
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_printed_module_is_lint_clean(tmp_path, case):
    from hadamhw.verify.tools import verilator_bin, verilator_env

    name, nl = case
    path = tmp_path / f"nl_{name}.v"
    path.write_text(print_module(nl, f"nl_{name}"))
    proc = subprocess.run([verilator_bin(), "--lint-only", "-Wall", str(path)],
                          env=verilator_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[:3000]


@pytest.mark.needs("icarus")
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_printed_module_equals_evaluator(tmp_path, case):
    name, nl = case
    module = f"nl_{name}"
    vectors = _vectors(nl, np.random.default_rng(len(name)))
    (tmp_path / "dut.v").write_text(print_module(nl, module))
    (tmp_path / "tb.v").write_text(_testbench(nl, module, vectors))
    subprocess.run(["iverilog", "-g2005", "-o", str(tmp_path / "sim"), str(tmp_path / "dut.v"),
                    str(tmp_path / "tb.v")], check=True, capture_output=True, timeout=120)
    proc = subprocess.run(["vvp", "-n", str(tmp_path / "sim")], check=True,
                          capture_output=True, text=True, timeout=120)
    outs = [nd for nd in nl.nodes if isinstance(nd, Output)]
    got = [line.split() for line in proc.stdout.splitlines() if line and "$finish" not in line
           and not line.startswith("VCD")]
    got = [{nd.name: _signed(t, nd) for nd, t in zip(outs, row, strict=True)} for row in got
           if len(row) == len(outs)]
    assert got == _expected(nl, vectors)
    assert len(got) == CYCLES


@pytest.mark.needs("icarus")
def test_comparison_catches_a_wrong_sign_extension(tmp_path, monkeypatch):
    """The check can fail: a printer that zero-extends signed nodes differs."""
    from hadamhw.netlist import verilog as nv

    monkeypatch.setattr(nv.Printer, "top", lambda self, i: "1'b0")
    name, nl = CASES[0]
    with pytest.raises(AssertionError):
        test_printed_module_equals_evaluator(tmp_path, (name, nl))


@pytest.mark.needs("verilator")
def test_lint_catches_an_unread_bit(tmp_path, monkeypatch):
    """The lint check can fail: without the sink, unread bits are reported."""
    from hadamhw.netlist import verilog as nv

    monkeypatch.setattr(nv, "_sink", lambda p, nl: [])
    with pytest.raises(AssertionError, match="UNUSED"):
        test_printed_module_is_lint_clean(tmp_path, CASES[0])
