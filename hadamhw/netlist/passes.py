"""Passes: pure netlist -> netlist functions that keep the evaluator's result unchanged.

- `remove_dead`: drops every node that no output reads (through any chain of operands,
  register data and register enables); input ports stay (they are the interface);
- `tighten_widths`: narrows every register's declared interval to what it can hold (its
  reset value and its data's interval, iterated to a fixed point) and derives every
  other interval again;
- `pipeline_readout`: registers on the feed-forward part after the state registers, cut by
  adder level (`latency` more cycles to the outputs).
"""

from __future__ import annotations

from dataclasses import replace

from hadamhw.errors import HadamhwError
from hadamhw.netlist.evaluate import topological_order
from hadamhw.netlist.nodes import (
    Const,
    Netlist,
    Node,
    Operand,
    Reg,
    check_registers,
    is_adder,
    rebuild,
)

MAX_TIGHTEN_ROUNDS = 64


def reads(node: Node) -> tuple[int, ...]:
    """Every node whose value `node` needs: its operands, and a register's data and
    enable."""
    if isinstance(node, Reg):
        return (node.d,) if node.enable is None else (node.d, node.enable)
    return node.operands()


def renumber(node: Node, index: dict[int, int]) -> Node:
    """`node` with every reference mapped through `index` (old -> new position)."""
    def new(i: int) -> int:
        if i not in index:
            raise HadamhwError(f"internal: a kept node reads removed node {i}")
        return index[i]

    changes: dict = {}
    for name in ("a", "b", "sel", "if1", "if0", "addr", "d", "enable"):
        ref = getattr(node, name, None)
        if isinstance(ref, Operand):
            changes[name] = replace(ref, node=new(ref.node))
        elif isinstance(ref, int):
            changes[name] = new(ref)
    return replace(node, **changes)


def _restrict(nl: Netlist, keep: list[int]) -> Netlist:
    """The nodes `keep` (in that order, combinationally topological), renumbered."""
    index = {old: new for new, old in enumerate(keep)}
    tags = {tag: [index[i] for i in nodes if i in index] for tag, nodes in nl.tags.items()}
    return rebuild([renumber(nl[i], index) for i in keep], tags)


def remove_dead(nl: Netlist) -> Netlist:
    """The netlist without the nodes that no output reads."""
    live = set(nl.outputs().values()) | set(nl.inputs().values())
    todo = list(live)
    while todo:
        for src in reads(nl[todo.pop()]):
            if src not in live:
                live.add(src)
                todo.append(src)
    return _restrict(nl, [i for i in topological_order(nl) if i in live])


def register_interval(nl: Netlist, reg: Reg) -> tuple[int, int]:
    """What a register can hold, given its declared interval: its reset value and its
    data's interval (inside the declared one)."""
    d = nl[reg.d]
    return max(reg.lo, min(reg.init, d.lo)), min(reg.hi, max(reg.init, d.hi))


def tighten_widths(nl: Netlist) -> Netlist:
    """Registers narrowed to what they can hold, every interval derived again.

    Each round is sound on its own: every value a register takes lies in its reset value
    or its data's interval, which is computed from intervals that hold every value."""
    cur = _restrict(nl, topological_order(nl))
    for _ in range(MAX_TIGHTEN_ROUNDS):
        nodes = list(cur.nodes)
        changed = False
        for i in cur.registers():
            reg = cur[i]
            assert isinstance(reg, Reg)
            lo, hi = register_interval(cur, reg)
            if (lo, hi) != (reg.lo, reg.hi):
                nodes[i] = replace(reg, lo=lo, hi=hi)
                changed = True
        if not changed:
            break
        cur = rebuild(nodes, cur.tags)
    check_registers(cur)
    return cur


def adder_levels(nl: Netlist) -> list[int]:
    """Adders on the longest combinational path from a register or port to each node."""
    level = [0] * len(nl)
    for i in topological_order(nl):
        nd = nl[i]
        if isinstance(nd, Reg):
            continue
        deepest = max((level[j] for j in nd.operands()), default=0)
        level[i] = deepest + (1 if is_adder(nd) else 0)
    return level


