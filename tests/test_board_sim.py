"""The board top simulated at its UART pins (Verilator, bit-level UART on a pseudo-terminal).

Part 1 speaks the protocol byte by byte (docs/board.md): bit-exact outputs against the golden
model on random stimulus, corrupted and malformed frames (an error reply, nothing lost after
it), the reset button pressed in the middle of a sequence. Part 2 runs the host driver's own
code (hadamhw.board.connect, pyserial) against the same model through the terminal's path.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from hadamhw import api
from hadamhw.board import protocol as P
from hadamhw.board.sim import SimulatedBoard, build_model
from hadamhw.board.top import core_view
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_inputs, random_ir

pytestmark = pytest.mark.needs("verilator")

# (name, IR options): int inputs with a readout every step; tokens with the last step's
DESIGNS = {
    "int-every": dict(input_size=3, output_size=5, readout="every"),
    "token-last": dict(input_kind="token", input_size=10, output_size=4, readout="last"),
}


@pytest.fixture(scope="module", params=sorted(DESIGNS))
def model(request, tmp_path_factory):
    """(design, executable of its board model)."""
    root = tmp_path_factory.mktemp(f"board-{request.param}")
    ir = random_ir(np.random.default_rng(7), 8, requant="lean", **DESIGNS[request.param])
    design = api.generate(ir, root / "rtl")
    return design, build_model(design, root / "sim")


@pytest.fixture
def board(model):
    b = SimulatedBoard(model[1])
    yield b
    b.close()


def reply(board: SimulatedBoard, timeout: float = 10.0) -> tuple[int, bytes]:
    """The next frame from the board, checked byte by byte: (type, payload)."""
    head = board.read(4, timeout)
    assert len(head) == 4 and head[0] == P.SYNC, f"no reply header: {head.hex()}"
    size = head[2] | head[3] << 8
    rest = board.read(size + 1, timeout)
    assert len(rest) == size + 1, "reply cut short"
    assert P.crc8(head[1:] + rest[:-1]) == rest[-1], "reply CRC"
    return head[1], rest[:-1]


def seq_frame(shape: P.Shape, steps: np.ndarray, *, last: bool, tag: int) -> bytes:
    return P.frame(P.TYPES["seq"], bytes([P.FLAG_LAST if last else 0, tag])
                   + P.pack_beats(steps, shape))


def run_frame(board, shape, steps, *, last, tag, position) -> bytes:
    board.write(seq_frame(shape, steps, last=last, tag=tag))
    kind, body = reply(board)
    assert kind == P.REPLIES["out"], f"reply {kind:#x} {body.hex()}"
    assert body[0] == tag and int.from_bytes(body[1:3], "little") == position
    return body[P.OUT_HEADER_BYTES:]


def run_sequence(board, shape, steps, tag0: int = 1, beats_per_frame: int = 5) -> bytes:
    out = b""
    for k, start in enumerate(range(0, len(steps), beats_per_frame)):
        chunk = steps[start:start + beats_per_frame]
        last = start + beats_per_frame >= len(steps)
        out += run_frame(board, shape, chunk, last=last, tag=tag0 + k, position=start)
    return out


def expect(design, x):
    """Golden (outputs, argmax) of one sequence x, as the board's beats."""
    outputs, argmax = design.golden(x[None], return_argmax=True)
    return outputs.reshape(-1, outputs.shape[-1]), argmax.reshape(-1)


def check(design, shape, data, x):
    outputs, argmax = P.unpack_beats(data, shape)
    want, want_argmax = expect(design, x)
    np.testing.assert_array_equal(outputs, want)
    np.testing.assert_array_equal(argmax, want_argmax)


def test_hello_names_the_design(model, board):
    design, _ = model
    board.write(P.frame(P.TYPES["hello"]))
    kind, body = reply(board)
    version, digest, shape = P.parse_hello(body)
    view = core_view(design)
    assert kind == P.REPLIES["hello"] and version == P.VERSION
    assert digest == view.digest and shape == view.shape


def test_random_sequences_bit_exact(model, board):
    design, _ = model
    shape = core_view(design).shape
    rng = np.random.default_rng(11)
    for i, length in enumerate((1, 5, 6, 13)):
        x = random_inputs(rng, design.ir, 1, length)[0]
        check(design, shape, run_sequence(board, shape, x, tag0=1 + 10 * i), x)


