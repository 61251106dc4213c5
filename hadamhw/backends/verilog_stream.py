"""Verilog backend, interleaved and pipelined cores (`--streams P`, `--pipeline`).

The same datapath sections as hadamhw.backends.verilog (input drive, rotation,
requantization, readout, argmax: the same context builders), scheduled in cycles and cut by
pipeline registers, around a control section for P interleaved sequences (C-slow):

- interface/control: an input register takes each AXI4-Stream beat (s_axis_tid names its
  stream); the beat is *issued* when its stream's previous step has left the recurrence
  loop (a stream may issue once every `loop_depth` cycles), an output credit is free (the
  output FIFO holds every readout beat in flight) and, in the stage fold, the butterfly
  bank is free. s_axis_tready = !input_valid || issue: a function of registers only.
- cycles count from the issue (cycle 0). Every wire is computed in a known cycle; an operand
  from an earlier cycle is read through free-running pipeline registers
  (hadamhw.backends.retime), and the step's valid flag, stream id and tlast travel beside
  the data the same way.
- the recurrence loop: the state of each stream lives in a register file (one entry per
  stream; distributed RAM where the FPGA has it), read in cycle `read` and written in
  cycle `write`; loop_depth = write - read + 1 <= P registers (the register file included)
  in the parallel fold, so that P streams keep it busy every cycle. The last step of a
  sequence writes zeros (the next step of that stream starts from h = 0), so there is no
  per-step "fresh" select; a reset clears the entries one per cycle.
- the readout reads the new state through one register whose relu is a synchronous reset
  (z = h < 0 ? 0 : h), then the readout, output requantization and argmax, pipelined; the
  beat enters an output FIFO with one credit per slot, as many slots as readout beats can be
  in flight at one issue per cycle.

Register placement (hadamhw.backends.timing): the feed-forward sections take as many stages
as the target clock needs; the loop takes at most P - 1 registers besides the state (the
stage fold: its k bank cycles plus at most (P - 1) k after the bank).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hadamhw.backends import GenerateOptions
from hadamhw.backends.adder_graph import Rename
from hadamhw.backends.retime import Retimer
from hadamhw.backends.timing import (
    DEFAULT_MODEL,
    MODELS,
    Level,
    balanced_stages,
    greedy_stages,
    period_ns,
    slowest_stage,
    stage_delay,
)
from hadamhw.backends.verilog_sections import (
    Form,
    argmax_section,
    bank_section,
    decl,
    has_serial_readout,
    input_section,
    input_words,
    readout_section,
    requant_section,
    serial_readout_section,
    unread_decls,
)
from hadamhw.backends.verilog_text import bit_slice, clog2, lit
from hadamhw.errors import HadamhwError
from hadamhw.ir.schema import IntegerRNN
from hadamhw.netlist.plan import requant_plan

# Output FIFO slots when the readout is serial (one readout runs at a time).
SERIAL_FIFO_DEPTH = 4


def tid_bits(streams: int) -> int:
    return clog2(streams)


@dataclass
class Schedule:
    """Cycles of one design, counted from the issue of a step (cycle 0)."""

    streams: int
    mode: str  # none / auto / depth
    target_mhz: float
    model: str
    read: int = 0  # cycle the state is read (the register-file address)
    bank: int = 0  # stage fold: cycle of the bank's first pass
    write: int = 0  # cycle the new state is computed and written
    fifo: int = 0  # cycle the output beat is written into the FIFO
    loop_levels: list[Level] = field(default_factory=list)
    loop_stage: list[int] = field(default_factory=list)  # relative to loop_origin
    loop_origin: int = 0  # cycle of loop_stage 0
    input_levels: list[Level] = field(default_factory=list)
    input_stage: list[int] = field(default_factory=list)
    readout_levels: list[Level] = field(default_factory=list)
    readout_stage: list[int] = field(default_factory=list)
    readout_origin: int = 0
    bank_levels: list[Level] = field(default_factory=list)  # stage fold: one bank pass
    capped: bool = False  # the loop wanted more registers than the streams allow
    read_register: int = 0  # stage fold: the register-file read is registered before the bank
    issue_gap: int = 1  # cycles between issues (stage fold: k)
    # plain registers between the drive and the loop, and between the state and the
    # readout graph: nets that cross the loop's whole area (DelayModel.transport_registers)
    transport: int = 0
    # the interface's control registers (DelayModel.control_registers): the credit returns a
    # cycle after its beat leaves, the FIFO's counters and the hazard's select read copies
    control: bool = False

    @property
    def loop_depth(self) -> int:
        return self.write - self.read + 1

    def loop_cycle(self, name: str) -> int:
        idx = next(i for i, lv in enumerate(self.loop_levels) if lv.name == name)
        return self.loop_origin + self.loop_stage[idx]


# -- levels of each section -----------------------------------------------------------------
def _graph_levels(decls: list[dict], tag: str, prefix: str, model, n: int) -> list[Level]:
    """One level per adder level of a graph's declarations, as slow as its widest adder."""
    widths: dict[int, int] = {}
    for d in decls:
        if d.get("graph") == tag and d.get("level", 0) > 0:
            widths[d["level"]] = max(widths.get(d["level"], 0), d["msb"] + 1)
    depth = max(widths, default=0)
    return [model.adder_level(f"{prefix}{lv}", widths.get(lv, 1), n)
            for lv in range(1, depth + 1)]


