"""The dense baseline's netlist printed into the Verilog templates' sections.

The dense core (`--recurrent dense`, fold parallel, no serial readout) is the single-cycle
core with another rotate module: its top module and its update and readout blocks are
printed from `dense.build` by hadamhw.netlist.shells.core_context, as the single-cycle
core's are, and its rotate module (templates/verilog/rotate_dense.v.j2) by
hadamhw.backends.verilog_dense from the same netlist's row trees.
"""

from __future__ import annotations

from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist import dense
from hadamhw.netlist.nodes import Netlist
from hadamhw.netlist.shells import core_context


def dense_context(ir: IntegerRNN, cmvm: str, top: str, interface: dict
                  ) -> tuple[dict, dict, Netlist]:
    """(top module context, analytical costs, the netlist) of the dense core; `interface`
    is the AXI4-Stream section's context (beat, FIFO, ports)."""
    nl = dense.build(ir, cmvm)
    ctx, costs = core_context(ir, nl, cmvm, top, "parallel", "dense", interface)
    return ctx, costs, nl
