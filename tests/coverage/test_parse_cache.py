"""coverage.py's parses kept across sessions, like mypy's cache: exact, or not used at all."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Write = Callable[[str, str], Path]
Commit = Callable[[str], str]
RunPbe = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]

PYPROJECT = """
[tool.pytest.ini_options]
pbe_total_coverage = "10"
pythonpath = ["."]
testpaths = ["tests"]

[tool.coverage.run]
source = ["app"]
branch = true
"""

MODULE = """
def f(x):
    if x > 1:
        return (
            x
        )
    return -x


def g(y):
    try:
        return 1 / y
    except ZeroDivisionError:  # pragma: no cover
        return None
"""


WAIT_FOR_THE_PARSES = """
import os
import time
from pathlib import Path

from app import a, b


def _parsed(count):
    # Every entry written or used by this session's child (it touches those it reuses).
    root = Path(os.environ["XDG_CACHE_HOME"]) / "pytest-pbe" / "coverage-parses"
    since = float(os.environ["PARSES_SINCE"])
    deadline = time.monotonic() + 12  # bounded: three sessions stay in the 60 s budget
    while time.monotonic() < deadline:
        found = [p.stat().st_mtime for p in root.glob("*/*") if not p.name.endswith(".numbers")]
        if len(found) >= count and min(found) >= since:
            return
        time.sleep(0.05)
"""
TEST_F_BODY = "    _parsed(4)\n    assert a.f(2) == 2\n"


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Each test reads and damages the entries it finds: none may be another test's.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def run_pbe(run_pbe: RunPbe, monkeypatch: pytest.MonkeyPatch) -> RunPbe:
    """Each session's tests wait for its own child's parses (``WAIT_FOR_THE_PARSES``)."""

    def do(*args: str, **kwargs: str) -> tuple[pytest.RunResult, dict[str, Any]]:
        monkeypatch.setenv("PARSES_SINCE", str(time.time() - 0.01))
        return run_pbe(*args, **kwargs)

    return do


@pytest.fixture
def project(repo: Path, write: Write, commit: Commit) -> Path:
    write("pyproject.toml", PYPROJECT)
    write("app/__init__.py", "")
    for name in ("a", "b", "c"):
        write(f"app/{name}.py", MODULE)
    # The session lasts until the parsing child (at the lowest priority, and done with the
    # files it has not reached when the tests end) has parsed the project: however loaded
    # the machine, what the tests below read is there.
    write("tests/test_app.py", WAIT_FOR_THE_PARSES + "\n\ndef test_f():\n" + TEST_F_BODY)
    commit("base")
    subprocess.run(["git", "checkout", "-qb", "feature"], cwd=repo, check=True)
    write("app/feature.py", "def double(x):\n    return 2 * x\n")
    write(
        "tests/test_feature.py",
        "from app.feature import double\n\n\ndef test_d():\n    assert double(1) == 2\n",
    )
    commit("feature")
    return repo


def _entries() -> dict[Path, int]:
    """Every cache entry and its inode (an entry is rewritten by replacing it whole)."""
    root = Path(os.environ["XDG_CACHE_HOME"]) / "pytest-pbe" / "coverage-parses"
    return {p: p.stat().st_ino for p in root.glob("*/*")}


def _total(item: dict[str, Any]) -> float:
    assert item["status"] in ("passed", "failed"), item
    return float(item["metrics"]["total_percent"])


def _floor2(value: float) -> float:
    return int(value * 100) / 100


def test_a_second_session_reuses_the_parses_and_parses_an_edited_file_again(
    project: Path, write: Write, run_pbe: RunPbe, coverage_reports: Callable[[], float]
) -> None:
    _, first = run_pbe()
    before = _entries()
    # The child parsed the project's files and kept them (at least the three of the base).
    assert len(before) >= 4, before

    _, second = run_pbe()
    after = _entries()
    assert {p: t for p, t in after.items() if p in before} == before  # nothing parsed again
    assert _total(second) == _total(first)

    write("app/b.py", MODULE.replace("return -x", "if x:\n        return 0\n    return -x"))
    _, third = run_pbe()
    rewritten = [p for p, t in _entries().items() if p in after and after[p] != t]
    assert len(rewritten) == 1, rewritten  # app/b.py's entry, and only it
    assert _total(third) == _floor2(coverage_reports())


def test_a_damaged_entry_is_parsed_again_and_the_figures_stay_exact(
    project: Path, run_pbe: RunPbe, coverage_reports: Callable[[], float]
) -> None:
    run_pbe()
    entries = _entries()
    for entry in entries:
        entry.write_bytes(b"not a parse")

    _, item = run_pbe()

    # (Which entries get rewritten depends on how far the child got at its low priority.)
    assert _total(item) == _floor2(coverage_reports())


def test_a_changed_exclude_setting_is_never_answered_from_the_cache(
    project: Path, write: Write, run_pbe: RunPbe, coverage_reports: Callable[[], float]
) -> None:
    run_pbe()
    write("pyproject.toml", PYPROJECT + '\n[tool.coverage.report]\nexclude_also = ["def g"]\n')

    _, item = run_pbe()

    assert _total(item) == _floor2(coverage_reports())


def test_the_cache_lives_outside_the_project(project: Path, run_pbe: RunPbe) -> None:
    # No repository can bring entries of its own, and git sees nothing new.
    run_pbe()

    assert _entries()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=project, capture_output=True, text=True
    ).stdout
    assert "pbe" not in status.lower(), status


def _numbers_entries() -> list[Path]:
    root = Path(os.environ["XDG_CACHE_HOME"]) / "pytest-pbe" / "coverage-parses"
    return sorted(root.glob("*/*.numbers"))


@pytest.mark.usefixtures("total_waits_for_the_child")
def test_an_unchanged_files_figures_are_reused_while_the_tests_run_the_same_lines(
    project: Path, write: Write, run_pbe: RunPbe, coverage_reports: Callable[[], float]
) -> None:
    import marshal

    _, first = run_pbe()
    entries = _numbers_entries()
    assert len(entries) >= 3, entries  # app/a.py, b.py and c.py (the base's, unchanged)
    kept = {entry: entry.read_bytes() for entry in entries}
    # Reused, not computed again: entries that say "all covered" show in the total.
    for entry in entries:
        key, fields = marshal.loads(kept[entry])  # noqa: S302  # the cache entry we wrote
        fields = {**fields, "n_missing": 0, "n_missing_branches": 0, "n_partial_branches": 0}
        entry.write_bytes(marshal.dumps((key, fields)))
    _, second = run_pbe()
    assert _total(second) > _total(first)

    # The tests now run more of app/a.py: its stored figures (of fewer lines) are not used.
    for entry, blob in kept.items():
        entry.write_bytes(blob)
    write(
        "tests/test_app.py",
        WAIT_FOR_THE_PARSES + "\n\ndef test_f():\n" + TEST_F_BODY + "    assert a.f(0) == 0\n",
    )
    _, third = run_pbe()
    assert _total(third) > _total(first)
    assert _total(third) == _floor2(coverage_reports())
