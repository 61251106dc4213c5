"""The host driver: a board built by `hadamhw board`, over its serial port (pyserial).

    link = hadamhw.board.connect("/dev/ttyUSB1", "rtl/")   # checks the board's design hash
    y = link.predict(x)                                    # as design.predict(x)

Stop and wait: the driver sends one frame and waits for its reply, so the board's buffers
never overrun. A reply that does not come or arrives corrupted is asked for again (RESEND,
which repeats the last output reply without running anything), a frame the board rejected
(its CRC-8, length or type) is sent again; tags tell a repeated reply from a new one, and
each reply's sequence position tells when the board was reset in the middle of a sequence
(the sequence is then run again from its first step).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hadamhw.board import protocol as P
from hadamhw.board.top import DEFAULT_BAUD, core_view
from hadamhw.errors import HadamhwError

DEFAULT_TIMEOUT_S = 1.0
DEFAULT_RETRIES = 4
RESTARTS = 2  # runs of one sequence after the board was reset during it


class _Restarted(Exception):
    """The board's sequence position went back: it was reset during the sequence."""


class BoardLink:
    """A connected board; `predict` and `golden` as hadamhw.api.Design's."""

    def __init__(self, serial, design, port: str, *, baud: int, timeout: float,
                 retries: int) -> None:
        self.serial, self.design, self.port = serial, design, port
        self.baud, self.timeout, self.retries = baud, timeout, retries
        self.view = core_view(design)
        self.shape = self.view.shape
        self.stats = {"frames": 0, "resent": 0, "rejected": 0, "lost_replies": 0,
                      "restarts": 0}
        self._tag = 0

    # -- frames ---------------------------------------------------------------------------
    def _read_exact(self, count: int, deadline: float) -> bytes | None:
        out = b""
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.serial.timeout = min(left, 0.05)
            out += self.serial.read(count - len(out))
        return out

    def _read_frame(self, deadline: float) -> tuple[int, bytes] | None:
        """(type, payload) of the next good frame, None on a timeout or a bad CRC."""
        while True:
            first = self._read_exact(1, deadline)
            if first is None:
                return None
            if first[0] == P.SYNC:
                break
        head = self._read_exact(3, deadline)
        if head is None:
            return None
        rest = self._read_exact((head[1] | head[2] << 8) + 1, deadline)  # payload, CRC
        if rest is None:
            return None
        if P.crc8(head + rest[:-1]) != rest[-1]:
            return None
        return head[0], rest[:-1]

    def _exchange(self, request: bytes, reply_bytes: int) -> tuple[int, bytes] | None:
        """Send one frame and read one reply (None: none, or a corrupted one)."""
        self.serial.reset_input_buffer()
        self.serial.write(request)
        self.serial.flush()
        self.stats["frames"] += 1
        line = 20 * (len(request) + reply_bytes + 8) / self.baud  # bits both ways, twice
        return self._read_frame(time.monotonic() + self.timeout + line)

    def _no_answer(self, what: str) -> HadamhwError:
        return HadamhwError(f"no answer to {what} from a board on {self.port} at {self.baud} "
                            f"baud after {self.retries + 1} tries of {self.timeout:g} s (is it "
                            f"built by 'hadamhw board' and flashed, and is the baud the same?)")

    def _simple(self, kind: str, reply: str, reply_bytes: int = 0) -> bytes:
        """A request that is safe to repeat (hello, restart): its reply's payload."""
        request = P.frame(P.TYPES[kind])
        for _ in range(self.retries + 1):
            got = self._exchange(request, reply_bytes)
            if got is not None and got[0] == P.REPLIES[reply]:
                return got[1]
            self.stats["resent"] += 1
        raise self._no_answer(kind)

    def hello(self) -> tuple[bytes, P.Shape]:
        """(design hash, shape) the board reports."""
        version, digest, shape = P.parse_hello(self._simple("hello", "hello", P.HELLO_BYTES))
        if version != P.VERSION:
            raise HadamhwError(f"the board on {self.port} speaks protocol version {version}, "
                               f"this driver {P.VERSION}: rebuild it with this hadamhw")
        return digest, shape

    def restart(self) -> None:
        """Reset the core (the board's sequence position goes back to 0)."""
        self._simple("restart", "restart")

    def _next_tag(self) -> int:
        self._tag = self._tag % 255 + 1  # 1..255: 0 is the board's tag after a reset
        return self._tag

    def _run_frame(self, beats: bytes, last: bool, position: int, out_beats: int) -> bytes:
        """One SEQ frame: the output beats' bytes of its reply."""
        tag = self._next_tag()
        request = P.frame(P.TYPES["seq"], bytes([P.FLAG_LAST if last else 0, tag]) + beats)
        reply_bytes = P.OUT_HEADER_BYTES + out_beats * self.shape.out_beat_bytes
        send = request
        for _ in range(self.retries + 1):
            got = self._exchange(send, reply_bytes)
            if got is None:  # lost or corrupted: the board may have run it, ask again
                self.stats["lost_replies"] += 1
                send = P.frame(P.TYPES["resend"])
                continue
            kind, body = got
            if kind == P.REPLIES["out"] and len(body) >= P.OUT_HEADER_BYTES and body[0] == tag:
                if int.from_bytes(body[1:3], "little") != position & 0xFFFF:  # 16-bit
                    raise _Restarted()
                return body[P.OUT_HEADER_BYTES:]
            # an error reply (the frame was dropped) or the reply to an earlier frame
            self.stats["rejected" if kind == P.REPLIES["error"] else "resent"] += 1
            send = request
        raise self._no_answer("an input frame")

    # -- sequences ------------------------------------------------------------------------
    def _run_sequence(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data = P.pack_beats(steps, self.shape)
        size, per_frame = self.shape.in_beat_bytes, self.shape.max_beats
        count = len(steps)
        chunks = []
        for start in range(0, count, per_frame):
            stop = min(count, start + per_frame)
            last = stop == count
            out_beats = 1 if last and self.shape.readout_last else \
                (0 if self.shape.readout_last else stop - start)
            chunks.append(self._run_frame(data[start * size:stop * size], last, start,
                                          out_beats))
        return P.unpack_beats(b"".join(chunks), self.shape)

    def predict(self, x, *, return_argmax: bool = False):
        """The board's integer outputs for a batch x, shaped as design.predict's."""
        from hadamhw.verify.predict import integer_batch

        batch = integer_batch(self.design.ir, x)
        outputs, argmax = [], []
        for steps in batch:
            for attempt in range(RESTARTS + 1):
                try:
                    out, am = self._run_sequence(steps)
                    break
                except _Restarted:
                    if attempt == RESTARTS:
                        raise HadamhwError(f"the board on {self.port} was reset during a "
                                           f"sequence {RESTARTS + 1} times") from None
                    self.stats["restarts"] += 1
                    self.restart()
            outputs.append(out[0] if self.shape.readout_last else out)
            argmax.append(am[0] if self.shape.readout_last else am)
        outputs, argmax = np.stack(outputs), np.stack(argmax)
        return (outputs, argmax) if return_argmax else outputs

    def golden(self, x, *, return_argmax: bool = False):
        from hadamhw.verify.predict import golden_outputs

        return golden_outputs(self.design.ir, x, return_argmax=return_argmax)

    def close(self) -> None:
        self.serial.close()

    def __enter__(self) -> BoardLink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(port: str, design, *, baud: int = DEFAULT_BAUD,
            timeout: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES) -> BoardLink:
    """Open the board on serial `port`, check that it holds `design` (a design folder or an
    opened Design) and restart its core; the link's predict(x) runs x on the board."""
    from hadamhw.design import read_design

    try:
        import serial
    except ImportError:
        raise HadamhwError("the board driver needs pyserial: pip install "
                           "'hadamhw[board]'") from None
    if isinstance(design, (str, Path)):
        design = read_design(design)
    try:
        handle = serial.Serial(port, baudrate=baud, timeout=0.05)
    except (serial.SerialException, OSError) as exc:
        raise HadamhwError(f"cannot open serial port {port}: {exc}") from None
    link = BoardLink(handle, design, port, baud=baud, timeout=timeout, retries=retries)
    try:
        digest, shape = link.hello()
        if digest != link.view.digest:
            raise HadamhwError(f"the board on {port} holds another design (hash "
                               f"{digest.hex()}, {design.path} is {link.view.digest.hex()}): "
                               f"build and flash it with 'hadamhw board {design.path}'")
        link.shape = shape
        link.restart()
    except BaseException:
        link.close()
        raise
    return link
