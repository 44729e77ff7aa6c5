from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from gitrepo import GitRepo

from pytest_pbe.git import Classifier, Commit, Repository, history

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def run_history(repo: GitRepo, base: str = "main", **kw: Any) -> list[Commit]:
    return history(Repository.discover(repo.path), repo.base_at(base), **kw)


@pytest.fixture
def branch(repo: GitRepo) -> GitRepo:
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_empty_range(repo: GitRepo) -> None:
    assert run_history(repo) == []


def test_commits_oldest_first_with_metadata(branch: GitRepo) -> None:
    branch.write("tests/test_app.py", "def test_x():\n    assert x() == 1\n")
    first = branch.commit("Add failing test")
    branch.write(
        "src/app.py", "def x():\n    return 1\n" + "".join(f"line {i}\n" for i in range(3, 11))
    )
    second = branch.commit(
        "Implement x\n\nBody text.\n\nDocs-Consulted: fastapi\nPBE-Waive: flaky network,\n"
        "  tracked in #12\nDocs-Consulted: sqlalchemy\n"
    )
    commits = run_history(branch)
    assert [c.sha for c in commits] == [first, second]
    assert commits[0].parents == (branch.sha("main"),)
    assert commits[1].parents == (first,)
    assert [c.subject for c in commits] == ["Add failing test", "Implement x"]
    assert all(ISO.fullmatch(c.author_date) for c in commits)
    assert commits[0].trailers == ()
    assert commits[1].trailers == (
        ("Docs-Consulted", "fastapi"),
        ("PBE-Waive", "flaky network, tracked in #12"),
        ("Docs-Consulted", "sqlalchemy"),
    )
    assert [(f.path, f.status, f.kind, f.lines) for f in commits[0].files] == [
        ("tests/test_app.py", "added", "test", {1, 2})
    ]
    assert [(f.path, f.status, f.kind, f.lines) for f in commits[1].files] == [
        ("src/app.py", "modified", "source", {1, 2})
    ]
    assert not any(c.is_merge for c in commits)


def test_lines_are_in_each_commits_own_coordinates(branch: GitRepo) -> None:
    branch.write("src/app.py", "top\n" + "".join(f"line {i}\n" for i in range(1, 11)))
    branch.commit("insert at top")
    branch.write("src/app.py", "top\n" + "".join(f"line {i}\n" for i in range(1, 11)) + "end\n")
    branch.commit("append")
    assert [c.files[0].lines for c in run_history(branch)] == [{1}, {12}]


def test_merge_commit_is_marked(branch: GitRepo) -> None:
    branch.write("a.py", "a\n")
    branch.commit("a")
    branch.git("checkout", "-q", "-b", "side", "main")
    branch.write("b.py", "b\n")
    side = branch.commit("b")
    branch.git("checkout", "-q", "feature")
    branch.git("merge", "-q", "--no-ff", "-m", "Merge side", "side")
    commits = run_history(branch)
    assert [c.subject for c in commits][-1] == "Merge side"
    merge = commits[-1]
    assert merge.is_merge
    assert merge.files == ()
    assert merge.parents[1] == side
    assert {c.subject for c in commits[:-1]} == {"a", "b"}


def test_rename_is_followed(branch: GitRepo) -> None:
    branch.git("mv", "src/app.py", "src/renamed.py")
    branch.write("src/renamed.py", "".join(f"line {i}\n" for i in range(1, 11)) + "extra\n")
    branch.commit("rename and extend")
    (commit,) = run_history(branch)
    (change,) = commit.files
    assert (change.path, change.old_path, change.status, change.lines) == (
        "src/renamed.py",
        "src/app.py",
        "renamed",
        {11},
    )


def test_pseudo_commit_for_uncommitted_work(branch: GitRepo) -> None:
    branch.write("src/app.py", "new top\n" + "".join(f"line {i}\n" for i in range(1, 11)))
    committed = branch.commit("top line")
    branch.write("src/app.py", "new top\n" + "".join(f"line {i}\n" for i in range(1, 11)) + "wip\n")
    branch.write("tests/test_wip.py", "def test():\n    pass\n")
    commits = run_history(branch)
    assert [c.sha for c in commits] == [committed, None]
    pseudo = commits[-1]
    assert pseudo.parents == (committed,)
    assert ISO.fullmatch(pseudo.author_date)
    assert [(f.path, f.status, f.lines) for f in pseudo.files] == [
        ("src/app.py", "modified", {12}),
        ("tests/test_wip.py", "untracked", {1, 2}),
    ]
    assert [c.sha for c in run_history(branch, include_uncommitted=False)] == [committed]


def test_no_pseudo_commit_when_clean(branch: GitRepo) -> None:
    branch.write("x.py", "x\n")
    branch.commit("x")
    assert [c.sha for c in run_history(branch)] == [branch.sha("HEAD")]


def test_weird_paths_in_history(branch: GitRepo) -> None:
    names = ["sp ace.py", "new\nline.py", '"quoted".py', "-dash.py", "ü.py"]
    for name in names:
        branch.write(name, "1\n2\n")
    branch.commit("weird")
    (commit,) = run_history(branch)
    assert sorted(f.path for f in commit.files) == sorted(names)


def test_custom_classifier(branch: GitRepo) -> None:
    branch.write("checks/check_a.py", "x\n")
    branch.commit("check")
    (commit,) = run_history(branch, classifier=Classifier(python_files=("check_*.py",)))
    assert commit.files[0].kind == "test"


def count_git_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real: Callable[..., Any] = subprocess.run

    def spy(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(argv)
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return calls


@pytest.mark.parametrize("dirty", [False, True])
def test_constant_number_of_git_processes(
    branch: GitRepo, monkeypatch: pytest.MonkeyPatch, dirty: bool
) -> None:
    counts = []
    for n in (3, 30):
        branch.git("checkout", "-q", "-B", "feature", "main")
        for i in range(n):
            branch.write(f"f{i % 5}.py", f"{i}\n")
            branch.commit(f"c{i}")
        if dirty:
            branch.write("wip.py", "w\n")
        r = Repository.discover(branch.path)
        base = branch.base_at("main")
        with monkeypatch.context() as patch:
            calls = count_git_calls(patch)
            assert len(history(r, base)) == n + dirty
            counts.append(len(calls))
        (branch.path / "wip.py").unlink(missing_ok=True)
    assert counts[0] == counts[1]
    assert counts[0] <= 5
