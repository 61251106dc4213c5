"""A netlist printed as a Verilog-2005 module, node by node (it only prints).

Every node is one wire (a ROM read or a register one `reg`) named n<index>, sized from the
node's width; ports keep their names. Arithmetic is done on unsigned vectors of the
result's width: each operand is sign-extended (signed nodes) or zero-extended (unsigned
ones) to that width first, so two's complement wrap-around gives the exact result where
the interval says it fits. Comparisons and clamps compare in a width that holds both sides,
as `$signed`. Bits that nothing reads (below a shift, above a truncation) are collected in
one `_unused_ok` sink, so `verilator --lint-only -Wall` stays silent.

(This printer belongs to the backends layer by the layout in DESIGN.md; it lives here
until backends/verilog/ is restructured, and imports nothing from hadamhw.backends.)
"""

from __future__ import annotations

from hadamhw.errors import HadamhwError
from hadamhw.netlist.nodes import (
    Add,
    Bound,
    Clamp,
    Const,
    Greater,
    Input,
    Mux,
    Neg,
    Netlist,
    Node,
    Operand,
    Output,
    Reg,
    Relu,
    Rom,
    RoundShift,
    bits,
)


def lit(value: int, width: int) -> str:
    """A sized hexadecimal literal holding `value` in two's complement (the one literal
    printer: hadamhw.backends.verilog_text uses it too)."""
    value = int(value)
    if not -(1 << (width - 1)) <= value < (1 << width):
        raise HadamhwError(f"internal: constant {value} does not fit {width} bits")
    return f"{width}'h{value % (1 << width):0{max(1, (width + 3) // 4)}x}"


def _slice(name: str, lsb: int, width: int) -> str:
    return f"{name}[{lsb + width - 1}:{lsb}]"


