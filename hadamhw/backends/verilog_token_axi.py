"""`hadamhw generate --token-table external`: the token drive table in external memory.

A token-input design reads each step's drive row d = (U[:, v] + b) M_a' + round (n words,
hadamhw.netlist.plan.drive_table) from an on-chip ROM. For a large vocabulary the table
cannot be on chip; this generator instead writes

- `<top>_core.v` / `<top>_core_rotate.v`: the single-cycle core whose s_axis_tdata is the
  drive row itself (hadamhw.netlist.single_cycle.build with drive_port), packed as the ROM
  word would be: element i at bits [i W +: W];
- `<top>.v` (templates/verilog/token_axi.v.j2): the top with the token AXI4-Stream input,
  the AXI4 memory-mapped read master that burst-reads the token's row at
  TOKEN_TABLE_BASE + row * stride, and the core;
- `token_table.bin`: the table image, row r at byte offset r * stride, little endian, so
  that beat j of a burst holds row bits [j D +: D] (D the AXI data width). Row `vocabulary`
  holds the bias-only drive that the ROM gives every id >= vocabulary; the top reads that
  row for such ids.

Bytes read per time step = beats * D / 8 (the burst, not the stride): the manifest's
`token_table` section states it and the steps per second at a memory bandwidth.
"""

from __future__ import annotations

import json
from pathlib import Path

from hadamhw.backends import GenerateOptions, render_template, template_environment
from hadamhw.backends.verilog_blocks import render_blocks
from hadamhw.backends.verilog_manifest import manifest
from hadamhw.backends.verilog_sections import interface_section
from hadamhw.backends.verilog_text import clog2, lit
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.widths import signed_bits
from hadamhw.netlist.plan import drive_table, requant_plan
from hadamhw.netlist.shells import single_cycle_context
from hadamhw.resources import templates_dir

TOKEN_TABLES = ("rom", "external")
IMAGE = "token_table.bin"
AXI_DATA_BITS = (32, 64, 128, 256, 512, 1024)
ADDRESS_BITS = 32
MAX_BEATS = 256  # AXI4 INCR bursts
BOUNDARY = 4096  # an AXI burst never crosses a 4 KiB boundary
MEM_GBPS = 12.8  # the default bandwidth of the figures (one 64-bit DDR3-1600 channel)


def check_external(ir: IntegerRNN, options: GenerateOptions, target: str = "verilog") -> None:
    """Refuse what --token-table external does not support, in one line naming the option."""
    what = "--token-table external"
    if target != "verilog":
        raise HadamhwError(f"{what}: Verilog target only (the HLS target keeps the ROM)")
    if ir.input.kind != "token":
        raise HadamhwError(f"{what}: the model has {ir.input.kind} inputs; an external "
                           "table needs token inputs")
    if options.streams != 1 or options.pipeline != "none":
        raise HadamhwError(f"{what}: one stream without pipeline registers only (got "
                           f"--streams {options.streams}, --pipeline {options.pipeline})")
    if options.fold != "parallel" or options.recurrent != "fwht":
        raise HadamhwError(f"{what}: --fold parallel --recurrent fwht only (got --fold "
                           f"{options.fold}, --recurrent {options.recurrent})")
    if options.readout_lanes is not None:
        raise HadamhwError(f"{what}: not with --readout-lanes")
    if options.axi_data_bits not in AXI_DATA_BITS:
        raise HadamhwError(f"--axi-data-bits must be one of {AXI_DATA_BITS}, "
                           f"got {options.axi_data_bits!r}")
    if options.token_table_base % BOUNDARY or not 0 <= options.token_table_base < 1 << 32:
        raise HadamhwError(f"--token-table-base must be a 32-bit address aligned to "
                           f"{BOUNDARY} bytes, got {options.token_table_base:#x}")
    layout = table_layout(ir, options.axi_data_bits)
    if layout["beats_per_row"] > MAX_BEATS or layout["bytes_per_step"] > BOUNDARY:
        raise HadamhwError(f"{what}: a row of {layout['row_bits']} bits is over one AXI4 "
                           f"burst of {MAX_BEATS} beats within {BOUNDARY} bytes")
    if options.token_table_base + layout["image_bytes"] > 1 << ADDRESS_BITS:
        raise HadamhwError(f"{what}: the image does not fit {ADDRESS_BITS}-bit addresses "
                           f"above --token-table-base")


