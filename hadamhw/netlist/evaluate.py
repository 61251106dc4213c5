"""The netlist evaluator: numpy int64 over a batch, cycle by cycle.

Every node's value is an int64 array (one entry per batch lane), reduced to the node's
width as the hardware's wire would hold it (two's complement wrap-around), so a netlist
whose intervals are too narrow computes wrong values here as in the HDL. Additions,
subtractions and left shifts are exact modulo 2^64 before that reduction, so a node of at
most 63 bits is exact; wider nodes are refused.
"""

from __future__ import annotations

import numpy as np

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
    Output,
    Reg,
    Relu,
    Rom,
    RoundShift,
)

MAX_EVAL_WIDTH = 63


def topological_order(nl: Netlist) -> list[int]:
    """Every node after its combinational operands (registers are sources)."""
    order: list[int] = []
    state = [0] * len(nl)  # 0 new, 1 on the stack, 2 done
    for root in range(len(nl)):
        stack = [(root, iter(nl[root].operands()))]
        if state[root]:
            continue
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state[nxt] == 1:
                raise HadamhwError(f"netlist: combinational loop through node {nxt}")
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(nl[nxt].operands())))
    return order


def wrap(v: np.ndarray, node: Node) -> np.ndarray:
    """v reduced to the node's width, two's complement (what its wire holds)."""
    width = node.width
    mask = np.int64((1 << width) - 1) if width < 64 else np.int64(-1)
    if node.signed:
        half = np.int64(1 << (width - 1))
        return ((v + half) & mask) - half
    return v & mask


class Simulator:
    """Cycle-by-cycle evaluation of a netlist over `batch` lanes."""

    def __init__(self, nl: Netlist, batch: int) -> None:
        wide = [i for i, nd in enumerate(nl.nodes) if nd.width > MAX_EVAL_WIDTH]
        if wide:
            raise HadamhwError(f"netlist node {wide[0]} is {nl[wide[0]].width} bits wide; "
                               f"the int64 evaluator takes at most {MAX_EVAL_WIDTH}")
        self.nl = nl
        self.batch = batch
        self.order = topological_order(nl)
        self.state = {i: np.full(batch, nl[i].init, dtype=np.int64)  # type: ignore[attr-defined]
                      for i in nl.registers()}
        self.violations = 0  # node values outside their intervals (a netlist bug)
        self.values: list[np.ndarray] = []

    def step(self, inputs: dict[str, np.ndarray | int]) -> dict[str, np.ndarray]:
        """One cycle: the outputs with the current register state and `inputs`, then the
        clock edge."""
        values: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(self.nl)
        for i in self.order:
            nd = self.nl[i]
            v = self._value(nd, i, values, inputs)
            self.violations += int(np.count_nonzero((v < nd.lo) | (v > nd.hi)))
            values[i] = wrap(v, nd)
        self.values = values
        outs = {nd.name: values[i] for i, nd in enumerate(self.nl.nodes)
                if isinstance(nd, Output)}
        self._clock(values)
        return outs

    def _clock(self, values: list[np.ndarray]) -> None:
        for i in self.state:
            reg = self.nl[i]
            assert isinstance(reg, Reg)
            new = values[reg.d]
            if reg.enable is not None:
                new = np.where(values[reg.enable] != 0, new, self.state[i])
            self.violations += int(np.count_nonzero((new < reg.lo) | (new > reg.hi)))
            self.state[i] = wrap(new, reg)

    def _value(self, nd: Node, i: int, values: list[np.ndarray],
               inputs: dict[str, np.ndarray | int]) -> np.ndarray:
        if isinstance(nd, Input):
            if nd.name not in inputs:
                raise HadamhwError(f"netlist evaluator: no value for input port {nd.name!r}")
            return np.broadcast_to(np.asarray(inputs[nd.name], dtype=np.int64),
                                   (self.batch,)).copy()
        if isinstance(nd, Reg):
            return self.state[i]
        if isinstance(nd, Const):
            return np.full(self.batch, nd.value, dtype=np.int64)
        return combinational(nd, values)


def combinational(nd: Node, values: list[np.ndarray]) -> np.ndarray:
    """The value of a node that is neither a port nor a register nor a constant."""
    if isinstance(nd, Add):
        out = nd.a.sign * (values[nd.a.node] << np.int64(nd.a.shift))
        if nd.b is not None:
            out = out + nd.b.sign * (values[nd.b.node] << np.int64(nd.b.shift))
        return out
    if isinstance(nd, Neg):
        return -values[nd.a]
    if isinstance(nd, RoundShift):
        v = values[nd.a]
        if nd.round and nd.shift > 0:
            v = v + np.int64(1 << (nd.shift - 1))
        return v >> np.int64(nd.shift)
    if isinstance(nd, Clamp):
        return np.clip(values[nd.a], nd.low, nd.high)
    if isinstance(nd, Relu):
        return np.maximum(values[nd.a], 0)
    if isinstance(nd, Mux):
        return np.where(values[nd.sel] != 0, values[nd.if1], values[nd.if0])
    if isinstance(nd, Greater):
        return (values[nd.a] > values[nd.b]).astype(np.int64)
    if isinstance(nd, Rom):
        table = np.array([*nd.table, nd.default], dtype=np.int64)
        addr = values[nd.addr]
        return table[np.where((addr >= 0) & (addr < len(nd.table)), addr, len(nd.table))]
    if isinstance(nd, (Output, Bound)):
        return values[nd.a]
    raise HadamhwError(f"netlist evaluator: no rule for {type(nd).__name__}")
