"""Fixtures for the coverage item: committing in the throwaway repo and a pbe run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def commit(repo: Path) -> Callable[[str], str]:
    """Commit everything in the repo; returns the new sha."""

    def do(message: str) -> str:
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", message)
        return _git(repo, "rev-parse", "HEAD")

    return do


@pytest.fixture
def write(repo: Path) -> Callable[[str, str], Path]:
    """Write a file (dedented source) under the repo, creating directories."""
    import textwrap

    def do(path: str, text: str) -> Path:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target

    return do


# The total waits for every answer of the parsing child, so that what the child answered
# (from its cache or not) is what counts, whatever the timing.
_TOTAL_WAITS_FOR_THE_CHILD = """
import time


def pytest_configure(config):
    from pytest_pbe.measure import coverage as measure

    total = measure._Analyzer.total

    def waited(self):
        deadline = time.monotonic() + 120
        while self.ahead is not None and not self.ahead.answered():
            assert time.monotonic() < deadline, "the child never finished its answers"
            time.sleep(0.01)
        return total(self)

    measure._Analyzer.total = waited
"""


@pytest.fixture
def total_waits_for_the_child(write: Callable[[str, str], Path]) -> None:
    """The project's sessions compute the total only once the parsing child answered all.

    A conftest in the project's ``tests`` directory (the root's is the test's own).
    """
    write("tests/conftest.py", _TOTAL_WAITS_FOR_THE_CHILD)


RunPbe = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]


@pytest.fixture
def run_pbe(
    pytester: pytest.Pytester, repo: Path, read_json: Callable[[Path], dict[str, Any]]
) -> RunPbe:
    """Run a real pytest session (subprocess) under --pbe-verify; return the coverage item."""

    def do(*args: str, checks: str = "tests,coverage") -> tuple[pytest.RunResult, dict[str, Any]]:
        report = repo / "r.json"
        if report.exists():
            report.unlink()
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--pbe-verify",
            "--pbe-checks",
            checks,
            "--pbe-report-json",
            str(report),
            *args,
        )
        data = read_json(report)
        item = next(c for c in data["checks"] if c["id"] == "coverage")
        return result, item

    return do


@pytest.fixture
def coverage_reports(repo: Path) -> Callable[[], float]:
    """coverage.py's own total for the project as it is now: run the tests, then report."""

    def report() -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE", "PYTEST_"))}
        for argv in (
            ["run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
            ["json", "-o", "coverage.json"],
        ):
            subprocess.run(
                [sys.executable, "-m", "coverage", *argv],
                cwd=repo,
                env=env,
                check=True,
                capture_output=True,
            )
        data = json.loads((repo / "coverage.json").read_text())
        return float(data["totals"]["percent_covered"])

    return report
