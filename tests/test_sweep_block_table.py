"""The block_table sweep (examples/sweeps/block_table.toml): models trained once from the
spec (`train = {...}`), their accuracy (`[verify] accuracy = true`, as `hadamhw eval`), the
core's and the whole design's cost, and the table over them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from hadamhw.errors import HadamhwError
from hadamhw.report.sweep.blocks import render, trial_records
from hadamhw.report.sweep.models import train_command
from hadamhw.report.sweep.spec import parse_spec, toml_module
from hadamhw.report.sweep.store import SweepStore
from hadamhw.report.sweep.views import render_table

SPEC = """\
[sweep]
name = "block_table"
table = "block_table"
[[models]]
name = "copy_n16_m4"
checkpoint = "models/copy_n16_m4.pt"
[models.train]
task = "copy"
seq_len = 4
hidden = 16
block_size = 4
steps = 4
batch_size = 8
val_every = 2
[fpga]
family = "generic"
timeout = 600
[verify]
accuracy = true
accuracy_limit = 64
"""


def test_render_marks_missing_numbers():
    results = {"copy_n128_m4": {"eval": {"float": 1.0, "integer": 0.995,
                                         "argmax_agreement": 0.999,
                                         "float_ce_over_baseline": 0.0012,
                                         "integer_ce_over_baseline": 0.0013},
                                "hw": {"core_luts": 1234, "whole_luts": 5678}},
               "digits_n128_m4": {"hw": {"whole_luts": 10, "rtl_sha256": "a",
                                         "whole_luts_abc": 9, "rtl_sha256_abc": "b"}},
               "digits_n128_m16": {"hw": {"whole_luts": 20, "rtl_sha256": "c",
                                          "whole_luts_abc": 19, "rtl_sha256_abc": "c"}}}
    table = render(results, ["copy", "digits"], [4, 16], 128, 12).splitlines()
    assert table[2] == ("| copy | 4 | 0.0312 | 512 | 128 | 100.00% | 99.50% (CE 0.0012 / "
                        "0.0013 x baseline) | 99.900% | 1,234 | 5,678 | – |")
    assert table[3] == "| copy | 16 | 0.125 | 2,048 | 128 | – | – | – | – | – | – |"
    # measured on different RTL by the two mappers: both marked
    assert table[4].endswith("| – | – | – | – | 10 † | 9 † |")
    assert table[5].endswith("| – | – | – | – | 20 | 19 |")


def _trial(mapper: str, whole: int, core: int, hierarchy: str = "whole") -> dict:
    report = {"task": "digits", "state_bits": 12, "argmax_agreement": 0.99,
              "float": {"accuracy": 0.9}, "integer": {"accuracy": 0.89}}
    record = {"eval": report, "analytical": {"hidden_size": 128, "block_size": 16},
              "lut_mapper": mapper, "lut_equivalents": whole,
              "core": {"lut_equivalents": core}, "hierarchy": hierarchy}
    return {"status": "ok", "record": record, "params": {"model": {"name": "digits_m16"}}}


def test_a_models_trials_merge_into_one_row():
    """abc9 and abc give their own whole columns, the core is abc9's; a core alone gives the
    core only; a trial without accuracy is left out."""
    rows = [_trial("abc", 900, 130), _trial("abc9", 1000, 120)]
    (entry,) = trial_records(rows)
    assert entry["hw"] == {"core_luts": 120, "whole_luts": 1000, "whole_luts_abc": 900}
    assert (entry["task"], entry["m"], entry["n"], entry["state_bits"]) == ("digits", 16,
                                                                            128, 12)
    (entry,) = trial_records([_trial("abc9", 77, 77, hierarchy="core")])
    assert entry["hw"] == {"core_luts": 77}
    plain = _trial("abc9", 1, 1)
    del plain["record"]["eval"]
    assert trial_records([plain]) == []
    line = render_table("block_table", rows).splitlines()[2]
    assert line == ("| digits | 16 | 0.125 | 2,048 | 128 | 90.00% | 89.00% | 99.000% | 120 | "
                    "1,000 | 900 |")


def test_train_options_and_their_checks(tmp_path):
    cmd = train_command({"task": "copy", "seq_len": 4, "fused": True}, tmp_path / "m.pt")
    assert cmd[-8:] == ["--task", "copy", "--seq-len", "4", "--fused", "--no-progress", "-o",
                        str(tmp_path / "m.pt")]
    (tmp_path / "m.resume.pt").write_text("")
    assert train_command({"task": "copy"}, tmp_path / "m.pt")[-5:-3] == [
        "--resume", str(tmp_path / "m.resume.pt")]
    data = toml_module().loads(SPEC.replace('checkpoint = "models/copy_n16_m4.pt"',
                                            'random = { n = 4 }'))
    with pytest.raises(HadamhwError, match=r"models\[0\].train: a table of hadamhw train"):
        parse_spec(tmp_path / "s.toml", data)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The spec's sweep: a tiny copy model trained, lowered, evaluated, synthesized."""
    from hadamhw.api import sweep

    folder = tmp_path_factory.mktemp("block")
    spec = folder / "block.toml"
    spec.write_text(textwrap.dedent(SPEC))
    summary = sweep(spec, folder / "results")
    store = SweepStore(folder / "results", create=False)
    rows = store.rows()
    store.close()
    return {"folder": folder, "spec": spec, "summary": summary, "rows": rows}


@pytest.mark.synth
def test_accuracy_is_hadamhw_evals(trained, capsys):
    from hadamhw.cli import main

    folder, (row,) = trained["folder"], trained["rows"]
    assert trained["summary"].failed == 0
    checkpoint, ir = folder / "models" / "copy_n16_m4.pt", folder / "results" / "models"
    assert checkpoint.is_file()  # trained from the spec's options
    capsys.readouterr()
    assert main(["eval", str(ir / "copy_n16_m4.ir.json"), "--checkpoint", str(checkpoint),
                 "--limit", "64", "--json"]) == 0
    assert row["record"]["eval"] == json.loads(capsys.readouterr().out)
    record = row["record"]
    assert 0 < record["core"]["lut_equivalents"] < record["lut_equivalents"]
    line = render_table("block_table", trained["rows"]).splitlines()[2]
    floating, integer = (record["eval"][k]["recall_accuracy"] for k in ("float", "integer"))
    assert line.startswith(f"| copy | 4 | 0.25 | 64 | 16 | {floating:.2%} | {integer:.2%} (CE ")
    assert line.endswith(f"| {record['core']['lut_equivalents']:,} | – | "
                         f"{record['lut_equivalents']:,} |")


@pytest.mark.synth
def test_a_second_run_trains_and_measures_nothing_again(trained):
    from hadamhw.api import sweep

    checkpoint = Path(trained["folder"]) / "models" / "copy_n16_m4.pt"
    stamp = checkpoint.stat().st_mtime_ns
    again = sweep(trained["spec"], trained["folder"] / "results")
    assert (again.ran, again.cached) == (0, 1)
    assert checkpoint.stat().st_mtime_ns == stamp
