"""The board top (templates/board/board_top.v.j2) around a generated core: its context."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from hadamhw.backends import render_template, template_environment
from hadamhw.board import protocol
from hadamhw.board.boards import Board
from hadamhw.errors import HadamhwError
from hadamhw.resources import templates_dir

TOP = "hadamhw_board"
TOP_FILE = "hadamhw_board.v"
DEFAULT_BAUD = 115200
BAUD_TOLERANCE = 0.02  # the receiver samples mid-bit: a 2 % rate error is safe over 10 bits
MIN_CLKS_PER_BIT = 4
BUFFER_BYTES = 512  # each of the two frame buffers: one iCE40 block RAM
MAX_FRAME_BEATS = 256
IDLE_SECONDS = 0.005  # a frame that stops for this long is answered with an error
MIN_IDLE_BITS = 64
# core port -> the link's signal; clk and rst are named by the manifest's ports
_CONNECTIONS = {
    "clk": "clk", "rst": "rst || core_restart",
    "s_axis_tvalid": "s_tvalid", "s_axis_tready": "s_tready", "s_axis_tdata": "s_tdata",
    "s_axis_tlast": "s_tlast", "s_axis_tid": "{TID}'d0",
    "m_axis_tvalid": "m_tvalid", "m_axis_tready": "m_tready", "m_axis_tdata": "m_tdata",
    "m_axis_tuser": "m_tuser", "m_axis_tlast": "", "m_axis_tid": "",
}


@dataclass(frozen=True)
class CoreView:
    """What the board top needs of a generated design (read from its manifest)."""

    path: Path
    top: str
    hdl_files: list[Path]
    ports: dict[str, tuple[str, int]]  # name -> (direction, width)
    shape: protocol.Shape
    digest: bytes


def core_view(design) -> CoreView:
    """The board's view of a design folder (hadamhw.design.DesignFolder)."""
    man, where = design.manifest, design.path / "manifest.json"
    if man.get("target", "verilog") != "verilog":
        raise HadamhwError(f"{design.path}: a board top wraps a Verilog design, this one is "
                           f"{man.get('target')}")
    try:
        ports = {p["name"]: (p["direction"], int(p["width"])) for p in man["ports"]}
        files = [design.path / name for name in man["hdl_files"]]
        inp, out = man["input"], man["output"]
        shape = protocol.Shape(
            hidden_size=int(man["hidden_size"]), input_words=int(inp["words"]),
            input_word_bits=int(inp["word_bits"]), token_input=inp["kind"] == "token",
            input_signed=bool(inp.get("signed", False)), output_words=int(out["words"]),
            output_word_bits=int(out["word_bits"]), argmax_bits=int(man["argmax_bits"]),
            readout_last=man["readout"] == "last", max_beats=0)
    except (KeyError, TypeError, ValueError) as exc:
        raise HadamhwError(f"{where}: the board top needs the field {exc} "
                           "(ports, hdl_files, input, output, argmax_bits, readout)") from None
    shape = _with_max_beats(shape)
    return CoreView(design.path, design.top, files, ports, shape,
                    protocol.design_hash(files))


