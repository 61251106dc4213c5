"""The node set of the netlist, and the one place where intervals, widths and signedness
are derived.

Every node produces one integer per cycle. Its interval [lo, hi] is derived from its
operands when the node is added (`Netlist.add`), by affine arithmetic: an add, subtract,
negate or constant is an affine form over the nearest non-affine nodes (ports, registers,
ROM reads, shifts, clamps, ...), and its interval is that form's exact range over their
intervals, so a constant product costs exactly the bits it can reach (x*7 written as
(x << 3) - x spans 7 x, not 8 x - x over independent operands). The other nodes take
their interval from their operands' intervals directly. Ports and registers declare
theirs (a register's is the induction hypothesis that `check_registers` verifies).

A node's width and signedness follow from its interval only (`bits`): signed two's
complement when lo < 0, else unsigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hadamhw.errors import HadamhwError
from hadamhw.ir.widths import signed_bits, unsigned_bits


def bits(lo: int, hi: int) -> tuple[int, bool]:
    """(width, signed) of a node holding every integer in [lo, hi]."""
    if lo < 0:
        return signed_bits(lo, hi), True
    return unsigned_bits(hi), False


@dataclass(frozen=True)
class Operand:
    """sign * (node << shift), as an input of an Add."""

    node: int
    shift: int = 0
    sign: int = 1


@dataclass(frozen=True, kw_only=True)
class Node:
    """Base of every node: its interval, the datapath section it belongs to, a name."""

    lo: int = 0
    hi: int = 0
    group: str = ""
    name: str = ""

    @property
    def width(self) -> int:
        return bits(self.lo, self.hi)[0]

    @property
    def signed(self) -> bool:
        return self.lo < 0

    def operands(self) -> tuple[int, ...]:
        """Combinational inputs (a register's data and enable are not: they act at the
        clock edge)."""
        return ()


@dataclass(frozen=True, kw_only=True)
class Input(Node):
    """An input port; lo/hi are declared."""


@dataclass(frozen=True, kw_only=True)
class Const(Node):
    value: int


@dataclass(frozen=True, kw_only=True)
class Add(Node):
    """a + b, each operand shifted and signed; b None: a alone (a shift is wiring, a
    negative sign a negation)."""

    a: Operand
    b: Operand | None = None

    def operands(self) -> tuple[int, ...]:
        return (self.a.node,) if self.b is None else (self.a.node, self.b.node)


@dataclass(frozen=True, kw_only=True)
class Neg(Node):
    a: int

    def operands(self) -> tuple[int, ...]:
        return (self.a,)


@dataclass(frozen=True, kw_only=True)
class RoundShift(Node):
    """(a + 2^(shift-1)) >> shift when round, else a >> shift (arithmetic)."""

    a: int
    shift: int
    round: bool = False

    def operands(self) -> tuple[int, ...]:
        return (self.a,)


@dataclass(frozen=True, kw_only=True)
class Clamp(Node):
    """min(max(a, low), high)."""

    a: int
    low: int
    high: int

    def operands(self) -> tuple[int, ...]:
        return (self.a,)


@dataclass(frozen=True, kw_only=True)
class Relu(Node):
    a: int

    def operands(self) -> tuple[int, ...]:
        return (self.a,)


@dataclass(frozen=True, kw_only=True)
class Mux(Node):
    """sel ? if1 : if0 (sel a 1-bit node)."""

    sel: int
    if1: int
    if0: int

    def operands(self) -> tuple[int, ...]:
        return (self.sel, self.if1, self.if0)


@dataclass(frozen=True, kw_only=True)
class Greater(Node):
    """1 when a > b, else 0."""

    a: int
    b: int

    def operands(self) -> tuple[int, ...]:
        return (self.a, self.b)


@dataclass(frozen=True, kw_only=True)
class Reg(Node):
    """A register: takes d at the clock edge where enable is 1 (always when None); holds
    init after reset. lo/hi are declared and must contain init and d's interval.
    `purpose` says why it exists (one of PURPOSES): the recurrent state, a pipeline or
    delay stage a pass or builder placed, or control (phase, first-step flags)."""

    d: int = -1  # set by Netlist.connect once the data node exists
    enable: int | None = None
    init: int = 0
    purpose: str = ""


PURPOSES = ("state", "pipeline", "control")


@dataclass(frozen=True, kw_only=True)
class Rom(Node):
    """table[addr] for addr < len(table), default above (a ROM read)."""

    addr: int
    table: tuple[int, ...]
    default: int = 0

    def operands(self) -> tuple[int, ...]:
        return (self.addr,)


@dataclass(frozen=True, kw_only=True)
class Bound(Node):
    """a itself, declared to lie in [lo, hi] by an argument the interval arithmetic cannot
    make (a loop whose range depends on the phase: a folded bank after pass j holds stage
    j). The builder that places one proves its range; the evaluator counts every value
    outside it as a violation; the printer keeps the bits the range needs."""

    a: int

    def operands(self) -> tuple[int, ...]:
        return (self.a,)


@dataclass(frozen=True, kw_only=True)
class Output(Node):
    a: int

    def operands(self) -> tuple[int, ...]:
        return (self.a,)


AFFINE = (Const, Add, Neg)
Form = tuple[dict[int, int], int]  # (source node -> coefficient, constant)


@dataclass
class Netlist:
    """Nodes in topological order of their combinational operands (a register's data may
    come later). Built with `add`, which derives each node's interval."""

    nodes: list[Node] = field(default_factory=list)
    forms: dict[int, Form] = field(default_factory=dict, repr=False)
    # the nodes that carry an IR quantity ("state", "fwht[0]", ...): checked against the
    # IR's declared widths (hadamhw.netlist.check.check_ir_widths)
    tags: dict[str, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, index: int) -> Node:
        return self.nodes[index]

    def add(self, node: Node) -> int:
        """Append `node` with its interval derived from its operands; returns its index."""
        for op in node.operands():
            if not 0 <= op < len(self.nodes):
                raise HadamhwError(f"internal: node operand {op} does not exist yet")
        index = len(self.nodes)
        lo, hi, form = derive(self, node, index)
        if form is not None:
            self.forms[index] = form
        self.nodes.append(replace(node, lo=lo, hi=hi))
        return index

    def connect(self, reg: int, d: int, enable: int | None = None) -> None:
        """Close a register's loop: its data (and enable) once those nodes exist."""
        node = self.nodes[reg]
        if not isinstance(node, Reg):
            raise HadamhwError(f"internal: node {reg} is not a register")
        self.nodes[reg] = replace(node, d=d, enable=enable)

    def outputs(self) -> dict[str, int]:
        return {nd.name: i for i, nd in enumerate(self.nodes) if isinstance(nd, Output)}

    def inputs(self) -> dict[str, int]:
        return {nd.name: i for i, nd in enumerate(self.nodes) if isinstance(nd, Input)}

    def registers(self) -> list[int]:
        return [i for i, nd in enumerate(self.nodes) if isinstance(nd, Reg)]


