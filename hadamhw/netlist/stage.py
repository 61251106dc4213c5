"""Builder of the stage fold (`--fold stage`): one bank of n/2 butterflies, k = log2 m
cycles per step, in the constant-geometry (Pease) order.

The datapath of hadamhw.backends.verilog's stage-fold core (templates/verilog/parts/
rotation.v.j2, requant.v.j2, control.v.j2), as nodes:

- ports `fire` (a step is accepted this cycle; never while `busy`), `last`, `x<j>` or
  `token`;
- control registers `busy` (passes 2..k run), `phase` (the pass the bank ran last, k >= 3;
  a counter that saturates at k - 1), `last_q` (the step's tlast) and `fresh`;
- pipeline registers `x_q<j>` (the input word of the step in flight) and `bank_q<i>` (the
  bank's output, taken on `fire` and while `busy`; max(widths.fwht) bits each);
- the bank: bank_in = busy ? bank_q : h_cur, one Pease stage (inside each block
  (i, i + m/2) -> (2i, 2i + 1): sum and difference); k passes give FWHT_m in natural order.
  Pass j holds stage j, a range the interval arithmetic of the loop cannot see: each bank
  output is a `Bound` whose range is the hull of its element's exact ranges over the k
  passes (`bank_ranges`, from the passes' matrices);
- requantization from the bank's last pass with the sign folded into the add/subtract
  (r = s * f is never formed) and the drive of x_q; the state registers `h<i>` take it when
  the step is done (busy and phase = k - 1);
- the readout and argmax from the state registers, as the single-cycle builder's.

A step accepted in cycle c is done in cycle c + k - 1 and shows its outputs in cycle c + k.
With k = 1 (m = 2) the bank reads h_cur directly and the step is done in its own cycle.
"""

from __future__ import annotations

import numpy as np

from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_range
from hadamhw.netlist.evaluate import Simulator
from hadamhw.netlist.nodes import (
    Add,
    Bound,
    Clamp,
    Const,
    Input,
    Mux,
    Netlist,
    Operand,
    Reg,
    Rom,
)
from hadamhw.netlist.plan import requant_plan
from hadamhw.netlist.single_cycle import (
    close_loop,
    input_drive,
    input_ports,
    port_values,
    requantization,
    run_schedule,
)


