"""Fixtures that build real project histories for the tdd item, and run it end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PYTEST_INI = "[pytest]\npythonpath = src\ntestpaths = tests\n{extra}"


class Story:
    """A small project in a real git repository: write files, commit, run pytest --pbe-verify."""

    def __init__(self, pytester: pytest.Pytester, path: Path, ini_extra: str = "") -> None:
        self.pytester = pytester
        self.path = path
        self.write("pytest.ini", PYTEST_INI.format(extra=ini_extra))
        # pytester's subprocess runs keep their basetemp beside the project: not our work.
        ignore = (path / ".gitignore").read_text(encoding="utf-8")
        self.write(".gitignore", ignore + "runpytest-*/\n")
        self.write("src/shop/__init__.py", "")
        self.commit("project skeleton")
        self.git("checkout", "-q", "-b", "feature")
        self.base = self.git("rev-parse", "HEAD")

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True
        )
        return proc.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str, **files: str) -> str:
        """Write ``files`` (keys use '__' for '/', e.g. ``src__shop__a_py``) and commit all."""
        for key, text in files.items():
            self.write(key.replace("__", "/").removesuffix("_py") + ".py", text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def verify(self, *args: str, mode: str = "order") -> tuple[pytest.RunResult, dict[str, Any]]:
        result = self.pytester.runpytest_subprocess(
            "--pbe-verify",
            "--pbe-checks",
            "tests,tdd",
            "--pbe-base",
            self.base,
            "--pbe-tdd",
            mode,
            "--pbe-report-json",
            "r.json",
            "-p",
            "no:cacheprovider",
            *args,
        )
        report = json.loads((self.path / "r.json").read_text(encoding="utf-8"))
        item = next(c for c in report["checks"] if c["id"] == "tdd")
        return result, item


@pytest.fixture
def story(repo: Path, pytester: pytest.Pytester) -> Story:
    """A project (src/shop, tests/) on a ``feature`` branch whose base is ``main``."""
    return Story(pytester, repo)


DISCOUNT = "def apply(price, percent):\n    return round(price * (100 - percent) / 100, 2)\n"
DISCOUNT_TEST = (
    "from shop.discount import apply\n\n\n"
    "def test_apply_takes_the_percentage_off():\n    assert apply(200, 10) == 180\n"
)


@pytest.fixture
def code() -> dict[str, str]:
    """Reusable file contents."""
    return {"discount": DISCOUNT, "discount_test": DISCOUNT_TEST}


@pytest.fixture
def git_subcommands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """A ``git`` first on PATH that notes each call, then runs the real one.

    Returns the subcommands of our runner's calls so far (those that pass
    ``core.hooksPath=/dev/null``; a test's own git calls are left out): ``["log"]``.
    """
    real = shutil.which("git")
    assert real is not None, "git is needed for these tests"
    notes = tmp_path / "git-notes"
    (tmp_path / "git-bin").mkdir()
    wrapper = tmp_path / "git-bin" / "git"
    wrapper.write_text(
        f"#!/bin/sh\n{{ printf '%s\\0' \"$@\"; echo; }} >> '{notes}'\nexec '{real}' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ.get('PATH', '')}")

    def subcommands() -> list[str]:
        found: list[str] = []
        lines = notes.read_text().splitlines() if notes.exists() else []
        for args in (line.split("\0")[:-1] for line in lines):
            if "core.hooksPath=/dev/null" not in args:
                continue
            i = 0
            while i < len(args) and args[i] in ("-c", "-C"):
                i += 2
            found.append(args[i] if i < len(args) else "")
        return found

    return subcommands