def test_the_longest_frame_each_way(model, board):
    """One frame of max_beats beats, the reply as long as the buffers allow: the link's
    counters are only as wide as these frames need (board.top.counter_widths)."""
    design, _ = model
    shape = core_view(design).shape
    x = random_inputs(np.random.default_rng(13), design.ir, 1, shape.max_beats)[0]
    check(design, shape, run_sequence(board, shape, x, beats_per_frame=shape.max_beats), x)


def test_bad_frames_are_answered_and_nothing_is_lost(model, board):
    design, _ = model
    shape = core_view(design).shape
    x = random_inputs(np.random.default_rng(12), design.ir, 1, 12)[0]
    good = [seq_frame(shape, x[:4], last=False, tag=1), seq_frame(shape, x[4:8], last=False,
                                                                  tag=2),
            seq_frame(shape, x[8:], last=True, tag=3)]
    data = run_frame(board, shape, x[:4], last=False, tag=1, position=0)
    bad_crc = bytearray(good[1])
    bad_crc[6] ^= 0x10  # a payload bit flipped on the line
    too_long = P.frame(P.TYPES["seq"], bytes(2 + (shape.max_beats + 1) * shape.in_beat_bytes))
    unknown = P.frame(0x33, b"\x01\x02")
    ragged = P.frame(P.TYPES["seq"], bytes([0, 2]) + P.pack_beats(x[4:6], shape)[:-1])
    cases = [(bytes(bad_crc), "crc"), (too_long, "length"), (unknown, "type"),
             (good[1][:5], "truncated")]
    if shape.in_beat_bytes > 1:  # a payload that ends inside a beat
        cases.append((ragged, "length"))
    for frame, error in cases:
        board.write(frame)
        kind, body = reply(board)
        assert (kind, body) == (P.REPLIES["error"], bytes([P.ERRORS[error]])), error
    # RESEND repeats the last output reply, not an error reply
    board.write(P.frame(P.TYPES["resend"]))
    assert reply(board) == (P.REPLIES["out"], bytes([1, 0, 0]) + data)
    # the sequence goes on where it was: none of the bad frames reached the core
    data += run_frame(board, shape, x[4:8], last=False, tag=2, position=4)
    data += run_frame(board, shape, x[8:], last=True, tag=3, position=8)
    check(design, shape, data, x)


def test_reset_in_the_middle_of_a_sequence(model, board):
    design, _ = model
    shape = core_view(design).shape
    rng = np.random.default_rng(13)
    a, b = random_inputs(rng, design.ir, 2, 9)
    run_frame(board, shape, a[:4], last=False, tag=1, position=0)
    board.press_reset()  # between two frames of sequence a
    board.write(P.frame(P.TYPES["resend"]))  # the board forgot its last reply
    assert reply(board) == (P.REPLIES["out"], bytes([0, 0, 0]))
    check(design, shape, run_sequence(board, shape, b, tag0=5), b)
    # and in the middle of a frame: its rest arrives after the reset and is dropped
    board.write(seq_frame(shape, a[:6], last=False, tag=9)[:5])
    board.press_reset()
    board.write(seq_frame(shape, a[:6], last=False, tag=9)[5:])
    stray = board.read(64, timeout=1.0)  # the tail may parse as a bad frame: an error reply
    assert stray == b"" or (stray[:2] == bytes([P.SYNC, P.REPLIES["error"]])
                            and len(stray) == 6), stray.hex()
    check(design, shape, run_sequence(board, shape, a, tag0=20), a)


# -- part 2: the host driver, unchanged, on the simulated board's terminal ---------------------

@pytest.fixture
def serial_module():
    """pyserial (the board extra): skipped without it, failed without it when CI is set."""
    from tests.needs import in_ci

    try:
        import serial
    except ImportError:
        if in_ci():
            pytest.fail("pyserial is not installed (pip install 'hadamhw[board]')")
        pytest.skip("pyserial is not installed (pip install 'hadamhw[board]')")
    return serial


