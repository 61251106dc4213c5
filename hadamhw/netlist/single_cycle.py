"""Builder of the single-cycle architecture (fold parallel, one time step per cycle).

The datapath of hadamhw.backends.verilog's single-cycle core, as nodes:

- ports: the input words `x0..` (or the token id `token`; or, with `drive_port`, the token's
  drive row `d0..` read from an external table), `fire` (a step is taken this cycle) and
  `last` (it ends its sequence);
- state: registers `h<i>` (enable fire, reset 0) and `fresh` (the next step starts from
  h = 0: set by reset and by a last step); the step reads h_cur = fresh ? 0 : h;
- input drive d = (U x + b) M_a' + round: a ROM over tokens, or a constant matrix-vector
  product of the input words (da4ml's graph or CSD trees);
- rotation r = s * FWHT_m(h_cur): n log2 m adders, the sign folded into the last stage;
- requantization v = r M_r' + d, q = v >> S', h' = clamp(q) (to [0, max] in vanilla mode:
  max(q, 0) and the clamp in one) into the state registers;
- readout from the state registers: z = max(h, 0), y = V z + c, the optional output
  requantization, the argmax tree (ties to the lowest index); outputs `y<o>`, `argmax`.

A step taken in cycle c shows its outputs in cycle c + 1 (the readout reads the register).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.csd import csd_digits
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_range
from hadamhw.netlist.adders import Builder, Term, check_rows, cmvm_rows, da4ml_rows
from hadamhw.netlist.nodes import (
    Add,
    Clamp,
    Const,
    Greater,
    Input,
    Mux,
    Netlist,
    Operand,
    Output,
    Reg,
    Relu,
    Rom,
    RoundShift,
    check_registers,
)
from hadamhw.netlist.plan import RequantPlan, butterflies, drive_table, requant_plan

Rotation = Callable[[Netlist, IntegerRNN, list[int]], list[int]]


def build(ir: IntegerRNN, cmvm: str = "da4ml", drive_port: bool = False,
          rotate: Rotation | None = None) -> Netlist:
    """The single-cycle core's datapath of `ir`; constant products by `cmvm`. drive_port
    (token inputs): the drive row arrives on input ports `d<i>` (each with its ROM's
    interval) instead of being read from a ROM. rotate: the rotation's builder (default the
    butterflies, `rotation`; hadamhw.netlist.dense gives its row trees)."""
    nl = Netlist()
    plan = requant_plan(ir)
    fire = nl.add(Input(name="fire", lo=0, hi=1, group="control"))
    last = nl.add(Input(name="last", lo=0, hi=1, group="control"))
    x = _drive_ports(nl, ir, plan) if drive_port else input_ports(nl, ir)
    fresh = nl.add(Reg(name="fresh", lo=0, hi=1, init=1, group="control",
                       purpose="control"))
    nl.connect(fresh, last, fire)
    lo, hi = signed_range(ir.widths.state)
    h = [nl.add(Reg(name=f"h{i}", lo=lo, hi=hi, group="state", purpose="state"))
         for i in range(ir.hidden_size)]
    zero = nl.add(Const(value=0, group="control"))
    h_cur = [nl.add(Mux(sel=fresh, if1=zero, if0=hi_, group="control")) for hi_ in h]
    drive = x if drive_port else input_drive(nl, ir, plan, x, cmvm)
    r = (rotate or rotation)(nl, ir, h_cur)
    h_next = requantization(nl, ir, plan, r, drive, cmvm)
    return close_loop(nl, ir, cmvm, h, h_cur, drive, h_next, fire)


def close_loop(nl: Netlist, ir: IntegerRNN, cmvm: str, h: list[int], h_cur: list[int],
               drive: list[int], h_next: list[int], enable: int) -> Netlist:
    """What every core does with its next state h_next: the state registers h written
    when `enable`, the readout of h, the outputs and the argmax."""
    for reg, d in zip(h, h_next, strict=True):
        nl.connect(reg, d, enable)
    nl.tags.setdefault("state", []).extend(h + h_next)
    nl.tags.update({"h_cur": h_cur, "drive": drive, "hn": h_next})
    outs = readout(nl, ir, h, cmvm)
    for o, y in enumerate(outs):
        nl.add(Output(a=y, name=f"y{o}", group="readout"))
    nl.add(Output(a=argmax(nl, outs), name="argmax", group="argmax"))
    check_registers(nl)
    return nl


def input_ports(nl: Netlist, ir: IntegerRNN) -> list[int]:
    """`token`, or the input words `x<j>` (the one-step-a-cycle cores' input ports)."""
    lo, hi = ir.input.range()
    if ir.input.kind == "token":
        return [nl.add(Input(name="token", lo=lo, hi=hi, group="input"))]
    return [nl.add(Input(name=f"x{j}", lo=lo, hi=hi, group="input"))
            for j in range(ir.input.size)]


def _drive_ports(nl: Netlist, ir: IntegerRNN, plan: RequantPlan) -> list[int]:
    if ir.input.kind != "token":
        raise HadamhwError("an external drive table needs token inputs")
    table = drive_table(ir, plan)
    return [nl.add(Input(name=f"d{i}", lo=int(min(row)), hi=int(max(row)), group="input"))
            for i, row in enumerate(table)]


def input_drive(nl: Netlist, ir: IntegerRNN, plan: RequantPlan, x: list[int],
                cmvm: str) -> list[int]:
    """d = U x M_a' + b M_a' + round: a ROM over tokens (no adders), or a constant
    matrix-vector product of the input words."""
    if ir.input.kind == "token":
        table = drive_table(ir, plan)
        size = ir.input.size
        return [nl.add(Rom(addr=x[0], table=tuple(int(v) for v in table[i, :size]),
                           default=int(table[i, size]), name=f"d{i}", group="input"))
                for i in range(ir.hidden_size)]
    b = Builder(nl, "input")
    inputs = [xj if np.any(ir.input_weight[:, j]) else None for j, xj in enumerate(x)]
    if plan.input & (plan.input - 1) == 0:  # M_a' = 2^e: shifts, the rounding in the bias
        matrix = np.asarray(ir.input_weight, dtype=np.int64) * plan.input
        consts = [int(v) * plan.input + plan.round_const for v in ir.input_bias]
        rows = cmvm_rows(cmvm)(b, inputs, matrix, consts)
        check_rows(nl, inputs, rows, matrix, consts, "the input projection")
        return rows
    matrix = np.asarray(ir.input_weight, dtype=np.int64)  # a = U x + b, then a M_a' + round
    consts = [int(v) for v in ir.input_bias]
    rows = cmvm_rows(cmvm)(b, inputs, matrix, consts)
    check_rows(nl, inputs, rows, matrix, consts, "the input projection")
    nl.tags.setdefault("input_acc", []).extend(rows)
    return [_scale_drive(b, a, plan) for a in rows]


def _scale_drive(b: Builder, a: int, plan: RequantPlan) -> int:
    if plan.input == 0:
        return b.constant(plan.round_const)
    digits = csd_digits(plan.input)
    if len(digits) > 1 or plan.round_const:
        return b.scale(a, plan.input, plan.round_const)
    return b.add_constant(Term(a, digits[0].shift, digits[0].sign), 0)


def rotation(nl: Netlist, ir: IntegerRNN, h: list[int]) -> list[int]:
    """r = s * FWHT_m(h) in golden stage order; the last stage writes -(a + b) and b - a
    where s = -1 (one adder each)."""
    prev = list(h)
    stages = butterflies(ir.hidden_size, ir.block_size)
    for j, pairs in enumerate(stages, start=1):
        last = j == len(stages)
        cur = list(prev)
        for a, bb in pairs:
            s_sum = -1 if last and int(ir.signs[a]) < 0 else 1
            s_dif = -1 if last and int(ir.signs[bb]) < 0 else 1
            cur[a] = nl.add(Add(a=Operand(prev[a], 0, s_sum), b=Operand(prev[bb], 0, s_sum),
                                name=f"f{j}_{a}", group="recurrent"))
            cur[bb] = nl.add(Add(a=Operand(prev[a], 0, s_dif), b=Operand(prev[bb], 0, -s_dif),
                                 name=f"f{j}_{bb}", group="recurrent"))
        nl.tags.setdefault("rotated" if last else f"fwht[{j - 1}]", []).extend(cur)
        prev = cur
    if not stages:  # m = 1: r = s * h
        raise HadamhwError("the single-cycle netlist needs a block size of at least 2")
    return prev


def requantization(nl: Netlist, ir: IntegerRNN, plan: RequantPlan, r: list[int],
                   drive: list[int], cmvm: str, signs: list[int] | None = None) -> list[int]:
    """v = s r M_r' + d, q = v >> S', h' = clamp(q) (to [0, max] in vanilla mode); s_i = 1
    unless `signs` (the stage fold, whose bank leaves the sign to the add/subtract here)."""
    b = Builder(nl, "requant")
    lo, hi = signed_range(ir.widths.state)
    out = []
    for i, (ri, di) in enumerate(zip(r, drive, strict=True)):
        flip = 1 if signs is None else int(signs[i])
        if cmvm == "da4ml" and len(csd_digits(plan.rotate)) > 2:
            # a short CSD constant (log2 m odd): da4ml's graph for [M_r', 1] reuses partial
            # products of r (181 r + d: 4 adders, not 5)
            row = np.array([[flip * plan.rotate, 1]], dtype=np.int64)
            v = da4ml_rows(b, [ri, di], row, [0])[0]
            check_rows(nl, [ri, di], [v], row, [0], "the requantization")
        else:
            terms = [Term(ri, dg.shift, dg.sign * flip) for dg in csd_digits(plan.rotate)]
            v = b.row([*terms, Term(di, 0, 1)], 0)
        q = nl.add(RoundShift(a=v, shift=plan.shift, name=f"q{i}", group="requant"))
        # vanilla mode: clamp(max(q, 0)) is one clamp to [0, hi]
        low = 0 if ir.mode == "vanilla" else lo
        out.append(nl.add(Clamp(a=q, low=low, high=hi, name=f"hn{i}", group="requant")))
        nl.tags.setdefault("requant_sum", []).append(v)
        nl.tags.setdefault("shifted", []).append(q)
    return out


def readout(nl: Netlist, ir: IntegerRNN, h: list[int], cmvm: str) -> list[int]:
    """y = V relu(h) + c, then the optional output requantization: one node per output."""
    b = Builder(nl, "readout")
    z = [nl.add(Relu(a=hi, name=f"z{i}", group="readout")) if np.any(ir.output_weight[:, i])
         else None for i, hi in enumerate(h)]
    nl.tags.setdefault("readout_in", []).extend(zi for zi in z if zi is not None)
    consts = [int(c) for c in ir.output_bias]
    rows = cmvm_rows(cmvm)(b, z, ir.output_weight, consts)
    check_rows(nl, z, rows, ir.output_weight, consts, "the readout")
    nl.tags.setdefault("output_acc", []).extend(rows)
    orq = ir.output_requant
    if orq is not None:
        half = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
        lo, hi = signed_range(orq.bits)
        rows = [nl.add(Clamp(a=nl.add(RoundShift(a=b.scale(y, orq.mult, half), shift=orq.shift,
                                                 group="readout")),
                             low=lo, high=hi, group="readout")) for y in rows]
    nl.tags.setdefault("output", []).extend(rows)
    return rows


def argmax(nl: Netlist, values: list[int]) -> int:
    """A comparison tree whose left operand always holds the lower indices, so that equal
    maxima resolve to the lowest index (numpy.argmax)."""
    level = [(v, nl.add(Const(value=o, group="argmax"))) for o, v in enumerate(values)]
    while len(level) > 1:
        nxt = []
        for (lv, li), (rv, ri) in zip(level[0::2], level[1::2], strict=False):
            gt = nl.add(Greater(a=rv, b=lv, group="argmax"))
            nxt.append((nl.add(Mux(sel=gt, if1=rv, if0=lv, group="argmax")),
                        nl.add(Mux(sel=gt, if1=ri, if0=li, group="argmax"))))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0][1]


