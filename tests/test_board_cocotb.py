"""The whole board top in cocotb, at its pins: a bit-level UART (sim/board_uart_tb.py).

A digits-shaped core (one 5-bit pixel a step, 64 steps, 10 classes, readout at the last
step) runs sequences of the digits test split, frame by frame; the replies must equal the
golden model on every output integer. In the same run: a frame corrupted on the line gets
the CRC error reply and nothing of it reaches the core (the sequence goes on bit-exact), and
the reset button pressed in the middle of a sequence makes the board forget it (a later
sequence is bit-exact from a fresh state).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hadamhw import api
from hadamhw.board import protocol as P
from hadamhw.board.sim import run_uart_bench
from hadamhw.board.top import core_view
from hadamhw.ir.encode import encode_inputs
from hadamhw.ir.lower import LoweringSettings, calibration_inputs, lower
from hadamhw.nn import HadamRNN, ModelConfig
from hadamhw.tasks import get_task

pytestmark = pytest.mark.needs("verilator")

FIRST = 40  # beats in a sequence's first frame; the other 24 go in the second


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """(design, encoded test sequences) of a small model of the digits task."""
    task = get_task("digits")
    torch.manual_seed(0)
    model = HadamRNN(ModelConfig(input_size=1, hidden_size=8, output_size=10,
                                 readout="last"))
    ir, _ = lower(model, calibration_inputs(task, 64), LoweringSettings(),
                  input_quant=task.input_quant.to_dict())
    x, _ = task.split("test")
    design = api.generate(ir, tmp_path_factory.mktemp("board-cocotb") / "rtl")
    return design, encode_inputs(ir, x[:3])


def seq_frame(shape, steps, *, last: bool, tag: int) -> bytes:
    return P.frame(P.TYPES["seq"], bytes([P.FLAG_LAST if last else 0, tag])
                   + P.pack_beats(steps, shape))


def sequence_script(shape, x, tag: int) -> list[dict]:
    return [{"send": seq_frame(shape, x[:FIRST], last=False, tag=tag).hex()}, {"reply": True},
            {"send": seq_frame(shape, x[FIRST:], last=True, tag=tag + 1).hex()},
            {"reply": True}]


def parse(frame: bytes) -> tuple[int, bytes]:
    """(type, payload) of one reply, its CRC checked."""
    assert frame[0] == P.SYNC and len(frame) == 5 + (frame[2] | frame[3] << 8), frame.hex()
    assert P.crc8(frame[1:-1]) == frame[-1], f"reply CRC: {frame.hex()}"
    return frame[1], frame[4:-1]


def outputs(shape, replies: list[bytes]):
    """The output beats of a sequence's OUT replies (the last one holds the readout)."""
    data = b""
    for frame in replies:
        kind, body = parse(frame)
        assert kind == P.REPLIES["out"], frame.hex()
        data += body[P.OUT_HEADER_BYTES:]
    return P.unpack_beats(data, shape)


def expect_bit_exact(design, shape, replies, x) -> None:
    got, got_argmax = outputs(shape, replies)
    want, want_argmax = design.golden(x[None], return_argmax=True)
    np.testing.assert_array_equal(got, want.reshape(-1, want.shape[-1]))
    np.testing.assert_array_equal(got_argmax, want_argmax.reshape(-1))


def test_board_top_at_its_pins(digits, tmp_path):
    design, x = digits
    shape = core_view(design).shape
    bad = bytearray(seq_frame(shape, x[1][FIRST:], last=True, tag=4))
    bad[8] ^= 0x04  # one pixel bit flipped on the line
    script = [{"send": P.frame(P.TYPES["hello"]).hex()}, {"reply": True},
              *sequence_script(shape, x[0], tag=1),
              # sequence 1: its second frame arrives corrupted, is refused, then sent again
              {"send": seq_frame(shape, x[1][:FIRST], last=False, tag=3).hex()},
              {"reply": True}, {"send": bytes(bad).hex()}, {"reply": True},
              {"send": seq_frame(shape, x[1][FIRST:], last=True, tag=4).hex()},
              {"reply": True},
              # reset in the middle of sequence 2; then sequence 2 again from its start
              {"send": seq_frame(shape, x[2][:FIRST], last=False, tag=5).hex()},
              {"reply": True}, {"reset": 40},
              *sequence_script(shape, x[2], tag=6)]
    frames = run_uart_bench(design, script, tmp_path)
    assert len(frames) == 9, [f.hex() for f in frames]
    _, digest, hello_shape = P.parse_hello(parse(frames[0])[1])
    assert digest == core_view(design).digest and hello_shape == shape
    expect_bit_exact(design, shape, frames[1:3], x[0])
    assert parse(frames[4]) == (P.REPLIES["error"], bytes([P.ERRORS["crc"]]))
    expect_bit_exact(design, shape, [frames[3], frames[5]], x[1])
    expect_bit_exact(design, shape, frames[7:9], x[2])


def test_a_wrong_core_fails_at_the_pins(digits, tmp_path):
    """The same bench catches a core whose first output word is wrong: the check can fail."""
    import shutil

    design, x = digits
    copy = tmp_path / "rtl"
    shutil.copytree(design.path, copy)
    core = copy / "hadamrnn.v"
    lines = core.read_text().splitlines(keepends=True)
    target = [i for i, line in enumerate(lines) if " out_0 = " in line]
    assert len(target) == 1, "the generated core no longer names its first output out_0"
    head, expr = lines[target[0]].split(" out_0 = ")
    lines[target[0]] = f"{head} out_0 = ~({expr.strip().rstrip(';')});\n"  # every bit wrong
    core.write_text("".join(lines))
    with pytest.warns(UserWarning, match="changed since 'hadamhw generate'"):
        wrong = api.open_design(copy)
    shape = core_view(wrong).shape
    frames = run_uart_bench(wrong, sequence_script(shape, x[0], tag=1), tmp_path / "bench")
    with pytest.raises(AssertionError):
        expect_bit_exact(design, shape, frames, x[0])
