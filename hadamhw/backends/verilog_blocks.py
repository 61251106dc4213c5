"""The arithmetic blocks' modules of a core printed from the netlist (<top>_update,
<top>_readout: hadamhw.netlist.shells.core_context's `blocks`), one file each, in the
order the core's context lists them."""

from __future__ import annotations

from jinja2 import Environment

from hadamhw.backends import render_template


def render_blocks(env: Environment, ctx: dict) -> dict[str, str]:
    """File name -> text of every block module the core context `ctx` instantiates."""
    files = {}
    for kind, block in (ctx.get("blocks") or {}).items():
        files[f"{block['module']}.v"] = render_template(
            env, "block.v.j2", {**ctx, "kind": kind, "block": block, "ports": block["ports"],
                                "out_requant": block.get("out_requant", False)})
    return files
