"""The dense baseline of the recurrent core: r = diag(s) · blockdiag(H_m) · h as adder trees.

For comparison only (`hadamhw generate --recurrent dense`). Each output element r_i sums the
m nonzero terms ±h_j of its row of W·sqrt(m) = diag(s)·blockdiag(H_m, ..., H_m) in its own
balanced binary adder tree: m - 1 adders/subtractors per row, n·(m - 1) in all, against the
n·log2(m) of the butterflies. The signs fold into add/subtract: a subtree carries a polarity,
(+x) + (+y) = x + y, (+x) + (-y) = x - y, (-x) + (-y) = -(x + y) kept as a negative subtree;
only a row whose terms are all negative ends in one 0 - x - y.

Each row is an instance of its own row module, marked keep_hierarchy (rows with the same
coefficients, such as the same H_m row in another block, share the module), and every tree
node is a kept wire. Without the first, synthesis merges equal partial sums of different
rows and comes close to rebuilding the butterflies out of the "dense" rows (structural
hashing at n = m = 128 leaves 1 538 of the 16 256 adders); without the second, Yosys folds
a row into one multi-operand $macc of LUT full adders instead of a carry-chain adder per
node. Either would stop the baseline from being the dense product whose cost n·(m - 1)
states. A row lists its positive terms first, then its negative ones, in index order.

The trees are the nodes of hadamhw.netlist.dense's netlist (the same netlist whose other
sections hadamhw.netlist.shells_dense prints into the top module); this module only prints
them. Every tree node is sized from the exact interval of the sum it holds (terms of
widths.state bits); the root is widths.rotated bits, which holds every row's worst case.
"""

from __future__ import annotations

from hadamhw.backends.verilog_text import bit_slice, lit, resize
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_bits
from hadamhw.netlist import dense
from hadamhw.netlist.dense import dense_matrix, row_cone, row_pattern, sylvester
from hadamhw.netlist.nodes import Add, Netlist

__all__ = ["dense_matrix", "dense_rotate_context", "sylvester"]


def _row_nodes(nl: Netlist, root: int, leaves: dict[int, int], bh: int, br: int,
               pattern: int) -> list[dict]:
    """One row's tree as the row module's wires: leaves are slices of the block `h`
    (element j at [j*bh +: bh]), inner nodes n<k>, the root `r` (br bits)."""
    names: dict[int, tuple[str, str, int]] = {  # node -> (expr, its top bit, width)
        i: (bit_slice("h", j * bh, bh), bit_slice("h", j * bh + bh - 1, 1), bh)
        for i, j in leaves.items()}
    out = []
    for i in row_cone(nl, root):
        nd = nl[i]
        assert isinstance(nd, Add) and nd.b is not None
        width = signed_bits(nd.lo, nd.hi)
        if i == root:
            if width > br:
                raise HadamhwError(f"internal: row pattern {pattern} of the dense core needs "
                                   f"{width} bits, more than widths.rotated = {br}")
            name, width = "r", br
        else:
            name = f"n{len(out)}"
        ea, eb = (resize(names[op.node][0], names[op.node][1], names[op.node][2], width)
                  for op in (nd.a, nd.b))
        if nd.a.sign < 0:
            expr = f"{lit(0, width)} - {ea} - {eb}"
        else:
            expr = f"{ea} {'+' if nd.b.sign > 0 else '-'} {eb}"
        out.append({"name": name, "msb": width - 1, "expr": expr, "root": i == root})
        names[i] = (name, bit_slice(name, width - 1, 1), width)
    return out


def dense_rotate_context(ir: IntegerRNN, top: str, nl: Netlist | None = None) -> dict:
    """Context of templates/verilog/rotate_dense.v.j2: one adder tree per row of W·sqrt(m),
    printed from the dense netlist `nl` (built here when None).

    Rows with the same coefficients on their block (the same H_m row and sign in different
    blocks) share one row module, printed from the first such row; each row is its own
    instance. Every row's tree must print the same as its module's (checked).
    """
    nl = dense.build(ir) if nl is None else nl
    n, m = ir.hidden_size, ir.block_size
    bh, br = ir.widths.state, ir.widths.rotated
    w = dense_matrix(ir)
    h_cur = nl.tags["h_cur"]
    modules: dict[tuple[int, ...], dict] = {}
    instances = []
    for i, root in enumerate(nl.tags["rotated"]):
        base = (i // m) * m
        coeffs = row_pattern(ir, w, i)
        index = modules[coeffs]["index"] if coeffs in modules else len(modules)
        leaves = {h_cur[base + j]: j for j in range(m)}
        nodes = _row_nodes(nl, root, leaves, bh, br, index)
        if coeffs not in modules:
            modules[coeffs] = {
                "name": f"{top}_rotate_row_pattern{index}", "index": index,
                "positive": [j for j in range(m) if coeffs[j] > 0],
                "negative": [j for j in range(m) if coeffs[j] < 0], "nodes": nodes}
        elif nodes != modules[coeffs]["nodes"]:
            raise HadamhwError(f"internal: row {i} of the dense core differs from its row "
                               f"module {index}")
        instances.append({"row": i, "module": modules[coeffs]["name"],
                          "h": bit_slice("h", base * bh, m * bh),
                          "r": bit_slice("r", i * br, br)})
    row_modules = sorted(modules.values(), key=lambda r: r["index"])
    adders = sum(len(row_cone(nl, root)) for root in nl.tags["rotated"])
    return {"top": top, "n": n, "m": m, "k": ir.k, "row_modules": row_modules,
            "instances": instances, "adders": adders, "state_bits": bh, "rotated_bits": br,
            "state_msb": n * bh - 1, "rotated_msb": n * br - 1, "block_msb": m * bh - 1,
            "row_msb": br - 1}