def rebuild(nodes: list[Node], tags: dict[str, list[int]] | None = None) -> Netlist:
    """A netlist of `nodes` (topologically ordered) with every interval derived again; a
    register keeps its declared interval."""
    out = Netlist(tags={k: list(v) for k, v in (tags or {}).items()})
    for nd in nodes:
        out.add(nd)
    return out


# -- interval derivation: the one place ------------------------------------------------------
def derive(nl: Netlist, node: Node, index: int) -> tuple[int, int, Form | None]:
    """(lo, hi, affine form or None) of `node` about to take `index` in `nl`."""
    if isinstance(node, AFFINE):
        form = _form(nl, node)
        lo, hi = _form_range(nl, form)
        return lo, hi, form
    lo, hi = _interval(nl, node)
    if lo > hi:
        raise HadamhwError(f"internal: node {index} ({node.name}) has an empty interval")
    return lo, hi, None


def _source_form(nl: Netlist, index: int) -> Form:
    return nl.forms.get(index, ({index: 1}, 0))


def _form(nl: Netlist, node: Node) -> Form:
    if isinstance(node, Const):
        return {}, node.value
    if isinstance(node, Neg):
        coef, const = _source_form(nl, node.a)
        return {j: -c for j, c in coef.items()}, -const
    assert isinstance(node, Add)
    coef: dict[int, int] = {}
    const = 0
    for op in (node.a, node.b):
        if op is None:
            continue
        scale = op.sign << op.shift
        src, k = _source_form(nl, op.node)
        for j, c in src.items():
            coef[j] = coef.get(j, 0) + scale * c
        const += scale * k
    return {j: c for j, c in coef.items() if c}, const