class Printer:
    """Prints nodes of one netlist; tracks which bits of each name are read.

    `place` puts a node somewhere else than its own wire n<index>: (name, offset, slot,
    whole), the node's value sign-extended to `slot` bits at bit `offset` of `name`, a wire
    of exactly those bits when `whole` (an alias), else an element of a packed vector."""

    def __init__(self, nl: Netlist) -> None:
        self.nl = nl
        self.read: dict[str, int] = {}  # name -> mask of the bits read
        self.place: dict[int, tuple[str, int, int, bool]] = {}

    def name(self, i: int) -> str:
        if i in self.place:
            return self.place[i][0]
        nd = self.nl[i]
        return nd.name if isinstance(nd, (Input, Output)) else f"n{i}"

    def mark(self, name: str, lsb: int, width: int) -> None:
        self.read[name] = self.read.get(name, 0) | (((1 << width) - 1) << lsb)

    def bits_of(self, i: int, lsb: int, width: int) -> str:
        """Bits [lsb, lsb + width) of node i (the bare name for all of a wire)."""
        name = self.name(i)
        offset, slot, whole = self.place.get(i, ("", 0, self.nl[i].width, True))[1:]
        self.mark(name, offset + lsb, width)
        if whole and lsb == 0 and width == slot:
            return name
        return _slice(name, offset + lsb, width)

    def top(self, i: int) -> str:
        """The fill bit that extends node i: its sign bit, or 0."""
        nd = self.nl[i]
        return self.bits_of(i, nd.width - 1, 1) if nd.signed else "1'b0"

    def ext(self, i: int, width: int) -> str:
        """Node i as `width` bits: sign- or zero-extended, or truncated."""
        w = self.nl[i].width
        if width <= w:
            return self.bits_of(i, 0, width)
        return f"{{{{{width - w}{{{self.top(i)}}}}}, {self.bits_of(i, 0, w)}}}"

    def term(self, op: Operand, width: int) -> str | None:
        """(node << shift) as `width` bits; None when every bit is shifted out."""
        if op.shift >= width:
            return None
        body = self.ext(op.node, width - op.shift)
        return body if op.shift == 0 else f"{{{body}, {op.shift}'b0}}"

    def signed_cmp(self, i: int, width: int) -> str:
        return f"$signed({self.ext(i, width)})"

    # -- one expression per node -----------------------------------------------------------
    def expr(self, i: int, width: int | None = None) -> str:
        """Node i's value as `width` bits (default its own width)."""
        nd = self.nl[i]
        w = nd.width if width is None else width
        if isinstance(nd, Const):
            return lit(nd.value, w)
        if isinstance(nd, Add):
            return self._add(nd, w)
        if isinstance(nd, Neg):
            return f"{lit(0, w)} - {self.ext(nd.a, w)}"
        if isinstance(nd, RoundShift):
            return self._shift(nd, w)
        if isinstance(nd, Clamp):
            return self._clamp(nd, w)
        if isinstance(nd, Relu):
            a = self.nl[nd.a]
            if not a.signed:
                return self.ext(nd.a, w)
            return f"{self.top(nd.a)} ? {lit(0, w)} : {self.ext(nd.a, w)}"
        if isinstance(nd, Mux):
            return f"{self.bits_of(nd.sel, 0, 1)} ? {self.ext(nd.if1, w)} : {self.ext(nd.if0, w)}"
        if isinstance(nd, Greater):
            cw = max(_cmp_width(self.nl[nd.a]), _cmp_width(self.nl[nd.b]))
            return f"{self.signed_cmp(nd.a, cw)} > {self.signed_cmp(nd.b, cw)}"
        if isinstance(nd, (Output, Bound)):
            return self.ext(nd.a, w)
        raise HadamhwError(f"internal: no Verilog rule for {type(nd).__name__}")

    def _add(self, nd: Add, w: int) -> str:
        if nd.b is not None and nd.a.sign > 0:
            low_split = self._split_add(nd.a, nd.b, w)
            if low_split is not None:
                return low_split
        ops = [op for op in (nd.a, nd.b) if op is not None]
        terms = [(self.term(op, w) or lit(0, w), op.sign) for op in ops]
        pos = [t for t, s in terms if s > 0]
        neg = [t for t, s in terms if s < 0]
        text = " + ".join(pos) if pos else lit(0, w)
        return " - ".join([text, *neg])

    def _split_add(self, a: Operand, b: Operand, w: int) -> str | None:
        """a +- (b << s) with a unshifted adds only above bit s: {(a >> s) +- b, a's low s
        bits} (no carry or borrow crosses bit s), an adder s bits narrower. A sum whose
        shifted operand comes first is swapped."""
        if b.sign > 0 and a.shift > 0 and b.shift == 0:
            a, b = b, a
        s = b.shift
        if a.shift != 0 or not 0 < s < w:
            return None
        hi_w = w - s
        op = "+" if b.sign > 0 else "-"
        high = self._shifted_down(a.node, s, hi_w)
        return f"{{{high} {op} {self.ext(b.node, hi_w)}, {self.ext(a.node, s)}}}"

    def _shifted_down(self, i: int, shift: int, width: int) -> str:
        """Node i >> shift (arithmetic) as `width` bits."""
        nd = self.nl[i]
        high = nd.width - shift  # the bits that survive the shift
        if high <= 0:
            return f"{{{width}{{{self.top(i)}}}}}" if nd.signed else lit(0, width)
        if width <= high:
            return self.bits_of(i, shift, width)
        return f"{{{{{width - high}{{{self.top(i)}}}}}, {self.bits_of(i, shift, high)}}}"

    def _shift(self, nd: RoundShift, w: int) -> str:
        if nd.round and nd.shift > 0:
            raise HadamhwError("internal: the printer takes round-shifts with the rounding "
                               "constant already added (round=False)")
        return self._shifted_down(nd.a, nd.shift, w)

    def _clamp(self, nd: Clamp, w: int) -> str:
        """The bounds tested by bits where they are powers of two (a signed range), else by
        comparisons."""
        text = self.ext(nd.a, w)
        if self.nl[nd.a].lo < nd.low:
            text = f"{self._below(nd.a, nd.low)} ? {lit(nd.low, w)} : {text}"
        if self.nl[nd.a].hi > nd.high:
            text = f"{self._above(nd.a, nd.high)} ? {lit(nd.high, w)} : {text}"
        return text

    def _above(self, i: int, high: int) -> str:
        """Node i > high."""
        a = self.nl[i]
        p = (high + 1).bit_length() - 1
        if high >= 0 and high + 1 == 1 << p:  # i >= 2^p: a bit at or above p is set
            top = a.width - (1 if a.signed else 0)
            body = f"(|{self.bits_of(i, p, top - p)})"
            return f"(~{self.top(i)} & {body})" if a.signed else body
        cw = max(_cmp_width(a), bits(high, high)[0] + 1)
        return f"({self.signed_cmp(i, cw)} > $signed({lit(high, cw)}))"

    def _below(self, i: int, low: int) -> str:
        """Node i < low."""
        a = self.nl[i]
        if low == 0 and a.signed:  # i < 0: the sign bit
            return self.top(i)
        p = (-low).bit_length() - 1
        if a.signed and low < 0 and -low == 1 << p:  # i < -2^p: not all bits above p set
            return f"({self.top(i)} & ~(&{self.bits_of(i, p, a.width - 1 - p)}))"
        cw = max(_cmp_width(a), bits(low, low)[0] + 1)
        return f"({self.signed_cmp(i, cw)} < $signed({lit(low, cw)}))"

    # -- statements ------------------------------------------------------------------------
    def rom(self, i: int, nd: Rom) -> list[str]:
        addr = self.nl[nd.addr]
        if addr.signed:
            raise HadamhwError("internal: a ROM address must be unsigned")
        aw, w = addr.width, nd.width
        entries = min(len(nd.table), 1 << aw)
        lines = ["  always @* begin", f"    case ({self.ext(nd.addr, aw)})"]
        lines += [f"      {lit(a, aw)}: n{i} = {lit(nd.table[a], w)};" for a in range(entries)]
        if entries < 1 << aw:
            lines.append(f"      default: n{i} = {lit(nd.default, w)};")
        return lines + ["    endcase", "  end"]

    def reg(self, i: int, nd: Reg) -> list[str]:
        w = nd.width
        cond = "" if nd.enable is None else f"if ({self.bits_of(nd.enable, 0, 1)}) "
        return ["  always @(posedge clk) begin",
                f"    if (rst) n{i} <= {lit(nd.init, w)};",
                f"    else {cond}n{i} <= {self.ext(nd.d, w)};",
                "  end"]


