"""The delay model's rule for transport registers (hadamhw.backends.timing)."""

from __future__ import annotations

import pytest

from hadamhw.backends.timing import ECP5, period_ns


@pytest.mark.parametrize("n, mhz, registers", [
    (16, 200, 0), (64, 150, 0),  # the nets fit a stage beside their adder (measured)
    (128, 150, 1),  # the measured 6.83 ns net from the drive to its adder: one more hop
    (16, 700, 1), (128, 400, 3),
])
def test_transport_registers(n, mhz, registers):
    assert ECP5.transport_registers(n, period_ns(mhz)) == registers


def test_no_transport_when_the_period_is_below_a_register():
    assert ECP5.transport_registers(128, ECP5.overhead) == 0
