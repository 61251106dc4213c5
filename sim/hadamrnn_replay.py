"""cocotb replay of a cycle stimulus on a generated hadamhw core (hadamhw.verify.replay).

Cycle-accurate, no traffic generator: every cycle drives the input ports from the cycle
file exactly as given, lets the logic settle, records the outputs as they are before the
rising edge (as the solver's step sees them) and then lets the clock rise. Nothing is
compared here: the caller compares the records with the spec, as it does for the batch
harness's cycle mode, which writes the same lines (sim/batch_harness.cpp).

HADAMHW_COCOTB_CONFIG names a JSON file with
    cycles   the cycle file: "hadamhw-cycles 1", "<cycles> <input_words>", one line a cycle:
             <rst> <s_axis_tvalid> <s_axis_tlast> <m_axis_tready> <s_axis_tid> <words...>
    results  where the records go, one line a cycle:
             C <cycle> <s_axis_tready> <m_axis_tvalid> <m_axis_tlast> <m_axis_tuser>
               <m_axis_tid> <output words...>
    in_word_bits, out_word_bits, out_words   the ports' layout (manifest.json)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

CLOCK_PERIOD_NS = 10


def _read_cycles(path: str) -> list[list[int]]:
    tokens = Path(path).read_text().split()
    if tokens[:2] != ["hadamhw-cycles", "1"]:
        raise ValueError(f"{path}: not a hadamhw cycle file")
    count, words = int(tokens[2]), int(tokens[3])
    values = [int(t) for t in tokens[4:]]
    width = 5 + words
    return [values[k * width:(k + 1) * width] for k in range(count)]


def _unsigned(handle) -> int:
    """A port's value; X/Z bits read as 0, as the batch harness (Verilator) has them."""
    bits = str(handle.value)  # Logic and LogicArray alike: '0', '1', 'X', 'Z' per bit
    return int("".join("1" if b == "1" else "0" for b in bits) or "0", 2)


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def _pack(words: list[int], bits: int) -> int:
    mask = (1 << bits) - 1
    return sum((w & mask) << (k * bits) for k, w in enumerate(words))


def _record(dut, cycle: int, config: dict, has_tid: bool) -> str:
    bits, count = int(config["out_word_bits"]), int(config["out_words"])
    data = _unsigned(dut.m_axis_tdata)
    words = [_signed((data >> (k * bits)) & ((1 << bits) - 1), bits) for k in range(count)]
    tid = _unsigned(dut.m_axis_tid) if has_tid else 0
    head = [cycle, _unsigned(dut.s_axis_tready), _unsigned(dut.m_axis_tvalid),
            _unsigned(dut.m_axis_tlast), _unsigned(dut.m_axis_tuser), tid]
    return "C " + " ".join(str(v) for v in head + words)


@cocotb.test()
async def test_replay(dut) -> None:
    """Drive the cycle file, record every cycle's outputs."""
    config = json.loads(Path(os.environ["HADAMHW_COCOTB_CONFIG"]).read_text())
    cycles = _read_cycles(config["cycles"])
    has_tid = hasattr(dut, "s_axis_tid")
    in_bits = int(config["in_word_bits"])
    dut.clk.value = 0
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start(start_high=False))
    lines = []
    for k, (rst, valid, last, ready, tid, *words) in enumerate(cycles):
        dut.rst.value = rst
        dut.s_axis_tvalid.value = valid
        dut.s_axis_tlast.value = last
        dut.m_axis_tready.value = ready
        dut.s_axis_tdata.value = _pack(words, in_bits)
        if has_tid:
            dut.s_axis_tid.value = tid
        await ReadOnly()
        lines.append(_record(dut, k, config, has_tid))
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
    Path(config["results"]).write_text("\n".join(lines) + "\n")
