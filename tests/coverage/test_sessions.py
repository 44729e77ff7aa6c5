"""How coverage is collected: pytest-cov, pytest-xdist, conftest imports, per-test contexts."""

from __future__ import annotations

import json
import math
import subprocess
import sys
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

# A project conftest that dumps what the shared measurement saw (read through the public
# hook, as another item would read it).
DUMP_CONFTEST = """
import json
import math
import pytest

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_amend_results(config, results):
    from pytest_pbe.engine import VERIFIER_KEY
    measured = config.stash[VERIFIER_KEY].ctx.coverage()
    fc = measured.file(config.rootpath / "app" / "users.py")
    out = {
        "origin": measured.origin,
        "has_contexts": measured.has_contexts,
        "missing": sorted(fc.missing),
        "contexts": {str(k): sorted(v) for k, v in sorted(fc.contexts.items())},
    }
    with open(config.rootpath / "seen.out", "w") as f:
        json.dump(out, f)
"""


def _feature(write: Write, commit: Commit) -> str:
    write("pyproject.toml", PYPROJECT)
    write("app/__init__.py", "")
    write("app/users.py", "def name(user):\n    return user['name']\n")
    write(
        "tests/test_users.py",
        "from app.users import name\n\ndef test_name():\n    assert name({'name': 'a'}) == 'a'\n",
    )
    base = commit("base")
    write(
        "app/users.py",
        """
        def name(user):
            return user['name']

        def greet(user):
            return 'hi ' + name(user)

        def shout(user):
            return greet(user).upper()

        def unused():
            return None
        """,
    )
    write(
        "tests/test_greet.py",
        "from app.users import greet\n\n"
        "def test_greet():\n    assert greet({'name': 'a'}) == 'hi a'\n",
    )
    write(
        "tests/test_shout.py",
        "from app.users import shout\n\n"
        "def test_shout():\n    assert shout({'name': 'a'}) == 'HI A'\n",
    )
    commit("feature")
    return base


def _figures(item: dict[str, Any]) -> tuple[Any, ...]:
    m = item["metrics"]
    findings = [(f["path"], f["line"], f["end_line"]) for f in item["findings"]]
    return (
        item["status"],
        m["new_lines"],
        m["new_lines_covered"],
        m["new_code_percent"],
        m["total_percent"],
        findings,
    )


def test_xdist_gives_the_same_numbers_as_a_plain_run(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path
) -> None:
    base = _feature(write, commit)
    write("conftest.py", DUMP_CONFTEST)
    _, plain = run_pbe("--pbe-base", base)
    plain_seen = json.loads((repo / "seen.out").read_text())
    result, dist = run_pbe("--pbe-base", base, "-n", "2")
    dist_seen = json.loads((repo / "seen.out").read_text())
    result.stdout.fnmatch_lines(["*2 workers*"])
    assert _figures(plain) == _figures(dist)
    assert plain["metrics"]["new_lines"] == 6
    assert plain["metrics"]["new_lines_covered"] == 5
    assert plain_seen["missing"] == dist_seen["missing"] == [11]
    assert plain["metrics"]["measured_by"] == dist["metrics"]["measured_by"] == "pytest-pbe"


def test_it_reads_pytest_cov_data_when_pytest_cov_is_active(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path
) -> None:
    base = _feature(write, commit)
    write("conftest.py", DUMP_CONFTEST)
    _, own = run_pbe("--pbe-base", base)
    result, with_cov = run_pbe("--pbe-base", base, "--cov=app", "--cov-report=term-missing")
    # pytest-cov's own report is intact (a second collector would have broken it).
    result.stdout.fnmatch_lines(["*app/users.py*8*1*88%*11*", "TOTAL*"])
    assert with_cov["metrics"]["measured_by"] == "pytest-cov"
    assert _figures(own) == _figures(with_cov)
    assert (repo / ".coverage").exists()  # pytest-cov's file; ours never writes one


