"""The sweep_hw sweep (examples/sweeps/sweep_hw.toml): the recurrent core's own cells
(`[fpga] hierarchy`), the dense total composed from them, the table's arithmetic, and
chunked synthesis of a dense core."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.design import generate as generate_design
from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir
from hadamhw.report.sweep.compare import (
    dense_core_in_chunks,
    markdown_present,
    synth_numbers,
    table_rows,
)
from hadamhw.report.sweep.cores import compose
from hadamhw.report.sweep.designs import core_design
from hadamhw.report.sweep.spec import parse_spec, toml_module
from hadamhw.report.sweep.store import SweepStore
from hadamhw.report.sweep.trial import trial_key
from hadamhw.report.sweep.views import render_table

TOP = "hadamrnn"


def _res(luts: int, carry: int, ffs: int = 0) -> dict:
    return {"luts": luts, "lut_equivalents": luts + 2 * carry, "ffs": ffs, "carry": carry,
            "muxes": 0, "dsp": 0, "memory_bits": 0, "io": 0, "other": 0, "mul": 0,
            "other_types": {}}


def _analytical(recurrent_adders: int) -> dict:
    return {"hidden_size": 64, "block_size": 64, "morgenstern_bound": 192.0,
            "cycles_per_step": 1, "adders_per_step": {"recurrent": recurrent_adders,
                                                       "input": 1, "requant": 2, "readout": 3},
            "adder_bits": {"total": 10}, "readout_cycles": 0}


def test_table_ratios_and_cores_only_rows():
    base = {"n": 64, "m": 64, "adders_fwht": 384, "adders_dense": 4032, "morgenstern": 192,
            "cycles_per_step": 1}
    whole = {**base,
             "fwht": {"core": _res(100, 50), "total": _res(1000, 500, 30),
                      "pnr_core": {"status": "routed", "fmax_mhz": 51.3}},
             "dense": {"core": _res(100, 950), "total": _res(1000, 1400, 30),
                       "pnr_core": {"status": "skipped: too large"}}}
    row = table_rows([whole])[0]
    assert row["core_ratio"] == 2000 / 200 and row["whole_ratio"] == 3800 / 2000
    assert row["adders_over_bound"] == 2.0
    assert (row["fmax_core_fwht"], row["fmax_core_dense"]) == (51.3, None)
    cores = {**base, "fwht": {"core": _res(10, 5)}, "dense": {"core": _res(10, 45)}}
    row = table_rows([cores])[0]
    assert row["core_ratio"] == 100 / 20
    assert row["whole_ratio"] is None and row["whole_luts_fwht"] is None
    text = markdown_present(table_rows([whole, cores]))
    assert "| 64 | 64 | 384 | 192 | 2.00 | 4032 | 200 | 2000 | 10.0 |" in text
    assert text.count("\n| 64 |") == 2


def test_the_dense_total_is_the_fwht_top_plus_the_dense_core():
    fwht = {"core": _res(100, 50), "top_own": _res(900, 450, 30),
            "total": _res(1000, 500, 30), "analytical": _analytical(384),
            "pnr": {"status": "routed", "fmax_mhz": 30.5}}
    dense = {"core": _res(100, 950), "analytical": _analytical(4032),
             "pnr": {"status": "routed", "fmax_mhz": 40.0}}
    row = compose({("fwht", "whole"): fwht, ("dense", "core"): dense})
    assert row["dense"]["total"]["lut_equivalents"] == 900 + 900 + 100 + 1900
    assert row["dense"]["total"]["ffs"] == 30
    assert row["fwht"]["pnr_whole"]["fmax_mhz"] == 30.5
    assert row["dense"]["pnr_core"]["fmax_mhz"] == 40.0
    assert (row["adders_fwht"], row["adders_dense"], row["morgenstern"]) == (384, 4032, 192.0)
    # a whole dense design, where measured, is the dense total; no dense core: no row
    full = {**dense, "total": _res(2000, 1000, 30)}
    row = compose({("fwht", "whole"): fwht, ("dense", "core"): dense, ("dense", "whole"): full})
    assert row["dense"]["total"]["lut_equivalents"] == 4000
    assert compose({("fwht", "whole"): fwht}) is None


def _spec(text: str):
    return parse_spec(Path("hw.toml"), toml_module().loads(textwrap.dedent(text)))


SPEC = """\
[sweep]
name = "sweep_hw"
table = "sweep_hw"
[[models]]
name = "n8_m4"
random = { n = 8, m = 4, input_size = 1, output_size = 2 }
[fpga]
family = "generic"
timeout = 600
[grid]
variant = [{ recurrent = "fwht" }, { recurrent = "dense" },
           { recurrent = "dense", hierarchy = "core" }]