def _with_max_beats(shape: protocol.Shape) -> protocol.Shape:
    """The beats one frame may carry: as many as both buffers hold."""
    beats = min(MAX_FRAME_BEATS, BUFFER_BYTES // shape.in_beat_bytes)
    if not shape.readout_last:
        beats = min(beats, BUFFER_BYTES // shape.out_beat_bytes)
    return protocol.Shape(**{**shape.__dict__, "max_beats": max(1, beats)})


def clocks_per_bit(clock_hz: float, baud: int) -> int:
    """The UART's divider for `baud` at `clock_hz`, or an error saying why it cannot be."""
    if baud <= 0:
        raise HadamhwError(f"--baud must be positive, got {baud}")
    divider = round(clock_hz / baud)
    if divider < MIN_CLKS_PER_BIT:
        raise HadamhwError(f"--baud {baud} is too fast for a {clock_hz / 1e6:g} MHz clock "
                           f"(at most {int(clock_hz / MIN_CLKS_PER_BIT)} baud)")
    error = abs(clock_hz / divider - baud) / baud
    if error > BAUD_TOLERANCE:
        raise HadamhwError(f"--baud {baud} at {clock_hz / 1e6:g} MHz is off by "
                           f"{100 * error:.1f} % (at most {100 * BAUD_TOLERANCE:g} %)")
    return divider


def idle_cycles(clock_hz: float, clks_per_bit: int) -> int:
    return max(MIN_IDLE_BITS * clks_per_bit, math.ceil(clock_hz * IDLE_SECONDS))


def _connections(view: CoreView) -> list[dict]:
    out = []
    for name, (_, width) in view.ports.items():
        if name not in _CONNECTIONS:
            raise HadamhwError(f"{view.path / 'manifest.json'}: core port {name!r} is not one "
                               "the board top drives (AXI4-Stream in and out, clk, rst)")
        signal = _CONNECTIONS[name].replace("{TID}", str(width))
        out.append({"port": name, "signal": signal})
    missing = {"clk", "rst", "s_axis_tdata", "m_axis_tdata", "m_axis_tuser"} - view.ports.keys()
    if missing:
        raise HadamhwError(f"{view.path / 'manifest.json'}: the core has no port "
                           f"{', '.join(sorted(missing))}")
    return out


def _out_beat_expr(view: CoreView) -> str:
    """{argmax, output words}, each zero-padded to whole bytes (no zero-width padding)."""
    def padded(signal: str, bits: int) -> str:
        pad = 8 * protocol.byte_count(bits) - bits
        return f"{{{pad}{{1'b0}}}}, {signal}" if pad else signal

    s = view.shape
    data_bits = view.ports["m_axis_tdata"][1]
    return "{" + padded("m_tuser", s.argmax_bits) + ", " + padded("m_tdata", data_bits) + "}"


def counter_widths(view: CoreView, clks_per_bit: int, idle: int, out_buf: int) -> dict:
    """The link's counters only as wide as their largest value: on a UP5K every flip-flop
    and carry is a logic cell, and 16- and 24-bit counters cost the link about 300."""
    hello = len(protocol.hello_payload(view.digest, view.shape))
    longest = max(protocol.SEQ_HEADER_BYTES + view.shape.max_beats * view.shape.in_beat_bytes,
                  4 + 3 + out_buf, 4 + hello)  # a frame's payload; a reply with its header
    cw = max(8, longest.bit_length())
    if cw > 16:
        raise HadamhwError(f"a frame of {longest} bytes does not fit the 16-bit length field")
    pad = 16 - cw
    return {"cw": cw, "uart_bits": clks_per_bit.bit_length(),  # CLKS_PER_BIT itself fits
            "idle_bits": idle.bit_length(),
            "rlen16": f"{{{pad}'d0, rlen}}" if pad else "rlen"}


def render_top(view: CoreView, board: Board, *, clock_hz: float, baud: int, pll: bool,
               clks_per_bit: int | None = None) -> str:
    """The board top's Verilog; clks_per_bit overrides the divider (simulation)."""
    divider = clocks_per_bit(clock_hz, baud) if clks_per_bit is None else clks_per_bit
    s = view.shape
    in_bits = view.ports["s_axis_tdata"][1]
    if in_bits != s.input_words * s.input_word_bits or view.ports["m_axis_tuser"][1] != \
            s.argmax_bits:
        raise HadamhwError(f"{view.path / 'manifest.json'}: port widths disagree with "
                           "'input' and 'argmax_bits'")
    out_buf = s.out_beat_bytes * (1 if s.readout_last else s.max_beats)
    widths = counter_widths(view, divider, idle_cycles(clock_hz, divider), out_buf)
    ctx = {
        **widths,
        "board": board.name, "core": view.top, "hash_hex": view.digest.hex(),
        "clock_note": (f"{clock_hz / 1e6:g} MHz from the {board.osc_mhz:g} MHz oscillator "
                       f"{'through the PLL' if pll else 'directly'}"),
        "clks_per_bit": divider, "idle_cycles": idle_cycles(clock_hz, divider),
        "in_beat_bytes": s.in_beat_bytes, "out_beat_bytes": s.out_beat_bytes,
        "max_beats": s.max_beats, "out_buf_bytes": out_buf,
        "in_addr_bits": max(1, (s.max_beats * s.in_beat_bytes - 1).bit_length()),
        "out_addr_bits": max(1, (out_buf - 1).bit_length()),
        "seq_header_bytes": protocol.SEQ_HEADER_BYTES,
        "hello": list(protocol.hello_payload(view.digest, s)), "sync": protocol.SYNC,
        "types": protocol.TYPES, "replies": protocol.REPLIES, "errors": protocol.ERRORS,
        "in_bits": in_bits, "out_bits": view.ports["m_axis_tdata"][1],
        "argmax_bits": s.argmax_bits, "connections": _connections(view),
        "readout_every": not s.readout_last, "o_beat_expr": _out_beat_expr(view),
        "pll": pll, "leds": board.leds, "led_active_low": board.led_active_low,
        "button_active_low": board.button_active_low,
        # about one blink a second
        "heartbeat_bit": max(1, int(math.log2(clock_hz)) - 1),
    }
    env = template_environment(templates_dir() / "board")
    return render_template(env, "board_top.v.j2", ctx)