def test_driver_predicts_bit_exact(model, board, serial_module):
    from hadamhw.board import connect

    design, _ = model
    x = random_inputs(np.random.default_rng(21), design.ir, 6, 23)
    with connect(board.port, design.path, timeout=2.0) as link:
        got, got_argmax = link.predict(x, return_argmax=True)
        want, want_argmax = design.golden(x, return_argmax=True)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got_argmax, want_argmax)
        assert link.stats["rejected"] == link.stats["lost_replies"] == 0


class Meddler:
    """A serial port that damages chosen writes or reads, or presses the board's reset
    before a chosen write: the driver must recover from each."""

    def __init__(self, inner, board, *, bad_writes=(), bad_reads=(), reset_before=()):
        self.inner, self.board = inner, board
        self.bad_writes, self.bad_reads = set(bad_writes), set(bad_reads)
        self.reset_before = set(reset_before)
        self.writes = self.reads = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes in self.reset_before:
            self.board.press_reset()
        if self.writes in self.bad_writes:
            data = data[:-2] + bytes([data[-2] ^ 0x01]) + data[-1:]
        return self.inner.write(data)

    def read(self, size: int = 1) -> bytes:
        data = self.inner.read(size)
        if data:
            self.reads += 1
            if self.reads in self.bad_reads:
                data = bytes([data[0] ^ 0x40]) + data[1:]
        return data

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __setattr__(self, name, value):
        if name == "timeout":
            self.inner.timeout = value
        else:
            super().__setattr__(name, value)


def test_driver_recovers_from_line_errors_and_resets(model, board, serial_module):
    from hadamhw.board import connect

    design, _ = model
    x = random_inputs(np.random.default_rng(22), design.ir, 3, 30)
    want = design.golden(x)
    with connect(board.port, design, timeout=0.5) as link:
        link.shape = P.Shape(**{**link.shape.__dict__, "max_beats": 8})  # 4 frames a sequence
        link.serial = Meddler(link.serial, board, bad_writes={2, 5}, bad_reads={40})
        np.testing.assert_array_equal(link.predict(x), want)
        assert link.stats["rejected"] == 2 and link.stats["lost_replies"] >= 1
        # the reset button pressed before the second frame of a sequence
        link.serial = Meddler(link.serial.inner, board, reset_before={2})
        np.testing.assert_array_equal(link.predict(x), want)
        assert link.stats["restarts"] == 1


def test_driver_refuses_another_design(model, board, serial_module, tmp_path):
    from hadamhw.board import connect

    design, _ = model
    other = api.generate(random_ir(np.random.default_rng(99), 8, requant="lean"),
                         tmp_path / "other")
    with pytest.raises(HadamhwError, match="holds another design") as err:
        connect(board.port, other, timeout=2.0)
    assert "\n" not in str(err.value)


def test_driver_says_when_nothing_answers(model, serial_module):
    import os
    import tty

    from hadamhw.board import connect

    master, slave = os.openpty()  # a terminal with nothing behind it
    tty.setraw(slave)
    try:
        start = time.monotonic()
        with pytest.raises(HadamhwError, match="no answer to hello") as err:
            connect(os.ttyname(slave), model[0], timeout=0.2, retries=1)
        assert time.monotonic() - start < 5 and "\n" not in str(err.value)
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(HadamhwError, match="cannot open serial port"):
        connect("/dev/does-not-exist", model[0])



@pytest.mark.parametrize("board_name", ["icebreaker", "ulx3s"])
def test_top_lints_clean(model, board_name, tmp_path):
    import subprocess

    from hadamhw.board.boards import BOARDS
    from hadamhw.board.top import render_top
    from hadamhw.verify.tools import verilator_bin, verilator_env

    design, _ = model
    view = core_view(design)
    top = tmp_path / "hadamhw_board.v"
    top.write_text(render_top(view, BOARDS[board_name], clock_hz=BOARDS[board_name].osc_mhz
                              * 1e6, baud=115200, pll=False))
    proc = subprocess.run([verilator_bin(), "--lint-only", "-Wall", "--top-module",
                           "hadamhw_board", str(top), *map(str, view.hdl_files)],
                          env=verilator_env(), capture_output=True, text=True, timeout=300)
    messages = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith(("%Warning", "%Error"))]
    assert proc.returncode == 0 and not messages, messages[:5]