"""


def test_hierarchy_is_checked_and_keys_trials_apart():
    with pytest.raises(HadamhwError, match="fpga.hierarchy: 'flat'; choose from whole, core"):
        _spec(SPEC.replace('hierarchy = "core"', 'hierarchy = "flat"'))
    whole, core = (t for t in _spec(SPEC).trials() if t["generate"]["recurrent"] == "dense")
    hdl = {"x.v": b"module x; endmodule\n"}
    assert trial_key(hdl, whole) != trial_key(hdl, core)
    abc = {**core, "fpga": {**core["fpga"], "lut_mapper": "abc"}}
    assert trial_key(hdl, abc) != trial_key(hdl, core)  # abc never stands for abc9


@pytest.mark.synth
def test_a_sweep_keeps_the_cores_own_cells(tmp_path):
    """n = 8, generic synthesis: the whole designs' core cells are below their totals; the
    dense core alone has the cells the whole dense design's core has; the table's row is
    those numbers."""
    from hadamhw.api import sweep

    spec = tmp_path / "hw.toml"
    spec.write_text(textwrap.dedent(SPEC))
    assert sweep(spec, tmp_path / "results").failed == 0
    store = SweepStore(tmp_path / "results", create=False)
    rows = {r["label"]: r["record"] for r in store.rows()}
    store.close()
    fwht, dense = rows["n8_m4 recurrent=fwht"], rows["n8_m4 recurrent=dense"]
    alone = rows["n8_m4 recurrent=dense,hierarchy=core"]
    for whole in (fwht, dense):
        assert 0 < whole["core"]["lut_equivalents"] < whole["total"]["lut_equivalents"]
        assert 0 < whole["top_own"]["lut_equivalents"] < whole["total"]["lut_equivalents"]
    assert alone["hierarchy"] == "core" and alone["core"] == dense["core"]
    assert alone["lut_equivalents"] == dense["core"]["lut_equivalents"]
    cells = [ln for ln in render_table("sweep_hw", _rows(tmp_path)).splitlines()
             if ln.startswith("| 8 | 4 |")]
    assert len(cells) == 1
    values = [c.strip() for c in cells[0].strip("|").split("|")]
    assert values[6:8] == [str(fwht["core"]["lut_equivalents"]),
                           str(alone["core"]["lut_equivalents"])]
    assert values[9:11] == [str(fwht["total"]["lut_equivalents"]),
                            str(dense["total"]["lut_equivalents"])]


@pytest.mark.synth
def test_cores_alone_are_placed_and_their_fmax_fills_the_core_columns(tmp_path):
    """hierarchy = "core" with pnr on iCE40 (n = 8: seconds): each core alone is placed
    and routed; the table's core Fmax columns are those placements'."""
    from hadamhw.api import sweep

    text = SPEC.replace('family = "generic"', 'family = "ice40"\npnr = true\nhierarchy = "core"')
    text = text.replace(text[text.index("variant"):], 'recurrent = ["fwht", "dense"]\n')
    spec = tmp_path / "hw.toml"
    spec.write_text(textwrap.dedent(text))
    assert sweep(spec, tmp_path / "results").failed == 0
    rows = _rows(tmp_path)
    fmax = [r["fmax_mhz"] for r in rows]
    assert all(r["record"]["pnr"]["status"] == "routed" for r in rows) and all(fmax)
    assert [r["record"]["pnr"]["fmax_mhz"] for r in rows] == fmax
    line = next(ln for ln in render_table("sweep_hw", rows).splitlines()
                if ln.startswith("| 8 | 4 |"))
    values = [c.strip() for c in line.strip("|").split("|")]
    assert values[14:16] == [f"{f:.1f}" for f in fmax]
    assert values[9] == "–"  # no whole design measured: no whole column


def _rows(tmp_path) -> list[dict]:
    store = SweepStore(tmp_path / "results", create=False)
    try:
        return store.rows()
    finally:
        store.close()


@pytest.mark.synth
@pytest.mark.parametrize("lut_mapper", ["abc9", "abc"])
def test_chunked_dense_core_equals_one_run(tmp_path, lut_mapper):
    """Row modules keep their hierarchy, so synthesizing them a chunk at a time gives the
    same cells as one run over the whole core, with either LUT mapper."""
    ir = random_ir(np.random.default_rng(0), 16, 16, state_bits=8, weight_bits=4)
    folder = tmp_path / "dense"
    man = generate_design(ir, folder, GenerateOptions(recurrent="dense", top=TOP))
    tools = {"timeout": 600.0, "lut_mapper": lut_mapper}
    one = synth_numbers(core_design(folder, man, TOP), "ecp5", tmp_path / "one", top=TOP,
                        **tools)
    chunked = dense_core_in_chunks(ir, "ecp5", tmp_path / "chunks", top=TOP, chunk=5, **tools)
    assert chunked["chunks"] == 4  # 16 row patterns, 5 per run
    assert chunked["total"] == one["total"]
    assert one["total"]["carry"] > 0
