"""coverage.py's parse done ahead in a child process: used only for the very same content."""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from coverage.parser import PythonParser

from pytest_pbe.measure.parsing import ParsedAhead

EXCLUDE = r"#\s*pragma: no cover"
SOURCE = """\
def pick(x):
    if x:  # a branch
        return 1
    return (
        2
    )


def never():  # pragma: no cover
    return 3
"""


def _wait_for(ahead: ParsedAhead, path: Path, exclude: str = EXCLUDE) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = ahead.take(str(path), exclude)
        if found is not None:
            return found
        time.sleep(0.02)
    return None


@pytest.fixture
def ahead_of(tmp_path: Path) -> Callable[..., ParsedAhead]:
    started: list[ParsedAhead] = []

    def start(*files: Path, branch: bool = True) -> ParsedAhead:
        ahead = ParsedAhead([str(f.resolve()) for f in files], exclude=EXCLUDE, branch=branch)
        ahead.start()
        started.append(ahead)
        return ahead

    yield start
    for ahead in started:
        ahead.stop()


def test_it_gives_coverage_pys_own_parse_of_the_file(
    tmp_path: Path, ahead_of: Callable[..., ParsedAhead]
) -> None:
    path = tmp_path / "pick.py"
    path.write_text(SOURCE)
    parsed = _wait_for(ahead_of(path), path)
    own = PythonParser(filename=str(path), exclude=EXCLUDE)
    own.parse_source()
    assert parsed is not None
    assert parsed.statements == own.statements == {1, 2, 3, 4}
    assert parsed.excluded == own.excluded
    assert parsed.multiline_map == own.multiline_map
    assert parsed.arcs() == own.arcs()
    assert parsed.exit_counts() == own.exit_counts()
    assert parsed.text == SOURCE  # read back in this process, for coverage.py's regexes


def test_a_file_changed_since_its_parse_is_not_used(
    tmp_path: Path, ahead_of: Callable[..., ParsedAhead]
) -> None:
    path, other = tmp_path / "pick.py", tmp_path / "other.py"
    path.write_text(SOURCE)
    other.write_text("x = 1\n")
    ahead = ahead_of(other, path)
    assert _wait_for(ahead, other) is not None  # the child is done with both now
    time.sleep(0.2)
    path.write_text(SOURCE + "\n\ndef added():\n    return 4\n")
    assert ahead.take(str(path), EXCLUDE) is None


def test_another_exclude_setting_or_a_file_that_does_not_parse_gives_nothing(
    tmp_path: Path, ahead_of: Callable[..., ParsedAhead]
) -> None:
    good, broken, last = tmp_path / "pick.py", tmp_path / "broken.py", tmp_path / "last.py"
    good.write_text(SOURCE)
    broken.write_text("def broken(:\n")
    last.write_text("x = 1\n")
    ahead = ahead_of(broken, good, last)
    assert _wait_for(ahead, last) is not None  # in order: done with the other two as well
    assert ahead.take(str(good), "something else") is None
    assert ahead.take(str(good), EXCLUDE) is not None
    assert ahead.take(str(broken), EXCLUDE) is None


def test_stop_ends_the_child(tmp_path: Path, ahead_of: Callable[..., ParsedAhead]) -> None:
    files = []
    for n in range(300):
        files.append(tmp_path / f"m{n}.py")
        files[-1].write_text(SOURCE)
    ahead = ahead_of(*files)
    proc = ahead._proc
    assert proc is not None
    ahead.stop()
    assert proc.poll() is not None
    assert ahead.take(str(files[-1]), EXCLUDE) is None


def test_a_session_judges_a_source_file_as_it_is_when_the_tests_end(
    pytester: pytest.Pytester, repo: Path, read_json: Callable[[Path], dict[str, Any]]
) -> None:
    # The child parses app/old.py at session start; a test then adds an uncovered
    # function to it. The total is of the final file, not of the parse made ahead. (A
    # change-set file rewritten so is an error: tests/reliability/test_trust_newcode.py.)
    (repo / "app").mkdir()
    (repo / "app" / "__init__.py").write_text("")
    (repo / "app" / "old.py").write_text("def one():\n    return 1\n")
    (repo / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n[tool.coverage.run]\nsource = ["app"]\n'
    )
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=repo, check=True)
    (repo / "app" / "mod.py").write_text("X = 1\n")
    (repo / "test_mod.py").write_text(
        "import pathlib, time\n"
        "import app.mod, app.old\n\n"
        "def test_rewrite():\n"
        "    assert app.old.one() == 1 and app.mod.X == 1\n"
        "    time.sleep(1.5)  # the parsing child is long done with the first version\n"
        "    path = pathlib.Path(app.old.__file__)\n"
        "    path.write_text(path.read_text() + '\\n\\ndef two():\\n    return 2\\n')\n"
    )
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pbe-verify", "--pbe-checks", "tests,coverage",
        "--pbe-report-json", "r.json",
    )  # fmt: skip
    item = next(c for c in read_json(repo / "r.json")["checks"] if c["id"] == "coverage")
    assert item["metrics"]["new_lines"] == 1, item
    # 3 of 5 statements: the parse made ahead (2 of 2 in old.py) would say 100%.
    assert item["metrics"]["total_percent"] == 60, item


def test_the_child_parses_changed_sources_then_other_sources_then_tests_last() -> None:
    # Test files are rarely measured ([run] source names the package): parsed first,
    # they would keep the child busy beside the tests for nothing.
    from pytest_pbe.checks.coverage import parse_order
    from pytest_pbe.git import Classifier

    order = parse_order(
        changed=["src/app/b.py", "tests/test_b.py"],
        project=["README.md", "src/app/a.py", "src/app/b.py", "tests/conftest.py",
                 "tests/test_a.py", "tests/test_b.py", "tools/gen.py"],
        classifier=Classifier(testpaths=("tests",)),
        prefix="",
    )  # fmt: skip

    assert order == [
        "src/app/b.py", "src/app/a.py", "tools/gen.py",
        "tests/test_b.py", "tests/conftest.py", "tests/test_a.py",
    ]  # fmt: skip


def test_the_parse_order_stays_inside_the_projects_directory() -> None:
    from pytest_pbe.checks.coverage import parse_order
    from pytest_pbe.git import Classifier

    order = parse_order(
        changed=["svc/app.py", "other/x.py"],
        project=["other/y.py", "svc/app.py", "svc/util.py", "svc/tests/test_app.py"],
        classifier=Classifier(),
        prefix="svc",
    )

    assert order == ["svc/app.py", "svc/util.py", "svc/tests/test_app.py"]


class _Recorder(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(self.tell())


def test_the_child_sends_its_parses_in_a_few_large_writes_the_changed_files_first(
    tmp_path: Path,
) -> None:
    # Each write wakes a thread of the pytest process, which takes the GIL from the tests:
    # the changed files go at once, the rest in large batches.
    from pytest_pbe.measure.parsing import _frames, _parse_all

    files = []
    for n in range(60):
        path = tmp_path / f"mod{n}.py"
        path.write_text(SOURCE)
        files.append(str(path))
    out = _Recorder()

    _parse_all({"exclude": EXCLUDE, "branch": True, "files": files, "first": 2}, out)

    out.seek(0)
    sent = [name for name, _ in _frames(out)]
    assert sent == files
    assert 2 <= len(out.flushed_at) <= 3, out.flushed_at
    first = out.flushed_at[0]
    out.seek(0)
    assert [name for name, _ in _frames(io.BytesIO(out.read(first)))] == files[:2]