def _form_range(nl: Netlist, form: Form) -> tuple[int, int]:
    coef, const = form
    lo = hi = const
    for j, c in coef.items():
        a, b = c * nl.nodes[j].lo, c * nl.nodes[j].hi
        lo, hi = lo + min(a, b), hi + max(a, b)
    return lo, hi


def _interval(nl: Netlist, node: Node) -> tuple[int, int]:
    def span(i: int) -> tuple[int, int]:
        return nl.nodes[i].lo, nl.nodes[i].hi

    if isinstance(node, (Input, Reg, Bound)):
        return node.lo, node.hi
    if isinstance(node, RoundShift):
        half = (1 << (node.shift - 1)) if node.round and node.shift > 0 else 0
        lo, hi = span(node.a)
        return (lo + half) >> node.shift, (hi + half) >> node.shift
    if isinstance(node, Clamp):
        lo, hi = span(node.a)
        return min(max(lo, node.low), node.high), max(min(hi, node.high), node.low)
    if isinstance(node, Relu):
        lo, hi = span(node.a)
        return max(lo, 0), max(hi, 0)
    if isinstance(node, Mux):
        (a, b), (c, d) = span(node.if1), span(node.if0)
        return min(a, c), max(b, d)
    if isinstance(node, Greater):
        return 0, 1
    if isinstance(node, Rom):
        return _rom_interval(nl, node)
    if isinstance(node, Output):
        return span(node.a)
    raise HadamhwError(f"internal: no interval rule for {type(node).__name__}")


def _rom_interval(nl: Netlist, node: Rom) -> tuple[int, int]:
    lo, hi = nl.nodes[node.addr].lo, nl.nodes[node.addr].hi
    reach = [node.table[a] for a in range(max(lo, 0), min(hi, len(node.table) - 1) + 1)]
    if hi >= len(node.table) or lo < 0:
        reach.append(node.default)
    return min(reach), max(reach)


def check_registers(nl: Netlist) -> None:
    """Every register's declared interval must hold its reset value and its data: then it
    holds every value the register ever takes."""
    for i in nl.registers():
        reg = nl.nodes[i]
        assert isinstance(reg, Reg)
        d = nl.nodes[reg.d]
        if not (reg.lo <= reg.init <= reg.hi and reg.lo <= d.lo and d.hi <= reg.hi):
            raise HadamhwError(f"internal: register {i} ({reg.name}) declares "
                               f"[{reg.lo}, {reg.hi}] but takes {reg.init} and "
                               f"[{d.lo}, {d.hi}]")


def is_adder(node: Node) -> bool:
    """One two-input adder or subtractor (a negation counts as one; a shift is wiring)."""
    if isinstance(node, Neg):
        return True
    if isinstance(node, Add):
        return node.b is not None or node.a.sign < 0
    return False


def adders_by_group(nl: Netlist) -> dict[str, int]:
    out: dict[str, int] = {}
    for nd in nl.nodes:
        if is_adder(nd):
            out[nd.group] = out.get(nd.group, 0) + 1
    return out


def register_bits(nl: Netlist) -> dict[str, int]:
    """Flip-flops per register purpose ("state", "pipeline", "control"): the widths of the
    netlist's registers. A register without a purpose is refused (every builder and pass
    says why it places one)."""
    out = dict.fromkeys(PURPOSES, 0)
    for i in nl.registers():
        reg = nl.nodes[i]
        assert isinstance(reg, Reg)
        if reg.purpose not in out:
            raise HadamhwError(f"internal: register {i} ({reg.name}) has purpose "
                               f"{reg.purpose!r}, not one of {', '.join(PURPOSES)}")
        out[reg.purpose] += reg.width
    return out
