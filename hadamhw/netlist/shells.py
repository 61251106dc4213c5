"""The single-cycle netlist printed into the Verilog templates' sections.

`hadamhw generate` keeps its Jinja templates for the module shells, the handshake, the
state registers and the output FIFO (templates/verilog/top.v.j2 and parts/); for the
single-cycle core (fold parallel, one stream, no pipeline, FWHT rotation) the datapath
inside them comes from `single_cycle.build`, printed node by node:

- input: a token ROM packed as one `d_rom` word per token, or the input graph's nodes as
  kept wires `in_n<k>`; each drive aliased `d_<i>`;
- rotation (module <top>_rotate): the butterfly nodes as slices of the stage vectors;
- requantization: `r_<i>` (slices of r), the nodes `rq_n<k>`, then v_<i> (alias), q_<i>,
  hn_<i>;
- readout: z_<i>, the nodes `ro_n<k>`, y_<o> (alias), the output requantization, out_<o>;
  the argmax tree's names (the template prints its comparisons).

The contexts have the shape the templates read (the same keys as
hadamhw.backends.verilog's section builders); nothing here imports a backend.
"""

from __future__ import annotations

from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_bits
from hadamhw.netlist.adders import ADDEND
from hadamhw.netlist.nodes import (
    Add,
    Clamp,
    Const,
    Greater,
    Mux,
    Neg,
    Netlist,
    Rom,
    adders_by_group,
    is_adder,
)
from hadamhw.netlist.plan import requant_plan
from hadamhw.netlist.single_cycle import build
from hadamhw.netlist.verilog import Printer, lit, unread

PREFIX = {"input": "in_n", "requant": "rq_n", "readout": "ro_n"}


def _decl(name: str, width: int, expr: str, signed: bool = False, keep: bool = False) -> dict:
    return {"name": name, "msb": width - 1, "expr": expr, "signed": signed, "keep": keep}


def clog2(value: int) -> int:
    return max(0, (value - 1).bit_length())


class Sections:
    """Prints the nodes of one single-cycle netlist section by section."""

    def __init__(self, ir: IntegerRNN, nl: Netlist) -> None:
        self.ir = ir
        self.nl = nl
        self.p = Printer(nl)
        self.declared: dict[str, int] = {}  # every wire printed here -> its width
        self.template_reads: set[str] = set()  # names the templates read whole
        self.count = dict.fromkeys(PREFIX, 0)

    def declare(self, i: int, name: str, width: int | None = None) -> None:
        """Node i lives in wire `name` from now on (its own width unless given)."""
        width = self.nl[i].width if width is None else width
        self.p.place[i] = (name, 0, width, True)
        self.declared[name] = width

    def alias(self, i: int, name: str, width: int | None = None, signed: bool = False) -> dict:
        """`wire name = <node i>`; node i is read through `name` from then on."""
        width = self.nl[i].width if width is None else width
        decl = _decl(name, width, self.p.ext(i, width), signed=signed)
        self.declare(i, name, width)
        return decl

    def node(self, i: int, name: str | None = None, width: int | None = None,
             signed: bool = False) -> dict:
        """Node i printed as its own wire: kept (one adder or constant) when it belongs to
        an adder graph, named from its section's prefix."""
        nd = self.nl[i]
        graph = isinstance(nd, (Add, Neg, Const)) and nd.group in PREFIX
        if name is None:
            name = f"{PREFIX[nd.group]}{self.count[nd.group]}"
            self.count[nd.group] += 1
        width = nd.width if width is None else width
        expr = self.p.expr(i, width)
        self.declare(i, name, width)
        return _decl(name, width, expr, signed=signed, keep=graph and is_adder(nd))

    def graph(self, group: str, first: int = 0, end: int | None = None) -> list[dict]:
        """The adder-graph nodes of `group` with index in [first, end), in order."""
        end = len(self.nl) if end is None else end
        return [self.node(i) for i in range(first, end) if self.nl[i].group == group
                and isinstance(self.nl[i], (Add, Neg, Const))]

    def adders(self, group: str) -> int:
        return adders_by_group(self.nl).get(group, 0)

    def adder_bits(self, group: str) -> int:
        """The manifest's `adder_bits` of a section: the signed widths of its graph's nodes
        (adders, shifted copies, and constants that are a row's whole value; a constant
        that one adder adds is part of that adder)."""
        return sum(signed_bits(nd.lo, nd.hi) for nd in self.nl.nodes if nd.group == group
                   and (isinstance(nd, (Add, Neg)) or isinstance(nd, Const)
                        and nd.name != ADDEND))


def _place_vector(s: Sections, nodes: list[int], vector: str, slot: int) -> None:
    for e, i in enumerate(nodes):
        s.p.place[i] = (vector, e * slot, slot, False)


