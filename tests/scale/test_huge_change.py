"""Huge changes stay fast and readable: a 5,000-file change, a 100,000-line file, deep paths.

End to end: a real repository, a real pytest session under coverage, the coverage and tdd
items, the JSON report complete and the terminal capped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Git = Callable[..., str]
FILES = 5_000
PACKAGES = 50

BASE_MODULE = "def f(x):\n    if x:\n        return 1\n    return 2\n"
# The change: every module gains a function the tests call and one they never call.
NEW_CODE = "\n\ndef g():\n    return 3\n\n\ndef h():\n    return 4\n"
TEST_ALL = f"""
import importlib


def test_every_module_answers():
    for n in range({FILES}):
        module = importlib.import_module(f"big.p{{n % {PACKAGES}:02d}}.m{{n:04d}}")
        assert module.f(1) == 1
        assert module.g() == 3
"""


def _module(root: Path, n: int) -> Path:
    return root / "src" / "big" / f"p{n % PACKAGES:02d}" / f"m{n:04d}.py"


def _run(pytester: pytest.Pytester, report: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--pbe-verify",
        "--pbe-report-json",
        str(report),
        *args,
    )


@pytest.fixture
def huge_change(repo: Path, git: Git) -> str:
    """5,000 modules on main; then a test commit and a commit changing all 5,000 of them."""
    (repo / "pytest.ini").write_text("[pytest]\npythonpath = src\ntestpaths = tests\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_smoke.py").write_text("def test_smoke():\n    pass\n")
    for p in range(PACKAGES):
        package = repo / "src" / "big" / f"p{p:02d}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    (repo / "src" / "big" / "__init__.py").write_text("")
    for n in range(FILES):
        _module(repo, n).write_text(BASE_MODULE)
    git("add", "-A")
    git("commit", "-qm", "5,000 modules")
    base = git("rev-parse", "HEAD")
    (repo / "tests" / "test_all.py").write_text(TEST_ALL)
    git("add", "-A")
    git("commit", "-qm", "test: every module answers g()")
    for n in range(FILES):
        _module(repo, n).write_text(BASE_MODULE + NEW_CODE)
    git("commit", "-qam", "g() and h() everywhere")
    return base


def test_a_5000_file_change_is_judged_completely_and_printed_briefly(
    huge_change: str,
    repo: Path,
    git: Git,
    pytester: pytest.Pytester,
    read_json: Callable[[Path], dict[str, Any]],
) -> None:
    report = repo / "r.json"
    started = time.perf_counter()
    result = _run(pytester, report, "--pbe-checks", "tests,coverage,tdd", "--pbe-base", huge_change)
    elapsed = time.perf_counter() - started
    data = read_json(report)
    checks = {c["id"]: c for c in data["checks"]}
    coverage, tdd = checks["coverage"], checks["tdd"]
    assert result.ret == 6, result.stdout.str()[-3000:]
    assert coverage["status"] == "failed"
    # Complete in the file: every module's new lines are judged, one finding per h() body.
    assert coverage["metrics"]["new_lines"] == FILES * 4
    assert coverage["metrics"]["new_lines_covered"] == FILES * 3
    uncovered = [f for f in coverage["findings"] if f["rule"] == "uncovered"]
    assert len({f["path"] for f in uncovered}) == len(uncovered) == FILES
    assert {f["rule"] for f in coverage["findings"]} == {"uncovered", "total"}
    assert len(data["scope"]["files"]) == FILES + 1
    # tdd judged both commits: the test commit is exempt, h() was never exercised by a test.
    assert tdd["status"] == "failed", tdd["summary"]
    assert tdd["metrics"]["commits"] == 2, tdd["metrics"]
    assert len(tdd["findings"]) == FILES
    assert {f["commit"] for f in tdd["findings"]} == {git("rev-parse", "HEAD")}
    # Brief in the terminal: a few findings, then one line saying what was left out.
    out = result.stdout.lines
    start = next(n for n, line in enumerate(out) if line.startswith("[FAIL ] coverage"))
    end = next(n for n, line in enumerate(out) if line.startswith("[SKIP ] types"))
    assert end - start < 40, "\n".join(out[start:end])
    # (the coverage item also shows its total finding: one file fewer fits under the cap)
    more = "*... 4,99? more findings in 4,99? files, not shown (-v shows all, the report files*"
    result.stdout.fnmatch_lines(["[[]FAIL*coverage*", more, "[[]FAIL*tdd*", more])
    assert elapsed < 120, f"a 5,000-file change took {elapsed:.0f}s"


def test_a_100000_line_file_in_a_deeply_nested_package_is_judged_line_by_line(
    repo: Path,
    git: Git,
    pytester: pytest.Pytester,
    read_json: Callable[[Path], dict[str, Any]],
) -> None:
    (repo / "pytest.ini").write_text("[pytest]\npythonpath = src\ntestpaths = tests\n")
    parts = [f"level{n:02d}" for n in range(40)]
    package = repo / "src" / Path(*parts)
    package.mkdir(parents=True)
    for depth in range(len(parts)):
        (repo / "src" / Path(*parts[: depth + 1]) / "__init__.py").write_text("")
    (repo / "tests").mkdir()
    dotted = ".".join(parts)
    (repo / "tests" / "test_table.py").write_text(
        f"from {dotted}.table import VALUES, lookup\n\n"
        "def test_lookup():\n    assert lookup(7) == VALUES[7]\n"
    )
    git("add", "-A")
    git("commit", "-qm", "a deep package")
    base = git("rev-parse", "HEAD")
    # 100,000 new lines: a generated table, and a function whose one branch is never taken.
    rows = "".join(f"    {n},\n" for n in range(99_992))
    (package / "table.py").write_text(
        "VALUES = [\n" + rows + "]\n\n\ndef lookup(n):\n    if n < 0:\n"
        "        raise IndexError(n)\n    return VALUES[n]\n"
    )
    path = "src/" + "/".join(parts) + "/table.py"
    assert len((repo / path).read_text().splitlines()) == 100_000
    report = repo / "r.json"
    result = _run(pytester, report, "--pbe-checks", "tests,coverage", "--pbe-base", base)
    data = read_json(report)
    coverage = next(c for c in data["checks"] if c["id"] == "coverage")
    assert result.ret == 6, result.stdout.str()[-3000:]
    findings = [(f["path"], f["line"], f["end_line"]) for f in coverage["findings"] if f["path"]]
    assert findings == [(path, 99_999, 99_999)]
    # The whole list literal is one statement: it counts once, like any multi-line statement.
    assert coverage["metrics"]["new_lines"] == 5
    result.stdout.fnmatch_lines([f"*{path}:99999  uncovered: new line 99999 is not executed*"])
