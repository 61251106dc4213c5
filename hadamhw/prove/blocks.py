"""The arithmetic blocks of a design's netlist, proved by what they are.

An adder graph whose nodes cannot overflow computes an exact integer affine map, and two
affine maps are equal iff their coefficient vectors and constants are. The netlist keeps
each adder node's exact affine form over its nearest non-affine sources (ports, registers,
ROM reads, muxes), so each block's output is compared with the IR's map coefficient by
coefficient, exactly, for all inputs at once:

- the state update: v_i (input drive, rotation and the requantization's sum in one form)
  over h_cur_j and the input words (or the token ROM's entries), then its shift and clamp;
- the readout: y_o over z_i = relu(h_i), then the output requantization's sum, shift, clamp.

A design may drop the power of two 2^t that every term of the requantization shares:
for an integer X, floor((2^t X + c) / 2^S) = floor((X + floor(c / 2^t)) / 2^(S - t)), so
the design's sum must be the IR's divided by 2^t, with the constant floor(c / 2^t).
"""

from __future__ import annotations

from dataclasses import dataclass

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_range
from hadamhw.netlist.check import check_ir_widths
from hadamhw.netlist.nodes import Clamp, Const, Input, Mux, Netlist, Reg, Relu, Rom, RoundShift
from hadamhw.netlist.plan import requant_plan


@dataclass
class Finding:
    """One block's verdict: ok, or the first difference in one line."""

    ok: bool
    message: str
    checked: int = 0  # coefficients (and bounds) compared


def form_of(nl: Netlist, index: int) -> tuple[dict[int, int], int]:
    """Node `index` as an affine form over non-affine sources (itself if it is one)."""
    return nl.forms.get(index, ({index: 1}, 0))


def hadamard(a: int, b: int) -> int:
    """Entry (a, b) of the Sylvester Hadamard matrix H_m (unnormalised)."""
    return -1 if bin(a & b).count("1") % 2 else 1


def rotation_row(ir: IntegerRNN, i: int) -> dict[int, int]:
    """The IR's r_i = s_i * sum_j H_m[i mod m, j mod m] h_j as {j: coefficient}."""
    m = ir.block_size
    base = i - i % m
    return {j: int(ir.signs[i]) * hadamard(i % m, j % m) for j in range(base, base + m)}


def _state_sources(nl: Netlist) -> dict[int, int]:
    """node index of h_cur_j -> j, checking that h_cur_j is `fresh ? 0 : h_j`."""
    out = {}
    for j, idx in enumerate(nl.tags["h_cur"]):
        mux = nl[idx]
        if not (isinstance(mux, Mux) and isinstance(nl[mux.if1], Const) and nl[mux.if1].value == 0
                and isinstance(nl[mux.if0], Reg) and nl[mux.if0].name == f"h{j}"):
            raise HadamhwError(f"the state read h_cur[{j}] is not 'fresh ? 0 : h{j}'")
        out[idx] = j
    return out


def _word_sources(nl: Netlist, ir: IntegerRNN) -> dict[int, int]:
    ports = nl.inputs()
    return {ports[f"x{k}"]: k for k in range(ir.input.size) if f"x{k}" in ports}


def _compare(want: dict, have: dict, what: str) -> str:
    for key in sorted(set(want) | set(have), key=str):
        if want.get(key, 0) != have.get(key, 0):
            return (f"{what}: coefficient of {key} is {have.get(key, 0)}, "
                    f"the IR's {want.get(key, 0)}")
    return ""


