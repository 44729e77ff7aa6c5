"""Fixtures for the reliability suite: a small real project, fake tools and a fake git.

Everything runs end to end (``pytest --pbe-verify`` in a subprocess) against a real git
repository; only the failures are staged: a fake ``mypy``/``ruff``/``bandit`` executable
named through ``PBE_MYPY``/``PBE_RUFF``/``PBE_BANDIT``, or a fake ``git`` early on PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PYTEST_INI = "[pytest]\npythonpath = src\ntestpaths = tests\n"

CALC = "def add(a: int, b: int) -> int:\n    return a + b\n"
CALC_TEST = "from app.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
NEW_CODE = "\n\ndef double(a: int) -> int:\n    return a * 2\n"
NEW_TEST = "\n\ndef test_double():\n    from app.calc import double\n\n    assert double(2) == 4\n"


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


class Project:
    """A project (src/app, tests/) whose feature branch adds one tested function."""

    def __init__(self, pytester: pytest.Pytester, path: Path) -> None:
        self.pytester = pytester
        self.path = path
        self.git_path = shutil.which("git") or "git"
        ignore = (path / ".gitignore").read_text(encoding="utf-8")
        self.write(".gitignore", ignore + "runpytest-*\nreports/\n")
        self.write("pytest.ini", PYTEST_INI)
        self.write("src/app/__init__.py", "")
        self.write("src/app/calc.py", CALC)
        self.write("tests/test_calc.py", CALC_TEST)
        self.commit("project skeleton")
        self.base = self.git("rev-parse", "HEAD")
        self.git("checkout", "-q", "-b", "feature")
        self.append("tests/test_calc.py", NEW_TEST)
        self.commit("test: double")
        self.append("src/app/calc.py", NEW_CODE)
        self.commit("feat: double")

    def git(self, *args: str) -> str:
        return _git(self.path, *args)

    def write(self, rel: str | bytes, text: str | bytes) -> Path:
        target = self.path / os.fsdecode(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
        return target

    def append(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.write_text(target.read_text(encoding="utf-8") + text, encoding="utf-8")

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def run(
        self, *args: str, checks: str = "tests", timeout: float = 300
    ) -> tuple[pytest.RunResult, dict[str, Any] | None]:
        """``pytest --pbe-verify`` in a subprocess; the JSON report (None if not written)."""
        report = self.path / "r.json"
        if report.exists():
            report.unlink()
        result = self.pytester.runpytest_subprocess(
            "--pbe-verify",
            "--pbe-checks",
            checks,
            f"--pbe-base={self.base}",
            "--pbe-report-json",
            "r.json",
            "-p",
            "no:cacheprovider",
            *args,
            timeout=timeout,
        )
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return result, data


def item(report: dict[str, Any] | None, check_id: str) -> dict[str, Any]:
    assert report is not None, "no JSON report was written"
    found: dict[str, Any] = next(c for c in report["checks"] if c["id"] == check_id)
    return found


@pytest.fixture
def project(repo: Path, pytester: pytest.Pytester) -> Project:
    """A real project on branch ``feature`` (test commit, then code commit) over ``main``."""
    return Project(pytester, repo)


@pytest.fixture
def check_of() -> Callable[[dict[str, Any] | None], Callable[[str], dict[str, Any]]]:
    """``check_of(report)(id)``: one item of a JSON report."""
    return lambda report: lambda check_id: item(report, check_id)


@pytest.fixture
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fakes")


@pytest.fixture
def fake_tool(fakes: Path) -> Callable[[str, str], Path]:
    """``fake_tool(name, python_body)``: an executable Python script (``sys`` imported)."""

    def make(name: str, body: str) -> Path:
        script = fakes / name
        script.write_text(f"#!{sys.executable}\nimport os, sys, time\n{body}\n", encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return script

    return make


@pytest.fixture
def fake_git(fakes: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """``fake_git(body)``: a ``git`` early on PATH; ``$REAL_GIT`` is the real one."""
    real = shutil.which("git")
    assert real is not None

    def make(body: str) -> Path:
        bindir = fakes / "bin"
        bindir.mkdir(exist_ok=True)
        script = bindir / "git"
        script.write_text(f'#!/bin/sh\nREAL_GIT="{real}"\n{body}\n', encoding="utf-8")
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        return script

    return make


def _snapshot(path: Path) -> dict[str, object]:
    git_dir = Path(_git(path, "rev-parse", "--absolute-git-dir"))
    index = git_dir / "index"
    return {
        "status": _git(path, "status", "--porcelain=v2", "--branch", "--untracked-files=all"),
        "stash": _git(path, "stash", "list"),
        "head": _git(path, "rev-parse", "HEAD"),
        "branch": _git(path, "symbolic-ref", "-q", "HEAD"),
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        "worktrees": _git(path, "worktree", "list", "--porcelain").count("worktree "),
        "refs": _git(path, "for-each-ref", "--format=%(refname) %(objectname)"),
        "files": {
            p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*"))
            if p.is_file()
            and ".git" not in p.relative_to(path).parts
            and not p.name.endswith(".json")
            and "__pycache__" not in p.parts
            and ".pytest_cache" not in p.parts
            # ruff's and mypy's own caches (each ignores itself in git): the tools' state
            and ".ruff_cache" not in p.parts
            and ".mypy_cache" not in p.parts
            and not p.relative_to(path).parts[0].startswith("runpytest-")
            and p.name not in ("stdout", "stderr")
        },
    }


@pytest.fixture
def user_state() -> Callable[[Path], dict[str, object]]:
    """``user_state(repo)``: everything of the user's a run must leave as it was."""
    return _snapshot