def pease_butterflies(n: int, m: int) -> list[tuple[int, int, int, int]]:
    """The one constant-geometry stage: inside each block, (i, i + m/2) -> (2i, 2i + 1)."""
    return [(base + i, base + i + m // 2, base + 2 * i, base + 2 * i + 1)
            for base in range(0, n, m) for i in range(m // 2)]


def pease_pass(x: np.ndarray, m: int) -> np.ndarray:
    """One pass of the bank over the last axis (the model of the hardware bank)."""
    y = np.empty_like(x)
    for a, b, s, d in pease_butterflies(x.shape[-1], m):
        y[..., s] = x[..., a] + x[..., b]
        y[..., d] = x[..., a] - x[..., b]
    return y


def bank_ranges(ir: IntegerRNN) -> list[tuple[int, int]]:
    """Per bank element, the hull over passes 1..k of its exact range: pass j is the
    matrix S^j (S one Pease stage) applied to h_cur in the state's range."""
    n, m = ir.hidden_size, ir.block_size
    lo, hi = signed_range(ir.widths.state)
    stage = np.zeros((n, n), dtype=np.int64)
    for a, b, s, d in pease_butterflies(n, m):
        stage[s, a], stage[s, b], stage[d, a], stage[d, b] = 1, 1, 1, -1
    pas = np.eye(n, dtype=np.int64)
    out = [(0, 0)] * n
    for j in range(ir.k):
        pas = stage @ pas
        for i in range(n):
            row = pas[i]
            r_lo = int(np.where(row > 0, row * lo, row * hi).sum())
            r_hi = int(np.where(row > 0, row * hi, row * lo).sum())
            out[i] = (r_lo, r_hi) if j == 0 else (min(out[i][0], r_lo), max(out[i][1], r_hi))
    return out


class _Gates:
    """1-bit logic as muxes (the node set has no gates)."""

    def __init__(self, nl: Netlist) -> None:
        self.nl = nl
        self.zero = nl.add(Const(value=0, group="control"))
        self.one = nl.add(Const(value=1, group="control"))

    def both(self, a: int, b: int) -> int:
        return self.nl.add(Mux(sel=a, if1=b, if0=self.zero, group="control"))

    def either(self, a: int, b: int) -> int:
        return self.nl.add(Mux(sel=a, if1=self.one, if0=b, group="control"))


def _reg(nl: Netlist, name: str, lo: int, hi: int, purpose: str, init: int = 0) -> int:
    return nl.add(Reg(name=name, lo=lo, hi=hi, init=init, group=purpose, purpose=purpose))


def _control(nl: Netlist, g: _Gates, k: int, fire: int) -> tuple[int, int]:
    """(busy, step_done): busy is set by fire and cleared when the step is done."""
    if k == 1:
        return g.zero, fire
    busy = _reg(nl, "busy", 0, 1, "control")
    if k == 2:
        done = busy
    else:
        phase = _reg(nl, "phase", 0, k - 1, "control")
        # phase = k - 1 as a table over the phase (no Greater: those are the argmax's)
        at_end = nl.add(Rom(addr=phase, table=(0,) * (k - 1) + (1,), group="control"))
        done = g.both(busy, at_end)
        inc = nl.add(Clamp(a=nl.add(Add(a=Operand(phase), b=Operand(g.one), group="control")),
                           low=0, high=k - 1, group="control"))
        nxt = nl.add(Mux(sel=fire, if1=g.one, if0=inc, group="control"))
        nl.connect(phase, nxt, g.either(fire, g.both(busy, nl.add(
            Mux(sel=done, if1=g.zero, if0=g.one, group="control")))))
    cleared = nl.add(Mux(sel=done, if1=g.zero, if0=busy, group="control"))
    nl.connect(busy, nl.add(Mux(sel=fire, if1=g.one, if0=cleared, group="control")))
    return busy, done


def bank(nl: Netlist, ir: IntegerRNN, g: _Gates, h_cur: list[int], busy: int,
         fire: int) -> list[int]:
    """The bank's outputs (one Pease pass of bank_in), each bounded by `bank_ranges`."""
    n, k = ir.hidden_size, ir.k
    ranges = bank_ranges(ir)
    # the bank register is max(widths.fwht) bits per element, as the template declares it
    wb_lo, wb_hi = signed_range(max(ir.widths.fwht))
    regs = [] if k == 1 else [_reg(nl, f"bank_q{i}", wb_lo, wb_hi, "pipeline")
                              for i in range(n)]
    bank_in = h_cur if k == 1 else [
        nl.add(Mux(sel=busy, if1=q, if0=h, group="recurrent")) for q, h in zip(
            regs, h_cur, strict=True)]
    out = [0] * n
    for a, b, s, d in pease_butterflies(n, ir.block_size):
        for e, sign in ((s, 1), (d, -1)):
            add = nl.add(Add(a=Operand(bank_in[a]), b=Operand(bank_in[b], 0, sign),
                             name=f"bank{e}", group="recurrent"))
            out[e] = nl.add(Bound(a=add, lo=ranges[e][0], hi=ranges[e][1], group="recurrent"))
    if regs:
        take = g.either(fire, busy)
        for q, o in zip(regs, out, strict=True):
            nl.connect(q, o, take)
    nl.tags[f"fwht[{k - 1}]"] = list(out)
    return out


def build(ir: IntegerRNN, cmvm: str = "da4ml") -> Netlist:
    """The stage-fold core's datapath of `ir`; constant products by `cmvm`."""
    if ir.block_size < 2:
        raise HadamhwError("the stage-fold netlist needs a block size of at least 2")
    nl = Netlist()
    k = ir.k
    plan = requant_plan(ir)
    fire = nl.add(Input(name="fire", lo=0, hi=1, group="control"))
    last = nl.add(Input(name="last", lo=0, hi=1, group="control"))
    x = input_ports(nl, ir)
    g = _Gates(nl)
    busy, done = _control(nl, g, k, fire)
    if k > 1:  # the step's input word and tlast, held while the bank runs
        held = [_reg(nl, f"x_q{j}", nl[xj].lo, nl[xj].hi, "pipeline") for j, xj in enumerate(x)]
        for q, xj in zip(held, x, strict=True):
            nl.connect(q, xj, fire)
        last_q = _reg(nl, "last_q", 0, 1, "control")
        nl.connect(last_q, last, fire)
        x, last = held, last_q
    fresh = _reg(nl, "fresh", 0, 1, "control", init=1)
    nl.connect(fresh, last, done)
    lo, hi = signed_range(ir.widths.state)
    h = [_reg(nl, f"h{i}", lo, hi, "state") for i in range(ir.hidden_size)]
    h_cur = [nl.add(Mux(sel=fresh, if1=g.zero, if0=hi_, group="control")) for hi_ in h]
    drive = input_drive(nl, ir, plan, x, cmvm)
    f = bank(nl, ir, g, h_cur, busy, fire)
    h_next = requantization(nl, ir, plan, f, drive, cmvm, [int(v) for v in ir.signs])
    return close_loop(nl, ir, cmvm, h, h_cur, drive, h_next, done)


def simulate(nl: Netlist, ir: IntegerRNN, batches: list[np.ndarray],
             idle_after: frozenset[int] = frozenset()) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run batches of sequences back to back through the stage-fold netlist: each step
    fires once and waits k - 1 busy cycles (the input ports then carry another step's
    word, which the core must not read); outputs read k cycles after the fire; one more
    idle cycle after every step whose global index is in `idle_after`. Per batch
    (outputs, argmax) shaped as the golden model's; values outside their intervals refused."""
    k = ir.k
    sim = Simulator(nl, batches[0].shape[0])
    seen: dict[int, tuple[int, int]] = {}
    schedule: list[dict] = []
    steps = [(bi, t) for bi, x in enumerate(batches) for t in range(x.shape[1])]
    for s, (bi, t) in enumerate(steps):
        x = batches[bi]
        schedule.append(port_values(ir, x, t, 1, t == x.shape[1] - 1))
        seen[len(schedule) - 1 + k] = (bi, t)
        other = steps[(s + 1) % len(steps)]  # a foreign word on the ports while busy
        wait = k - 1 + (1 if s in idle_after else 0)
        schedule += [port_values(ir, batches[other[0]], other[1], 0, True)] * wait
    return run_schedule(sim, ir, batches, schedule, seen, k + 1)
