"""hadamhw.board without simulators: the protocol, the board top's text, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hadamhw import api
from hadamhw.board import protocol as P
from hadamhw.board.bitstream import sequence_rates
from hadamhw.board.boards import BOARDS
from hadamhw.board.top import clocks_per_bit, core_view, render_top
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    ir = random_ir(np.random.default_rng(3), 8, input_size=3, output_size=5, requant="lean")
    return api.generate(ir, tmp_path_factory.mktemp("board") / "rtl")


def test_crc8_is_crc8_smbus():
    # the check value of CRC-8 (poly 0x07, init 0, no reflection) over "123456789"
    assert P.crc8(b"123456789") == 0xF4
    assert P.crc8(b"") == 0


def test_frame_layout_byte_by_byte():
    f = P.frame(0x02, bytes([1, 7, 0xAB]))
    assert f[:4] == bytes([0xA5, 0x02, 3, 0]) and f[4:7] == bytes([1, 7, 0xAB])
    assert f[7] == P.crc8(f[1:7]) and len(f) == 8


def test_hello_round_trip(design):
    view = core_view(design)
    version, digest, shape = P.parse_hello(P.hello_payload(view.digest, view.shape))
    assert version == P.VERSION and digest == view.digest and shape == view.shape
    assert shape.hidden_size == 8 and shape.output_words == 5 and not shape.readout_last


def test_hash_names_the_hdl(design, tmp_path):
    view = core_view(design)
    changed = tmp_path / view.hdl_files[0].name
    changed.write_bytes(view.hdl_files[0].read_bytes() + b"// changed\n")
    assert P.design_hash([changed, *view.hdl_files[1:]]) != view.digest
    assert P.design_hash(view.hdl_files) == view.digest


def test_beats_pack_and_unpack(design):
    shape = core_view(design).shape
    rng = np.random.default_rng(0)
    steps = rng.integers(-8, 8, size=(6, 3))
    data = P.pack_beats(steps, shape)
    assert len(data) == 6 * shape.in_beat_bytes == 6 * 2  # 12 bits a beat
    value = int.from_bytes(data[:2], "little")
    assert [((value >> (4 * i)) & 15) for i in range(3)] == [int(v) & 15 for v in steps[0]]
    words = rng.integers(-(1 << 16), 1 << 16, size=(4, 5))
    argmax = rng.integers(0, 5, size=4)
    raw = b""
    for w, a in zip(words, argmax, strict=True):
        packed = sum((int(v) & ((1 << 17) - 1)) << (17 * i) for i, v in enumerate(w))
        raw += packed.to_bytes(shape.out_data_bytes, "little") + int(a).to_bytes(1, "little")
    outputs, got_argmax = P.unpack_beats(raw, shape)
    assert (outputs == words).all() and (got_argmax == argmax).all()
    with pytest.raises(HadamhwError, match="whole number"):
        P.unpack_beats(raw[:-1], shape)


def test_baud_divider():
    assert clocks_per_bit(12e6, 115200) == 104
    assert clocks_per_bit(25e6, 115200) == 217
    with pytest.raises(HadamhwError, match="too fast"):
        clocks_per_bit(12e6, 12_000_000)
    with pytest.raises(HadamhwError, match="off by"):
        clocks_per_bit(12e6, 1_900_000)  # 6 clocks a bit make 2 MBd, 5 % off
    assert clocks_per_bit(12e6, 3_000_000) == 4


def test_top_is_deterministic_and_parameterized(design):
    view = core_view(design)
    a = render_top(view, BOARDS["icebreaker"], clock_hz=12e6, baud=115200, pll=False)
    assert a == render_top(view, BOARDS["icebreaker"], clock_hz=12e6, baud=115200, pll=False)
    assert "parameter CLKS_PER_BIT = 104" in a and "hadamhw_pll" not in a
    assert view.digest.hex() in a and f"{view.top} u_core" in a
    b = render_top(view, BOARDS["ulx3s"], clock_hz=50e6, baud=1_000_000, pll=True)
    assert "parameter CLKS_PER_BIT = 50" in b and "hadamhw_pll u_pll" in b


def test_rates_count_every_byte(design):
    view = core_view(design)
    r = sequence_rates(view, 100, baud=115200, clock_hz=12e6, cycles_per_step=1,
                       latency_cycles=2)
    frames = -(-100 // view.shape.max_beats)
    assert r["frames"] == frames
    assert r["bytes_sent"] == frames * 7 + 100 * 2
    assert r["bytes_received"] == frames * 8 + 100 * view.shape.out_beat_bytes
    assert r["core_bound_per_s"] == round(12e6 / 102, 1)


def test_command_writes_top_and_pins(cli, design, tmp_path):
    out = tmp_path / "ulx3s"
    code, stdout, err = cli("board", design.path, "--board", "ulx3s", "-o", out,
                            "--no-bitstream", "--steps", "16")
    assert code == 0, err
    assert (out / "hadamhw_board.v").is_file() and (out / "ulx3s.lpf").is_file()
    assert "LOCATE COMP \"uart_tx\" SITE \"L4\"" in (out / "ulx3s.lpf").read_text()
    summary = json.loads((out / "board.json").read_text())
    assert summary["clocks_per_bit"] == 217 and not summary["pll"]
    assert summary["hash"] == core_view(design).digest.hex()
    assert "sequences/s UART-bound" in stdout


def test_command_errors_are_one_line(cli, design, tmp_path):
    code, _, err = cli("board", design.path, "--board", "icebreaker", "-o", tmp_path / "x",
                       "--no-bitstream", "--baud", "5000000")
    assert code == 2 and "too fast for a 12 MHz clock" in err and len(err.splitlines()) == 1
    code, _, err = cli("board", tmp_path / "missing", "--board", "icebreaker", "-o",
                       tmp_path / "y", "--no-bitstream")
    assert code == 2 and len(err.splitlines()) == 1
    code, _, err = cli("board", design.path, "--board", "arty", "-o", tmp_path / "z")
    assert code == 2 and "invalid choice" in err


def test_hls_design_is_refused(tmp_path):
    ir = random_ir(np.random.default_rng(4), 8, requant="lean")
    hls = api.generate(ir, tmp_path / "hls", target="hls")
    with pytest.raises(HadamhwError, match="Verilog design"):
        core_view(hls)


def test_timing_miss_says_by_how_much():
    from hadamhw.board.bitstream import check_timing

    report = {"fmax": {"clk": {"achieved": 10.5, "constraint": 12.0}}}
    with pytest.raises(HadamhwError, match=r"10\.50 MHz, 1\.50 MHz short of 12 MHz"):
        check_timing(report, 12.0, BOARDS["icebreaker"])
    assert check_timing({"fmax": {"clk": {"achieved": 13.0}}}, 12.0,
                         BOARDS["icebreaker"]) == 13.0


@pytest.mark.needs("nextpnr-ice40", "nextpnr-ecp5")  # icepll, ecppll ship with them
def test_pll_for_another_clock(design, tmp_path):
    from hadamhw.board import build

    ice = build(design.path, "icebreaker", tmp_path / "ice", clock_mhz=18, bitstream=False)
    assert ice["pll"] and ice["clock_mhz"] == 18.0 and ice["clocks_per_bit"] == 156
    pll = (tmp_path / "ice" / "hadamhw_pll.v").read_text()
    assert "SB_PLL40_PAD" in pll and "module hadamhw_pll" in pll
    assert "hadamhw_pll u_pll" in (tmp_path / "ice" / "hadamhw_board.v").read_text()
    ecp = build(design.path, "ulx3s", tmp_path / "ecp", clock_mhz=48, bitstream=False)
    assert ecp["pll"] and abs(ecp["clock_mhz"] - 48) < 2  # the PLL's nearest: 46.875 MHz
    assert "EHXPLLL" in (tmp_path / "ecp" / "hadamhw_pll.v").read_text()
    same = build(design.path, "ulx3s", tmp_path / "ecp", bitstream=False)
    assert not same["pll"] and not (tmp_path / "ecp" / "hadamhw_pll.v").exists()


def test_a_design_too_large_fails_before_place_and_route():
    from hadamhw.board.bitstream import check_fit

    with pytest.raises(HadamhwError, match="does not fit: Yosys maps it to 6535 LUTs and "
                                           "2050 flip-flops, the iCE40UP5K has 5280"):
        check_fit(BOARDS["icebreaker"], {"lut_equivalents": 6535, "ffs": 2050})
    check_fit(BOARDS["ulx3s"], {"lut_equivalents": 6535, "ffs": 2050})
