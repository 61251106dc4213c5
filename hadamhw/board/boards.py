"""The boards `hadamhw board` builds for: device, oscillator, pins (templates/board/*), tools."""

from __future__ import annotations

from dataclasses import dataclass

from hadamhw.errors import HadamhwError


@dataclass(frozen=True)
class Board:
    name: str
    family: str              # nextpnr family: ice40 or ecp5
    device: str              # hadamhw.report.pnr.NAMED_DEVICES name
    device_flag: str         # nextpnr's device option
    package: str
    synth_device: str        # extra options of the family's synth_* pass
    osc_mhz: float           # the board oscillator on the clk_in pin
    pin_file: str            # data file under templates/board/
    leds: int                # led[] bits the pin file names
    led_active_low: bool
    button_active_low: bool
    pack_tool: str           # yowasp tool that writes the bitstream
    pll_tool: str            # yowasp tool that computes the PLL's settings
    bitstream: str           # bitstream file name in the output folder

    @property
    def pin_option(self) -> str:
        return "--pcf" if self.family == "ice40" else "--lpf"


BOARDS = {
    "icebreaker": Board("icebreaker", "ice40", "up5k", "--up5k", "sg48", "-device u", 12.0,
                        "icebreaker.pcf", 2, True, True, "yowasp-icepack", "yowasp-icepll",
                        "icebreaker.bin"),
    "ulx3s": Board("ulx3s", "ecp5", "85k", "--85k", "CABGA381", "", 25.0, "ulx3s.lpf", 4, False,
                   True, "yowasp-ecppack", "yowasp-ecppll", "ulx3s.bit"),
}


def get_board(name: str) -> Board:
    if name not in BOARDS:
        raise HadamhwError(f"--board {name!r}: hadamhw builds for {', '.join(BOARDS)}")
    return BOARDS[name]
