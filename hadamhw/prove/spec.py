"""The formal spec: a reference module rendered from the IR alone.

It is the plainest one-step-per-cycle datapath with the single-cycle core's ports and
AXI4-Stream behaviour: every sum of products is a plain `+` of constant multiples at the
IR's declared widths (no sharing, no common factor taken out), the requantization exactly
as docs/ir-format.md writes it (the FWHT in its radix-2 stages at the declared stage
widths, as the IR defines it). Nothing here reads the netlist or the
backends, so a proof of the generated design against it is a proof against the IR.
"""

from __future__ import annotations

from hadamhw.backends import render_template, template_environment
from hadamhw.ir.schema import IntegerRNN
from hadamhw.resources import templates_dir

BLOCKS = ("rotate", "update", "readout")  # the arithmetic blocks, as the generated core has them


def lit(value: int) -> str:
    """A signed Verilog literal just wide enough for |value| (so that sign extension to any
    wider context keeps its value)."""
    width = abs(value).bit_length() + 1
    return f"-{width}'sd{-value}" if value < 0 else f"{width}'sd{value}"


def linear(terms: list[tuple[str, int]], const: int = 0) -> str:
    """`name * c + ...` over the non-zero coefficients, then the constant."""
    parts = [f"{'-' if c < 0 else '+'} {name} * {lit(abs(c))}" for name, c in terms if c]
    if const or not parts:
        parts.append(f"{'-' if const < 0 else '+'} {lit(abs(const))}")
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else text


def fwht_stages(ir: IntegerRNN) -> list[dict]:
    """The IR's FWHT: radix-2 stages j = 1..k at widths.fwht[j-1]; in stage j the element a
    of each pair (a, a + 2^(j-1)) inside a group of 2^j becomes a + b, the element b a - b."""
    n, m = ir.hidden_size, ir.block_size
    stages = []
    prev = [f"sp_hc_{i}" for i in range(n)]
    half, j = 1, 1
    while half < m:
        rows = [""] * n
        for g in range(0, n, 2 * half):
            for i in range(g, g + half):
                rows[i] = f"{prev[i]} + {prev[i + half]}"
                rows[i + half] = f"{prev[i]} - {prev[i + half]}"
        stages.append({"j": j, "width": ir.widths.fwht[j - 1], "rows": rows})
        prev = [f"sp_f{j}_{i}" for i in range(n)]
        half, j = half * 2, j + 1
    return stages


def rotate_row(ir: IntegerRNN, i: int) -> str:
    """r_i = s_i * f_i."""
    f = f"sp_f{ir.k}_{i}"
    return f if int(ir.signs[i]) > 0 else f"-{f}"


def requant_row(ir: IntegerRNN, i: int) -> str:
    rq = ir.requant
    half = (1 << (rq.shift - 1)) if rq.shift > 0 else 0
    return f"sp_r_{i} * {lit(rq.rotate_mult)} + sp_a_{i} * {lit(rq.input_mult)} + {lit(half)}"


def argmax_bits(d_out: int) -> int:
    return max(1, (d_out - 1).bit_length())


def _input_context(ir: IntegerRNN) -> dict:
    inp = ir.input
    n = ir.hidden_size
    u = [[int(v) for v in row] for row in ir.input_weight]
    bias = [int(b) for b in ir.input_bias]
    if inp.kind == "token":
        table = [[lit(u[i][v] + bias[i]) for v in range(inp.size)] for i in range(n)]
        return {"token": True, "in_bits": inp.bits, "vocab": inp.size,
                "token_drive": table, "bias": [lit(b) for b in bias]}
    b = inp.bits
    words = [f"$signed(x[{k * b + b - 1}:{k * b}])" if inp.signed
             else f"$signed({{1'b0, x[{k * b + b - 1}:{k * b}]}})"
             for k in range(inp.size)]
    drive = [linear([(f"sp_x_{k}", u[i][k]) for k in range(inp.size)], bias[i]) for i in range(n)]
    return {"token": False, "in_bits": b * inp.size, "words": inp.size, "word": words,
            "wx": b if inp.signed else b + 1, "drive": drive}


def _output_context(ir: IntegerRNN) -> dict:
    w = ir.widths
    v = [[int(c) for c in row] for row in ir.output_weight]
    rows = [linear([(f"sp_zs_{i}", v[o][i]) for i in range(ir.hidden_size)], int(ir.output_bias[o]))
            for o in range(ir.output_size)]
    ctx = {"readout": rows, "wy": w.output_acc, "wz": w.readout_in, "wo": w.output,
           "out_requant": ir.output_requant is not None}
    orq = ir.output_requant
    if orq is not None:
        half = (1 << (orq.shift - 1)) if orq.shift > 0 else 0
        ctx.update(out_mult=lit(orq.mult), out_half=lit(half), out_shift=orq.shift,
                   wp=w.output_acc + orq.mult.bit_length() + 2,
                   out_max=lit((1 << (orq.bits - 1)) - 1), out_min=lit(-(1 << (orq.bits - 1))))
    return ctx


def spec_context(ir: IntegerRNN, module: str, block_prefix: str | None = None) -> dict:
    """Everything the spec template reads, from the IR alone; its blocks are named
    `<block_prefix>_rotate` etc. (default: the module's name)."""
    w = ir.widths
    prefix = module if block_prefix is None else block_prefix
    n = ir.hidden_size
    lo, hi = ir.state_range
    ctx = {"module": module, "n": n, "d_out": ir.output_size, "every": ir.readout == "every",
           "vanilla": ir.mode == "vanilla", "ws": w.state, "wa": w.input_acc,
           "wr": w.rotated, "wv": w.requant_sum, "wq": w.shifted, "shift": ir.requant.shift,
           "state_max": lit(hi), "state_min": lit(lo),
           "fwht": fwht_stages(ir), "rotate": [rotate_row(ir, i) for i in range(n)],
           "requant": [requant_row(ir, i) for i in range(n)],
           "out_bits": w.output * ir.output_size, "argmax_bits": argmax_bits(ir.output_size),
           "blocks": {b: f"{prefix}_{b}" for b in BLOCKS}, "core": True, "bodies": True}
    ctx.update(_input_context(ir))
    ctx.update(_output_context(ir))
    return ctx


def render_spec(ir: IntegerRNN, module: str, *, block_prefix: str | None = None,
                core: bool = True, bodies: bool = True) -> str:
    """The spec of `ir` as Verilog text: its sequential core `module` (when `core`) and
    its arithmetic blocks `<block_prefix>_rotate` etc. (when `bodies`; without them, the
    core instantiates blocks defined elsewhere, e.g. the design's as black boxes)."""
    env = template_environment(templates_dir() / "prove")
    ctx = {**spec_context(ir, module, block_prefix), "core": core, "bodies": bodies}
    return render_template(env, "spec.v.j2", ctx)