def test_pytest_cov_under_xdist_is_read_after_its_combine(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _feature(write, commit)
    _, own = run_pbe("--pbe-base", base)
    _, dist_cov = run_pbe("--pbe-base", base, "--cov=app", "--cov-report=", "-n", "2")
    assert dist_cov["metrics"]["measured_by"] == "pytest-cov"
    assert _figures(own) == _figures(dist_cov)


def test_it_never_writes_the_projects_coverage_file(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path
) -> None:
    base = _feature(write, commit)
    run_pbe("--pbe-base", base, "-n", "2")
    assert not list(repo.glob(".coverage*"))


def test_collection_starts_before_conftest_imports_the_project(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    write("pyproject.toml", PYPROJECT)
    write("app/__init__.py", "")
    base = commit("base")
    # Only conftest.py imports this module: its module-level lines run at conftest load.
    write("app/settings.py", "NAME = 'app'\nDEBUG = False\n")
    write("conftest.py", "import app.settings\n")
    write("tests/test_ok.py", "def test_ok():\n    assert True\n")
    commit("settings")
    _, item = run_pbe("--pbe-base", base)
    assert item["metrics"]["new_lines"] == 2
    assert item["metrics"]["new_code_percent"] == 100.0, item
    _, dist = run_pbe("--pbe-base", base, "-n", "2")
    assert dist["metrics"]["new_code_percent"] == 100.0, dist


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["single", "xdist"])
def test_it_records_which_tests_ran_each_line_when_the_tdd_item_is_on(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path, workers: tuple[str, ...]
) -> None:
    base = _feature(write, commit)
    write("conftest.py", DUMP_CONFTEST)
    run_pbe("--pbe-base", base, *workers, checks="tests,coverage,tdd")
    seen = json.loads((repo / "seen.out").read_text())
    assert seen["has_contexts"] is True
    contexts = seen["contexts"]
    assert contexts["2"] == sorted(
        [
            "tests/test_users.py::test_name",
            "tests/test_greet.py::test_greet",
            "tests/test_shout.py::test_shout",
        ]
    )
    assert contexts["5"] == ["tests/test_greet.py::test_greet", "tests/test_shout.py::test_shout"]
    assert contexts["8"] == ["tests/test_shout.py::test_shout"]
    assert "11" not in contexts  # never run
    assert "1" not in contexts  # module level: run at import, outside any test


# Dumps which tests ran each line of a file the range did not touch, and of one it did.
UNTOUCHED_CONFTEST = """
import json
import pytest

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_amend_results(config, results):
    from pytest_pbe.engine import VERIFIER_KEY
    measured = config.stash[VERIFIER_KEY].ctx.coverage()
    out = {}
    for name in ("old", "users"):
        fc = measured.file(config.rootpath / "app" / f"{name}.py")
        out[name] = {"missing": sorted(fc.missing), "contexts": len(fc.contexts)}
    with open(config.rootpath / "seen.out", "w") as f:
        json.dump(out, f)
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["single", "xdist"])
def test_which_tests_ran_a_line_is_recorded_only_for_files_the_range_touched(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path, workers: tuple[str, ...]
) -> None:
    # The tdd item only asks about the range's files: recording every file per test would
    # cost every session for nothing. Coverage itself still measures the old file.
    write("app/old.py", "def old():\n    return 1\n")
    write("tests/test_old.py", "from app.old import old\n\ndef test_old():\n    assert old()\n")
    base = _feature(write, commit)
    write("conftest.py", UNTOUCHED_CONFTEST)
    run_pbe("--pbe-base", base, *workers, checks="tests,coverage,tdd")
    seen = json.loads((repo / "seen.out").read_text())
    assert seen["old"] == {"missing": [], "contexts": 0}
    assert seen["users"]["missing"] == [11]
    assert seen["users"]["contexts"] == 3  # lines 2, 5 and 8 ran inside tests


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["single", "xdist"])
def test_recording_which_tests_ran_each_line_leaves_the_coverage_figures_alone(
    write: Write, commit: Commit, run_pbe: RunPbe, workers: tuple[str, ...]
) -> None:
    base = _feature(write, commit)
    write("app/branchy.py", "def pick(x):\n    if x:\n        return 1\n    return 2\n")
    write(
        "tests/test_branchy.py",
        "from app.branchy import pick\n\ndef test_pick():\n    assert pick(1)\n",
    )
    commit("branchy")
    write("pyproject.toml", PYPROJECT + "branch = true\n")
    _, without = run_pbe("--pbe-base", base, *workers, checks="tests,coverage")
    _, recorded = run_pbe("--pbe-base", base, *workers, checks="tests,coverage,tdd")
    assert _figures(without) == _figures(recorded)
    assert without["metrics"]["new_lines"] == 10
    assert without["metrics"]["new_lines_covered"] == 7  # line 2 is partial: not covered
    assert sorted((f["path"], f["line"]) for f in recorded["findings"] if f["path"]) == [
        ("app/branchy.py", 2),
        ("app/branchy.py", 4),
        ("app/users.py", 11),
    ]


def test_pytest_cov_test_contexts_are_read_as_node_ids(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path
) -> None:
    base = _feature(write, commit)
    write("conftest.py", DUMP_CONFTEST)
    run_pbe("--pbe-base", base, "--cov=app", "--cov-report=", "--cov-context=test")
    seen = json.loads((repo / "seen.out").read_text())
    assert seen["origin"] == "pytest-cov"
    assert seen["has_contexts"] is True
    assert seen["contexts"]["8"] == ["tests/test_shout.py::test_shout"]


def test_it_agrees_with_diff_cover_on_the_same_diff_and_data(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path
) -> None:
    base = _feature(write, commit)
    write("app/extra.py", "def a(x):\n    if x:\n        return 1\n    return 2\n")
    write("tests/test_extra.py", "from app.extra import a\n\ndef test_a():\n    assert a(0) == 2\n")
    commit("extra")
    _, item = run_pbe("--pbe-base", base, "--cov=app", "--cov-report=xml:cov.xml")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "diff_cover.diff_cover_tool",
            "cov.xml",
            "--compare-branch",
            base,
            "--json-report",
            "dc.json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (repo / "dc.json").exists(), out.stdout + out.stderr
    dc = json.loads((repo / "dc.json").read_text())
    assert item["metrics"]["new_lines"] == dc["total_num_lines"]
    assert (
        item["metrics"]["new_lines"] - item["metrics"]["new_lines_covered"]
        == dc["total_num_violations"]
    )
    assert item["metrics"]["new_code_percent"] == pytest.approx(
        dc["total_percent_covered"], abs=0.01
    )
    ours: dict[str, list[int]] = {}
    for f in item["findings"]:
        ours.setdefault(f["path"], []).extend(range(f["line"], f["end_line"] + 1))
    theirs = {p: s["violation_lines"] for p, s in dc["src_stats"].items() if s["violation_lines"]}
    assert ours == theirs


TOTAL_CONFIG = """
[tool.coverage.run]
source = ["app"]
branch = true

[tool.coverage.report]
omit = ["app/skip_*.py"]
exclude_also = ["def never"]
"""


def test_the_total_is_the_one_coverage_report_prints(
    write: Write, commit: Commit, run_pbe: RunPbe, repo: Path
) -> None:
    # One analysis per file gives the total: it must equal `coverage report`'s (branches,
    # report omit, exclusions, a source file no test imports).
    base = _feature(write, commit)
    write("pyproject.toml", PYPROJECT.split("[tool.coverage")[0] + TOTAL_CONFIG)
    write(
        "app/extra.py",
        "def a(x):\n    if x:\n        return 1\n    return 2\n\ndef never():\n    return 3\n",
    )
    write("app/skip_me.py", "def s():\n    return 1\n")
    write("app/lonely.py", "def lonely():\n    return 1\n")
    write("tests/test_extra.py", "from app.extra import a\n\ndef test_a():\n    assert a(0) == 2\n")
    commit("extra")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-p", "no:pbe", "-q"],
        cwd=repo, capture_output=True, check=True,
    )  # fmt: skip
    script = (
        "import coverage, io; c = coverage.Coverage(); c.load(); "
        "print(repr(c.report(file=io.StringIO())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, check=True
    )
    expected = math.floor(float(out.stdout) * 100) / 100
    assert item["metrics"]["total_percent"] == expected
    assert 0 < expected < 100


def test_the_plugins_own_code_is_never_part_of_the_projects_total(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    # No [run] source: coverage.py measures every file outside the standard library and
    # site-packages, which includes pytest-pbe itself when it is installed in develop mode.
    write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    write("app/__init__.py", "")
    base = commit("base")
    write("app/calc.py", "def add(a, b):\n    return a + b\n")
    write(
        "test_calc.py", "from app.calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    commit("calc")
    _, item = run_pbe("--pbe-base", base)
    assert item["metrics"]["new_code_percent"] == 100.0
    assert item["metrics"]["total_percent"] == 100.0, item["summary"]
