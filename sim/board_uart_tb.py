"""cocotb test bench of a whole board top (hadamhw board) at its pins: a bit-level UART.

Nothing is compared here: the bench plays a script against the pins and records what the
board sends back, frame by frame; the caller (tests/test_board_cocotb.py) checks the frames
against the golden model with the host's own protocol code (hadamhw.board.protocol).

HADAMHW_BOARD_UART_TB names a JSON file with
    clks_per_bit         the divider the top was rendered with
    button_active_low    the board's reset button polarity
    sync                 the byte that starts every frame (hadamhw.board.protocol.SYNC)
    script               steps, in order:
                           {"send": HEX}      the bytes, 8N1, LSB first, on uart_rx
                           {"reply": true}    wait for one whole frame on uart_tx
                           {"reset": CYCLES}  hold the button for CYCLES clocks
                           {"idle": CYCLES}   let the clock run
    reply_timeout        clocks to wait for a reply before giving up
    results              where the frames go: {"frames": [HEX, ...]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

CLOCK_PERIOD_NS = 10
FRAME_HEAD = 4  # SYNC, type, length (2 bytes, LSB first); then payload and one CRC byte


async def send_byte(dut, value: int, clks: int) -> None:
    """One 8N1 character on uart_rx: start bit, 8 data bits LSB first, stop bit."""
    for bit in [0, *[(value >> k) & 1 for k in range(8)], 1]:
        dut.uart_rx.value = bit
        await ClockCycles(dut.clk_in, clks)


async def receive_byte(dut, clks: int) -> int:
    """The next character on uart_tx, sampled in the middle of each bit."""
    await FallingEdge(dut.uart_tx)  # a start bit (the line idles high)
    await ClockCycles(dut.clk_in, clks // 2)
    value = 0
    for k in range(8):
        await ClockCycles(dut.clk_in, clks)
        value |= int(dut.uart_tx.value) << k
    await ClockCycles(dut.clk_in, clks)  # the stop bit
    return value


class Receiver:
    """Frames from the board, decoded from uart_tx by a coroutine that always listens."""

    def __init__(self, dut, clks: int, sync: int) -> None:
        self.dut, self.clks, self.sync = dut, clks, sync
        self.bytes: list[int] = []
        self.frames: list[bytes] = []

    async def listen(self) -> None:
        while True:
            self.bytes.append(await receive_byte(self.dut, self.clks))
            self._cut_frames()

    def _cut_frames(self) -> None:
        while self.bytes and self.bytes[0] != self.sync:  # noise between frames: not expected
            self.frames.append(bytes([self.bytes.pop(0)]))
        if len(self.bytes) >= FRAME_HEAD:
            size = FRAME_HEAD + (self.bytes[2] | self.bytes[3] << 8) + 1
            if len(self.bytes) >= size:
                self.frames.append(bytes(self.bytes[:size]))
                del self.bytes[:size]


async def wait_reply(dut, receiver: Receiver, count: int, timeout: int) -> None:
    for _ in range(timeout):
        if len(receiver.frames) >= count:
            return
        await RisingEdge(dut.clk_in)
    raise AssertionError(f"no reply within {timeout} clocks (frame {count})")


async def press(dut, cycles: int, active_low: bool) -> None:
    dut.button.value = 0 if active_low else 1
    await ClockCycles(dut.clk_in, cycles)
    dut.button.value = 1 if active_low else 0
    await ClockCycles(dut.clk_in, 16)  # the power-on and button synchronizers settle


@cocotb.test()
async def test_board_script(dut):
    config = json.loads(Path(os.environ["HADAMHW_BOARD_UART_TB"]).read_text())
    clks, active_low = int(config["clks_per_bit"]), bool(config["button_active_low"])
    dut.uart_rx.value = 1
    dut.button.value = 1 if active_low else 0
    cocotb.start_soon(Clock(dut.clk_in, CLOCK_PERIOD_NS, unit="ns").start())
    await FallingEdge(dut.clk_in)
    await ClockCycles(dut.clk_in, 32)  # the power-on reset
    receiver = Receiver(dut, clks, int(config["sync"]))
    cocotb.start_soon(receiver.listen())
    replies = 0
    for step in config["script"]:
        if "send" in step:
            for value in bytes.fromhex(step["send"]):
                await send_byte(dut, value, clks)
        elif "reply" in step:
            replies += 1
            await wait_reply(dut, receiver, replies, int(config["reply_timeout"]))
        elif "reset" in step:
            await press(dut, int(step["reset"]), active_low)
        else:
            await ClockCycles(dut.clk_in, int(step["idle"]))
    Path(config["results"]).write_text(json.dumps(
        {"frames": [f.hex() for f in receiver.frames]}, indent=1))
