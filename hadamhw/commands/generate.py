"""`hadamhw generate`: checkpoint or IR -> RTL or HLS C++ in a folder."""

from __future__ import annotations

import json

from hadamhw.commands.common import add_lowering_arguments, load_ir
from hadamhw.commands.options import (
    COUNT,
    address,
    float_range,
    fold_option,
    int_or_word,
    power_of_two,
)
from hadamhw.commands.paths import check_output_folder, user_path


def register(sub) -> None:
    from hadamhw.backends import (
        CMVM_METHODS,
        MAX_LOOP_DEPTH,
        MAX_STREAMS,
        RECURRENT_CORES,
        TARGET_MHZ,
        TARGETS,
        TOKEN_TABLES,
    )

    p = sub.add_parser("generate", help="generate Verilog RTL or HLS C++ from a model",
                       description="Render the integer model into synthesizable hardware "
                                   "sources plus manifest.json, a README and the IR it came from.")
    p.add_argument("model", type=user_path,
                   help="model.pt (lowered on the fly) or model.ir.json")
    p.add_argument("--target", choices=tuple(TARGETS), default="verilog")
    p.add_argument("-o", "--output", type=user_path, required=True,
                   help="design folder (created if missing), written atomically: a reader "
                        "sees the old design or the new one; the old design's files go, "
                        "anything else in the folder stays")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder that holds no hadamhw design (files "
                        "with the design's names are replaced, the others kept)")
    p.add_argument("--max-memory", type=float_range(0), default=None, metavar="GB",
                   help="refuse a design whose generation is estimated to need more memory "
                        "(default: hadamhw.design.MAX_MEMORY_GB, 16)")
    p.add_argument("--fold", type=fold_option, default="parallel", metavar="FOLD",
                   help="parallel: all butterfly stages in one cycle (one step per cycle); "
                        "stage: one butterfly stage per cycle, the n/2 butterflies reused; "
                        "F (a power of two from 1 to n/2): F butterfly units, the vector in "
                        "block RAM, about n log2(m) / (2F) cycles per step (F = n/2 is "
                        "'stage')")
    p.add_argument("--recurrent", choices=RECURRENT_CORES, default="fwht",
                   help="fwht: Walsh-Hadamard butterflies (default); dense: adder tree per row "
                        "of W (baseline for comparison)")
    p.add_argument("--cmvm", choices=CMVM_METHODS, default="da4ml",
                   help="Verilog constant products U x and V z: da4ml (default) shares "
                        "subexpressions with da4ml's CMVM solver; csd: one canonical-signed-"
                        "digit adder tree per row (the HLS target leaves sharing to the tool)")
    p.add_argument("--readout-lanes", type=COUNT, default=None, metavar="L",
                   help="Verilog, readout 'last' only: compute the readout serially with L "
                        "lanes (L outputs at a time, one CSD digit plane of V per cycle; the "
                        "manifest states its cycles); default: every output at once")
    p.add_argument("--streams", type=int_or_word(("auto",), 1, MAX_STREAMS), default=1,
                   metavar="P",
                   help="interleave P independent sequences on one datapath (C-slow; "
                        "AXI4-Stream TID names the stream): the recurrence loop may then hold "
                        "P pipeline registers and still take one time step per cycle in all. "
                        "'auto': as many as the loop's pipeline needs (Verilog). Default 1; "
                        "not with --fold F (the deep fold keeps one sequence's state in RAM)")
    p.add_argument("--pipeline", type=int_or_word(("none", "auto"), 1, MAX_LOOP_DEPTH),
                   default="none", metavar="none|auto|N",
                   help="Verilog pipeline registers: none (default: the recurrence in one "
                        "cycle), auto (placed from the delay model for --target-mhz: freely "
                        "in the input projection, readout and argmax, inside the loop as deep "
                        "as --streams allows), or N: a loop of N registers (needs "
                        "--streams >= N)")
    p.add_argument("--target-mhz", type=float_range(0, 1000), default=TARGET_MHZ,
                   metavar="F",
                   help=f"target clock for --pipeline auto (Verilog, ECP5 delay model) and "
                        f"for the HLS script's clock (default {TARGET_MHZ:g} MHz)")
    p.add_argument("--top", default="hadamrnn",
                   help="name of the top module (default hadamrnn): an ASCII identifier, "
                        "not a Verilog / SystemVerilog (or, for HLS, C++) keyword")
    p.add_argument("--token-table", choices=TOKEN_TABLES, default="rom",
                   help="token inputs (Verilog, one stream, fold parallel): rom (default) "
                        "keeps the per-token drive table on chip; external reads each "
                        "token's row from memory over an AXI4 read master and writes the "
                        "table image token_table.bin (layout in the manifest)")
    p.add_argument("--axi-data-bits", type=power_of_two(32), default=64, metavar="D",
                   help="--token-table external: AXI4 data width in bits (32 to 1024, "
                        "default 64)")
    p.add_argument("--token-table-base", type=address, default=0, metavar="ADDR",
                   help="--token-table external: default of the Verilog parameter "
                        "TOKEN_TABLE_BASE, a 4 KiB-aligned byte address (default 0)")
    p.add_argument("--mem-gbps", type=float_range(0), default=12.8, metavar="GB/S",
                   help="--token-table external: memory bandwidth of the manifest's "
                        "steps-per-second figure (default 12.8 GB/s)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    add_lowering_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from hadamhw.backends import GenerateOptions
    from hadamhw.design import (
        check_design_folder,
        check_size,
        check_top_name,
        hold_interrupts,
        render_design,
        write_design,
    )

    options = GenerateOptions(fold=args.fold, recurrent=args.recurrent, top=args.top,
                              cmvm=args.cmvm, readout_lanes=args.readout_lanes,
                              streams=args.streams, pipeline=args.pipeline,
                              target_mhz=args.target_mhz, token_table=args.token_table,
                              axi_data_bits=args.axi_data_bits,
                              token_table_base=args.token_table_base,
                              mem_gbps=args.mem_gbps)
    options.validate()
    check_top_name(args.top, args.target)
    out = check_design_folder(check_output_folder(args.output, "design folder"),
                              force=args.force)
    ir = load_ir(args.model, args, "generate")
    check_size(ir, args.target, options, args.max_memory)
    files = render_design(ir, args.target, options)  # nothing written yet: Ctrl-C leaves all
    # From here on generate finishes: a Ctrl-C or SIGTERM during the write is held and then
    # dropped (the folder holds the old design or the new one, and the run says which).
    with hold_interrupts(deliver=False):
        write_design(files, out, force=args.force)
        _summary(args, ir, options, out, json.loads(files["manifest.json"]))
    return 0


def _summary(args, ir, options, out, manifest: dict) -> None:
    if args.json:
        print(json.dumps(manifest, indent=2, sort_keys=True))
    else:
        files = sorted(manifest.get("files_sha256", {}).keys() | {"manifest.json"})
        print(f"generated {args.target} for n={ir.hidden_size}, block_size={ir.block_size}, "
              f"fold={options.fold}, recurrent={options.recurrent} in {out}/")
        if "cycles_per_step" in manifest:
            print(f"  cycles per step: {manifest['cycles_per_step']}")
        if manifest.get("pipeline"):
            pipe = manifest["pipeline"]
            print(f"  streams: {manifest['streams']}, recurrence loop: "
                  f"{manifest['loop_depth']} register(s) (one stream alone: a step every "
                  f"{manifest['cycles_per_step_per_stream']} cycles), latency "
                  f"{manifest['latency_cycles']} cycles")
            met = "" if pipe["target_met"] else " (below the target"
            if pipe["loop_limited_by_streams"]:
                met += ": the loop needs more streams" if met else \
                    " (the loop needs more streams"
            print(f"  pipeline: {pipe['mode']}, target {pipe['target_mhz']:g} MHz, estimated "
                  f"{pipe['estimated_fmax_mhz']:g} MHz{met}{')' if met else ''}")
        if manifest.get("token_table"):
            t = manifest["token_table"]
            print(f"  token table: external, {t['image']} ({t['rows']} rows of "
                  f"{t['row_stride_bytes']} bytes), {t['bytes_per_step']} bytes read per step, "
                  f"{t['steps_per_second']:,.0f} steps/s at {t['mem_gbps']:g} GB/s")
        if manifest.get("readout_lanes"):
            print(f"  serial readout: {manifest['readout_lanes']} lane(s), "
                  f"{manifest['readout_cycles']} cycles per sequence")
        print(f"  files: {', '.join(files)}")
