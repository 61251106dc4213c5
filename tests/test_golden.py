"""The golden model against a deliberately simple scalar implementation and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadamhw.errors import HadamhwError
from hadamhw.ir import InputSpec, IntegerRNN, Requant, run
from hadamhw.ir.golden import fwht_stage, round_shift
from hadamhw.ir.random import random_inputs, random_ir


def scalar_reference(ir: IntegerRNN, seq) -> tuple[list, list]:
    """Per element, per step, Python ints; H_m by its closed form (-1)^popcount(i & j)."""
    n, m = ir.hidden_size, ir.block_size
    lo, hi = -(1 << (ir.widths.state - 1)), (1 << (ir.widths.state - 1)) - 1
    U, b = ir.input_weight.tolist(), ir.input_bias.tolist()
    V, c = ir.output_weight.tolist(), ir.output_bias.tolist()
    s = ir.signs.tolist()
    rq = ir.requant
    h = [0] * n
    outs, ams = [], []
    for t, x in enumerate(seq):
        new_h = []
        for i in range(n):
            if ir.input.kind == "token":
                # an id outside the vocabulary (still on the port) drives the bias alone
                a = (U[i][int(x)] if int(x) < ir.input.size else 0) + b[i]
            else:
                a = sum(U[i][j] * int(x[j]) for j in range(ir.input.size)) + b[i]
            base = i // m * m
            f = 0
            for j in range(m):
                sign = -1 if bin((i - base) & j).count("1") % 2 else 1
                f += sign * h[base + j]
            v = s[i] * f * rq.rotate_mult + a * rq.input_mult
            # floor((v + half) / 2^S) written with Python's floor division
            q = (v + (2 ** (rq.shift - 1) if rq.shift else 0)) // (2 ** rq.shift)
            if ir.mode == "vanilla" and q < 0:
                q = 0
            new_h.append(min(max(q, lo), hi))
        h = new_h
        if ir.readout == "every" or t == len(seq) - 1:
            z = [max(v, 0) for v in h]
            y = [sum(V[o][j] * z[j] for j in range(n)) + c[o] for o in range(ir.output_size)]
            if ir.output_requant is not None:
                orq = ir.output_requant
                olo, ohi = -(1 << (orq.bits - 1)), (1 << (orq.bits - 1)) - 1
                y = [min(max((v * orq.mult + (2 ** (orq.shift - 1) if orq.shift else 0))
                             // 2 ** orq.shift, olo), ohi) for v in y]
            outs.append(y)
            ams.append(y.index(max(y)))
    return outs, ams


configs = st.fixed_dictionaries({
    "n_m": st.sampled_from([(2, 2), (4, 2), (4, 4), (8, 4), (8, 8), (16, 4)]),
    "mode": st.sampled_from(["linear", "vanilla"]),
    "readout": st.sampled_from(["every", "last"]),
    "state_bits": st.sampled_from([4, 8, 12, 16]),
    "input_kind": st.sampled_from(["int", "token"]),
    "saturating": st.booleans(),
    "output_bits": st.sampled_from([None, 6]),
    "signed": st.booleans(),
    "seed": st.integers(0, 2**31),
    "steps": st.integers(1, 6),
    "shift": st.sampled_from([None, 0, 1]),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_golden_equals_scalar_reference(cfg):
    rng = np.random.default_rng(cfg["seed"])
    n, m = cfg["n_m"]
    ir = random_ir(rng, n, m, mode=cfg["mode"], readout=cfg["readout"],
                   state_bits=cfg["state_bits"], input_kind=cfg["input_kind"], input_size=3,
                   input_signed=cfg["signed"], saturating=cfg["saturating"],
                   output_bits=cfg["output_bits"], shift=cfg["shift"])
    x = random_inputs(rng, ir, 3, cfg["steps"], extreme=0.5)
    res = run(ir, x)
    for i in range(3):
        outs, ams = scalar_reference(ir, x[i])
        got = res.outputs[i] if ir.readout == "every" else res.outputs[i][None]
        got_am = res.argmax[i] if ir.readout == "every" else np.array([res.argmax[i]])
        assert got.tolist() == outs
        assert got_am.tolist() == ams


def test_fwht_by_hand():
    x = np.array([[3, 5]])
    assert fwht_stage(x, 1).tolist() == [[8, -2]]
    x = np.array([[1, 2, 3, 4]])
    # H_4 x = [10, -2, -4, 0]
    assert fwht_stage(fwht_stage(x, 1), 2).tolist() == [[10, -2, -4, 0]]
    # two blocks of 2 (n = 4, m = 2)
    assert fwht_stage(x, 1).tolist() == [[3, -1, 7, -1]]


def test_round_shift_by_hand():
    v = np.array([3, -3, 5, -5, 6, -6, 7, -7, 1, -1, 2, -2])
    # 1.5->2, -1.5->-1 (half up), 2.5->3, -2.5->-2, 3, -3, 3.5->4, -3.5->-3, .5->1, -.5->0
    assert round_shift(v, 1).tolist() == [2, -1, 3, -2, 3, -3, 4, -3, 1, 0, 1, -1]
    assert round_shift(np.array([-5, -6, -7, 6]), 2).tolist() == [-1, -1, -2, 2]
    assert round_shift(np.array([-5]), 0).tolist() == [-5]


def hand_ir(n=2, m=2, signs=(1, -1), state_bits=4, mode="linear", rotate=1, inp=1, shift=0):
    return IntegerRNN.build(
        state_bits=state_bits, hidden_size=n, block_size=m, output_size=2, mode=mode,
        readout="every", input=InputSpec(kind="int", size=1, bits=4, signed=True),
        signs=list(signs), input_weight=[[1]] * n, input_bias=[0] * n,
        output_weight=[[1] + [0] * (n - 1), [0] * (n - 1) + [1]], output_bias=[0, 0],
        requant=Requant(rotate_mult=rotate, input_mult=inp, shift=shift))


def test_hand_checked_two_steps_n2():
    ir = hand_ir()
    res = run(ir, np.array([[[3], [1]]]), return_states=True)
    # step 0: h = 0 -> a = [3, 3] -> h = [3, 3]
    # step 1: FWHT [3, 3] = [6, 0]; signs (1, -1) -> [6, 0]; + a [1, 1] -> [7, 1]
    assert res.states[0].tolist() == [[3, 3], [7, 1]]
    assert res.outputs[0].tolist() == [[3, 3], [7, 1]]
    assert res.argmax[0].tolist() == [0, 0]  # tie -> lowest index


def test_hand_checked_saturation_and_sign_flip():
    ir = hand_ir(state_bits=4)  # state in [-8, 7]
    res = run(ir, np.array([[[7], [7], [-8]]]), return_states=True)
    # [7,7] -> FWHT [14, 0] -> [14+7, -0+7] = [21, 7] -> sat [7, 7]
    # then FWHT [14, 0] + [-8, -8] = [6, -8]
    assert res.states[0].tolist() == [[7, 7], [7, 7], [6, -8]]
    assert res.outputs[0].tolist() == [[7, 7], [7, 7], [6, 0]]  # readout sees relu(h)
    assert res.saturated == 1
    vanilla = run(hand_ir(mode="vanilla"), np.array([[[-3]]]), return_states=True)
    assert vanilla.states[0].tolist() == [[0, 0]]


def test_hand_checked_rounding_in_the_loop():
    # M_r = 1, M_a = 1, S = 1: h' = round_half_up((r + a) / 2)
    ir = hand_ir(n=4, m=4, signs=(1, 1, -1, 1), shift=1, state_bits=8)
    res = run(ir, np.array([[[3], [-1]]]), return_states=True)
    # step 0: v = 3 -> (3 + 1) >> 1 = 2 for all -> h = [2, 2, 2, 2]
    # step 1: FWHT = [8, 0, 0, 0]; signs -> [8, 0, -0, 0]; v = r - 1 = [7, -1, -1, -1]
    #         (7 + 1) >> 1 = 4, (-1 + 1) >> 1 = 0
    assert res.states[0].tolist() == [[2, 2, 2, 2], [4, 0, 0, 0]]


def test_declared_widths_hold_the_worst_case():
    """Drive the state to both rails so every intermediate reaches its worst case."""
    n = m = 8
    bits = 6
    ir = IntegerRNN.build(
        state_bits=bits, hidden_size=n, block_size=m, output_size=3, mode="linear",
        readout="every", input=InputSpec(kind="int", size=2, bits=4, signed=True),
        signs=[-1, 1] * 4, input_weight=[[-8, -8]] * n, input_bias=[0] * n,
        output_weight=[[7] * n, [-8] * n, [1, -1] * 4], output_bias=[5, -5, 0],
        requant=Requant(rotate_mult=3, input_mult=1 << 10, shift=4))
    lo_x, hi_x = ir.input.range()
    # -8 * x_max drives the state to its minimum, -8 * x_min to its maximum.
    x = np.array([[[hi_x, hi_x]] * 3 + [[lo_x, lo_x]] * 3])
    res = run(ir, x, trace=True, return_states=True)
    w = ir.widths
    widths = {"input_acc": w.input_acc, "rotated": w.rotated, "requant_sum": w.requant_sum,
              "shifted": w.shifted, "state": w.state, "output_acc": w.output_acc,
              **{f"fwht[{j}]": bits for j, bits in enumerate(w.fwht)}}
    for name, (lo, hi) in res.ranges.items():
        if name in widths:
            assert lo >= -(1 << (widths[name] - 1)) and hi <= (1 << (widths[name] - 1)) - 1, name
    assert res.ranges["readout_in"][1] < (1 << w.readout_in)
    # The worst cases are reached: the FWHT's last stage hits -m 2^(B-1) exactly and the
    # rotated value its positive mirror, which needs the extra bit declared for it.
    assert res.ranges[f"fwht[{ir.k - 1}]"][0] == -m * (1 << (bits - 1))
    assert res.ranges["rotated"][1] == m * (1 << (bits - 1))
    assert res.ranges["rotated"][1] > (1 << (w.fwht[-1] - 1)) - 1
    assert res.states[0, 2].tolist() == [-(1 << (bits - 1))] * n
    assert res.states[0, 5].tolist() == [(1 << (bits - 1)) - 1] * n


@pytest.mark.parametrize("seed", range(8))
def test_random_saturating_traces_stay_within_widths(seed):
    rng = np.random.default_rng(seed)
    ir = random_ir(rng, 16, [4, 16][seed % 2], saturating=True, state_bits=[8, 12][seed % 2],
                   output_bits=[None, 8][seed % 2], mode=["linear", "vanilla"][seed // 4])
    res = run(ir, random_inputs(rng, ir, 64, 20, extreme=0.8), trace=True)
    w = ir.widths
    for name, (lo, hi) in res.ranges.items():
        bits = (w.fwht[int(name[5:-1])] if name.startswith("fwht[")
                else getattr(w, name) if name != "readout_in" else w.readout_in + 1)
        assert -(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1, name
    assert res.saturated > 0


def test_golden_refuses_int64_overflow():
    ir = hand_ir(state_bits=30, rotate=(1 << 40), inp=1)
    with pytest.raises(HadamhwError, match="int64"):
        run(ir, np.zeros((1, 1, 1), dtype=np.int64))


def test_golden_checks_inputs():
    ir = hand_ir()
    with pytest.raises(HadamhwError, match=r"lie in \[-8, 7\]"):
        run(ir, np.array([[[9]]]))
    with pytest.raises(HadamhwError, match="shape"):
        run(ir, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(HadamhwError, match="integers"):
        run(ir, np.zeros((1, 1, 1)) + 0.5)


def token_ir(columns=((1, -1), (2, -2), (3, -3)), bits: int = 2) -> IntegerRNN:
    """n = m = 2, identity-like requantization: h' = FWHT(h) * s + U[:, v] + b."""
    return IntegerRNN.build(
        state_bits=8, hidden_size=2, block_size=2, output_size=2, mode="linear",
        readout="every", input=InputSpec(kind="token", size=len(columns), bits=bits),
        signs=[1, -1], input_weight=np.array(columns).T,
        input_bias=[10, 20], output_weight=[[1, 0], [0, 1]], output_bias=[0, 0],
        requant=Requant(rotate_mult=1, input_mult=1, shift=0))


