"""Checks of a netlist against the IR it was built from."""

from __future__ import annotations

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN, Widths
from hadamhw.ir.widths import signed_range
from hadamhw.netlist.nodes import Netlist


def is_ir_quantity(tag: str) -> bool:
    """Tags that name an IR width ("state", "fwht[1]", ...); the others name roles."""
    return tag.startswith("fwht[") or tag in Widths.__dataclass_fields__


def declared_range(ir: IntegerRNN, tag: str) -> tuple[int, int]:
    """The range of the IR's declared width of quantity `tag` ("fwht[j]" for a stage)."""
    w = ir.widths
    if tag.startswith("fwht["):
        return signed_range(w.fwht[int(tag[5:-1])])
    if tag == "readout_in":  # unsigned
        return 0, (1 << w.readout_in) - 1
    return signed_range(getattr(w, tag))


def check_ir_widths(nl: Netlist, ir: IntegerRNN, scaled: dict[str, int] | None = None) -> int:
    """Every tagged node's interval must lie inside the IR's declared width for its
    quantity; `scaled`: quantities the netlist carries divided by 2^shift (the
    requantization sum without its common power of two). Returns the nodes checked."""
    count = 0
    for tag, nodes in nl.tags.items():
        if not is_ir_quantity(tag):
            continue
        lo, hi = declared_range(ir, tag)
        shift = (scaled or {}).get(tag, 0)
        lo, hi = lo >> shift, hi >> shift
        for i in nodes:
            nd = nl[i]
            if nd.lo < lo or nd.hi > hi:
                raise HadamhwError(f"netlist node {i} ({nd.name or type(nd).__name__}) spans "
                                   f"[{nd.lo}, {nd.hi}], outside the IR's '{tag}' range "
                                   f"[{lo}, {hi}]")
            count += 1
    return count
