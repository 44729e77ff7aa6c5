"""The coverage item end to end: real git repositories, real pytest sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Write = Callable[[str, str], Path]
Commit = Callable[[str], str]
RunPbe = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]

PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["."]
testpaths = ["tests"]

[tool.coverage.run]
source = ["app"]
"""


def _project(write: Write, commit: Commit, coverage_config: str = "") -> str:
    write("pyproject.toml", PYPROJECT + coverage_config)
    write("app/__init__.py", "")
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]
        """,
    )
    write(
        "tests/test_users.py",
        """
        from app.users import name

        def test_name():
            assert name({"name": "ann"}) == "ann"
        """,
    )
    return commit("base")


def test_it_passes_when_every_new_line_is_covered(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]

        def greet(user):
            text = "hello " + name(user)
            return text
        """,
    )
    write(
        "tests/test_greet.py",
        """
        from app.users import greet

        def test_greet():
            assert greet({"name": "ann"}) == "hello ann"
        """,
    )
    commit("greet")
    result, item = run_pbe("--pbe-base", base)
    assert item["status"] == "passed", item
    assert item["metrics"]["new_lines"] == 3
    assert item["metrics"]["new_lines_covered"] == 3
    assert item["metrics"]["new_code_percent"] == 100.0
    assert item["metrics"]["total_percent"] > 0
    assert item["findings"] == []
    assert result.ret == 0


def test_it_reports_uncovered_new_lines_as_one_finding_per_run(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]

        def greet(user):
            if not user:
                raise ValueError("no user")
            text = "hello " + name(user)
            return text

        def unused(a, b):
            c = a + b
            return c
        """,
    )
    commit("greet")
    result, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "failed"
    findings = [(f["path"], f["line"], f["end_line"], f["rule"]) for f in item["findings"]]
    assert findings == [
        ("app/users.py", 5, 8, "uncovered"),
        ("app/users.py", 11, 12, "uncovered"),
    ]
    assert item["findings"][0]["message"] == "new lines 5-8 are not executed by any test"
    assert item["metrics"]["new_lines"] == 8
    assert item["metrics"]["new_lines_covered"] == 2  # the two `def` lines run at import
    assert item["metrics"]["new_code_percent"] == 25.0
    assert item["metrics"]["files"]["app/users.py"]["new_lines"] == 8
    assert result.ret == 6
    result.stdout.fnmatch_lines(["*app/users.py:5-8*"])