def _argmax_depth(am: dict) -> int:
    return max((a["depth"] for a in am["nodes"]), default=0)


def _plan(ir: IntegerRNN, options: GenerateOptions, inp: dict, req: dict, rd: dict,
          am: dict) -> Schedule:
    model = MODELS[DEFAULT_MODEL]
    n, k, w = ir.hidden_size, ir.k, ir.widths
    period = period_ns(options.target_mhz)
    mode = "depth" if isinstance(options.pipeline, int) else options.pipeline
    piped = mode != "none"
    stage_fold = options.fold == "stage"
    serial = rd["serial"] is not None
    sch = Schedule(streams=0, mode=mode, target_mhz=float(options.target_mhz),
                   model=model.name, issue_gap=k if stage_fold else 1,
                   transport=model.transport_registers(n, period) if piped else 0,
                   control=piped and model.control_registers(period))

    # input: x_q -> drive; the drive is registered before it meets the loop (pipelined)
    if inp["rom"] is not None:
        sch.input_levels = [model.lut_level("rom", n, max(1, math.ceil(ir.input.bits / 4)))]
    else:
        sch.input_levels = _graph_levels(inp["decls"], "in_n", "input", model, n)
    sch.input_stage = (greedy_stages(model, sch.input_levels, period) if piped
                       else [0] * len(sch.input_levels))

    # the loop's levels after the rotation: requantization adders, saturation
    rq = _graph_levels(req["decls"], "rq_n", "requant", model, n)
    sat = model.lut_level("saturate", n, 2)
    streams = options.streams
    if stage_fold:
        wb = max(w.fwht)
        bank = [model.lut_level("bank_select", n), model.adder_level("butterfly", wb, n)]
        sch.bank_levels = bank
        post = [Level("bank", sum(lv.ns for lv in bank), bank[1].carry), *rq, sat]
        greedy = greedy_stages(model, post, period) if piped else [0] * len(post)
        want = greedy[-1] if mode == "auto" else 0
        if mode == "depth":
            want = max(0, options.pipeline - k)
        # with a register file, its read ahead of the bank's selector may need a register
        read_alone = stage_delay(model, [model.ram_level("read", n), *bank])
        multi = streams == "auto" and want > 0 or streams not in ("auto", 1)
        sch.read_register = int(piped and multi and read_alone > period)
        if streams == "auto":
            streams = max(1, -(-(k + want + sch.read_register) // k))
        allowed = (streams - 1) * k - sch.read_register
        if want > allowed:
            if mode == "depth":
                raise HadamhwError(f"--pipeline {options.pipeline} needs --streams >= "
                                   f"{-(-options.pipeline // k)} with --fold stage (a loop "
                                   f"of {options.pipeline} cycles, {k} bank cycles per step)")
            sch.capped = True
            want = allowed
        sch.loop_levels = post
        sch.loop_stage = balanced_stages(model, post, want) if want else [0] * len(post)
    else:
        levels = []
        register_file = streams == "auto" or streams > 1
        if register_file:
            levels.append(model.ram_level("read", n))
        for j in range(1, k + 1):
            width = w.rotated if j == k else w.fwht[j - 1]
            levels.append(model.adder_level(f"butterfly{j}", width, n))
        levels += [*rq, sat]
        if register_file:  # the write data's zero select and the net into the RAM
            levels.append(model.ram_write_level("write", n))
        greedy = greedy_stages(model, levels, period) if piped else [0] * len(levels)
        want = greedy[-1] if mode == "auto" else 0
        if mode == "depth":
            want = options.pipeline - 1
        if streams == "auto":
            streams = want + 1
            if streams == 1 and register_file:
                levels = levels[1:-1]  # one stream: the state is a plain register
                greedy = greedy[1:-1]
        if want > streams - 1:
            if mode == "depth":
                raise HadamhwError(f"--pipeline {options.pipeline} (a loop of "
                                   f"{options.pipeline} registers) needs --streams >= "
                                   f"{options.pipeline}: each stream issues once per loop")
            sch.capped = True
            want = streams - 1
        sch.loop_levels = levels
        sch.loop_stage = balanced_stages(model, levels, want) if want else [0] * len(levels)
    sch.streams = int(streams)

    # readout: after the register that holds relu(h'): readout graph, output
    # requantization, saturation, argmax (or, serial: the argmax over the stored outputs)
    ro: list[Level] = []
    if not serial:
        ro += _graph_levels(rd["decls"], "ro_n", "readout", model, n)
        ro += _graph_levels(rd["decls"], "orq_n", "output_requant", model, n)
        if ir.output_requant is not None:
            ro.append(model.lut_level("output_saturate", n, 2))
    for d in range(1, _argmax_depth(am) + 1):  # compare, then select (a register may split)
        ro += [model.compare_level(f"argmax_compare{d}", ir.widths.output, n),
               model.lut_level(f"argmax_select{d}", n)]
    sch.readout_levels = ro
    sch.readout_stage = greedy_stages(model, ro, period) if piped else [0] * len(ro)
    return sch


def _alap_levels(decls: list[dict], tag: str) -> dict[str, int]:
    """The adder nodes of a graph, each at the latest adder level its consumers allow (the
    graph's outputs at its depth): fewer of the wide intermediate values wait in registers.
    A node without an adder (a shift) is available at its operand's level."""
    nodes = [d for d in decls if d.get("graph") == tag]
    depth = max((d.get("level", 0) for d in nodes), default=0)
    avail: dict[str, int] = {}
    for d in reversed(nodes):
        lvl = avail.setdefault(d["name"], depth)
        for op in d.get("operands", []):
            limit = lvl - 1 if d.get("adder", True) else lvl
            avail[op] = min(avail.get(op, depth), limit)
    return {d["name"]: avail[d["name"]] for d in nodes
            if d.get("adder", True) and avail[d["name"]] > 0}


def _loop_positions(ir: IntegerRNN, sch: Schedule, inp_cycle: dict[str, int],
                    req: dict, options: GenerateOptions) -> int:
    """Fix the cycles of the loop: read, (bank), write; the read waits for the drive.
    Returns the cycle the input section starts in (it waits when the loop needs the drive
    later than the input section can deliver it)."""
    stage_fold = options.fold == "stage"
    k = ir.k
    piped = sch.mode != "none"
    consumers = _drive_consumers(req)
    if stage_fold:
        read_reg = sch.read_register
        # relative to the read: bank at read_reg, last pass at read_reg + k - 1
        origin = read_reg + k - 1
    else:
        read_reg = 0
        origin = 0
    a = 0
    slack = None
    pairs = []
    for d_name, level in consumers:
        need = inp_cycle[d_name] + (1 + sch.transport if piped else 0)
        have = origin + sch.loop_stage[_level_index(sch, f"requant{level}")] if level else \
            origin + sch.loop_stage[_level_index(sch, "saturate")]
        pairs.append((need, have))
        a = max(a, need - have)
    for need, have in pairs:
        slack = a + have - need if slack is None else min(slack, a + have - need)
    sch.read = a
    sch.bank = a + read_reg
    sch.loop_origin = a + origin
    has_write = any(lv.name == "write" for lv in sch.loop_levels)
    sch.write = sch.loop_cycle("write" if has_write else "saturate")
    if stage_fold and sch.loop_stage[0] != 0:
        raise HadamhwError("internal: the bank's last pass must start the loop schedule")
    return slack or 0


def _level_index(sch: Schedule, name: str) -> int:
    for i, lv in enumerate(sch.loop_levels):
        if lv.name == name:
            return i
    raise HadamhwError(f"internal: no loop level {name}")


def _drive_consumers(req: dict) -> list[tuple[str, int]]:
    """(d_i, adder level of the requantization node that adds it)."""
    drives = set(req["drive_wires"])
    return [(name, d["level"]) for d in req["decls"] if d.get("graph") == "rq_n"
            for name in d["reads"] if name in drives]


# -- the context ----------------------------------------------------------------------------
def stream_context(ir: IntegerRNN, options: GenerateOptions) -> tuple[dict, dict, dict]:
    """(template context, analytical costs, schedule summary for the manifest)."""
    if options.recurrent != "fwht":
        raise HadamhwError("--recurrent dense supports --streams 1 --pipeline none only (it "
                           "is the single-cycle baseline the butterflies are compared with)")
    w = ir.widths
    n, m, k = ir.hidden_size, ir.block_size, ir.k
    stage_fold = options.fold == "stage"
    plan = requant_plan(ir)
    serial = has_serial_readout(ir, options)
    inp = input_section(ir, options, plan, "x_q")
    req = requant_section(ir, options, plan, inp["drive"])
    rd = (serial_readout_section(ir, options) if serial
          else readout_section(ir, options, "hn_{i}"))
    am = argmax_section(ir)
    sch = _plan(ir, options, inp, req, rd, am)
    P = sch.streams
    T = tid_bits(P)
    rt = Retimer()

    # -- control sources (cycle 0: the issue) ---------------------------------------------
    rt.source("go", 1, 0, reset=True)
    rt.source("go_out", 1, 0, reset=True)
    rt.source("in_last_q", 1, 0)
    if T:
        rt.source("in_tid_q", T, 0)

    # -- input section: as late as possible (the narrow input words wait, not the drive) ----
    in_words, in_bits = input_words(ir)
    rt.source("x_q", in_words * in_bits, 0)
    in_cycle = {lv.name: st for lv, st in zip(sch.input_levels, sch.input_stage, strict=True)}
    if inp["rom"] is not None:
        rom_cycle = in_cycle["rom"]
        node_cycle: dict[str, int] = {}
    else:
        rom_cycle = 0
        node_cycle = {name: in_cycle[f"input{lvl}"] for name, lvl in
                      _alap_levels(inp["decls"], "in_n").items()}
    d_rel = {}
    for d in inp["drive_decls"]:
        src = d["reads"][0]  # the ROM word, or the input projection's node
        d_rel[d["name"]] = rom_cycle if src == "d_rom" else node_cycle.get(src, 0)

    # -- loop schedule; the input section starts as late as its drive allows ------------------
    offset = _loop_positions(ir, sch, d_rel, req, options)
    inp_decls = []
    if inp["rom"] is not None:
        rt.source("d_rom", inp["rom"]["msb"] + 1, offset + rom_cycle)
        inp = {**inp, "rom": {**inp["rom"], "select": rt.at("x_q", offset + rom_cycle)}}
    for d in inp["decls"]:
        cyc = node_cycle.get(d["name"])
        inp_decls.append(rt.place(d, None if cyc is None else offset + cyc))
    drive_decls = [rt.place(d) for d in inp["drive_decls"]]
    a = sch.read
    state_bits = n * w.state
    # the state: one register-file entry (P > 1) or register (P = 1) per element, so that
    # simulators handle narrow words and synthesis sees n narrow memories
    h_read = [f"hr_{i}" if P > 1 else f"hq_{i}" for i in range(n)]
    for name in h_read:
        rt.source(name, w.state, a)

    def state_at(cycle: int) -> str:
        return "{" + ", ".join(rt.at(h_read[i], cycle) for i in reversed(range(n))) + "}"

    rotate_registered: frozenset[int] = frozenset()
    if stage_fold:
        h_cur = state_at(sch.bank)
        post_bank = sch.loop_stage[1] > 0 if len(sch.loop_levels) > 1 else False
        f_vec = "bank_q" if post_bank else "bank_out"
        rt.source("bank_out", n * max(w.fwht), sch.bank + k - 1)
        rt.source("bank_q", n * max(w.fwht), sch.bank + k)
        if f_vec != "bank_out":
            req = requant_section(ir, options, plan, inp["drive"], r_src=f_vec)
        bank = bank_section(ir, "h_cur")
        r_cycle = sch.bank + k - 1 + (1 if post_bank else 0)
    else:
        first_bf = sch.loop_cycle("butterfly1")
        h_cur = state_at(first_bf)
        stages_bf = [sch.loop_cycle(f"butterfly{j}") for j in range(1, k + 1)]
        rotate_registered = frozenset(j for j in range(1, k) if stages_bf[j] > stages_bf[j - 1])
        r_cycle = stages_bf[-1]
        rt.source("r", n * w.rotated, r_cycle)
        bank = None
        f_vec = "r"
    req_decls = []
    for d in req["decls"]:
        if d.get("graph") == "rq_n" and d.get("level", 0) > 0:
            req_decls.append(rt.place(d, sch.loop_cycle(f"requant{d['level']}")))
        else:
            req_decls.append(rt.place(d))
    elements = []
    sat_cycle = sch.loop_cycle("saturate")
    for el in req["elements"]:
        v = rt.place(el["v"])
        q = rt.place(el["q"])
        h = rt.place(el["h"], max(sat_cycle, rt.ready(el["h"]["reads"])))
        elements.append({"v": v, "q": q, "h": h})
    rt.source("h_next", state_bits, sch.write)
    if rt.ready(req["h_next_reads"]) > sch.write:
        raise HadamhwError("internal: the new state is late for its write")

    # -- readout ------------------------------------------------------------------------------
    ro_origin = sch.write + 1 + (0 if serial else sch.transport)
    ro_cycle = {lv.name: ro_origin + st
                for lv, st in zip(sch.readout_levels, sch.readout_stage, strict=True)}
    am_decls = _argmax_decls(ir, am)
    if serial:
        rd_decls = list(rd["decls"])  # the serial machinery runs on its own registers
        ser = Retimer()
        ser.source("rd_valid_q", 1, 0, reset=True)
        ser.source("ro_tid_q", max(T, 1), 0)
        for o in range(ir.output_size):
            ser.source(f"out_{o}", w.output, 0, signed=True)
        am_rel = {name: c - ro_origin for name, c in ro_cycle.items()}
        am_placed = [ser.place(d, _am_cycle(d, am_rel)) for d in am_decls]
        fifo_cycle = max([0, *(ser.cycle.get(d["name"], 0) for d in am_placed)])
        beat_argmax = ser.place(decl("beat_argmax", clog2(ir.output_size) or 1,
                                     _argmax_result(am)), fifo_cycle)
        beat_data = ser.place(decl("beat_data", ir.output_size * w.output,
                                   _beat_data(ir)), fifo_cycle)
        fifo_valid = ser.at("rd_valid_q", fifo_cycle)
        fifo_tid = ser.at("ro_tid_q", fifo_cycle) if T else None
        fifo_last = "1'b1"
        ser_regs = ser.regs
        ro_start_cycle = sch.write
        sch.fifo = ro_start_cycle + rd["cycles"] + 1 + fifo_cycle
    else:
        rd_decls = []
        for d in rd["decls"]:
            tag = d.get("graph")
            if tag in ("ro_n", "orq_n") and d.get("level", 0) > 0:
                name = ("readout" if tag == "ro_n" else "output_requant") + str(d["level"])
                rd_decls.append(rt.place(d, ro_cycle[name]))
            elif d.get("kind") == "saturate":
                rd_decls.append(rt.place(d, max(ro_cycle["output_saturate"],
                                                rt.ready(d["reads"]))))
            elif d.get("kind") == "relu":
                rd_decls.append(rt.place(d, sch.write))  # relu(h'): registered into the readout
            else:
                rd_decls.append(rt.place(d))
        am_placed = [rt.place(d, _am_cycle(d, ro_cycle)) for d in am_decls]
        fifo_cycle = max([ro_origin, *(rt.cycle.get(d["name"], ro_origin) for d in
                                       [*rd_decls, *am_placed])])
        beat_argmax = rt.place(decl("beat_argmax", max(1, clog2(ir.output_size)),
                                    _argmax_result(am)), fifo_cycle)
        beat_data = rt.place(decl("beat_data", ir.output_size * w.output,
                                  _beat_data(ir)), fifo_cycle)
        fifo_valid = rt.at("go_out", fifo_cycle)
        fifo_tid = rt.at("in_tid_q", fifo_cycle) if T else None
        fifo_last = rt.at("in_last_q", fifo_cycle) if ir.readout == "every" else "1'b1"
        ser_regs = []
        ro_start_cycle = None
        sch.fifo = fifo_cycle

    # -- control wires at their cycles -------------------------------------------------------
    L = sch.loop_depth
    hazard = _hazard_context(rt, range(1, L) if not stage_fold else range(k, L), P, T,
                             "hazard_tid_q" if sch.control else "in_tid_q")
    bank_busy = [rt.at("go", j) for j in range(1, k)] if stage_fold else []
    state_write = _state_write_context(rt, sch, n, T)
    # the new state as of the write cycle (registered when saturation and the write are a
    # stage apart): the state's write and the serial readout read it there
    h_write = [rt.at(f"hn_{i}", sch.write) for i in range(n)]
    req = {**req, "h_next": "{" + ", ".join(reversed(h_write)) + "}"}
    bank_first = rt.at("go", sch.bank) if stage_fold else None
    ro_start = (f"{rt.at('go', ro_start_cycle)} & {rt.at('in_last_q', ro_start_cycle)}"
                if serial else None)
    ro_tid = rt.at("in_tid_q", ro_start_cycle) if serial and T else None
    # one credit per slot; at one issue per cycle a beat holds its credit from the issue to
    # the cycle after it leaves (fifo + 2 cycles, one more when the return is registered); a
    # serial readout runs one at a time
    fifo_depth = SERIAL_FIFO_DEPTH if serial else max(
        4, 1 << clog2(sch.fifo + 2 + int(sch.control)))
    # the FIFO's counters take their own copy of the write strobe, registered beside them
    fifo_count_wr = None
    if sch.control and fifo_cycle >= 1:
        fifo_count_wr = (ser.at("rd_valid_q", fifo_cycle - 1) if serial
                         else rt.at("go_out", fifo_cycle - 1))

    # -- unused-wire bookkeeping for lint --------------------------------------------------
    sections_decls = [*inp_decls, *drive_decls, *req_decls, *rd_decls, *am_placed,
                      *[x for el in elements for x in (el["v"], el["q"], el["h"])]]
    readers = [*h_write, *beat_data["reads"], *beat_argmax["reads"], *rd.get("readers", []),
               *(r["src"] for r in rt.regs), *(r["src"] for r in ser_regs)]
    unused = [u for sec in (inp, req, rd, am) for u in sec["unused"]]
    unused += unread_decls(sections_decls, readers)
    # the argmax differences: only their sign bit is read
    unused += [d["name"] for d in am_decls if d["name"].endswith("_diff")]
    copies = [r["name"] for r in [*rt.regs, *ser_regs] if r["of"] in set(unused)]
    unused += copies

    pipe_regs = rt.regs + ser_regs
    ctx = {
        "top": options.top,
        "n": n, "m": m, "k": k,
        "fold": options.fold, "recurrent": options.recurrent, "cmvm": options.cmvm,
        "mode": ir.mode, "readout": ir.readout, "input_kind": ir.input.kind,
        "state_msb": state_bits - 1, "state_zero": lit(0, state_bits),
        "rotated_msb": n * w.rotated - 1,
        "stage_fold": stage_fold, "single_stage": stage_fold and k == 1,
        "every": ir.readout == "every",
        "streamed": True,
        "input": {**inp, "decls": inp_decls, "drive_decls": drive_decls},
        "requant": {**req, "decls": req_decls, "elements": elements},
        "readout_part": {**rd, "decls": rd_decls},
        "argmax": {**am, "decls": am_placed},
        "bank": bank,
        "plan": plan,
        "unused": sorted(set(unused), key=unused.index),
        "beat_argmax": beat_argmax, "beat_data": beat_data,
        "pipe": {
            "regs": [r for r in pipe_regs if not r["reset"]],
            "valid_regs": [r for r in pipe_regs if r["reset"]],
        },
        "stream": {
            "streams": P, "tid_bits": T, "tid_msb": max(T, 1) - 1,
            "loop_depth": L,
            "hazard": hazard,
            "bank_busy": " | ".join(bank_busy) if bank_busy else "1'b0",
            "write": state_write,
            "h_cur": h_cur, "f_vec": f_vec, "bank_first": bank_first,
            "elements": [{"read": h_read[i], "next": h_write[i],
                          "msb": w.state - 1,
                          "group": state_write["group_of"][i]} for i in range(n)],
            "rotate_clocked": bool(rotate_registered),
            "ro_start": ro_start, "ro_tid": ro_tid,
            "fifo_valid": fifo_valid, "fifo_tid": fifo_tid, "fifo_last": fifo_last,
            "control": sch.control, "fifo_count_wr": fifo_count_wr,
            # what the counters read: the strobe's copy, and the credit as it comes back
            "fifo_strobe": "fifo_count_wr_q" if fifo_count_wr else "fifo_wr",
            "credit_return": "out_fire_q" if sch.control else "out_fire",
            "fifo_depth": fifo_depth, "fifo_slot_bits": clog2(fifo_depth),
            "fifo_distributed": fifo_depth > DISTRIBUTED_FIFO_SLOTS,
            "credit_bits": clog2(fifo_depth + 1),
            "fifo_last_credit": lit(fifo_depth - 1, clog2(fifo_depth + 1)),
            "clear_last": lit(P - 1, max(T, 1)),
        },
        **_interface_fields(ir, T),
    }
    costs = {"adders": {"input": inp["adders"], "requant": req["adders"],
                        "readout": rd["adders"]},
             "adder_bits": {"input": inp["adder_bits"], "requant": req["adder_bits"],
                            "readout": rd["adder_bits"]},
             "readout_cycles": rd["cycles"]}
    summary = _summary(ir, options, sch, rotate_registered, fifo_depth, serial, rd)
    return ctx, costs, {"schedule": sch, "summary": summary,
                        "rotate_registered": rotate_registered}


# Above this many slots Yosys maps the output FIFO to ECP5 block RAM, whose output (5.8 ns
# clock to data, the FIFO head read as of the read pointer) then limits the clock (measured:
# n = 128, m = 4, 64 slots, 116.8 MHz against 151.2 with 32 slots): deeper FIFOs are marked
# for distributed RAM.
DISTRIBUTED_FIFO_SLOTS = 32


# Elements of the state whose register-file write (enable, address, zero flag) and read
# address come from their own copy of the control registers: one copy for all n elements
# is one net across the chip (measured: 8.2 of 9.2 ns routing at n = 64, nextpnr-ecp5).
STATE_GROUP_SIZE = 4


def _hazard_context(rt: Retimer, issued: range, P: int, T: int, waiting_tid: str) -> dict:
    """The hazard as a register: does the beat in the input register in the next cycle
    belong to a stream issued `j` cycles before it, for j in `issued`?

    Computed one cycle ahead, so that the issue (go) reads a flip-flop. `recent_q` has one
    bit per stream: a step of it issued j - 1 cycles ago (j in `issued`, j >= 2), that is,
    j cycles ago as of the next cycle; the step issuing now (j = 1) is the one compare of
    in_tid_q with s_axis_tid. Next cycle's beat is the one waiting now (no issue) or the one
    arriving (after an issue, or into an empty register): both selects are made side by
    side and go picks one. Two or three logic levels each, not L - 1 compares in a row.
    `waiting_tid` names the waiting beat's stream for the select (in_tid_q or its copy)."""
    if not issued:
        return {"registered": False, "wire": "1'b0"}
    slots = 1 << T
    recent = []
    for stream in range(slots):
        terms = []
        for j in issued:
            if j < 2 or stream >= P:  # ids from P up never arrive
                continue
            go_j = rt.at("go", j - 2)
            terms.append(f"({go_j} & ({rt.at('in_tid_q', j - 2)} == {lit(stream, T)}))"
                         if T else go_j)
        recent.append(" | ".join(terms) if terms else "1'b0")
    if all(r == "1'b0" for r in recent):
        recent = []
    pick = (lambda tid: f"recent_q[{tid}]" if T else "recent_q") if recent else \
        (lambda tid: "1'b0")
    after_issue = [pick("s_axis_tid")] if recent else []
    if 1 in issued:
        after_issue.append("(in_tid_q == s_axis_tid)" if T else "1'b1")
    return {
        "registered": True, "wire": "hazard_q",
        "recent": [{"stream": i, "expr": e} for i, e in enumerate(recent)],
        "recent_msb": slots - 1,
        "arriving": pick("s_axis_tid"),
        "waiting": pick(waiting_tid),
        "after_issue": " | ".join(after_issue) or "1'b0",
    }


def _state_write_context(rt: Retimer, sch: Schedule, n: int, T: int) -> dict:
    """The state's write (cycle `write`) and read address (cycle `read`) per group of
    STATE_GROUP_SIZE elements, each group's copy registered from the cycle before; one
    shared copy where the write is in cycle 0 (no earlier cycle to register it from).

    groups[g] names the signals group g writes and reads with: its own registers, or the
    shared wires when the write is not replicated."""
    W, A = sch.write, sch.read
    replicated = W >= 1
    count = -(-n // STATE_GROUP_SIZE) if replicated else 1
    group_of = [i // STATE_GROUP_SIZE if count > 1 else 0 for i in range(n)]
    early = None
    if replicated:
        early = {"valid": rt.at("go", W - 1), "last": rt.at("in_last_q", W - 1),
                 "tid": rt.at("in_tid_q", W - 1) if T else None}
    else:
        shared = {"valid": rt.at("go", W), "last": rt.at("in_last_q", W),
                  "tid": rt.at("in_tid_q", W) if T else None,
                  "clr": "clr_busy_q", "clr_idx": "clr_idx_q"}
    # the read address: a per-group copy when there is a cycle before the read to copy from
    read_early = rt.at("in_tid_q", A - 1) if T and A >= 1 and count > 1 else None
    read_shared = rt.at("in_tid_q", A) if T and read_early is None else None
    groups = []
    for g in range(count):
        own = {"valid": f"wr_valid_g{g}", "last": f"wr_last_g{g}",
               "tid": f"wr_tid_g{g}" if T else None,
               "clr": f"clr_busy_g{g}", "clr_idx": f"clr_idx_g{g}"}
        groups.append({"index": g, **(own if replicated else shared),
                       "read": f"rd_tid_g{g}" if read_early else read_shared})
    return {"groups": groups, "group_of": group_of, "replicated": replicated,
            "early": early, "read_early": read_early}


def _beat_data(ir: IntegerRNN) -> Form:
    return lambda r: "{" + ", ".join(r(f"out_{o}") for o in reversed(range(ir.output_size))) + "}"


def _argmax_result(am: dict) -> str | Form:
    """The argmax index: the comparison tree's last index wire (a constant for one output)."""
    wire = am["result_wire"]
    return am["expr"] if wire is None else lambda r: r(wire)


def _interface_fields(ir: IntegerRNN, T: int) -> dict:
    words, word_bits = input_words(ir)
    d_out, Wo = ir.output_size, ir.widths.output
    argmax_bits = max(1, clog2(d_out))
    out_bits = d_out * Wo
    beat_bits = out_bits + argmax_bits + 1 + T
    return {
        "in_msb": words * word_bits - 1,
        "out_msb": out_bits - 1,
        "argmax_msb": argmax_bits - 1,
        "beat_msb": beat_bits - 1,
        "beat_argmax_slice": bit_slice("fifo_head", out_bits, argmax_bits),
        "beat_data_slice": bit_slice("fifo_head", 0, out_bits),
        "beat_last_bit": f"fifo_head[{out_bits + argmax_bits}]",
        "beat_tid_slice": bit_slice("fifo_head", out_bits + argmax_bits + 1, T) if T
        else None,
        "out_word_msb": Wo - 1,
        "tid_bits": T,
    }


def _argmax_decls(ir: IntegerRNN, am: dict) -> list[dict]:
    """The comparison tree as declarations (gt, val, idx per node), tagged by depth.

    right > left is the sign of left - right, one bit wider than the outputs: one carry
    chain whose last sum bit is the answer. (A `>` of signed words maps on ECP5 to a chain
    plus a zero test and sign logic in LUTs after it: measured 7.1 ns for 18 bits, n = 16.)"""
    Wo = ir.widths.output
    bits = max(1, clog2(ir.output_size))
    out = []
    for a in am["nodes"]:
        d = a["depth"]
        diff = a["gt"].removesuffix("_gt") + "_diff"
        out.append({**decl(diff, Wo + 1, _difference(a["left_val"], a["right_val"], Wo)),
                    "argmax": f"argmax_compare{d}"})
        out.append({**decl(a["gt"], 1, lambda r, diff=diff: f"{r(diff)}[{Wo}]"),
                    "argmax": f"argmax_compare{d}"})
        out.append({**decl(a["val"], Wo, _select(a, "val"), signed=True),
                    "argmax": f"argmax_select{d}"})
        out.append({**decl(a["idx"], bits, _select(a, "idx")),
                    "argmax": f"argmax_select{d}"})
    return out


def _difference(left: str, right: str, Wo: int) -> Form:
    """left - right, both sign-extended by one bit."""
    def ext(r: Rename, v: str) -> str:
        wire = r(v)
        return f"{{{wire}[{Wo - 1}], {wire}}}"

    return lambda r: f"{ext(r, left)} - {ext(r, right)}"


def _select(node: dict, what: str) -> Form:
    """gt ? right : left of the node's values or indices (an index may be a constant)."""
    def operand(r: Rename, side: str) -> str:
        x = node[f"{side}_{what}"]
        return x if what == "idx" and x not in node["idx_wires"] else r(x)

    return lambda r: f"{r(node['gt'])} ? {operand(r, 'right')} : {operand(r, 'left')}"


def _am_cycle(decl: dict, cycles: dict[str, int]) -> int:
    return cycles[decl["argmax"]]


def _summary(ir: IntegerRNN, options: GenerateOptions, sch: Schedule,
             rotate_registered: frozenset[int], fifo_depth: int, serial: bool,
             rd: dict) -> dict:
    """The manifest's account of the schedule."""
    model = MODELS[sch.model]
    L = sch.loop_depth
    loop_regs = [lv.name for i, lv in enumerate(sch.loop_levels[:-1])
                 if sch.loop_stage[i + 1] > sch.loop_stage[i]]
    stage_fold = options.fold == "stage"
    if stage_fold and sch.bank > sch.read:
        loop_regs.insert(0, "read")
    worst = [("loop", slowest_stage(model, sch.loop_levels, sch.loop_stage))]
    if stage_fold:
        bank = sch.bank_levels if sch.bank > sch.read or sch.streams == 1 else [
            model.ram_level("read", ir.hidden_size), *sch.bank_levels]
        worst.append(("bank", stage_delay(model, bank)))
    if sch.input_levels:
        worst.append(("input", slowest_stage(model, sch.input_levels, sch.input_stage)))
    if sch.readout_levels:
        worst.append(("readout", slowest_stage(model, sch.readout_levels,
                                               sch.readout_stage)))
    slow_name, slow_ns = max(worst, key=lambda x: x[1])
    issue = sch.issue_gap
    per_stream = max(issue, L)
    aggregate = max(issue, -(-L // sch.streams))
    piped = sch.mode != "none"
    input_regs = (max(sch.input_stage, default=0) + 1) if piped else 0
    ro_regs = 1 + (max(sch.readout_stage, default=0) if sch.readout_levels else 0)
    return {
        "streams": sch.streams,
        "loop_depth": L,
        "cycles_per_step": aggregate,
        "cycles_per_step_per_stream": per_stream,
        "latency_cycles": sch.fifo + 2,
        "pipeline": {
            "mode": options.pipeline if isinstance(options.pipeline, str) else "depth",
            "target_mhz": float(options.target_mhz),
            "delay_model": sch.model,
            "estimated_fmax_mhz": round(1000.0 / slow_ns, 1),
            "slowest_stage": slow_name,
            "target_met": 1000.0 / slow_ns >= options.target_mhz - 1e-9,
            "loop_limited_by_streams": sch.capped,
            "loop_registers": loop_regs,
            "cycles": {"read": sch.read, "bank": sch.bank, "write": sch.write,
                       "fifo_write": sch.fifo},
            "transport_registers": sch.transport,
            "control_registers": sch.control,
            "stages": {
                "input": input_regs,
                "loop": L,
                "rotation": len(rotate_registered),
                "readout": ro_regs,
            },
        },
        "output_fifo_depth": fifo_depth,
    }
