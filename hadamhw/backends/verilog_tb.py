"""The self-checking Verilog test bench written beside every generated design.

`<top>_tb.v` replays a small, fixed set of golden-model vectors through the core with input
gaps and output back-pressure and needs nothing but a Verilog simulator (Icarus, Verilator
--binary): it is what the FuseSoC core's `sim` target runs, and what a user can run by hand
in a Vivado or Quartus project. The vectors are hex files for $readmemh:

    <top>_tb_in.hex      one line per input beat:           {tlast, tdata}
    <top>_tb_expect.hex  one line per expected output beat: {tlast, tuser, tdata}

They come from hadamhw.ir.stimulus (random sequences of a fixed seed, golden outputs),
so the same IR always gives the same files.
"""

from __future__ import annotations

import jinja2
import numpy as np

from hadamhw.backends import render_template
from hadamhw.ir.schema import IntegerRNN
from hadamhw.ir.stimulus import Stimulus, make_stimulus

SEQUENCES = 10
MIN_STEPS = 1
MAX_STEPS = 12
SEED = 0


def file_names(top: str) -> dict[str, str]:
    return {"bench": f"{top}_tb.v", "stim": f"{top}_tb_in.hex",
            "expect": f"{top}_tb_expect.hex"}


def stimulus(ir: IntegerRNN) -> Stimulus:
    """The bench's sequences and their golden outputs (fixed seed: deterministic)."""
    return make_stimulus(ir, sequences=SEQUENCES, seed=SEED, min_steps=MIN_STEPS,
                         max_steps=MAX_STEPS)


def _pack(words, bits: int) -> int:
    mask = (1 << bits) - 1
    value = 0
    for i, word in enumerate(np.atleast_1d(words)):
        value |= (int(word) & mask) << (i * bits)
    return value


def _hex_lines(values: list[int], width: int) -> list[str]:
    digits = max(1, (width + 3) // 4)
    return [f"{v:0{digits}x}" for v in values]


def beat_order(stim: Stimulus, streams: int) -> list[tuple[int, int, int]]:
    """The bench's input beats as (stream, sequence, step). One stream: the sequences one
    after another. P streams: sequence i runs on stream i % P, each stream's sequences in
    order, and the streams take turns beat by beat (round robin over the streams with steps
    left), so the core sees every stream interleaved with the others."""
    queues = [[i for i in range(len(stim.sequences)) if i % streams == st]
              for st in range(streams)]
    pos = [[0, 0] for _ in range(streams)]  # per stream: index into its queue, step
    order: list[tuple[int, int, int]] = []
    while any(p[0] < len(q) for p, q in zip(pos, queues, strict=True)):
        for st in range(streams):
            qi, t = pos[st]
            if qi >= len(queues[st]):
                continue
            seq = queues[st][qi]
            order.append((st, seq, t))
            pos[st] = [qi + 1, 0] if t == len(stim.sequences[seq]) - 1 else [qi, t + 1]
    return order


def vector_files(manifest: dict, stim: Stimulus) -> dict[str, str]:
    """The two $readmemh files of a stimulus, packed as the manifest's ports say. With
    streams (tid_bits > 0) each line starts with the beat's TID: the core leaves every beat
    in the order it took them, so the expected beats follow the input beats' order."""
    top = manifest["top"]
    names = file_names(top)
    in_bits = manifest["input"]["words"] * manifest["input"]["word_bits"]
    out_words, word_bits = manifest["output"]["words"], manifest["output"]["word_bits"]
    out_bits = out_words * word_bits
    argmax_bits = manifest["argmax_bits"]
    tid_bits = int(manifest.get("tid_bits", 0) or 0)
    beats_in: list[int] = []
    beats_out: list[int] = []
    for st, seq, t in beat_order(stim, int(manifest.get("streams", 1) or 1)):
        row, out, am = stim.sequences[seq][t], stim.outputs[seq], stim.argmax[seq]
        last = int(t == len(stim.sequences[seq]) - 1)
        beats_in.append((st << 1 | last) << in_bits | _pack(row, manifest["input"]["word_bits"]))
        r = t if len(out) == len(stim.sequences[seq]) else (0 if last else None)
        if r is None:
            continue
        out_last = int(r == len(out) - 1)
        beats_out.append((st << 1 | out_last) << (out_bits + argmax_bits)
                         | int(am[r]) << out_bits | _pack(out[r], word_bits))
    tid = "tid, " if tid_bits else ""
    head = (f"// hadamhw vectors for {top}: {len(stim.sequences)} sequences, "
            f"{len(beats_in)} input beats")
    return {
        names["stim"]: "\n".join([head + f", {{{tid}tlast, s_axis_tdata}} per line",
                                  *_hex_lines(beats_in, tid_bits + in_bits + 1)]) + "\n",
        names["expect"]: "\n".join([head + f", {len(beats_out)} expected output beats, "
                                    f"{{{tid}tlast, tuser, m_axis_tdata}} per line",
                                    *_hex_lines(beats_out, tid_bits + out_bits + argmax_bits
                                                + 1)]) + "\n",
    }


def bench_context(manifest: dict, stim: Stimulus) -> dict:
    top = manifest["top"]
    names = file_names(top)
    in_beats = stim.steps
    out_beats = sum(len(out) for out in stim.outputs)
    words, word_bits = manifest["output"]["words"], manifest["output"]["word_bits"]
    # one stream alone steps every cycles_per_step_per_stream cycles (the bench's tail)
    per_step = max(int(manifest["cycles_per_step"]),
                   int(manifest.get("cycles_per_step_per_stream", 1) or 1))
    return {
        "top": top,
        "sequences": len(stim.sequences),
        "in_beats": in_beats,
        "out_beats": out_beats,
        "in_bits": manifest["input"]["words"] * manifest["input"]["word_bits"],
        "out_bits": words * word_bits,
        "argmax_bits": manifest["argmax_bits"],
        "word_bits": word_bits,
        "words": words,
        "tid_bits": int(manifest.get("tid_bits", 0) or 0),
        "streams": int(manifest.get("streams", 1) or 1),
        # gaps and stalls cost at most a few cycles per beat; a hung core ends the run
        "max_cycles": (1000 + int(manifest.get("reset_cycles", 0) or 0)
                       + 8 * in_beats * (per_step + 1)),
        "stim_file": names["stim"],
        "expect_file": names["expect"],
        "compile_files": " ".join([*manifest["hdl_files"], names["bench"]]),
    }


def render(env: jinja2.Environment, ir: IntegerRNN, manifest: dict) -> tuple[dict[str, str],
                                                                              dict]:
    """(file name -> text, the manifest's `verilog_testbench` entry): test bench and vectors."""
    stim = stimulus(ir)
    names = file_names(manifest["top"])
    ctx = bench_context(manifest, stim)
    files = {names["bench"]: render_template(env, "tb.v.j2", ctx),
             **vector_files(manifest, stim)}
    entry = {"top": f"{manifest['top']}_tb", "file": names["bench"],
             "vectors": [names["stim"], names["expect"]], "sequences": ctx["sequences"],
             "input_beats": ctx["in_beats"], "output_beats": ctx["out_beats"]}
    return files, entry