def table_layout(ir: IntegerRNN, data_bits: int) -> dict:
    """The image's layout (the manifest's `token_table` section, without the bandwidth)."""
    table = drive_table(ir, requant_plan(ir))
    n, rows = table.shape
    element_bits = signed_bits(int(table.min()), int(table.max()))
    row_bits = n * element_bits
    beats = -(-row_bits // data_bits)
    burst_bytes = beats * data_bits // 8
    stride = 1 << clog2(burst_bytes)
    return {"storage": "external", "image": IMAGE, "vocabulary": ir.input.size,
            "rows": rows, "out_of_vocabulary_row": ir.input.size, "elements": n,
            "element_bits": element_bits, "signed": True, "row_bits": row_bits,
            "row_stride_bytes": stride, "data_bits": data_bits, "beats_per_row": beats,
            "bytes_per_step": burst_bytes, "image_bytes": rows * stride}


def table_image(ir: IntegerRNN, layout: dict) -> bytes:
    """Row r at byte r * stride: its elements packed little endian, element i at bit
    i * element_bits, two's complement; the rest of the stride zero."""
    table = drive_table(ir, requant_plan(ir))
    w, stride = layout["element_bits"], layout["row_stride_bytes"]
    mask = (1 << w) - 1
    image = bytearray()
    for r in range(layout["rows"]):
        word = sum((int(v) & mask) << (i * w) for i, v in enumerate(table[:, r]))
        image += word.to_bytes(stride, "little")
    return bytes(image)


def bandwidth_figures(layout: dict, mem_gbps: float, fmax_mhz: float | None = None) -> dict:
    """Steps per second a memory of `mem_gbps` GB/s (10^9 bytes/s) sustains, computed:
    bandwidth / bytes per step; with a clock, also the bound of one beat per cycle."""
    out = {"mem_gbps": mem_gbps,
           "steps_per_second": round(mem_gbps * 1e9 / layout["bytes_per_step"], 1)}
    if fmax_mhz is not None:
        clock = fmax_mhz * 1e6 / max(2, layout["beats_per_row"])
        out["steps_per_second_clock_bound"] = round(clock, 1)
        out["steps_per_second_bound"] = round(min(clock, out["steps_per_second"]), 1)
    return out


def _oov_row(ir: IntegerRNN, row_bits: int) -> str:
    """The row an accepted token reads: its id, or row `vocabulary` for ids beyond it."""
    tb, vocab = ir.input.bits, ir.input.size
    token = "s_axis_tdata" if row_bits == tb else f"s_axis_tdata[{row_bits - 1}:0]"
    if not ir.input.bias_only_tokens:
        return "{1'b0, s_axis_tdata}" if row_bits > tb else token
    return f"(s_axis_tdata < {lit(vocab, tb)}) ? {token} : {lit(vocab, row_bits)}"


def _top_context(ir: IntegerRNN, options: GenerateOptions, layout: dict) -> dict:
    rows = layout["rows"]
    row_index_bits = max(1, clog2(rows))
    stride_bits = clog2(layout["row_stride_bytes"])
    d = layout["data_bits"]
    fill = layout["beats_per_row"] * d
    argmax_bits = max(1, clog2(ir.output_size))
    return {"top": options.top, "core": f"{options.top}_core", "n": ir.hidden_size,
            "vocab": ir.input.size, "token_msb": ir.input.bits - 1,
            "row_msb": row_index_bits - 1, "row_expr": _oov_row(ir, row_index_bits),
            "offset_bits": row_index_bits + stride_bits, "stride_zeros": lit(0, stride_bits)
            if stride_bits else None, "stride": layout["row_stride_bytes"],
            "data_msb": d - 1, "beats": layout["beats_per_row"],
            "arlen": lit(layout["beats_per_row"] - 1, 8), "arsize": lit(clog2(d // 8), 3),
            "fill_msb": fill - 1, "row_bits": layout["row_bits"],
            "row_msb_bits": layout["row_bits"] - 1, "fill_spare": fill > layout["row_bits"],
            "shift": fill > d, "out_msb": ir.output_size * ir.widths.output - 1,
            "argmax_msb": argmax_bits - 1, "base": lit(options.token_table_base, ADDRESS_BITS),
            "address_bits": ADDRESS_BITS, "element_bits": layout["element_bits"]}


def ports(base_ports: list[dict], layout: dict) -> list[dict]:
    """The top's ports: the core's AXI4-Stream ports, then the AXI4 read master's."""
    d = layout["data_bits"]
    axi = [("m_axi_arid", "output", 1), ("m_axi_araddr", "output", ADDRESS_BITS),
           ("m_axi_arlen", "output", 8), ("m_axi_arsize", "output", 3),
           ("m_axi_arburst", "output", 2), ("m_axi_arvalid", "output", 1),
           ("m_axi_arready", "input", 1), ("m_axi_rid", "input", 1),
           ("m_axi_rdata", "input", d), ("m_axi_rresp", "input", 2),
           ("m_axi_rlast", "input", 1), ("m_axi_rvalid", "input", 1),
           ("m_axi_rready", "output", 1)]
    return [*base_ports, *({"name": a, "direction": b, "width": c} for a, b, c in axi)]


def render(ir: IntegerRNN, options: GenerateOptions,
           template_dir: Path | None = None) -> dict[str, str | bytes]:
    """Every file of the external-table design: name -> text (the image: bytes)."""
    check_external(ir, options)
    tdir = Path(template_dir) if template_dir is not None else templates_dir() / "verilog"
    env = template_environment(tdir)
    layout = table_layout(ir, options.axi_data_bits)
    top, core = options.top, f"{options.top}_core"
    iface = {**interface_section(ir, options), "in_msb": layout["row_bits"] - 1}
    ctx, costs, rot_ctx = single_cycle_context(ir, options.cmvm, core, options.fold,
                                               options.recurrent, iface, drive_port=True)
    blocks = render_blocks(env, ctx)
    files: dict[str, str | bytes] = {
        f"{core}_rotate.v": render_template(env, "rotate_fwht.v.j2", rot_ctx), **blocks,
        f"{core}.v": render_template(env, "top.v.j2", ctx),
        f"{top}.v": render_template(env, "token_axi.v.j2", _top_context(ir, options, layout)),
    }
    hdl = [f"{core}_rotate.v", *blocks, f"{core}.v", f"{top}.v"]
    man = manifest(ir, options, hdl, costs)
    beats = layout["beats_per_row"]
    # a fast memory: one beat a cycle, bursts back to back (two in flight hide the latency)
    man["cycles_per_step"] = max(2, beats)
    man["latency_cycles"] = beats + 6  # token beat -> output beat, memory answering at once
    man["ports"] = ports(man["ports"], layout)
    man["token_table"] = {**layout, "base_parameter": "TOKEN_TABLE_BASE",
                          "base_default": options.token_table_base,
                          "address_bits": ADDRESS_BITS,
                          **bandwidth_figures(layout, options.mem_gbps)}
    man["token_table_bits"] = layout["rows"] * layout["row_bits"]
    files[IMAGE] = table_image(ir, layout)
    files["README.md"] = render_template(env, "token_axi_README.md.j2",
                                         {"manifest": man, "t": man["token_table"]})
    files["model.ir.json"] = ir.to_json()
    files["manifest.json"] = json.dumps(man, indent=2, sort_keys=True) + "\n"
    return files