def _state_row(nl: Netlist, ir: IntegerRNN, i: int, v: int, hs: dict, xs: dict) -> str:
    """The design's v_i against (r_i M_r + a_i M_a + half) / 2^t."""
    rq = ir.requant
    t = rq.shift - nl[_only_user(nl, v, RoundShift)].shift
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    coef, const = form_of(nl, v)
    have_h = {f"h{hs[s]}": c << t for s, c in coef.items() if s in hs}
    want_h = {f"h{j}": c * rq.rotate_mult for j, c in rotation_row(ir, i).items()}
    msg = _compare(want_h, have_h, f"state update row {i} (rotation)")
    rest = {s: c for s, c in coef.items() if s not in hs}
    if ir.input.kind == "token":
        return msg or _token_row(nl, ir, i, rest, const, t, half)
    have_x = {f"x{xs[s]}": c << t for s, c in rest.items() if s in xs}
    want_x = {f"x{k}": int(ir.input_weight[i][k]) * rq.input_mult for k in range(ir.input.size)}
    msg = msg or _compare(want_x, have_x, f"state update row {i} (input drive)")
    if not msg and set(rest) - set(xs):
        msg = f"state update row {i}: depends on nodes {sorted(set(rest) - set(xs))}"
    want_c = (int(ir.input_bias[i]) * rq.input_mult + half) >> t
    if not msg and const != want_c:
        msg = f"state update row {i}: constant {const}, the IR's {want_c}"
    return msg


def _token_row(nl: Netlist, ir: IntegerRNN, i: int, rest: dict, const: int, t: int,
               half: int) -> str:
    """Token input: v_i reads one ROM; each id's entry against (U[i, v] + b_i) M_a + half."""
    if len(rest) != 1 or not isinstance(nl[next(iter(rest))], Rom):
        return f"state update row {i}: the drive is not one ROM read"
    (rom_idx, c), = rest.items()
    rom = nl[rom_idx]
    b, ma = int(ir.input_bias[i]), ir.requant.input_mult
    entries = list(rom.table) + [rom.default]
    values = [int(ir.input_weight[i][v]) + b for v in range(ir.input.size)] + [b]
    for v, (entry, a) in enumerate(zip(entries, values, strict=True)):
        if c * entry + const != (a * ma + half) >> t:
            return (f"state update row {i}: token {v if v < ir.input.size else 'beyond'} "
                    f"drives {c * entry + const}, the IR's {(a * ma + half) >> t}")
    return ""


def _only_user(nl: Netlist, index: int, kind: type) -> int:
    users = [k for k, nd in enumerate(nl.nodes) if isinstance(nd, kind) and index in nd.operands()]
    if len(users) != 1:
        raise HadamhwError(f"node {index} feeds {len(users)} {kind.__name__} nodes, not one")
    return users[0]


def _shift_clamp(nl: Netlist, v: int, shift: int, low: int, high: int, what: str) -> str:
    """v >> shift (the rounding already in v's constant), then clamp(low, high)."""
    rs = _only_user(nl, v, RoundShift)
    cl = _only_user(nl, rs, Clamp)
    node, clamp = nl[rs], nl[cl]
    if node.round or node.shift != shift:
        return f"{what}: shift {node.shift} (round {node.round}), the IR's {shift}"
    if (clamp.low, clamp.high) != (low, high):
        return f"{what}: clamp [{clamp.low}, {clamp.high}], the IR's [{low}, {high}]"
    return ""


def check_state_update(nl: Netlist, ir: IntegerRNN) -> Finding:
    """Input drive + rotation + requantization of every state element against the IR."""
    hs, xs = _state_sources(nl), _word_sources(nl, ir)
    lo, hi = signed_range(ir.widths.state)
    low = 0 if ir.mode == "vanilla" else lo  # vanilla: clamp(max(q, 0)) = clamp to [0, hi]
    for i, v in enumerate(nl.tags["requant_sum"]):
        t = ir.requant.shift - nl[_only_user(nl, v, RoundShift)].shift
        msg = (_state_row(nl, ir, i, v, hs, xs)
               or _shift_clamp(nl, v, ir.requant.shift - t, low, hi, f"state update row {i}"))
        if msg:
            return Finding(False, msg)
    return Finding(True, f"{len(nl.tags['requant_sum'])} rows equal the IR's map")


def _readout_sources(nl: Netlist) -> dict[int, int]:
    out = {}
    for idx in nl.tags["readout_in"]:
        z = nl[idx]
        if not (isinstance(z, Relu) and isinstance(nl[z.a], Reg) and nl[z.a].name[1:].isdigit()):
            raise HadamhwError(f"readout input node {idx} is not relu(h<i>)")
        out[idx] = int(nl[z.a].name[1:])
    return out


