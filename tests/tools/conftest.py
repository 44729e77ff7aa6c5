"""Fixtures for the static-analysis items: a small real project in a real git repository."""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.mypy]
files = ["src"]
python_version = "3.10"

[tool.ruff.lint]
select = ["E", "F", "B"]

[tool.bandit]
exclude_dirs = ["tests"]
"""

#: Old code with one known finding per tool, at known lines.
OLD_MODULE = """\
import subprocess


def old_types(x: int) -> str:
    return x


def old_lint() -> None:
    unused = 1
    return None


def old_shell(cmd: str) -> None:
    subprocess.call(cmd, shell=True)


def old_errors() -> None:
    try:
        old_shell("true")
    except:
        pass
"""
OLD_LINES = {"types": 5, "lint": 9, "security": 14, "errors": 20}

TEST_MODULE = """\
def test_it_runs():
    assert True
"""


@dataclass
class Verdict:
    result: pytest.RunResult
    report: dict[str, Any]

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return {check["id"]: check for check in self.report["checks"]}

    def lines(self, check_id: str) -> list[tuple[str, int, int, str]]:
        """(path, line, end_line, rule) of each finding, in report order."""
        return [
            (f["path"], f["line"], f["end_line"], f["rule"])
            for f in self.checks[check_id]["findings"]
        ]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def write(repo: Path) -> Callable[..., Path]:
    """write(path, text, append=False): write (dedented) text into the repository."""

    def write_file(path: str, text: str, *, append: bool = False) -> Path:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text)
        if append:
            body = target.read_text(encoding="utf-8") + body
        target.write_text(body, encoding="utf-8")
        return target

    return write_file


@pytest.fixture
def commit(repo: Path) -> Callable[[str], None]:
    def commit_all(message: str) -> None:
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", message)

    return commit_all


@pytest.fixture
def project(repo: Path, write: Callable[..., Path], commit: Callable[[str], None]) -> Path:
    """A committed project on main: src/app/old.py holds old findings of every tool."""
    write("pyproject.toml", PYPROJECT)
    write("src/app/__init__.py", "")
    write("src/app/old.py", OLD_MODULE)
    write("tests/test_app.py", TEST_MODULE)
    commit("old code")
    return repo


@pytest.fixture
def verify(
    pytester: pytest.Pytester, repo: Path, read_json: Callable[[Path], dict[str, Any]]
) -> Callable[..., Verdict]:
    """verify(checks, *args): a --pbe-verify session (its own process) and its JSON report.

    A subprocess, because the session starts coverage.py collectors and tool processes of
    its own that must not share the interpreter running these tests.
    """

    def run(checks: str, *args: str) -> Verdict:
        runner = pytester.runpytest_subprocess
        report = repo / "r.json"
        if report.exists():
            report.unlink()
        result = runner(
            "--pbe-verify",
            "--pbe-checks",
            f"tests,{checks}",
            "--pbe-report-json",
            str(report),
            "-p",
            "no:cacheprovider",
            *args,
        )
        return Verdict(result, read_json(report))

    return run


@pytest.fixture
def fake_tool(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """fake_tool(script_body): an executable shell script, for PBE_RUFF/PBE_MYPY/PBE_BANDIT."""

    def make(body: str) -> str:
        directory = tmp_path_factory.mktemp("fake-tool")
        path = directory / "tool"
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body), encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return os.fspath(path)

    return make


@pytest.fixture
def real_ruff() -> str:
    """The ruff binary of the ruff package, as a shell word (for wrapping fake tools)."""
    from ruff import find_ruff_bin

    return os.fsdecode(find_ruff_bin())


@pytest.fixture
def old_lines() -> dict[str, int]:
    """The line of the old finding of each item in src/app/old.py."""
    return dict(OLD_LINES)
