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
    # Each service's pytest and coverage settings are standing config, in the base: the feature
    # adds the services (and their pyproject.toml's [project] table), not a looser threshold.
    for config in sorted(EXAMPLE.glob("services/*/pyproject.toml")):
        target = repo / config.relative_to(EXAMPLE)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = config.read_text(encoding="utf-8")
        target.write_text(text[text.index("[tool.pytest.ini_options]") :], encoding="utf-8")
    git("add", "-A")
    git("commit", "-qm", "the services' config")
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
