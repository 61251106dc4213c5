"""The dense baseline's netlist printed into the Verilog templates' sections.

The dense core (`--recurrent dense`, fold parallel, no serial readout) is the single-cycle
core with another rotate module: its top module's input, requantization, readout and argmax
sections are printed from `dense.build` by the single-cycle section printers of
hadamhw.netlist.shells, and its rotate module (templates/verilog/rotate_dense.v.j2) by
hadamhw.backends.verilog_dense from the same netlist's row trees.
"""

from __future__ import annotations

from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist import dense
from hadamhw.netlist.nodes import Netlist, register_bits
from hadamhw.netlist.plan import requant_plan
from hadamhw.netlist.shells import (
    Sections,
    argmax_section,
    input_section,
    readout_section,
    requant_section,
)
from hadamhw.netlist.verilog import lit, unread


def dense_context(ir: IntegerRNN, cmvm: str, top: str, interface: dict
                  ) -> tuple[dict, dict, Netlist]:
    """(top module context, analytical costs, the netlist) of the dense core; `interface`
    is the AXI4-Stream section's context (beat, FIFO, ports)."""
    nl = dense.build(ir, cmvm)
    s = Sections(ir, nl)
    inp = input_section(s)
    req = requant_section(s)
    rd = readout_section(s)
    am = argmax_section(s)
    for name in s.template_reads:
        s.p.mark(name, 0, s.declared[name])
    declared = {**s.declared, "s_axis_tdata": ir.input.bits * (
        1 if ir.input.kind == "token" else ir.input.size)}
    unused = unread(s.p, declared) + am["unused"]
    w = ir.widths
    n = ir.hidden_size
    ctx = {
        "top": top, "n": n, "m": ir.block_size, "k": ir.k,
        "fold": "parallel", "recurrent": "dense", "cmvm": cmvm,
        "mode": ir.mode, "readout": ir.readout, "input_kind": ir.input.kind,
        "state_msb": n * w.state - 1, "state_zero": lit(0, n * w.state),
        "rotated_msb": n * w.rotated - 1, "stage_fold": False, "single_stage": False,
        "every": ir.readout == "every", "input": inp, "requant": req, "readout_part": rd,
        "argmax": am, "bank": None, "plan": requant_plan(ir), **interface,
        "unused": sorted(set(unused), key=unused.index), "streamed": False, "tid_bits": 0,
    }
    sections = {"input": inp, "requant": req, "readout": rd}
    costs = {"adders": {k: v["adders"] for k, v in sections.items()},
             "adder_bits": {k: v["adder_bits"] for k, v in sections.items()},
             "readout_cycles": 0, "register_bits": register_bits(nl)}
    return ctx, costs, nl