def _cmp_width(nd: Node) -> int:
    """Bits that hold a node as a signed operand."""
    return nd.width + (0 if nd.signed else 1)


def _decl(kind: str, width: int, name: str) -> str:
    return f"  {kind} [{width - 1}:0] {name};"


def print_module(nl: Netlist, module: str) -> str:
    """The netlist as one Verilog-2005 module: ports are the input and output nodes (in
    node order), with `clk` and `rst` (synchronous, active high) when it has registers."""
    for nd in nl.nodes:
        if isinstance(nd, (Input, Output)) and not nd.name.isidentifier():
            raise HadamhwError(f"netlist port name {nd.name!r} is not a Verilog identifier")
    p = Printer(nl)
    clocked = bool(nl.registers())
    ports = (["  input  wire clk", "  input  wire rst"] if clocked else [])
    decls: list[str] = []
    body: list[str] = []
    for i, nd in enumerate(nl.nodes):
        if isinstance(nd, Input):
            ports.append(f"  input  wire [{nd.width - 1}:0] {nd.name}")
        elif isinstance(nd, Output):
            ports.append(f"  output wire [{nd.width - 1}:0] {nd.name}")
            body.append(f"  assign {nd.name} = {p.expr(i)};")
        elif isinstance(nd, Rom):
            decls.append(_decl("reg ", nd.width, f"n{i}"))
            body += p.rom(i, nd)
        elif isinstance(nd, Reg):
            decls.append(_decl("reg ", nd.width, f"n{i}"))
            body += p.reg(i, nd)
        else:
            decls.append(_decl("wire", nd.width, f"n{i}"))
            body.append(f"  assign n{i} = {p.expr(i)};  // {type(nd).__name__} {nd.name}")
    sink = _sink(p, nl)
    lines = ["// Generated by hadamhw from a netlist. Do not edit.", "`default_nettype none", "",
             f"module {module} (", ",\n".join(ports), ");", *decls, *body, *sink,
             "endmodule", "", "`default_nettype wire", ""]
    return "\n".join(lines)


def _sink(p: Printer, nl: Netlist) -> list[str]:
    """Wires with bits nothing reads, as operands of one `_unused_ok` wire."""
    partial = unread(p, {p.name(i): nd.width for i, nd in enumerate(nl.nodes)
                         if not isinstance(nd, Output)})
    if not partial:
        return []
    return ["  wire _unused_ok = &{1'b0,", *[f"    {name}," for name in partial], "    1'b0};"]


def unread(p: Printer, declared: dict[str, int]) -> list[str]:
    """The names in `declared` (name -> width) of which some bit was never read."""
    return [name for name, width in declared.items()
            if p.read.get(name, 0) & ((1 << width) - 1) != (1 << width) - 1]
