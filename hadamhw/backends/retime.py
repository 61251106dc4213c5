"""Pipeline registers of the Verilog datapath: every wire computed in a known cycle.

Cycles count from the issue of a time step (cycle 0: the step leaves the input register).
A wire declared with `place(decl, cycle)` is computed combinationally in that cycle; an
operand it reads that was computed in an earlier cycle is replaced by its copy delayed to
this cycle, a chain of free-running registers `<name>_c<cycle>` (no enable, no reset: a
step's data simply travels with the step; the control flags that say whether a cycle
holds a step are delayed the same way, with a reset). Each copy is made once and shared.
"""

from __future__ import annotations

import re

from hadamhw.errors import HadamhwError


class Retimer:
    def __init__(self) -> None:
        self.cycle: dict[str, int] = {}  # wire -> cycle its value is computed in
        self.width: dict[str, int] = {}
        self.signed: dict[str, bool] = {}
        self.resets: set[str] = set()  # sources whose copies clear on rst (valid flags)
        self.regs: list[dict] = []  # name, msb, src, signed, reset: one register each
        self._copies: dict[tuple[str, int], str] = {}

    def source(self, name: str, width: int, cycle: int, *, signed: bool = False,
               reset: bool = False) -> str:
        """A wire (or register output) whose value belongs to `cycle`."""
        self.cycle[name], self.width[name], self.signed[name] = cycle, width, signed
        if reset:
            self.resets.add(name)
        return name

    def at(self, name: str, cycle: int) -> str:
        """`name` as seen in `cycle` (itself, or a delayed copy)."""
        if name not in self.cycle:
            raise HadamhwError(f"internal: pipeline timing of {name} is unknown")
        own = self.cycle[name]
        if cycle < own:
            raise HadamhwError(f"internal: {name} (cycle {own}) is read in cycle {cycle}")
        if cycle == own:
            return name
        key = (name, cycle)
        if key not in self._copies:
            prev = self.at(name, cycle - 1)
            copy = f"{name}_c{cycle}"
            # skip: the chain one register shorter, for the mutation test that corrupts the
            # template to use it (tests/test_verilog_batch.py, drive-register-skipped)
            skip = self.at(name, cycle - 2) if cycle - 2 >= own else None
            self.regs.append({"name": copy, "msb": self.width[name] - 1, "src": prev,
                              "skip": skip, "signed": self.signed[name],
                              "reset": name in self.resets})
            self._copies[key] = copy
        return self._copies[key]

    def operands(self, expr: str) -> list[str]:
        """The timed wires an expression reads (identifiers, not the digits of literals)."""
        found = []
        for name in _IDENT.findall(expr):
            if name in self.cycle and name not in found:
                found.append(name)
        return found

    def ready(self, expr: str, floor: int = 0) -> int:
        """The first cycle (>= floor) in which every wire of `expr` is available."""
        return max([floor, *(self.cycle[op] for op in self.operands(expr))])

    def place(self, decl: dict, cycle: int | None = None) -> dict:
        """The declaration `decl` (name, msb, expr, ...) computed in `cycle` (None: as soon
        as its operands are there), its operands read as of that cycle. A declaration that
        reads no timed wire is a constant: it gets no cycle and is never delayed."""
        expr = decl["expr"]
        ops = self.operands(expr)
        if not ops:
            return dict(decl)
        if cycle is None:
            cycle = max(self.cycle[op] for op in ops)
        for op in ops:
            if self.cycle[op] < cycle:
                expr = _IDENT.sub(lambda m, op=op: self.at(op, cycle) if m.group(0) == op
                                  else m.group(0), expr)
        self.source(decl["name"], decl["msb"] + 1, cycle, signed=decl.get("signed", False))
        return {**decl, "expr": expr}


# An identifier that is not the base-and-digits tail of a sized literal (12'h0ff).
_IDENT = re.compile(r"(?<!['\w$])[A-Za-z_][A-Za-z0-9_$]*")
