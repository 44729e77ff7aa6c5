"""The pure parts of the tdd item: outlines, line ranges, node ids, red classification."""

from __future__ import annotations

import gc
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_pbe.errors import PbeError
from pytest_pbe.git import BaseRevision, Classifier, Repository, history
from pytest_pbe.measure.coverage import MeasuredCoverage
from pytest_pbe.tdd.gitread import raw_log, read_blobs
from pytest_pbe.tdd.judging import judge_range, line_ranges
from pytest_pbe.tdd.mapping import node_to_ref
from pytest_pbe.tdd.replay import ReplayJob, classify_red
from pytest_pbe.tdd.source import MODULE, outline

SOURCE = b'''"""Module docstring."""

RATE = 0.2  # a comment


@decorator
def vat(amount):
    """Docstring."""
    # comment
    return (amount *
            RATE)


class Cart:
    def total(self):
        if self:
            return 1
        return 0
'''


def test_def_and_class_lines_belong_to_their_bodies() -> None:
    out = outline(SOURCE)
    assert out.unit_of(6) == "vat"  # the decorator
    assert out.unit_of(7) == "vat"  # the def line
    assert out.unit_of(11) == "vat"
    assert out.unit_of(14) == "Cart"
    assert out.unit_of(15) == "Cart.total"
    assert out.unit_of(3) == MODULE


def test_comments_docstrings_and_blanks_are_not_executable() -> None:
    out = outline(SOURCE)
    assert not out.is_executable(1)  # module docstring
    assert out.is_executable(3)
    assert not out.is_executable(4)
    assert not out.is_executable(8)  # function docstring
    assert not out.is_executable(9)  # comment
    assert out.is_executable(10)
    assert out.is_executable(11)  # continuation of a statement
    assert out.is_executable(17)


def test_text_that_is_not_python_counts_every_line_as_executable() -> None:
    out = outline(b"def broken(:\n")
    assert not out.parsed
    assert out.is_executable(1)


def test_test_functions_are_found_at_module_level_and_in_test_classes() -> None:
    out = outline(b"def test_a():\n    f()\n\nclass TestB:\n    def test_c(self):\n        pass\n")
    assert [t.qualname for t in out.test_functions()] == ["test_a", "TestB.test_c"]
    assert "f" in out.mentions["test_a"]


@pytest.mark.parametrize(
    ("lines", "text"), [({1, 2, 3, 7}, "1-3, 7"), ({5}, "5"), (set(), ""), ({2, 4}, "2, 4")]
)
def test_line_ranges_are_compact(lines: set[int], text: str) -> None:
    assert line_ranges(lines) == text


def test_node_ids_become_repo_paths_and_qualnames() -> None:
    assert node_to_ref("tests/test_a.py::TestX::test_y[1]|run", "") == (
        "tests/test_a.py",
        "TestX.test_y",
    )
    assert node_to_ref("tests/test_a.py::test_b", "pkg") == ("pkg/tests/test_a.py", "test_b")
    assert node_to_ref("", "") is None


JOB = ReplayJob(
    sha="a" * 40, parent="b" * 40, selection=("t",), red_overlay={}, introduced=frozenset({"apply"})
)


@pytest.mark.parametrize(
    ("record", "state"),
    [
        ({"outcome": "passed"}, "green"),
        ({"outcome": "skipped"}, "inconclusive"),
        ({"outcome": "failed", "info": {"mro": ["AssertionError"]}}, "red"),
        (
            {
                "outcome": "failed",
                "info": {"mro": ["ImportError"], "message": "cannot import name 'apply'"},
            },
            "red",
        ),
        (
            {
                "outcome": "failed",
                "info": {"mro": ["ImportError"], "message": "cannot import name 'other'"},
            },
            "inconclusive",
        ),
        ({"outcome": "failed", "info": {"mro": ["KeyError"], "frame": "/src/x.py"}}, "red"),
        (
            {"outcome": "failed", "info": {"mro": ["KeyError"], "frame": "/tests/t.py"}},
            "inconclusive",
        ),
    ],
)
def test_only_real_failures_count_as_red(record: dict[str, object], state: str) -> None:
    assert classify_red(record, JOB, lambda frame: frame.startswith("/src/"))[0] == state


