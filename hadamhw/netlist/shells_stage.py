"""The stage fold's netlist printed into the Verilog templates' sections.

For `--fold stage` (one stream, no pipeline, no serial readout) the templates keep the
module shell, the handshake and the stage-serial control (busy_q, phase_q, x_q, last_q,
bank_q: parts/control.v.j2, requant.v.j2); the datapath inside comes from `stage.build`,
printed node by node:

- input: the input graph reads the held word `x_q` (`s_axis_tdata` when k = 1), a token
  ROM selects on it;
- bank (parts/rotation.v.j2): `bank_init` (h_cur extended to the bank width) and the
  butterflies `bank_out` = one Pease pass of `bank_in`, from the bank's nodes;
- requantization: `f_<i>` (slices of bank_out, each the width of its proved range), the
  nodes `rq_n<k>` (the sign folded into the add/subtract), v_<i>, q_<i>, hn_<i>;
- readout and argmax: as the single-cycle core's.

The netlist's control and pipeline registers are the template's registers (same widths):
the manifest's `register_bits` counts them from the netlist.
"""

from __future__ import annotations

from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist import stage
from hadamhw.netlist.nodes import Add, Bound, Mux, Netlist, register_bits
from hadamhw.netlist.plan import requant_plan
from hadamhw.netlist.shells import (
    Sections,
    argmax_section,
    clog2,
    input_section,
    readout_inline_section,
)
from hadamhw.netlist.verilog import lit, unread


def _decl(name: str, width: int, expr: str) -> dict:
    return {"name": name, "msb": width - 1, "expr": expr, "signed": False, "keep": False}


def _bank_nodes(ir: IntegerRNN, nl: Netlist) -> tuple[list[int], list[int]]:
    """(bank_out adders, their Bound nodes) in element order (the fwht[k-1] tag)."""
    bounds = nl.tags[f"fwht[{ir.k - 1}]"]
    adds = [nl[b].a for b in bounds]  # type: ignore[attr-defined]
    assert all(isinstance(nl[b], Bound) and isinstance(nl[a], Add)
               for a, b in zip(adds, bounds, strict=True))
    return adds, bounds


def bank_section(s: Sections) -> dict:
    """bank_init from h_cur, the butterflies of bank_out from the bank's adders."""
    ir, nl, p = s.ir, s.nl, s.p
    n, k, bh = ir.hidden_size, ir.k, ir.widths.state
    wb = max(ir.widths.fwht)
    h_cur = nl.tags["h_cur"]
    for e, i in enumerate(h_cur):
        p.place[i] = ("h_cur", e * bh, bh, False)
    init = [{"lhs": f"bank_init[{e * wb + wb - 1}:{e * wb}]", "expr": p.ext(i, wb)}
            for e, i in enumerate(h_cur)]
    adds, _ = _bank_nodes(ir, nl)
    ins = sorted({op for a in adds for op in nl[a].operands()})
    for e, i in enumerate(ins):  # bank_in's elements: the muxes, or h_cur itself (k = 1)
        assert k == 1 or isinstance(nl[i], Mux)
        p.place[i] = ("bank_in", (h_cur.index(i) if k == 1 else e) * wb, wb, False)
    bfs = [{"lhs": f"bank_out[{e * wb + wb - 1}:{e * wb}]", "expr": p.expr(a, wb)}
           for e, a in enumerate(adds)]
    s.declared["bank_in"] = n * wb
    if k == 1:  # no bank_q: bank_out is read by the requantization's f_<i> only
        s.declared["bank_out"] = n * wb
    phase_bits = max(1, clog2(k))
    return {"msb": n * wb - 1, "init": init, "butterflies": bfs,
            "phase_msb": phase_bits - 1, "use_phase": k >= 3,
            "phase_one": lit(1, phase_bits), "phase_last": lit(k - 1, phase_bits),
            "phase_zero": lit(0, phase_bits)}


