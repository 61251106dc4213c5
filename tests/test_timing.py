"""The delay model's rules for transport and control registers (hadamhw.backends.timing)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.backends import verilog as vg
from hadamhw.backends.timing import ECP5, period_ns
from hadamhw.ir.random import random_ir


@pytest.mark.parametrize("n, mhz, registers", [
    (16, 200, 0), (64, 150, 0),  # the nets fit a stage beside their adder (measured)
    (128, 150, 1),  # the measured 6.83 ns net from the drive to its adder: one more hop
    (16, 700, 1), (128, 400, 3),
])
def test_transport_registers(n, mhz, registers):
    assert ECP5.transport_registers(n, period_ns(mhz)) == registers


def test_no_transport_when_the_period_is_below_a_register():
    assert ECP5.transport_registers(128, ECP5.overhead) == 0


@pytest.mark.parametrize("mhz, registered", [(150, False), (175, False), (180, True),
                                             (200, True), (250, True)])
def test_control_registers(mhz, registered):
    """The interface's control paths (5.05-5.67 ns at n = 16) get their registers only
    where the clock is faster than they are."""
    assert ECP5.control_registers(period_ns(mhz)) is registered


@pytest.mark.parametrize("mhz", [150, 200])
def test_control_registers_in_the_design(mhz):
    """The manifest records them, the RTL has them only then, and the output FIFO keeps a
    slot for the cycle the credit comes back late."""
    ir = random_ir(np.random.default_rng(2), 16, 16, state_bits=12, output_size=5,
                   requant="lean")
    files = vg.render(ir, GenerateOptions(streams="auto", pipeline="auto", target_mhz=mhz))
    man = json.loads(files["manifest.json"])
    fast = mhz > 175
    assert man["pipeline"]["control_registers"] is fast
    text = files["hadamrnn.v"]
    for register in ("out_fire_q", "hazard_tid_q", "fifo_count_wr_q"):
        assert (register in text) is fast, register
    assert man["output_fifo_depth"] >= man["pipeline"]["cycles"]["fifo_write"] + 2 + fast
