"""Fixtures for the leaks item's tests: run a suite under --pbe-verify, read the item."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

LeaksRun = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]


@pytest.fixture
def run_leaks(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> LeaksRun:
    """``run_leaks(*args, subprocess=True)`` -> (result, the leaks item from the JSON report)."""

    def run(*args: str, subprocess: bool = True) -> tuple[pytest.RunResult, dict[str, Any]]:
        # The inner suites run in file order: some end with a clean-up test by design.
        argv = ("-p", "no:cacheprovider", "-p", "no:randomly", "--pbe-verify")
        argv += ("--pbe-checks", "tests,leaks")
        argv += ("--pbe-report-json", "r.json", *args)
        runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        result = runner(*argv)
        report = read_json(repo / "r.json")
        item = next(c for c in report["checks"] if c["id"] == "leaks")
        return result, item

    return run


@pytest.fixture
def blamed() -> Callable[[dict[str, Any]], dict[str, set[str]]]:
    """``blamed(item)`` -> {test name: {leak kinds}} from the item's findings."""

    def collect(item: dict[str, Any]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for finding in item["findings"]:
            test = finding["message"].split(" leaked: ")[0].rsplit("::", 1)[-1]
            out.setdefault(test, set()).add(finding["rule"])
        return out

    return collect
