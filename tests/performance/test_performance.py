"""The `performance` item end to end: budgets on real timings, real pytest-benchmark runs."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_pbe.checks.performance import human_seconds

SUITE = """
import time

def test_slowest():
    time.sleep(0.6)

def test_slow():
    time.sleep(0.4)

def test_quick():
    pass

def test_instant():
    pass
"""


def test_a_slow_test_is_named_with_its_duration_slowest_first(
    pytester: pytest.Pytester, run_performance: Any
) -> None:
    pytester.makepyfile(test_timing=SUITE)
    pytester.makeini("[pytest]\npbe_max_test_seconds = 0.3\n")
    result, item = run_performance()
    assert item["status"] == "failed"
    names = [f["message"].split(" took ")[0] for f in item["findings"]]
    assert names == ["test_timing.py::test_slowest", "test_timing.py::test_slow"]
    assert item["findings"][0]["rule"] == "slow-test"
    assert item["findings"][0]["path"] == "test_timing.py"
    assert item["findings"][0]["line"] == 3
    assert "over the 0.3s budget" in item["findings"][0]["message"]
    assert item["metrics"]["slow_tests"] == 2
    assert result.ret == 6


def test_a_pass_still_shows_the_three_slowest_tests(
    pytester: pytest.Pytester, run_performance: Any
) -> None:
    pytester.makepyfile(test_timing=SUITE)
    result, item = run_performance()
    assert item["status"] == "passed"
    summary = item["summary"]
    assert "slowest: test_timing.py::test_slowest" in summary
    assert summary.index("test_slowest") < summary.index("test_slow ")
    assert len(item["metrics"]["slowest"]) == 3
    result.stdout.fnmatch_lines(["*PASS*performance*slowest: test_timing.py::test_slowest*"])


def test_the_session_budget_fails_a_session_that_is_too_long(
    pytester: pytest.Pytester, run_performance: Any
) -> None:
    pytester.makepyfile(test_timing=SUITE)
    _, item = run_performance("-o", "pbe_max_session_seconds=0.5")
    assert item["status"] == "failed"
    assert [f["rule"] for f in item["findings"]] == ["slow-session"]


BENCH = """
import time

def work():
    {body}

def test_work(benchmark):
    benchmark.pedantic(work, rounds=5, iterations=1)
"""


def test_a_benchmark_regression_against_the_saved_baseline_fails(
    pytester: pytest.Pytester, run_performance: Any
) -> None:
    pytester.makepyfile(test_bench=BENCH.format(body="time.sleep(0.001)"))
    _, item = run_performance("--benchmark-autosave")
    assert item["status"] == "passed", item
    assert "no saved baseline" in item["summary"]
    pytester.makepyfile(test_bench=BENCH.format(body="time.sleep(0.02)"))
    _, item = run_performance()
    assert item["status"] == "failed", item
    [finding] = item["findings"]
    assert finding["rule"] == "benchmark-regression"
    assert "'test_bench.py::test_work'" in finding["message"]
    assert "allowed 10%" in finding["message"]
    assert item["metrics"]["benchmarks_compared"] == 1


def test_a_benchmark_within_the_allowed_regression_passes(
    pytester: pytest.Pytester, run_performance: Any
) -> None:
    pytester.makepyfile(test_bench=BENCH.format(body="time.sleep(0.01)"))
    run_performance("--benchmark-autosave")
    _, item = run_performance("-o", "pbe_benchmark_regression=90")
    assert item["status"] == "passed", item
    assert "1 benchmark(s) compared with" in item["summary"]


def test_no_test_ran_is_skipped(pytester: pytest.Pytester, run_performance: Any) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.skip\ndef test_skipped():\n    pass\n")
    _, item = run_performance()
    assert item["status"] == "skipped"


@pytest.mark.parametrize(
    ("seconds", "shown"), [(2.5, "2.50s"), (0.0123, "12.3ms"), (0.0000042, "4.2us")]
)
def test_durations_read_in_a_sensible_unit(seconds: float, shown: str) -> None:
    assert human_seconds(seconds) == shown