def check_readout(nl: Netlist, ir: IntegerRNN) -> Finding:
    """y = V relu(h) + c, and the output requantization, against the IR."""
    zs = _readout_sources(nl)
    orq = ir.output_requant
    for o, y in enumerate(nl.tags["output_acc"]):
        coef, const = form_of(nl, y)
        have = {f"z{zs[s]}": c for s, c in coef.items() if s in zs}
        want = {f"z{i}": int(ir.output_weight[o][i]) for i in range(ir.hidden_size)}
        msg = _compare(want, have, f"readout row {o}")
        if not msg and (set(coef) - set(zs) or const != int(ir.output_bias[o])):
            msg = (f"readout row {o}: constant {const} or extra sources, "
                   f"the IR's {ir.output_bias[o]}")
        if not msg and orq is not None:
            msg = _output_requant(nl, ir, o, y)
        if msg:
            return Finding(False, msg)
    return Finding(True, f"{ir.output_size} rows equal the IR's map")


def _output_requant(nl: Netlist, ir: IntegerRNN, o: int, y: int) -> str:
    orq = ir.output_requant
    half = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
    out = nl.tags["output"][o]
    clamp = nl[out]
    if not isinstance(clamp, Clamp) or not isinstance(nl[clamp.a], RoundShift):
        return f"output requantization {o}: not clamp(v >> shift)"
    rs = nl[clamp.a]
    ycoef, yconst = form_of(nl, y)
    coef, const = form_of(nl, rs.a)
    const += (1 << (rs.shift - 1)) if rs.round and rs.shift else 0
    want = {s: c * orq.mult for s, c in ycoef.items()}
    if coef != want or const != yconst * orq.mult + half or rs.shift != orq.shift:
        return f"output requantization {o}: not (y * {orq.mult} + {half}) >> {orq.shift}"
    lo, hi = signed_range(orq.bits)
    if (clamp.low, clamp.high) != (lo, hi):
        return (f"output requantization {o}: clamp [{clamp.low}, {clamp.high}], "
                f"the IR's [{lo}, {hi}]")
    return ""


def check_ir_quantities(nl: Netlist, ir: IntegerRNN) -> Finding:
    """Every node tagged with an IR quantity lies inside the IR's declared width."""
    try:
        count = check_ir_widths(nl, ir, {"requant_sum": requant_plan(ir).common})
    except HadamhwError as exc:
        return Finding(False, str(exc))
    return Finding(True, f"{count} nodes inside the IR's widths", count)


def node_widths(nl: Netlist) -> dict[str, int]:
    """The width each printed wire needs: n<index> for every node that is not a port."""
    return {f"n{i}": nd.width for i, nd in enumerate(nl.nodes) if not isinstance(nd, Input)
            and nd.name not in nl.outputs()}


# the design's wires that carry a tagged netlist quantity, by tag: (wire prefix, per-node
# names from the netlist's own node names where the tag covers only some elements)
DESIGN_WIRES = {"rotated": "r_", "requant_sum": "v_", "shifted": "q_", "output_acc": "y_"}


def design_wire_needs(nl: Netlist) -> dict[str, int]:
    """Wire name in the generated design -> the width its netlist node needs."""
    need = {}
    for tag, prefix in DESIGN_WIRES.items():
        for k, idx in enumerate(nl.tags.get(tag, [])):
            need[f"{prefix}{k}"] = nl[idx].width
    for idx in nl.tags.get("readout_in", []):
        need[f"z_{nl[idx].name[1:]}"] = nl[idx].width
    return need


def compare_widths(need: dict[str, int], have: dict[str, int], where: str) -> Finding:
    """Every wire at least as wide as its node needs."""
    for name, width in need.items():
        if name not in have:
            return Finding(False, f"{where}: no wire {name} (needs {width} bits)")
        if have[name] < width:
            return Finding(False, f"{where}: wire {name} has {have[name]} bits, its values "
                                  f"need {width}")
    return Finding(True, f"{len(need)} wires of {where} hold their nodes' intervals", len(need))
