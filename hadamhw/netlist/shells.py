"""The single-cycle netlist printed into the Verilog templates' sections.

`hadamhw generate` keeps its Jinja templates for the module shells, the handshake, the
state registers and the output FIFO (templates/verilog/top.v.j2 and parts/); for the
single-cycle core (fold parallel, one stream, no pipeline, FWHT rotation) the datapath
inside them comes from `single_cycle.build`, printed node by node:

The arithmetic sits in three combinational block modules that the core instantiates, so
that the sequential structure (state register, handshake, FIFO) can be proved apart from
the arithmetic (hadamhw.prove.structure) and each block by what it is
(hadamhw.prove.printed); their ports carry IR quantities at the IR's widths
(`block_ports`):

- <top>_rotate (h -> r): the butterfly nodes as slices of the stage vectors;
- <top>_update (x, r -> hn): the input drive (a token ROM packed as one `d_rom` word per
  token, or the input graph's nodes `in_n<k>`; each drive aliased `d_<i>`), `r_<i>`
  (slices of r), the requantization's nodes `rq_n<k>`, v_<i> (alias), q_<i>, hn_<i>;
- <top>_readout (z -> out): the nodes `ro_n<k>`, y_<o> (alias), the output
  requantization, out_<o>;
- the core: z_<i> = relu(h_<i>) packed into z, the output words out_<o> read back from the
  readout block, the argmax tree's names (the template prints its comparisons).

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
    register_bits,
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
        self.scope = "top"  # the module being printed: "top" or a block's name
        self.scoped: dict[str, dict[str, int]] = {}  # module -> the wires it declares
        self.nodes_of: dict[str, dict[str, int]] = {}  # module -> wire -> the node it holds
        self.template_reads: set[str] = set()  # names the templates read whole
        self.count = dict.fromkeys(PREFIX, 0)

    def declare(self, i: int, name: str, width: int | None = None) -> None:
        """Node i lives in wire `name` from now on (its own width unless given)."""
        width = self.nl[i].width if width is None else width
        self.p.place[i] = (name, 0, width, True)
        self.declared[name] = width
        self.scoped.setdefault(self.scope, {})[name] = width
        self.nodes_of.setdefault(self.scope, {})[name] = i

    def unread_in(self, scope: str) -> list[str]:
        """The wires of one module of which some bit is never read."""
        return unread(self.p, self.scoped.get(scope, {}))

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


def input_section(s: Sections, vector: str = "s_axis_tdata") -> dict:
    """The input drive d, reading the input words (or the token id) from `vector`."""
    ir, nl = s.ir, s.nl
    if "d0" in nl.inputs():  # the drive row arrives on s_axis_tdata (external token table)
        return drive_row_section(s, nl.tags["drive"], vector)
    ports = list(nl.inputs().values())
    _place_vector(s, [i for i in ports if nl[i].name not in ("fire", "last")],
                  vector, ir.input.bits)
    drive = nl.tags["drive"]
    if ir.input.kind == "token":
        return _rom_section(s, drive, ir.input.bits, vector)
    decls = s.graph("input")
    aliases = [s.alias(d, f"d_{e}") for e, d in enumerate(drive)]
    return {"rom": None, "decls": decls, "adders": s.adders("input"), "unused": [],
            "drive_decls": aliases, "adder_bits": s.adder_bits("input")}


def _rom_section(s: Sections, drive: list[int], word_bits: int,
                 vector: str = "s_axis_tdata") -> dict:
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
    s.p.mark(vector, 0, word_bits)
    rom = {"select": vector, "msb": n * wd - 1, "entries": entries,
           "complete": size == 1 << word_bits, "default": packed([r.default for r in roms])}
    aliases = []
    for e, d in enumerate(drive):
        aliases.append(_decl(f"d_{e}", wd, f"d_rom[{e * wd + wd - 1}:{e * wd}]"))
        s.declare(d, f"d_{e}", wd)
    return {"rom": rom, "decls": [], "adders": 0, "unused": [], "drive_decls": aliases,
            "adder_bits": 0}


def drive_row_section(s: Sections, drive: list[int], vector: str = "s_axis_tdata") -> dict:
    """The drive row read from `vector`, packed like a ROM word: element i at [i*W +: W]
    (W the signed width of every element's interval); `tdata_bits` is n W."""
    nl = s.nl
    wd = signed_bits(min(nl[d].lo for d in drive), max(nl[d].hi for d in drive))
    aliases = []
    for e, d in enumerate(drive):
        aliases.append(_decl(f"d_{e}", wd, f"{vector}[{e * wd + wd - 1}:{e * wd}]"))
        s.declare(d, f"d_{e}", wd)
    s.p.mark(vector, 0, len(drive) * wd)
    return {"rom": None, "decls": [], "adders": 0, "unused": [], "drive_decls": aliases,
            "adder_bits": 0, "tdata_bits": len(drive) * wd}


def pack(parts: list[str]) -> str:
    """A Verilog concatenation of element strings, element 0 in the low bits."""
    return "{" + ", ".join(reversed(parts)) + "}"


def block_ports(ir: IntegerRNN) -> dict:
    """The widths of the arithmetic blocks' ports, from the IR alone (the spec's blocks
    have the same), per element: x (all words), r, hn (the next state), z and out."""
    w = ir.widths
    in_bits = ir.input.bits * (1 if ir.input.kind == "token" else ir.input.size)
    return {"x": in_bits, "r": w.rotated, "hn": w.state, "z": w.readout_in, "out": w.output}


def update_block(s: Sections, top: str) -> dict:
    """Module <top>_update: (x, r) -> hn, the input drive, the requantization's sum, its
    shift and clamp (the next state). Its outputs are the IR's quantities at the IR's widths,
    so the core around it exploits no interval of theirs."""
    ir, nl = s.ir, s.nl
    ports = block_ports(ir)
    s.scope = "update"
    inp = input_section(s, "x")
    if inp.get("tdata_bits"):  # x carries the token's drive row (external token table)
        ports = {**ports, "x": inp["tdata_bits"]}
    wr, n = ports["r"], ir.hidden_size
    decls = [_decl(f"r_{e}", wr, f"r[{e * wr + wr - 1}:{e * wr}]") for e in range(n)]
    for e, i in enumerate(nl.tags["rotated"]):
        s.declare(i, f"r_{e}", wr)
    decls += s.graph("requant")
    elements = []
    for e, (v, q, hn) in enumerate(zip(nl.tags["requant_sum"], nl.tags["shifted"],
                                       nl.tags["hn"], strict=True)):
        elements.append({"v": s.alias(v, f"v_{e}"), "q": s.node(q, f"q_{e}"),
                         "h": {**s.node(hn, f"hn_{e}", ports["hn"]), "kind": "saturate"}})
    hn_pack = pack([f"hn_{e}" for e in range(n)])
    for e in range(n):
        s.p.mark(f"hn_{e}", 0, ports["hn"])
    unused = s.unread_in("update") + unread(s.p, {"x": ports["x"]})
    s.scope = "top"
    requant = {"decls": decls, "elements": elements, "h_next": None, "in_block": True}
    return {"module": f"{top}_update", "input": inp, "requant": requant, "hn_pack": hn_pack,
            "x_msb": ports["x"] - 1, "r_msb": n * wr - 1,
            "hn_msb": n * ports["hn"] - 1, "unused": unused, "adders": s.adders("requant"),
            "ports": ports, "adder_bits": s.adder_bits("requant")}


def requant_section(s: Sections, block: dict) -> dict:
    """The core's part of the state update: the update block's instance (h_next)."""
    return {"decls": [], "elements": [], "adders": block["adders"], "unused": [],
            "h_next": None, "adder_bits": block["adder_bits"],
            "block": {"module": block["module"], "hn_msb": block["hn_msb"]}}


def readout_graph(s: Sections, out_bits: int) -> list[dict]:
    """The readout's nodes ro_n<k>, y_<o> (alias), the output requantization's nodes and
    out_<o> (each `out_bits` wide, signed)."""
    nl = s.nl
    rows = nl.tags["output_acc"]
    split = max(rows) + 1  # the readout's graph, then the output requantization's
    decls = s.graph("readout", 0, split)
    decls += [s.alias(y, f"y_{o}") for o, y in enumerate(rows)]
    decls += s.graph("readout", split)
    for o, out in enumerate(nl.tags["output"]):
        nd = nl[out]
        if isinstance(nd, Clamp):
            decls.append(s.node(nd.a, f"pq_{o}"))
            decls.append({**s.node(out, f"out_{o}", out_bits, signed=True),
                          "kind": "saturate"})
        else:
            decls.append(s.alias(out, f"out_{o}", out_bits, signed=True))
    return decls


def readout_inline_section(s: Sections) -> dict:
    """The readout printed in the core itself (a core without blocks: the stage fold):
    z_<i>, the nodes ro_n<k>, y_<o>, the output requantization, out_<o>."""
    ir, nl = s.ir, s.nl
    w = ir.widths
    _place_vector(s, [i for i in nl.registers() if nl[i].group == "state"], "h_q", w.state)
    decls = [s.node(z, f"z_{e}") for e, z in _z_nodes(s)]
    decls += readout_graph(s, w.output)
    for o in range(ir.output_size):
        s.template_reads.add(f"out_{o}")
    return {"decls": decls, "adders": s.adders("readout"), "unused": [], "serial": None,
            "cycles": 0, "adder_bits": s.adder_bits("readout")}


def readout_block(s: Sections, top: str) -> dict:
    """Module <top>_readout: z -> out, the readout y = V z + c and the output
    requantization (shift and clamp), each output word at the IR's output width."""
    ir = s.ir
    ports = block_ports(ir)
    wz, wo = ports["z"], ports["out"]
    zs = _z_nodes(s)
    s.scope = "readout"
    for e, z in zs:
        s.p.place[z] = ("z", e * wz, wz, False)
    decls = readout_graph(s, wo)
    for o in range(ir.output_size):
        s.p.mark(f"out_{o}", 0, wo)
    out_pack = pack([f"out_{o}" for o in range(ir.output_size)])
    unused = s.unread_in("readout") + unread(s.p, {"z": ir.hidden_size * wz})
    s.scope = "top"
    return {"module": f"{top}_readout", "decls": decls, "out_pack": out_pack,
            "z_msb": ir.hidden_size * wz - 1, "out_msb": ir.output_size * wo - 1,
            "unused": unused, "adders": s.adders("readout"), "ports": ports,
            "out_requant": ir.output_requant is not None,
            "adder_bits": s.adder_bits("readout")}


def readout_section(s: Sections, top: str) -> tuple[dict, dict]:
    """(the core's readout part: z = relu(h) and the readout block's instance, whose
    output words the argmax and the beat read as out_<o>; the readout block)."""
    ir, nl = s.ir, s.nl
    w = ir.widths
    wz = block_ports(ir)["z"]
    _place_vector(s, [i for i in nl.registers() if nl[i].group == "state"], "h_q", w.state)
    zs = _z_nodes(s)
    decls = [s.node(z, f"z_{e}") for e, z in zs]
    by_element = dict(zs)
    parts = [s.p.ext(by_element[e], wz) if e in by_element else lit(0, wz)
             for e in range(ir.hidden_size)]
    decls.append(_decl("z", ir.hidden_size * wz, pack(parts)))
    block = readout_block(s, top)
    wo = block["ports"]["out"]
    after = []
    for o, out in enumerate(nl.tags["output"]):
        after.append(_decl(f"out_{o}", wo, f"out[{o * wo + wo - 1}:{o * wo}]", signed=True))
        s.declare(out, f"out_{o}", wo)
        s.template_reads.add(f"out_{o}")
    part = {"decls": decls, "after": after, "adders": block["adders"], "unused": [],
            "serial": None, "cycles": 0, "adder_bits": block["adder_bits"],
            "block": {"module": block["module"], "out_msb": block["out_msb"]}}
    return part, block


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


def block_wire_nodes(ir: IntegerRNN, nl: Netlist, top: str) -> dict[str, dict[str, int]]:
    """Per block ("update", "readout"): every wire its module declares -> the netlist node
    it holds (what `hadamhw prove` checks the printed widths against)."""
    s = Sections(ir, nl)
    update_block(s, top)
    readout_section(s, top)
    return {b: s.nodes_of.get(b, {}) for b in ("update", "readout")}


def single_cycle_context(ir: IntegerRNN, cmvm: str, top: str, fold: str, recurrent: str,
                         interface: dict, drive_port: bool = False) -> tuple[dict, dict, dict]:
    """(top module context, analytical costs, rotate module context) of the single-cycle
    core; `interface` is the AXI4-Stream section's context (beat, FIFO, ports). drive_port:
    s_axis_tdata carries the token's drive row (external token table), not the token."""
    nl = build(ir, cmvm, drive_port)
    ctx, costs = core_context(ir, nl, cmvm, top, fold, recurrent, interface)
    return ctx, costs, rotate_context(ir, nl, top)


def core_context(ir: IntegerRNN, nl: Netlist, cmvm: str, top: str, fold: str,
                 recurrent: str, interface: dict) -> tuple[dict, dict]:
    """(top module context, analytical costs) of a one-step-a-cycle core built as `nl`
    (single_cycle.build, or dense.build: the same core around another rotation), with its
    update and readout blocks."""
    s = Sections(ir, nl)
    update = update_block(s, top)
    inp = {**update["input"], "block": True}
    req = requant_section(s, update)
    rd, readout = readout_section(s, top)
    am = argmax_section(s)
    for name in s.template_reads:
        s.p.mark(name, 0, s.declared[name])
    unused = s.unread_in("top") + am["unused"]
    w = ir.widths
    n = ir.hidden_size
    ctx = {
        "top": top, "n": n, "m": ir.block_size, "k": ir.k,
        "fold": fold, "recurrent": recurrent, "cmvm": cmvm,
        "mode": ir.mode, "readout": ir.readout, "input_kind": ir.input.kind,
        "state_msb": n * w.state - 1, "state_zero": lit(0, n * w.state),
        "rotated_msb": n * w.rotated - 1, "stage_fold": False, "single_stage": False,
        "every": ir.readout == "every", "input": inp, "requant": req, "readout_part": rd,
        "argmax": am, "bank": None, "plan": requant_plan(ir), **interface,
        "unused": sorted(set(unused), key=unused.index), "streamed": False, "tid_bits": 0,
        "blocks": {"update": update, "readout": readout},
    }
    costs = {"adders": {"input": inp["adders"], "requant": req["adders"],
                        "readout": rd["adders"]},
             "adder_bits": {"input": inp["adder_bits"], "requant": req["adder_bits"],
                            "readout": rd["adder_bits"]},
             "readout_cycles": 0, "register_bits": register_bits(nl)}
    return ctx, costs