def requant_section(s: Sections) -> dict:
    """f_<i> (the bank's last pass), the requantization graph, v_<i>, q_<i>, hn_<i>."""
    ir, nl = s.ir, s.nl
    wb = max(ir.widths.fwht)
    _, bounds = _bank_nodes(ir, nl)
    decls = []
    for e, b in enumerate(bounds):
        width = nl[b].width
        decls.append(_decl(f"f_{e}", width, f"bank_out[{e * wb + width - 1}:{e * wb}]"))
        s.p.mark("bank_out", e * wb, width)
        s.declare(b, f"f_{e}", width)
    decls += s.graph("requant")
    elements = []
    for e, (v, q, hn) in enumerate(zip(nl.tags["requant_sum"], nl.tags["shifted"],
                                       nl.tags["hn"], strict=True)):
        elements.append({"v": s.alias(v, f"v_{e}"), "q": s.node(q, f"q_{e}"),
                         "h": {**s.node(hn, f"hn_{e}", ir.widths.state), "kind": "saturate"}})
        s.template_reads.add(f"hn_{e}")
    h_next = "{" + ", ".join(f"hn_{e}" for e in reversed(range(ir.hidden_size))) + "}"
    return {"decls": decls, "elements": elements, "adders": s.adders("requant"),
            "unused": [], "h_next": h_next, "adder_bits": s.adder_bits("requant")}


def _place_held_word(s: Sections) -> str:
    """The input graph reads x_q (the held word) when k > 1: its source vector."""
    ir, nl = s.ir, s.nl
    if ir.k == 1:
        return "s_axis_tdata"
    held = [i for i in nl.registers() if nl[i].name.startswith("x_q")]
    for e, i in enumerate(held):
        s.p.place[i] = ("x_q", e * ir.input.bits, ir.input.bits, False)
    return "x_q"


def stage_context(ir: IntegerRNN, cmvm: str, top: str, interface: dict
                  ) -> tuple[dict, dict, Netlist]:
    """(top module context, analytical costs, the netlist) of the stage-fold core;
    `interface` is the AXI4-Stream section's context (beat, FIFO, ports)."""
    nl = stage.build(ir, cmvm)
    s = Sections(ir, nl)
    src = _place_held_word(s)
    inp = input_section(s)
    words = ir.input.bits * (1 if ir.input.kind == "token" else ir.input.size)
    if inp["rom"] is not None:
        inp["rom"]["select"] = src
        s.p.mark(src, 0, ir.input.bits)
    bank = bank_section(s)
    req = requant_section(s)
    rd = readout_inline_section(s)
    am = argmax_section(s)
    for name in s.template_reads:
        s.p.mark(name, 0, s.declared[name])
    declared = {**s.declared, src: words}
    unused = unread(s.p, declared) + am["unused"]
    w = ir.widths
    n = ir.hidden_size
    ctx = {
        "top": top, "n": n, "m": ir.block_size, "k": ir.k,
        "fold": "stage", "recurrent": "fwht", "cmvm": cmvm,
        "mode": ir.mode, "readout": ir.readout, "input_kind": ir.input.kind,
        "state_msb": n * w.state - 1, "state_zero": lit(0, n * w.state),
        "rotated_msb": n * w.rotated - 1, "stage_fold": True, "single_stage": ir.k == 1,
        "every": ir.readout == "every", "input": inp, "requant": req, "readout_part": rd,
        "argmax": am, "bank": bank, "plan": requant_plan(ir), **interface,
        "unused": sorted(set(unused), key=unused.index), "streamed": False, "tid_bits": 0,
    }
    sections = {"input": inp, "requant": req, "readout": rd}
    costs = {"adders": {k: v["adders"] for k, v in sections.items()},
             "adder_bits": {k: v["adder_bits"] for k, v in sections.items()},
             "readout_cycles": 0, "register_bits": register_bits(nl)}
    return ctx, costs, nl
