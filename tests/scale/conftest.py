"""Fixtures for the scale tests: the monorepo example in a real repository, runs per service."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "monorepo"

Git = Callable[..., str]
RunService = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]


@pytest.fixture
def git(repo: Path) -> Git:
    """``git(*args)`` in the throwaway repository; returns its stripped stdout."""

    def do(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, check=True, capture_output=True, text=True
        ).stdout.strip()

    return do


@pytest.fixture
def monorepo(repo: Path, git: Git) -> str:
    """The monorepo example committed on main as a feature; returns the base sha before it."""
    # pytester's runpytest_subprocess leaves a 'runpytest-current' symlink: not new code.
    with (repo / ".gitignore").open("a") as ignore:
        ignore.write("runpytest-current\n")
    git("commit", "-qam", "ignore pytester's symlink")
    base = git("rev-parse", "HEAD")
    shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    git("add", "-A")
    git("commit", "-qm", "two services")
    return base


@pytest.fixture
def run_service(
    repo: Path,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    read_json: Callable[[Path], dict[str, Any]],
) -> RunService:
    """``cd services/<name> && pytest --pbe-verify ...`` in a subprocess; returns the report."""

    def do(
        name: str, *args: str, checks: str = "tests,coverage"
    ) -> tuple[pytest.RunResult, dict[str, Any]]:
        report = repo / f"{name}.json"
        report.unlink(missing_ok=True)
        monkeypatch.chdir(repo / "services" / name)
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
        return result, read_json(report)

    return do