def pipeline_readout(nl: Netlist, levels_per_stage: int, group: str = "pipeline") -> Netlist:
    """Registers after every `levels_per_stage` adder levels of the readout cone (the nodes
    between the state registers and the outputs that no input port reaches).

    A cone node of adder level l belongs to stage s = max(0, ceil(l / levels_per_stage) - 1)
    and computes from the state of s cycles ago: it reads each operand of stage s' through
    s - s' registers (shared per operand and depth; constants are never delayed). Every
    output leaves from the deepest stage: `pipeline_latency` more cycles."""
    if levels_per_stage < 1:
        raise HadamhwError(f"pipeline: levels per stage must be at least 1, got "
                           f"{levels_per_stage}")
    level = adder_levels(nl)
    cone = _readout_cone(nl)
    stage = {i: max(0, -(-level[i] // levels_per_stage) - 1) for i in cone}
    deepest = max(stage.values(), default=0)
    stage.update({i: deepest for i in nl.outputs().values()})
    nodes: list[Node] = []
    index: dict[int, int] = {}
    delayed: dict[tuple[int, int], int] = {}

    def seen(j: int, depth: int) -> int:
        """Old node j, `depth` cycles later (its new index)."""
        if depth <= 0 or isinstance(nl[j], Const):
            return index[j]
        if (j, depth) not in delayed:
            prev = seen(j, depth - 1)
            nd = nodes[prev]
            nodes.append(Reg(d=prev, lo=nd.lo, hi=nd.hi, init=min(max(0, nd.lo), nd.hi),
                             group=group, name=f"p{j}_{depth}", purpose="pipeline"))
            delayed[j, depth] = len(nodes) - 1
        return delayed[j, depth]

    for i in topological_order(nl):
        s = stage.get(i, 0)
        refs = {j: seen(j, s - stage.get(j, 0)) for j in nl[i].operands()}
        nodes.append(nl[i] if isinstance(nl[i], Reg) else renumber(nl[i], {**index, **refs}))
        index[i] = len(nodes) - 1
    for i in nl.registers():  # the netlist's own registers read their data at its new place
        nodes[index[i]] = renumber(nl[i], index)
    tags = {tag: [index[i] for i in ids] for tag, ids in nl.tags.items()}
    order = topological_order(Netlist(nodes=nodes))
    return _restrict(Netlist(nodes=nodes, tags=tags), order)


def _readout_cone(nl: Netlist) -> set[int]:
    """Combinational nodes that lead to an output and that no input port reaches."""
    tainted = set(nl.inputs().values())
    for i in topological_order(nl):
        if any(j in tainted for j in nl[i].operands()):
            tainted.add(i)
    cone: set[int] = set()
    todo = list(nl.outputs().values())
    while todo:
        i = todo.pop()
        if i in cone or i in tainted or isinstance(nl[i], Reg):
            continue
        cone.add(i)
        todo.extend(nl[i].operands())
    return cone


def pipeline_latency(nl: Netlist, group: str = "pipeline") -> int:
    """Registers of `group` on the longest path from the state to an output."""
    depth: dict[int, int] = {}
    for i in topological_order(nl):
        depth[i] = max((depth[j] for j in nl[i].operands()), default=0)
    regs = sorted((i for i in nl.registers() if nl[i].group == group),
                  key=lambda i: nl[i].name)
    for _ in range(len(regs) + 1):  # a register's depth: one more than its data's
        stable = True
        for i in regs:
            want = 1 + depth[nl[i].d]  # type: ignore[attr-defined]
            if depth[i] != want:
                depth[i], stable = want, False
        for i in topological_order(nl):
            if not isinstance(nl[i], Reg):
                depth[i] = max((depth[j] for j in nl[i].operands()), default=0)
        if stable:
            break
    return max((depth[i] for i in nl.outputs().values()), default=0)
