"""The host link's framing protocol (docs/board.md), shared by the board top's template and
the host driver so that both sides read the same constants.

A frame: SYNC, type, payload length (2 bytes, LSB first), payload, CRC-8 of every byte after
SYNC (polynomial 0x07, initial value 0, MSB first). Input and output beats are the core's
AXI4-Stream words packed LSB first into whole bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hadamhw.errors import HadamhwError

SYNC = 0xA5
VERSION = 1
TYPES = {"hello": 0x01, "seq": 0x02, "resend": 0x03, "restart": 0x04}
REPLIES = {"hello": 0x81, "out": 0x82, "restart": 0x84, "error": 0xEE}
ERRORS = {"crc": 1, "length": 2, "type": 3, "truncated": 4}
ERROR_NAMES = {code: name for name, code in ERRORS.items()}
SEQ_HEADER_BYTES = 2  # flags (bit 0: the frame ends the sequence), tag
OUT_HEADER_BYTES = 3  # tag, position of the frame's first beat in its sequence (2 bytes)
FLAG_LAST = 0x01
HASH_BYTES = 8
HELLO_BYTES = 1 + HASH_BYTES + 2 + 2 + 1 + 1 + 2 + 1 + 1 + 1 + 2


def crc8(data: bytes, crc: int = 0) -> int:
    """CRC-8 with polynomial x^8 + x^2 + x + 1, MSB first (the board's crc8 function)."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def frame(kind: int, payload: bytes = b"") -> bytes:
    """One frame of type `kind` around `payload`."""
    body = bytes([kind, len(payload) & 0xFF, len(payload) >> 8]) + payload
    return bytes([SYNC]) + body + bytes([crc8(body)])


def byte_count(bits: int) -> int:
    return (bits + 7) // 8


def design_hash(hdl_files: list[Path]) -> bytes:
    """The first HASH_BYTES bytes of SHA-256 over the design's HDL files (name and content,
    in the manifest's order): what the hello reply names the design by."""
    digest = hashlib.sha256()
    for path in hdl_files:
        data = Path(path).read_bytes()
        digest.update(f"{Path(path).name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.digest()[:HASH_BYTES]


@dataclass(frozen=True)
class Shape:
    """What the hello reply says about the design on the board."""

    hidden_size: int
    input_words: int
    input_word_bits: int
    token_input: bool
    input_signed: bool
    output_words: int
    output_word_bits: int
    argmax_bits: int
    readout_last: bool
    max_beats: int

    @property
    def in_beat_bytes(self) -> int:
        return byte_count(self.input_words * self.input_word_bits)

    @property
    def out_data_bytes(self) -> int:
        return byte_count(self.output_words * self.output_word_bits)

    @property
    def out_beat_bytes(self) -> int:
        return self.out_data_bytes + byte_count(self.argmax_bits)


def hello_payload(digest: bytes, shape: Shape) -> bytes:
    """The hello reply's payload (docs/board.md, 'hello')."""
    def u16(v: int) -> bytes:
        return int(v).to_bytes(2, "little")

    out = (bytes([VERSION]) + digest + u16(shape.hidden_size) + u16(shape.input_words)
           + bytes([shape.input_word_bits, int(shape.token_input) | int(shape.input_signed) << 1])
           + u16(shape.output_words)
           + bytes([shape.output_word_bits, shape.argmax_bits, int(shape.readout_last)])
           + u16(shape.max_beats))
    assert len(out) == HELLO_BYTES
    return out


def parse_hello(payload: bytes) -> tuple[int, bytes, Shape]:
    """(protocol version, design hash, shape) of a hello reply's payload."""
    if len(payload) != HELLO_BYTES:
        raise HadamhwError(f"hello reply of {len(payload)} bytes, expected {HELLO_BYTES}")
    p, h = payload, 1 + HASH_BYTES
    kind = p[h + 5]
    shape = Shape(hidden_size=int.from_bytes(p[h:h + 2], "little"),
                  input_words=int.from_bytes(p[h + 2:h + 4], "little"),
                  input_word_bits=p[h + 4], token_input=bool(kind & 1),
                  input_signed=bool(kind & 2),
                  output_words=int.from_bytes(p[h + 6:h + 8], "little"),
                  output_word_bits=p[h + 8], argmax_bits=p[h + 9],
                  readout_last=bool(p[h + 10]),
                  max_beats=int.from_bytes(p[h + 11:h + 13], "little"))
    return p[0], bytes(p[1:h]), shape


def pack_beats(steps: np.ndarray, shape: Shape) -> bytes:
    """Input beats (steps x input_words integers) as bytes: each beat's words LSB first,
    word i at bits [i * word_bits, (i + 1) * word_bits) of the core's s_axis_tdata."""
    bits, mask = shape.input_word_bits, (1 << shape.input_word_bits) - 1
    out = bytearray()
    for beat in np.asarray(steps, dtype=np.int64).reshape(len(steps), -1):
        value = 0
        for i, word in enumerate(beat.tolist()):
            value |= (int(word) & mask) << (i * bits)
        out += value.to_bytes(shape.in_beat_bytes, "little")
    return bytes(out)


def unpack_beats(data: bytes, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """(outputs (beats x output_words), argmax (beats,)) of an output reply's beats."""
    size, bits = shape.out_beat_bytes, shape.output_word_bits
    if len(data) % size:
        raise HadamhwError(f"output reply of {len(data)} bytes is not a whole number of "
                           f"{size}-byte beats")
    beats = len(data) // size
    outputs = np.zeros((beats, shape.output_words), dtype=np.int64)
    argmax = np.zeros(beats, dtype=np.int64)
    for b in range(beats):
        chunk = data[b * size:(b + 1) * size]
        value = int.from_bytes(chunk[:shape.out_data_bytes], "little")
        for i in range(shape.output_words):
            word = (value >> (i * bits)) & ((1 << bits) - 1)
            outputs[b, i] = word - (1 << bits) if word >> (bits - 1) else word
        argmax[b] = int.from_bytes(chunk[shape.out_data_bytes:], "little")
    return outputs, argmax
