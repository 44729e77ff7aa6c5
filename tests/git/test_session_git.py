"""The git work of a whole ``--pbe-verify`` session: every question asked once, the working
tree read while the base is resolved (collection waits for this work)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from gitrepo import GitRepo, make_repo

Calls = Callable[[], list[tuple[str, ...]]]
Starts = Callable[[], list[tuple[int, tuple[str, ...]]]]
ReadJson = Callable[..., dict[str, Any]]

# pytester's subprocess runs leave their output files in the project: ignored.
IGNORED = ".pytest_cache/\n__pycache__/\n*.json\n.coverage*\n/stdout\n/stderr\n/runpytest-*\n"
ADD = "def add(a, b):\n    return a + b\n"
SUB = "\n\ndef sub(a, b):\n    return a - b\n"
TEST_ADD = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
TEST_SUB = "from pkg.calc import sub\n\n\ndef test_sub():\n    assert sub(3, 2) == 1\n"
ARGS = ("-p", "no:randomly", "-p", "no:cacheprovider", "--pbe-verify", "--pbe-report-json")


@pytest.fixture
def project(pytester: pytest.Pytester) -> GitRepo:
    """A package on ``feature`` (two commits over ``main``), a change and a new file."""
    repo = make_repo(pytester.path)
    repo.write(".gitignore", IGNORED)
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/calc.py", ADD)
    repo.write("tests/test_calc.py", TEST_ADD)
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("tests/test_sub.py", TEST_SUB)
    repo.commit("test sub")
    repo.write("pkg/calc.py", ADD + SUB)
    repo.commit("sub")
    repo.write("pkg/calc.py", ADD + SUB + "\n# work in progress\n")
    repo.write("pkg/extra.py", "X = 1\n")  # untracked
    return repo


def run(pytester: pytest.Pytester, *extra: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *ARGS, "r.json", "--pbe-checks", "tests,coverage,tdd", "--pbe-base", "main", *extra
    )


def test_a_session_asks_git_each_question_once(
    project: GitRepo, pytester: pytest.Pytester, git_calls: Calls, read_json: ReadJson
) -> None:
    result = run(pytester)
    report = read_json(project.path / "r.json")
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["tests"]["status"] == "passed", checks["tests"]
    assert checks["coverage"]["status"] != "error", checks["coverage"]
    assert checks["tdd"]["status"] != "error", checks["tdd"]
    assert report["head"] == {"sha": project.sha("HEAD"), "dirty": True}
    assert result.ret in (0, 6)
    calls = git_calls()
    assert [call for call, n in Counter(calls).items() if n > 1] == []
    # HEAD, its shallowness and the top level come from one rev-parse; the base is
    # resolved, the untracked files listed and the tree compared with HEAD once each.
    assert [c for c in calls if c[0] == "rev-parse" and "main^{commit}" not in c] == [
        ("rev-parse", "--show-toplevel", "--is-shallow-repository",
         "--verify", "--quiet", "HEAD^{commit}"),
    ]  # fmt: skip
    untracked = [c for c in calls if c[0] == "ls-files" and "--cached" not in c]
    assert len(untracked) == 1
    assert len([c for c in calls if c[:2] == ("diff", "--quiet")]) == 0  # untracked: dirty
    assert len([c for c in calls if c[0] == "config"]) == 1


def test_the_working_tree_is_read_while_the_base_is_resolved(
    project: GitRepo,
    pytester: pytest.Pytester,
    git_call_starts: Starts,
    read_json: ReadJson,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project.path / "pkg" / "extra.py").unlink()  # only a change: the tree is compared
    monkeypatch.setenv("PBE_TEST_SLOW_GIT", "merge-base")  # it now takes a second more
    run(pytester)
    assert read_json(project.path / "r.json")["head"]["dirty"] is True
    starts = git_call_starts()
    merge_base = next(t for t, call in starts if call[0] == "merge-base")
    beside = {
        "untracked": next(t for t, c in starts if c[0] == "ls-files" and "--cached" not in c),
        "dirty": next(t for t, c in starts if c[:2] == ("diff", "--quiet")),
        "filters": next(t for t, c in starts if c[0] == "config"),
        "files": next(t for t, c in starts if c[0] == "ls-files" and "--cached" in c),
    }
    late = {name: (t - merge_base) / 1e9 for name, t in beside.items() if t > merge_base + 5e8}
    assert late == {}, "read after the merge-base was found, not beside it"
