"""What a run imports: the report formats only when their file is asked for, the judging
only after the tests, the red-green replay only in replay mode.

Each test runs a real ``pytest --pbe-verify`` session in a subprocess (a fresh
``sys.modules``) whose conftest.py lists pytest-pbe's modules at the first test and at the
very end.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FORMATS = {
    f"pytest_pbe.report.{name}"
    for name in ("html", "sarif", "gitlab", "github", "junit", "markdown", "json")
}
JUDGING = {"pytest_pbe.tdd.judging", "pytest_pbe.tdd.verdicts", "pytest_pbe.tools.handlers"}
REPLAY = "pytest_pbe.tdd.replay"

RECORDER = """
import json
import sys

import pytest

SEEN = {{}}


def _ours():
    return sorted(name for name in sys.modules if name.startswith("pytest_pbe"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    SEEN.setdefault("first test", _ours())


def pytest_unconfigure(config):
    with open({log!r}, "w", encoding="utf-8") as out:
        json.dump({{"first test": SEEN.get("first test"), "end": _ours()}}, out)
"""

SOURCE = """\
def parse(text):
    try:
        return int(text)
    except ValueError:
        return -1
"""
TEST = """\
from app import parse


def test_parse():
    assert parse("12") == 12
    assert parse("x") == -1
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Callable[..., dict[str, list[str]]]:
    """A feature branch (a test, then the code it tests); ``run(*args)`` -> modules seen."""
    log = tmp_path / "modules.json"
    (repo / "pytest.ini").write_text("[pytest]\npythonpath = src\ntestpaths = tests\n")
    (repo / "conftest.py").write_text(textwrap.dedent(RECORDER.format(log=str(log))))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "project")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_app.py").write_text(TEST)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "test for parse")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text(SOURCE)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "parse")

    def run(pytester: pytest.Pytester, *args: str) -> dict[str, list[str]]:
        result = pytester.runpytest_subprocess(
            "--pbe-verify", "--pbe-base", "main", "-p", "no:cacheprovider", *args
        )
        result.stdout.fnmatch_lines(["*PASS*tdd*1 test-first*"])
        assert result.ret == 0, result.stdout.str()
        seen: dict[str, list[str]] = json.loads(log.read_text(encoding="utf-8"))
        return seen

    return run


def test_a_default_run_imports_no_report_format_and_no_replay(
    project: Callable[..., dict[str, list[str]]], pytester: pytest.Pytester
) -> None:
    seen = project(pytester)
    at_first_test, at_end = set(seen["first test"]), set(seen["end"])
    assert at_end >= JUDGING  # the recorder sees what the judging imported
    assert not JUDGING & at_first_test  # imported after the tests, not at start-up
    assert not (FORMATS | {REPLAY}) & at_end


def test_a_report_file_imports_its_own_format_only(
    project: Callable[..., dict[str, list[str]]], pytester: pytest.Pytester
) -> None:
    seen = project(pytester, "--pbe-report-md", "checklist.md")
    assert (pytester.path / "checklist.md").is_file()
    assert FORMATS & set(seen["end"]) == {"pytest_pbe.report.markdown"}