def input_section(s: Sections) -> dict:
    ir, nl = s.ir, s.nl
    if "d0" in nl.inputs():  # the drive row arrives on s_axis_tdata (external token table)
        return drive_row_section(s, nl.tags["drive"])
    ports = list(nl.inputs().values())
    _place_vector(s, [i for i in ports if nl[i].name not in ("fire", "last")],
                  "s_axis_tdata", ir.input.bits)
    drive = nl.tags["drive"]
    if ir.input.kind == "token":
        return _rom_section(s, drive, ir.input.bits)
    decls = s.graph("input")
    aliases = [s.alias(d, f"d_{e}") for e, d in enumerate(drive)]
    return {"rom": None, "decls": decls, "adders": s.adders("input"), "unused": [],
            "drive_decls": aliases, "adder_bits": s.adder_bits("input")}


def _rom_section(s: Sections, drive: list[int], word_bits: int) -> dict:
    """One packed ROM word per token: element i at [i*W +: W]."""
    ir, nl = s.ir, s.nl
    roms = [nl[d] for d in drive]
    assert all(isinstance(r, Rom) for r in roms)
    values = [v for r in roms for v in (*r.table, r.default)]  # type: ignore[attr-defined]
    wd = signed_bits(min(values), max(values))
    n = len(roms)

    def packed(column: list[int]) -> str:
        return lit(sum((v % (1 << wd)) << (i * wd) for i, v in enumerate(column)), n * wd)

    size = ir.input.size
    entries = [{"token": lit(t, word_bits), "value": packed([r.table[t] for r in roms])}
               for t in range(size)]
    s.p.mark("s_axis_tdata", 0, word_bits)
    rom = {"select": "s_axis_tdata", "msb": n * wd - 1, "entries": entries,
           "complete": size == 1 << word_bits, "default": packed([r.default for r in roms])}
    aliases = []
    for e, d in enumerate(drive):
        aliases.append(_decl(f"d_{e}", wd, f"d_rom[{e * wd + wd - 1}:{e * wd}]"))
        s.declare(d, f"d_{e}", wd)
    return {"rom": rom, "decls": [], "adders": 0, "unused": [], "drive_decls": aliases,
            "adder_bits": 0}


def drive_row_section(s: Sections, drive: list[int]) -> dict:
    """The drive row as s_axis_tdata, packed like a ROM word: element i at [i*W +: W]
    (W the signed width of every element's interval); `tdata_bits` is n W."""
    nl = s.nl
    wd = signed_bits(min(nl[d].lo for d in drive), max(nl[d].hi for d in drive))
    aliases = []
    for e, d in enumerate(drive):
        aliases.append(_decl(f"d_{e}", wd, f"s_axis_tdata[{e * wd + wd - 1}:{e * wd}]"))
        s.declare(d, f"d_{e}", wd)
    s.p.mark("s_axis_tdata", 0, len(drive) * wd)
    return {"rom": None, "decls": [], "adders": 0, "unused": [], "drive_decls": aliases,
            "adder_bits": 0, "tdata_bits": len(drive) * wd}


def requant_section(s: Sections) -> dict:
    ir, nl = s.ir, s.nl
    wr = ir.widths.rotated
    decls = [_decl(f"r_{e}", wr, f"r[{e * wr + wr - 1}:{e * wr}]")
             for e in range(ir.hidden_size)]
    for e, i in enumerate(nl.tags["rotated"]):
        s.declare(i, f"r_{e}", wr)
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


def readout_section(s: Sections) -> dict:
    ir, nl = s.ir, s.nl
    w = ir.widths
    _place_vector(s, [i for i in nl.registers() if nl[i].group == "state"], "h_q", w.state)
    decls = [s.node(z, f"z_{e}") for e, z in _z_nodes(s)]
    rows = nl.tags["output_acc"]
    split = max(rows) + 1  # the readout's graph, then the output requantization's
    decls += s.graph("readout", 0, split)
    decls += [s.alias(y, f"y_{o}") for o, y in enumerate(rows)]
    decls += s.graph("readout", split)
    for o, out in enumerate(nl.tags["output"]):
        nd = nl[out]
        if isinstance(nd, Clamp):
            decls.append(s.node(nd.a, f"pq_{o}"))
            decls.append({**s.node(out, f"out_{o}", w.output, signed=True), "kind": "saturate"})
        else:
            decls.append(s.alias(out, f"out_{o}", w.output, signed=True))
        s.template_reads.add(f"out_{o}")
    return {"decls": decls, "adders": s.adders("readout"), "unused": [], "serial": None,
            "cycles": 0, "adder_bits": s.adder_bits("readout")}


def _z_nodes(s: Sections) -> list[tuple[int, int]]:
    """(element, z node) for the elements the readout reads."""
    regs = [i for i in s.nl.registers() if s.nl[i].group == "state"]
    element = {r: e for e, r in enumerate(regs)}
    return [(element[s.nl[z].a], z) for z in s.nl.tags["readout_in"]]  # type: ignore[attr-defined]