def port_values(ir: IntegerRNN, x: np.ndarray, t: int, fire: int, last: bool) -> dict:
    """The ports of one cycle: step t of the batch x ((B, T) tokens or (B, T, d) words)."""
    ports: dict = {"fire": fire, "last": int(last)}
    if ir.input.kind == "token":
        ports["token"] = x[:, t]
    else:
        ports.update({f"x{j}": x[:, t, j] for j in range(ir.input.size)})
    return ports


def simulate(nl: Netlist, ir: IntegerRNN, batches: list[np.ndarray], latency: int = 0,
             idle_after: frozenset[int] = frozenset()) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run batches of sequences back to back through the single-cycle netlist (each batch
    (B, T) tokens or (B, T, d) words, B equal for all); per batch (outputs, argmax) shaped
    as the golden model's. A step's outputs are read `latency` + 1 cycles after its cycle;
    an idle cycle (fire 0) follows every step whose global index is in `idle_after`.
    A value outside its node's interval (an unsound netlist) is refused."""
    from hadamhw.netlist.evaluate import Simulator

    sim = Simulator(nl, batches[0].shape[0])
    seen: dict[int, tuple[int, int]] = {}  # cycle -> (batch, step) whose outputs it shows
    step = 0
    schedule = []
    for k, x in enumerate(batches):
        for t in range(x.shape[1]):
            schedule.append(port_values(ir, x, t, 1, t == x.shape[1] - 1))
            seen[len(schedule) + latency] = (k, t)
            if step in idle_after:
                schedule.append(port_values(ir, x, t, 0, False))
            step += 1
    return run_schedule(sim, ir, batches, schedule, seen, latency + 1)


def run_schedule(sim, ir: IntegerRNN, batches: list[np.ndarray], schedule: list[dict],
                 seen: dict[int, tuple[int, int]], drain: int
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Step `sim` through `schedule` and `drain` idle cycles after it; the outputs of the
    cycles in `seen` (cycle -> (batch, step)), per batch shaped as the golden model's."""
    outs = [f"y{o}" for o in range(ir.output_size)]
    results: list[list] = [[] for _ in batches]
    idle = port_values(ir, batches[-1], 0, 0, False)
    for cycle in range(len(schedule) + drain):
        values = sim.step(schedule[cycle] if cycle < len(schedule) else idle)
        if cycle in seen:
            k, t = seen[cycle]
            results[k].append((np.stack([values[o] for o in outs], axis=-1), values["argmax"]))
    if sim.violations:
        raise HadamhwError(f"netlist: {sim.violations} node values left their intervals")
    return [_shape(ir, res) for res in results]


def _shape(ir: IntegerRNN, res: list) -> tuple[np.ndarray, np.ndarray]:
    if ir.readout == "last":
        return res[-1]
    return np.stack([y for y, _ in res], axis=1), np.stack([a for _, a in res], axis=1)
