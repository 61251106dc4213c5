"""The cocotb results file: a skipped, failed or missing test is never a pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hadamhw.errors import HadamhwError
from hadamhw.ir.random import random_ir
from hadamhw.ir.stimulus import make_stimulus
from hadamhw.verify.cocotb_sim import TESTS, _collect, _result_name

PASSED = '<testcase name="{name}" classname="hadamrnn_tb" time="0.5"><properties/></testcase>'
SKIPPED = ('<testcase name="{name}" classname="hadamrnn_tb" time="0.0">'
           '<skipped message="{reason}"/><properties/></testcase>')
FAILED = ('<testcase name="{name}" classname="hadamrnn_tb" time="0.1">'
          '<failure message="assertion failed"/><properties/></testcase>')


def _results(tmp_path: Path, *cases: str) -> Path:
    path = tmp_path / "results.xml"
    path.write_text('<testsuites name="results"><testsuite name="all" package="all">'
                    + "".join(cases) + "</testsuite></testsuites>")
    return path


def _check(tmp_path: Path, *cases: str):
    """_collect over these test cases, each with a clean record of 12 checked outputs (so
    that only the verdicts in the XML can make the run fail)."""
    ir = random_ir(np.random.default_rng(0), 8, 4)
    stimulus = make_stimulus(ir, sequences=2, seed=0)
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    for name in TESTS:
        record = results / f"{_result_name(name)}.json"
        record.write_text('{"outputs_checked": 12, "mismatches": []}')
    return _collect("verilator", stimulus, _results(tmp_path, *cases), tmp_path / "results",
                    tmp_path / "sim.log", 0, 1.0, TESTS)


def test_all_passed_with_records_is_ok(tmp_path):
    result = _check(tmp_path, *(PASSED.format(name=n) for n in TESTS))
    assert result.ok and result.outputs_checked == 12 * len(TESTS)


@pytest.mark.parametrize("skipped", TESTS)
def test_a_skipped_test_is_a_failure(tmp_path, skipped):
    cases = [SKIPPED.format(name=n, reason="no design parameters") if n == skipped
             else PASSED.format(name=n) for n in TESTS]
    result = _check(tmp_path, *cases)
    assert result.outputs_checked > 0 and not result.ok
    assert any(f"{skipped}: skipped: no design parameters" in m.describe()
               for m in result.mismatches)


def test_failed_and_missing_tests_are_failures(tmp_path):
    result = _check(tmp_path, FAILED.format(name=TESTS[0]))
    described = [m.describe() for m in result.mismatches]
    assert f"{TESTS[0]}: assertion failed" in described
    assert any(f"{TESTS[1]} did not run" in d for d in described)


def test_unreadable_results_are_one_line(tmp_path):
    (tmp_path / "results.xml").write_text("<testsuites><oops")
    ir = random_ir(np.random.default_rng(0), 8, 4)
    with pytest.raises(HadamhwError, match="unreadable cocotb results"):
        _collect("verilator", make_stimulus(ir, sequences=1), tmp_path / "results.xml",
                 tmp_path, tmp_path / "sim.log", 0, 1.0, TESTS)
