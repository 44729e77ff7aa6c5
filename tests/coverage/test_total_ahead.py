"""The total's figures computed by the parsing child: always coverage.py's own report's.

Each session's total is compared with what ``coverage run -m pytest`` and coverage.py's own
``coverage json`` report give for the same project. A project conftest counts the files the
pytest process analysed itself (``_Analyzer._analysis``); the ``total_waits_for_the_child``
fixture makes the total wait until the child has sent every answer, so that who computed
what does not depend on the timing.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Write = Callable[[str, str], Path]
Commit = Callable[[str], str]
RunPbe = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]

PYPROJECT = """
[tool.pytest.ini_options]
pbe_total_coverage = "50"
pythonpath = ["."]
testpaths = ["tests"]

[tool.coverage.run]
source = ["app"]
branch = true
"""

PROBE_CONFTEST = """
import json
import os
import time

import pytest

IN_PROCESS = []


def pytest_configure(config):
    from pytest_pbe.measure import coverage as measure

    analysis = measure._Analyzer._analysis

    def counted(self, morf):
        IN_PROCESS.append(morf)
        return analysis(self, morf)

    measure._Analyzer._analysis = counted


@pytest.hookimpl(optionalhook=True)
def pytest_pbe_amend_results(config, results):
    from pytest_pbe.engine import VERIFIER_KEY

    measured = config.stash[VERIFIER_KEY].ctx.coverage()
    seen = {
        "total": measured.total_percent,
        "in_process": sorted(os.path.relpath(n, config.rootpath) for n in IN_PROCESS),
    }
    with open(config.rootpath / "seen.out", "w") as f:
        json.dump(seen, f)


@pytest.fixture
def child(request):
    '''The session's parsing child once it sent its parse of ``path`` (None: no child).'''

    def wait(path):
        from pytest_pbe.engine import VERIFIER_KEY
        from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT

        verifier = request.config.stash.get(VERIFIER_KEY, None)
        if verifier is None:
            return None  # coverage.py's own run, for the comparison
        measurement = verifier.ctx.stash[COVERAGE_MEASUREMENT]
        real = os.path.realpath(path)
        deadline = time.monotonic() + 120
        while measurement.ahead is None or real not in measurement.ahead._frames:
            assert time.monotonic() < deadline, f"the child never sent its parse of {path}"
            time.sleep(0.02)
        return measurement.ahead

    return wait
"""

SHAPES = """
import contextlib


def classify(n):
    if n < 0:
        return "negative"
    elif n == 0:
        return "zero"
    return "positive"


def partial(flag):
    result = []
    if flag:  # only ever True: a partial branch
        result.append(1)
    return result


def never():  # pragma: no cover
    return "excluded"


def positive_sum(values):
    return sum(
        v
        for v in values
        if v > 0
    )


def guarded(path):
    with contextlib.suppress(OSError):
        with open(path) as handle:
            return handle.read()
    return None


def countdown(n):
    out = 0
    while n > 0:  # pragma: no branch
        out += n
        n -= 1
        if n == 1:
            break
    return out


class Shape:
    def __init__(self, sides):
        self.sides = (
            sides
        )

    def describe(self):
        if self.sides == 3:
            return "triangle"
        if self.sides == 4:
            return "square"
        raise ValueError(
            f"unknown {self.sides}"
        )
"""

TEST_SHAPES = """
from app import shapes


def test_shapes(tmp_path):
    assert shapes.classify(-1) == "negative"
    assert shapes.classify(3) == "positive"
    assert shapes.partial(True) == [1]
    assert shapes.positive_sum([1, -2, 3]) == 4
    assert shapes.guarded(tmp_path / "missing") is None
    assert shapes.countdown(3) == 5
    assert shapes.Shape(3).describe() == "triangle"
"""


TEST_LATE = """
import importlib
import pathlib

import app


def test_edited_while_the_tests_run(child):
    path = pathlib.Path(app.__file__).parent / "edited.py"
    child(path)
    path.write_text(
        "def kept(x):\\n    return x\\n\\n\\n"
        "def dropped(x):  # pragma: no cover\\n    return -x\\n"
    )
    assert importlib.import_module("app.edited").kept(1) == 1


def test_repaired_after_the_child_failed_to_parse_it(child):
    path = pathlib.Path(app.__file__).parent / "broken.py"
    child(path)
    path.write_text("def repaired(x):\\n    if x:\\n        return x\\n    return 0\\n")
    assert importlib.import_module("app.broken").repaired(1) == 1


def test_generated():
    assert importlib.import_module("app.generated").made(1) == 1
