"""The manifest of a Verilog design (single cycle, streams, fold F) and its integration files."""

from __future__ import annotations

import jinja2

from hadamhw.backends import GenerateOptions
from hadamhw.backends.manifest import DESIGN_FORMAT
from hadamhw.backends.verilog_sections import (
    MAX_PENDING,
    has_serial_readout,
    input_words,
    output_product_bits,
    serial_readout_cycles,
)
from hadamhw.backends.verilog_text import clog2
from hadamhw.ir.csd import csd_digits
from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist.plan import requant_plan

VERSION = 1


def step_timing(ir: IntegerRNN, options: GenerateOptions) -> tuple[int, int]:
    """(cycles_per_step, latency_cycles): input handshake to the next possible one, and to
    the output beat entering the FIFO (plus the serial readout on the last step)."""
    extra = serial_readout_cycles(ir, options.readout_lanes) if has_serial_readout(
        ir, options) else 0
    if options.fold == "stage":
        return ir.k, ir.k + 1 + extra
    return 1, 2 + extra


def ports(ir: IntegerRNN, tid_bits: int = 0) -> list[dict]:
    """The core's ports in declaration order; s_axis_tid / m_axis_tid with streams."""
    words, word_bits = input_words(ir)
    argmax_bits = max(1, clog2(ir.output_size))
    spec = [("clk", "input", 1), ("rst", "input", 1), ("s_axis_tvalid", "input", 1),
            ("s_axis_tready", "output", 1), ("s_axis_tdata", "input", words * word_bits),
            ("s_axis_tlast", "input", 1)]
    if tid_bits:
        spec.append(("s_axis_tid", "input", tid_bits))
    spec += [("m_axis_tvalid", "output", 1), ("m_axis_tready", "input", 1),
             ("m_axis_tdata", "output", ir.output_size * ir.widths.output),
             ("m_axis_tuser", "output", argmax_bits), ("m_axis_tlast", "output", 1)]
    if tid_bits:
        spec.append(("m_axis_tid", "output", tid_bits))
    return [{"name": name, "direction": d, "width": width} for name, d, width in spec]


def _weight_storage_bits(ir: IntegerRNN) -> int:
    """Bits of the model parameters as the IR stores them (signs, U, V, biases)."""
    w = ir.widths
    n = ir.hidden_size
    u_bits = w.input_acc if ir.input.kind == "token" else w.input_weight
    return (n + n * ir.input.size * u_bits + n * w.input_acc
            + ir.output_size * n * w.output_weight + ir.output_size * w.output_acc)


def manifest(ir: IntegerRNN, options: GenerateOptions, hdl_files: list[str],
             costs: dict, stream: dict | None = None) -> dict:
    """The design's manifest; `stream` is the schedule summary of an interleaved or
    pipelined core (hadamhw.backends.verilog_stream), None for the single-cycle core."""
    n, m = ir.hidden_size, ir.block_size
    cycles, latency = step_timing(ir, options)
    if stream is not None:
        cycles, latency = stream["cycles_per_step"], stream["latency_cycles"]
    recurrent = n * ir.k if options.recurrent == "fwht" else n * (m - 1)
    adds = {"recurrent": recurrent, **costs["adders"]}
    adds["total"] = sum(adds.values())
    plan = requant_plan(ir)
    serial = has_serial_readout(ir, options)
    words, word_bits = input_words(ir)
    wd = ir.to_dict()["widths"]
    streams = stream["streams"] if stream is not None else 1
    tid = clog2(streams)
    out = {
        "format": DESIGN_FORMAT,
        "version": VERSION,
        "target": "verilog",
        "top": options.top,
        "hdl_files": hdl_files,
        "ir": "model.ir.json",
        "fold": options.fold,
        "recurrent": options.recurrent,
        "cycles_per_step": cycles,
        "latency_cycles": latency,
        "cmvm": options.cmvm,
        # serial readout (readout 'last'): lanes, and cycles from the last step to its beat
        "readout_lanes": options.readout_lanes if serial else None,
        "readout_cycles": costs["readout_cycles"] + 1 if serial else 0,
        # adders_per_step counts every adder/subtractor of the datapath (the serial
        # readout's run once per readout cycle); adder_bits sums their widths, an
        # analytical LUT-equivalent estimate on carry-chain FPGAs (one LUT per bit)
        "adder_bits": {**costs["adder_bits"],
                       "total": sum(costs["adder_bits"].values())},
        "requant": {"common_shift": plan.common, "rotate_mult": plan.rotate,
                    "rotate_digits": len(csd_digits(plan.rotate)),
                    "input_mult": plan.input, "shift": plan.shift,
                    "drive_round": plan.round_const},
        "ports": ports(ir, tid),
        "input": {"kind": ir.input.kind, "words": words, "word_bits": word_bits,
                  "signed": bool(ir.input.signed) if ir.input.kind == "int" else False},
        "output": {"words": ir.output_size, "word_bits": ir.widths.output},
        "argmax_bits": max(1, clog2(ir.output_size)),
        "adders_per_step": adds,
        "weight_bits": {"input": ir.widths.input_weight, "output": ir.widths.output_weight},
        "weight_storage_bits": _weight_storage_bits(ir),
        # the token ROM (tokens x n words of U column + b; embedding models: embedding and
        # U folded into one table), None for vector inputs
        "token_table_bits": (ir.input.size * n * ir.widths.input_acc
                             if ir.input.kind == "token" else None),
        "state_bits": n * ir.widths.state,
        "widths": wd,
        "hidden_size": n,
        "block_size": m,
        "input_size": ir.input.size,
        "output_size": ir.output_size,
        "mode": ir.mode,
        "readout": ir.readout,
        "output_requant": None if ir.output_requant is None else {
            "mult": ir.output_requant.mult, "shift": ir.output_requant.shift,
            "bits": ir.output_requant.bits, "product_bits": output_product_bits(ir)},
        "output_fifo_depth": MAX_PENDING + 1,
    }
    if "register_bits" in costs:  # the datapath netlist's registers by purpose
        out["register_bits"] = {**costs["register_bits"],
                                "total": sum(costs["register_bits"].values())}
    if stream is None:
        return out
    # interleaving and pipelining (docs/hardware-cost.md, "Streams and pipelining")
    out.update({
        "streams": streams,
        "tid_bits": tid,
        "loop_depth": stream["loop_depth"],
        "cycles_per_step_per_stream": stream["cycles_per_step_per_stream"],
        "pipeline": stream["pipeline"],
        "output_fifo_depth": stream["output_fifo_depth"],
        "state_storage_bits": streams * n * ir.widths.state,
        # cycles after reset before the first step issues (the state entries are cleared)
        "reset_cycles": streams if streams > 1 else 0,
    })
    return out


def integration_files(env: jinja2.Environment, ir: IntegerRNN, man: dict) -> dict[str, str]:
    """The self-checking test bench and the FuseSoC core, recorded in the manifest."""
    from hadamhw.backends import fusesoc, verilog_tb

    files, man["verilog_testbench"] = verilog_tb.render(env, ir, man)
    core, man["fusesoc"] = fusesoc.render(env, man)
    return {**files, **core}
