"""The board top simulated at its UART pins, behind a pseudo-terminal (no board needed).

    with simulate_board(design) as board:          # Verilator model of the board top
        link = hadamhw.board.connect(board.port, design)   # the driver, unchanged
        assert (link.predict(x) == design.golden(x)).all()

The model runs templates/board/uart_bridge.cpp: the terminal's bytes go bit by bit into
uart_rx, uart_tx is decoded back into bytes. The UART runs at a few clocks per bit (the
divider is a parameter of the top) so that a simulated frame takes microseconds of CPU.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import tty
from contextlib import contextmanager
from pathlib import Path

from hadamhw.board.boards import get_board
from hadamhw.board.top import TOP, core_view, render_top
from hadamhw.errors import HadamhwError
from hadamhw.resources import templates_dir
from hadamhw.verify.tools import verilator_bin, verilator_build

BRIDGE = "uart_bridge.cpp"
EXECUTABLE = "hadamhw_uart_bridge"
SIM_CLKS_PER_BIT = 4
SIM_CLOCK_HZ = 12e6  # nominal: sets the idle timeout (IDLE_CYCLES) and the heartbeat only
BUILD_TIMEOUT_S = 900


def build_model(design, build_dir: str | Path, *, board: str = "icebreaker",
                clks_per_bit: int = SIM_CLKS_PER_BIT) -> Path:
    """Compile the board top around `design` (an opened design) with the bridge; the
    executable's path."""
    build = Path(build_dir)
    src = build / "src"
    src.mkdir(parents=True, exist_ok=True)
    view = core_view(design)
    (src / "hadamhw_board.v").write_text(
        render_top(view, get_board(board), clock_hz=SIM_CLOCK_HZ, baud=115200, pll=False,
                   clks_per_bit=clks_per_bit))
    for f in view.hdl_files:
        shutil.copyfile(f, src / f.name)
    shutil.copyfile(templates_dir() / "board" / BRIDGE, src / BRIDGE)
    cmd = [verilator_bin(), "--cc", "--exe", "--build", "-O2", "-Wno-fatal", "-Wno-lint",
           "-Wno-style", "--prefix", "Vboard", "--top-module", TOP, "-Mdir", "obj",
           "-o", EXECUTABLE, "-CFLAGS", "-O2", "-CFLAGS", "-std=c++17",
           "src/hadamhw_board.v", *[f"src/{f.name}" for f in view.hdl_files], f"src/{BRIDGE}"]
    return verilator_build(cmd, build, build / "obj" / EXECUTABLE, "the board top",
                           BUILD_TIMEOUT_S)


BENCH_MODULE = "board_uart_tb"  # sim/board_uart_tb.py: a bit-level UART at the top's pins
BENCH_REPLY_TIMEOUT = 200_000  # clocks


def run_uart_bench(design, script: list[dict], work_dir: str | Path, *,
                   board: str = "icebreaker", simulator: str = "verilator",
                   clks_per_bit: int = SIM_CLKS_PER_BIT) -> list[bytes]:
    """Play `script` (sim/board_uart_tb.py: send / reply / reset / idle steps) at the pins of
    the board top around `design` in cocotb; the frames the board sent back, in order."""
    from hadamhw.board.protocol import SYNC
    from hadamhw.verify.cocotb_sim import run_bench

    work = Path(work_dir).resolve()
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    spec = get_board(board)
    view = core_view(design)
    (src / "hadamhw_board.v").write_text(
        render_top(view, spec, clock_hz=SIM_CLOCK_HZ, baud=115200, pll=False,
                   clks_per_bit=clks_per_bit))
    sources = [src / "hadamhw_board.v"]
    for f in view.hdl_files:
        shutil.copyfile(f, src / f.name)
        sources.append(src / f.name)
    results = work / "frames.json"
    config = {"clks_per_bit": clks_per_bit, "button_active_low": spec.button_active_low,
              "sync": SYNC, "script": script, "reply_timeout": BENCH_REPLY_TIMEOUT,
              "results": str(results)}
    run_bench(sources, TOP, BENCH_MODULE, config, work, simulator=simulator)
    return [bytes.fromhex(f) for f in json.loads(results.read_text())["frames"]]


class SimulatedBoard:
    """A running board model: `port` is the terminal path a driver opens."""

    def __init__(self, executable: Path, *, clks_per_bit: int = SIM_CLKS_PER_BIT,
                 button_active_low: bool = True) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._master, self._slave = master, slave  # the slave stays open: no hang-up
        self._proc = subprocess.Popen(
            [str(executable), str(master), str(clks_per_bit), str(int(button_active_low))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(master,))

    def write(self, data: bytes) -> None:
        """Bytes to the board, as the host's serial port would send them."""
        os.write(self._slave, data)

    def read(self, count: int, timeout: float = 5.0) -> bytes:
        """Up to `count` bytes from the board, waiting at most `timeout` seconds."""
        import select

        out, deadline = b"", time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._slave], [], [], left)[0]:
                break
            out += os.read(self._slave, count - len(out))
        return out

    def press_reset(self, timeout: float = 10.0) -> None:
        """Hold the reset button for a while and release it (returns once released)."""
        self._proc.stdin.write(b"r")
        self._proc.stdin.flush()
        start = time.monotonic()
        line = self._proc.stdout.readline()
        if line.strip() != b"r" or time.monotonic() - start > timeout:
            raise HadamhwError("the simulated board did not acknowledge the reset")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()
        for fd in (self._master, self._slave):
            os.close(fd)


@contextmanager
def simulate_board(design, build_dir: str | Path | None = None, *,
                   executable: Path | None = None):
    """A SimulatedBoard of `design` (built into build_dir, or a temporary folder; or an
    executable from build_model), closed on exit."""
    with tempfile.TemporaryDirectory(prefix="hadamhw-board-sim-") as tmp:
        exe = executable or build_model(design, build_dir or tmp)
        board = SimulatedBoard(exe)
        try:
            yield board
        finally:
            board.close()