"""


def _module(n: int) -> str:
    return textwrap.dedent(
        f"""
        def f{n}(x):
            if x > {n}:
                return x
            for i in range(x):
                if i == {n}:  # pragma: no branch
                    break
            return (
                -x
            )


        def g{n}(y):
            try:
                return 1 / y
            except ZeroDivisionError:  # pragma: no cover
                return None
        """
    )


def _project(
    repo: Path,
    write: Write,
    commit: Commit,
    *,
    modules: int = 8,
    base: Callable[[], object] | None = None,
) -> None:
    """A project on a branch ``feature`` that adds app/feature.py; ``base`` adds to main."""
    write("pyproject.toml", PYPROJECT)
    write("conftest.py", PROBE_CONFTEST)
    write("app/__init__.py", "")
    write("app/shapes.py", SHAPES)
    calls = []
    for n in range(modules):
        write(f"app/m{n}.py", _module(n))
        calls.append(f"    assert m{n}.f{n}({n + 1 if n % 2 else 0}) is not None\n")
    write(
        "tests/test_modules.py",
        f"from app import {', '.join(f'm{n}' for n in range(modules))}\n\n\n"
        "def test_modules():\n" + "".join(calls),
    )
    write("tests/test_shapes.py", TEST_SHAPES)
    if base is not None:
        base()
    commit("base")
    subprocess.run(["git", "checkout", "-qb", "feature"], cwd=repo, check=True)
    write("app/feature.py", "def double(x):\n    if x:\n        return 2 * x\n    return 0\n")
    write(
        "tests/test_feature.py",
        "from app.feature import double\n\n\n"
        "def test_double():\n    assert double(2) == 4\n    assert double(0) == 0\n",
    )
    commit("feature")


def _seen(repo: Path) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads((repo / "seen.out").read_text())
    return seen


@pytest.mark.usefixtures("total_waits_for_the_child")
def test_the_child_computes_the_totals_figures_as_coverage_reports_them(
    repo: Path,
    write: Write,
    commit: Commit,
    run_pbe: RunPbe,
    coverage_reports: Callable[[], float],
) -> None:
    # Branches, partial branches, "pragma: no cover" and "no branch", multi-line statements
    # and with blocks: every figure is coverage.py's own, whoever computed it.
    _project(repo, write, commit)

    _, item = run_pbe()

    assert item["status"] == "passed", item
    seen = _seen(repo)
    # The pytest process analysed only the changed file it judged; the child all the rest.
    assert seen["in_process"] == ["app/feature.py"]
    assert seen["total"] == coverage_reports()
    assert 50 < seen["total"] < 100  # partly covered: a total that shows something
    assert item["metrics"]["total_percent"] == int(seen["total"] * 100) / 100


@pytest.mark.usefixtures("total_waits_for_the_child")
def test_files_edited_unparsed_or_new_to_the_child_are_analysed_in_process(
    repo: Path,
    write: Write,
    commit: Commit,
    run_pbe: RunPbe,
    coverage_reports: Callable[[], float],
) -> None:
    # Files of the base (not judged as new code): only the total reads them.
    # app/edited.py: parsed by the child, then a test excludes its second function.
    # app/broken.py: does not parse when the child reads it; a test repairs it.
    # app/generated.py: ignored by git, so the child was never given it.
    def late_files() -> None:
        write("app/edited.py", "def kept(x):\n    return x\n\n\ndef dropped(x):\n    return -x\n")
        write("app/broken.py", "def repaired(:\n")
        with (repo / ".gitignore").open("a") as ignore:
            ignore.write("app/generated.py\n")
        write("app/generated.py", "def made(x):\n    if x:\n        return 1\n    return 2\n")
        write("tests/test_late.py", TEST_LATE)

    _project(repo, write, commit, base=late_files)

    _, item = run_pbe()

    seen = _seen(repo)
    assert seen["in_process"] == [
        "app/broken.py",
        "app/edited.py",
        "app/feature.py",
        "app/generated.py",
    ], item
    assert seen["total"] == coverage_reports()


def test_a_child_killed_during_the_session_leaves_every_file_to_the_pytest_process(
    repo: Path, write: Write, commit: Commit, run_pbe: RunPbe, coverage_reports: Callable[[], float]
) -> None:
    _project(repo, write, commit, modules=3)
    write(
        "tests/test_kill.py",
        """
        import pathlib

        import app


        def test_kill_the_child(child):
            ahead = child(pathlib.Path(app.__file__).parent / "shapes.py")
            if ahead is not None:
                ahead._proc.kill()
                ahead._proc.wait()
        """,
    )
    commit("kill")

    _, item = run_pbe()

    assert item["status"] == "passed", item
    seen = _seen(repo)
    measured = ["app/__init__.py", "app/feature.py", "app/m0.py", "app/m1.py", "app/m2.py"]
    assert seen["in_process"] == [*measured, "app/shapes.py"]
    assert seen["total"] == coverage_reports()