def test_out_of_vocabulary_token_drives_the_bias_only():
    """Vocabulary 3 on a 2-bit port: id 3 selects no column, a = b exactly."""
    ir = token_ir()
    assert ir.input.range() == (0, 3) and ir.input.bias_only_tokens
    res = run(ir, np.array([[3, 1, 3]]), return_states=True)
    # step 0: a = b = [10, 20] -> h = [10, 20]
    # step 1: FWHT [30, -10], signs (1, -1) -> [30, 10]; a = U[:, 1] + b = [12, 18]
    #         -> h = [42, 28]
    # step 2: FWHT [70, 14] -> [70, -14]; a = b -> h = [80, 6]
    assert res.states[0].tolist() == [[10, 20], [42, 28], [80, 6]]
    # exactly as if U's column for the id were zero
    zero_column = token_ir(((1, -1), (2, -2), (3, -3), (0, 0)))
    assert not zero_column.input.bias_only_tokens
    again = run(zero_column, np.array([[3, 1, 3]]), return_states=True)
    assert again.states.tolist() == res.states.tolist()


def test_tokens_the_port_cannot_carry_are_refused():
    ir = token_ir()
    with pytest.raises(HadamhwError, match=r"token ids must lie in \[0, 3\] .*2-bit"):
        run(ir, np.array([[0, 4]]))
    with pytest.raises(HadamhwError, match=r"token ids must lie in \[0, 3\]"):
        run(ir, np.array([[-1, 0]]))
    from hadamhw.ir.encode import encode_inputs

    with pytest.raises(HadamhwError, match=r"token ids must lie in \[0, 3\]"):
        encode_inputs(ir, np.array([[0, 4]]))
    assert encode_inputs(ir, np.array([[0, 3]])).tolist() == [[0, 3]]


def test_bias_only_tokens_widen_the_accumulator():
    """A bias that no table entry reaches still has to fit widths.input_acc when an
    out-of-vocabulary id can select it."""
    args = dict(state_bits=8, hidden_size=2, block_size=2, output_size=1, mode="linear",
                readout="every", signs=[1, 1], input_weight=[[-5, -5], [-5, -5]],
                input_bias=[3, 3], output_weight=[[1, 1]], output_bias=[0],
                requant=Requant(rotate_mult=1, input_mult=1, shift=0))
    full = IntegerRNN.build(input=InputSpec(kind="token", size=2, bits=1), **args)
    assert full.widths.input_acc == 2  # entries -2 only: [-2, 1]
    spare = IntegerRNN.build(input=InputSpec(kind="token", size=2, bits=2), **args)
    assert spare.widths.input_acc == 3  # ids 2, 3 drive b = 3
    assert run(spare, np.array([[3]])).outputs.tolist() == [[[6]]]
