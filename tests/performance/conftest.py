"""Fixtures for the performance item's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PerfRun = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-benchmark switches itself off in xdist workers; the inner runs are not one."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)


@pytest.fixture
def run_performance(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> PerfRun:
    """``run_performance(*args)`` -> (result, the performance item from the JSON report)."""

    def run(*args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--pbe-verify", "--pbe-checks", "tests,performance",
            "--pbe-report-json", "r.json", *args,
        )  # fmt: skip
        report = read_json(repo / "r.json")
        return result, next(c for c in report["checks"] if c["id"] == "performance")

    return run