def argmax_section(s: Sections) -> dict:
    """The comparison tree's names: the template prints `gt = right > left` and the muxes."""
    nl = s.nl
    argmax_bits = max(1, clog2(s.ir.output_size))
    names: dict[int, str] = {}
    nodes = []
    depth: dict[int, int] = {}
    pos: dict[int, int] = {}

    def ref(i: int) -> str:
        nd = nl[i]
        return lit(nd.value, argmax_bits) if isinstance(nd, Const) else names.get(i, s.p.name(i))

    for i, nd in enumerate(nl.nodes):
        if not isinstance(nd, Greater):
            continue
        val, idx = (j for j, m in enumerate(nl.nodes) if isinstance(m, Mux) and m.sel == i)
        d = 1 + max(depth.get(nd.a, 0), depth.get(nd.b, 0))
        pos[d] = pos.get(d, -1) + 1
        name = f"am{d - 1}_{pos[d]}"
        index = nl[idx]
        assert isinstance(index, Mux)
        nodes.append({"gt": f"{name}_gt", "val": f"{name}_val", "idx": f"{name}_idx",
                      "left_val": ref(nd.b), "left_idx": ref(index.if0),
                      "right_val": ref(nd.a), "right_idx": ref(index.if1), "depth": d})
        names[val], names[idx] = f"{name}_val", f"{name}_idx"
        depth[val] = depth[idx] = d
    root = nl.outputs()["argmax"]
    top = nl[root].a  # type: ignore[attr-defined]
    return {"nodes": nodes, "expr": ref(top), "unused": [nodes[-1]["val"]] if nodes else []}


def rotate_context(ir: IntegerRNN, nl: Netlist, top: str) -> dict:
    """The <top>_rotate module: golden-order stages, packed vectors, from the netlist."""
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    p = Printer(nl)
    _place_vector_p(p, nl.tags["h_cur"], "h", w.state)
    stages = []
    for j in range(1, k + 1):
        last = j == k
        tag = "rotated" if last else f"fwht[{j - 1}]"
        name, width = ("r", w.rotated) if last else (f"f{j}", w.fwht[j - 1])
        nodes = nl.tags[tag]
        assigns = [{"elem": e, "lhs": f"{name}[{e * width + width - 1}:{e * width}]",
                    "expr": p.expr(i, width)} for e, i in enumerate(nodes)]
        _place_vector_p(p, nodes, name, width)
        stages.append({"name": name, "msb": n * width - 1, "assigns": assigns,
                       "is_output": last, "width": width})
    return {"top": top, "n": n, "m": m, "k": k, "state_msb": n * w.state - 1,
            "rotated_msb": n * w.rotated - 1, "stages": stages, "state_bits": w.state,
            "rotated_bits": w.rotated, "elements": None, "clocked": False}


def _place_vector_p(p: Printer, nodes: list[int], vector: str, slot: int) -> None:
    for e, i in enumerate(nodes):
        p.place[i] = (vector, e * slot, slot, False)


def single_cycle_context(ir: IntegerRNN, cmvm: str, top: str, fold: str, recurrent: str,
                         interface: dict, drive_port: bool = False) -> tuple[dict, dict, dict]:
    """(top module context, analytical costs, rotate module context) of the single-cycle
    core; `interface` is the AXI4-Stream section's context (beat, FIFO, ports). drive_port:
    s_axis_tdata carries the token's drive row (external token table), not the token."""
    nl = build(ir, cmvm, drive_port)
    plan = requant_plan(ir)
    s = Sections(ir, nl)
    inp = input_section(s)
    req = requant_section(s)
    rd = readout_section(s)
    am = argmax_section(s)
    for name in s.template_reads:
        s.p.mark(name, 0, s.declared[name])
    declared = {**s.declared, "s_axis_tdata": inp.get("tdata_bits") or ir.input.bits * (
        1 if ir.input.kind == "token" else ir.input.size)}
    unused = unread(s.p, declared) + am["unused"]
    w = ir.widths
    n = ir.hidden_size
    ctx = {
        "top": top, "n": n, "m": ir.block_size, "k": ir.k,
        "fold": fold, "recurrent": recurrent, "cmvm": cmvm,
        "mode": ir.mode, "readout": ir.readout, "input_kind": ir.input.kind,
        "state_msb": n * w.state - 1, "state_zero": lit(0, n * w.state),
        "rotated_msb": n * w.rotated - 1, "stage_fold": False, "single_stage": False,
        "every": ir.readout == "every", "input": inp, "requant": req, "readout_part": rd,
        "argmax": am, "bank": None, "plan": plan, **interface,
        "unused": sorted(set(unused), key=unused.index), "streamed": False, "tid_bits": 0,
    }
    costs = {"adders": {"input": inp["adders"], "requant": req["adders"],
                        "readout": rd["adders"]},
             "adder_bits": {"input": inp["adder_bits"], "requant": req["adder_bits"],
                            "readout": rd["adder_bits"]},
             "readout_cycles": 0}
    return ctx, costs, rotate_context(ir, nl, top)

