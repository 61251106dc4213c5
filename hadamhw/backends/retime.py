"""Pipeline registers of the Verilog datapath: every wire computed in a known cycle.

Cycles count from the issue of a time step (cycle 0: the step leaves the input register).
A wire declared with `place(decl, cycle)` is computed combinationally in that cycle; an
operand it reads that was computed in an earlier cycle is replaced by its copy delayed to
this cycle, a chain of free-running registers `<name>_c<cycle>` (no enable, no reset: a
step's data simply travels with the step; the control flags that say whether a cycle
holds a step are delayed the same way, with a reset). Each copy is made once and shared.

A declaration states the wires it reads (`reads`) and prints itself through its `form`
(hadamhw.backends.verilog_sections.decl): the retimer reads no expression text.
"""

from __future__ import annotations

from collections.abc import Iterable

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
            self.regs.append({"name": copy, "of": name, "msb": self.width[name] - 1, "src": prev,
                              "skip": skip, "signed": self.signed[name],
                              "reset": name in self.resets})
            self._copies[key] = copy
        return self._copies[key]

    def operands(self, reads: Iterable[str]) -> list[str]:
        """The timed wires among `reads` (a declaration's wires)."""
        return [name for name in reads if name in self.cycle]

    def ready(self, reads: Iterable[str], floor: int = 0) -> int:
        """The first cycle (>= floor) in which every wire of `reads` is available."""
        return max([floor, *(self.cycle[op] for op in self.operands(reads))])

    def place(self, decl: dict, cycle: int | None = None) -> dict:
        """The declaration `decl` (name, msb, expr, reads, form, ...) computed in `cycle`
        (None: as soon as its operands are there), its operands read as of that cycle. A
        declaration that reads no timed wire is a constant: it gets no cycle and is never
        delayed."""
        ops = self.operands(decl["reads"])
        if not ops:
            return dict(decl)
        if cycle is None:
            cycle = max(self.cycle[op] for op in ops)
        at = cycle

        def as_of(name: str) -> str:
            """The wire as the declaration reads it in its cycle (a delayed copy if older)."""
            return self.at(name, at) if name in self.cycle and self.cycle[name] < at else name

        form = decl["form"]
        expr = form(as_of)  # makes the copies, in the order the expression reads them
        self.source(decl["name"], decl["msb"] + 1, cycle, signed=decl.get("signed", False))
        return {**decl, "expr": expr, "reads": [as_of(name) for name in decl["reads"]],
                "form": lambda wire: form(lambda name: wire(as_of(name)))}
