"""From a generated core to a board: board tops, pin files, bitstreams and the host driver.

    hadamhw.board.build("rtl/", "icebreaker", "board/")     # top, pins, bitstream, flash.sh
    link = hadamhw.board.connect("/dev/ttyUSB1", "rtl/")    # pyserial; checks the design hash
    y = link.predict(x)                                     # as design.predict(x)

The protocol is in docs/board.md and hadamhw/board/protocol.py.
"""

from hadamhw.board.bitstream import build
from hadamhw.board.boards import BOARDS
from hadamhw.board.driver import connect

__all__ = ["BOARDS", "build", "connect"]