def test_blobs_at_head_come_from_the_worktree_only_when_identical(repo: Path) -> None:
    # The head commit's files are read from disk when their blob id matches (a big final
    # commit then costs no git read), and from git when the working tree has changed them.
    (repo / "same.py").write_bytes(b"x = 1\n")
    (repo / "dirty.py").write_bytes(b"y = 1\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "two"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    (repo / "dirty.py").write_bytes(b"y = 2\n")
    read: list[str] = []

    def disk(rel: str) -> bytes | None:
        read.append(rel)
        return (repo / rel).read_bytes()

    keys = [(head, "same.py"), (head, "dirty.py"), (head, "gone.py"), (head + "~1", "same.py")]
    blobs = read_blobs(Repository.discover(repo), keys, head=head, disk=disk)
    assert blobs == {
        (head, "same.py"): b"x = 1\n",
        (head, "dirty.py"): b"y = 1\n",
        (head, "gone.py"): None,
        (head + "~1", "same.py"): None,
    }
    assert sorted(read) == ["dirty.py", "same.py"]


def test_blobs_unchanged_since_their_commit_come_from_disk_by_the_raw_logs_blob_ids(
    repo: Path, git_subcommands: Callable[[], list[str]]
) -> None:
    # The raw log names the blob each commit left at each path: every file still on disk
    # as a commit left it is read from there, whatever the commit; git reads only the rest.
    def commit(message: str, **files: bytes) -> str:
        for name, content in files.items():
            (repo / f"{name}.py").write_bytes(content)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True)
        return _sha(repo, "HEAD")

    base = _sha(repo, "HEAD")
    first = commit("first", a=b"a = 1\n", b=b"b = 1\n")
    second = commit("second", b=b"b = 2\n")
    third = commit("third", c=b"c = 1\n")
    (repo / "c.py").write_bytes(b"c = 2\n")  # uncommitted: the third commit's c.py is not on disk
    repository = Repository.discover(repo)
    raw = raw_log(repository, base, third)
    # The config read names the programs the repository sets, so that git runs none of them.
    assert git_subcommands() == ["rev-parse", "config", "log"]
    read: list[str] = []

    def disk(rel: str) -> bytes | None:
        read.append(rel)
        return (repo / rel).read_bytes()

    keys = [(first, "a.py"), (first, "b.py"), (second, "b.py"), (third, "c.py")]
    blobs = read_blobs(repository, keys, head=third, disk=disk, known=raw.blob_ids)
    assert blobs == {
        (first, "a.py"): b"a = 1\n",  # from disk
        (first, "b.py"): b"b = 1\n",  # from git: changed by the second commit
        (second, "b.py"): b"b = 2\n",  # from disk
        (third, "c.py"): b"c = 1\n",  # from git: changed since, in the working tree
    }
    assert sorted(read) == ["a.py", "b.py", "c.py"]  # each file read once
    assert git_subcommands() == ["rev-parse", "config", "log", "cat-file"]  # one batch
    (repo / "c.py").write_bytes(b"c = 1\n")
    again = read_blobs(repository, keys[2:], head=third, disk=disk, known=raw.blob_ids)
    assert again == {(second, "b.py"): b"b = 2\n", (third, "c.py"): b"c = 1\n"}
    assert git_subcommands() == ["rev-parse", "config", "log", "cat-file"]  # no git this time


def _sha(repo: Path, rev: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", rev], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_judging_pauses_the_cyclic_garbage_collector_and_puts_it_back(story: Any) -> None:
    # Judging a huge change allocates millions of small acyclic objects: full collections
    # over a big session heap cost more than the judging itself.
    story.commit("feat: a", src__shop__a_py="def f():\n    return 1\n")
    repo = Repository.discover(story.path)
    base = BaseRevision(ref=story.base, sha=story.base, merge_base=story.base, source="option")
    classifier = Classifier(testpaths=("tests",))
    commits = history(repo, base, classifier=classifier)
    seen: list[bool] = []

    def coverage() -> MeasuredCoverage:
        seen.append(gc.isenabled())
        raise PbeError("not measured")

    def broken() -> MeasuredCoverage:
        raise RuntimeError("boom")

    judged = judge_range(repo, base, commits, classifier, rootdir=story.path, coverage=coverage)
    assert [v.verdict for v in judged.verdicts] == ["untested"]
    assert seen == [False]
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="boom"):
        judge_range(repo, base, commits, classifier, rootdir=story.path, coverage=broken)
    assert gc.isenabled()
    gc.disable()
    try:
        judge_range(repo, base, commits, classifier, rootdir=story.path, coverage=coverage)
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()
