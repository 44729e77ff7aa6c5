"""How many git processes the git layer runs: each fact read once, candidates in one batch.

The session waits for this git work before collecting, so every process counts. Results are
compared with what git itself says, one question at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import GitRepo, make_repo

from pytest_pbe.errors import GitError
from pytest_pbe.git import BaseRevision, Repository, collect_changes, history, resolve_base

Calls = Callable[[], list[tuple[str, ...]]]


def test_discover_reads_head_and_shallowness_in_the_same_process(
    repo: GitRepo, git_calls: Calls
) -> None:
    (repo.path / "src" / "deep").mkdir()
    found = Repository.discover(repo.path / "src" / "deep", snapshot=True)
    assert found.root == repo.path.resolve()
    assert found.head_sha() == repo.sha("HEAD")
    assert found.head_sha() == repo.sha("HEAD")
    assert found.is_shallow() is False
    assert len(git_calls()) == 1


def test_default_branch_candidates_are_resolved_by_one_process(
    feature: GitRepo, git_calls: Calls
) -> None:
    r = Repository.discover(feature.path, snapshot=True)
    base = resolve_base(r, explicit=None, environ={})
    assert base == BaseRevision(
        ref="main",
        sha=feature.sha("main"),
        merge_base=feature.sha("main~1"),
        source="default-branch",
    )
    names = Counter(call[0] for call in git_calls())
    assert names == Counter({"rev-parse": 1, "cat-file": 1, "merge-base": 1})


def test_ci_candidates_are_resolved_by_one_process(feature: GitRepo, git_calls: Calls) -> None:
    r = Repository.discover(feature.path, snapshot=True)
    base = resolve_base(r, explicit=None, environ={"CHANGE_TARGET": "main"})
    assert (base.ref, base.sha, base.source) == ("main", feature.sha("main"), "jenkins")
    names = Counter(call[0] for call in git_calls())
    assert names == Counter({"rev-parse": 1, "cat-file": 1, "merge-base": 1})


def test_batched_resolution_answers_as_rev_parse_does(feature: GitRepo) -> None:
    feature.git("branch", "twin", "main")
    feature.git("tag", "twin", "feature~1")  # a branch and a tag of one name: ambiguous
    feature.git("tag", "-a", "-m", "annotated", "annotated", "main")
    feature.git("tag", "tree-tag", "main^{tree}")
    blob = feature.git("hash-object", "-w", "--stdin", input=b"a blob\n")
    feature.git("tag", "blob-tag", blob)
    r = Repository.discover(feature.path, snapshot=True)
    revs = [
        "twin", "heads/twin", "tags/twin", "annotated", "tree-tag", "blob-tag", "HEAD~1",
        "main", "no-such-branch", "origin/HEAD", "a name with spaces", "-looks-like-option",
        feature.sha("main")[:10], feature.sha("main"), blob, "2" * 40, ":/feature work", "@",
        " main", "main ", "%(objectname)", "main@{0}", "@{1}",
        # git cat-file stops at these (no upstream, not that many reflog entries):
        "HEAD@{upstream}", "main", "main@{99999}", "feature",
    ]  # fmt: skip
    assert r.verify_commits(revs) == [r.verify_commit(rev) for rev in revs]
    # git's own order for the ambiguous name: refs/tags/twin before refs/heads/twin
    tag, branch = feature.sha("feature~1"), feature.sha("main")
    assert r.verify_commits(revs)[:3] == [tag, branch, tag]


def test_verify_commits_of_nothing_runs_no_git(repo: GitRepo, git_calls: Calls) -> None:
    r = Repository.discover(repo.path, snapshot=True)
    assert r.verify_commits([]) == []
    assert len(git_calls()) == 1


def test_changes_and_history_read_the_working_tree_once(feature: GitRepo, git_calls: Calls) -> None:
    feature.write("feature.py", "f = 1\ng = 2\n")  # modified
    feature.write("src/new.py", "c = 3\n")  # untracked
    r = Repository.discover(feature.path, snapshot=True)
    base = resolve_base(r, explicit="main", environ={})
    changes = collect_changes(r, base)
    commits = history(r, base)
    assert changes.head_sha == feature.sha("HEAD")
    assert changes.dirty
    assert not changes.shallow
    assert [(f.path, sorted(f.lines)) for f in changes.files] == [
        ("feature.py", [1, 2]),
        ("src/new.py", [1]),
    ]
    assert [c.subject for c in commits] == ["feature work", "Uncommitted changes"]
    assert [(f.path, sorted(f.lines)) for f in commits[-1].files] == [
        ("feature.py", [2]),
        ("src/new.py", [1]),
    ]
    calls = git_calls()
    repeated = [call for call, n in Counter(calls).items() if n > 1]
    assert repeated == []
    assert [c for c in calls if c[0] == "rev-parse" and "main^{commit}" not in c] == [
        ("rev-parse", "--show-toplevel", "--is-shallow-repository",
         "--verify", "--quiet", "HEAD^{commit}"),
    ]  # fmt: skip
    assert len([c for c in calls if c[0] == "ls-files"]) == 1
    assert len([c for c in calls if c[0] == "config"]) == 1


def test_a_clean_tree_is_checked_once_for_changes(feature: GitRepo, git_calls: Calls) -> None:
    r = Repository.discover(feature.path, snapshot=True)
    base = resolve_base(r, explicit="main", environ={})
    assert not collect_changes(r, base).dirty
    assert [c.sha for c in history(r, base)] == [feature.sha("HEAD")]
    quiet = [c for c in git_calls() if c[:2] == ("diff", "--quiet")]
    assert len(quiet) == 1


def test_head_and_working_tree_are_read_once_by_concurrent_callers(
    feature: GitRepo, git_calls: Calls
) -> None:
    feature.write("feature.py", "f = 2\n")
    r = Repository.discover(feature.path, snapshot=True)
    results: list[object] = []

    def ask() -> None:
        results.append((r.untracked_files(), r.differs_from_head(), r.program_overrides))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [([], True, results[0][2])] * 4
    names = Counter(call[0] for call in git_calls())
    assert names == Counter({"rev-parse": 1, "ls-files": 1, "config": 1, "diff": 1})


def test_discover_still_tells_an_empty_repository(tmp_path: Path) -> None:
    make_repo(tmp_path / "empty")
    with pytest.raises(GitError, match="has no commits yet"):
        Repository.discover(tmp_path / "empty")


def test_discover_keeps_a_top_level_with_a_newline_in_its_name(tmp_path: Path) -> None:
    odd = make_repo(tmp_path / "odd\nname")
    odd.write("a.py", "a = 1\n")
    odd.commit("one")
    found = Repository.discover(odd.path)
    assert found.root == odd.path.resolve()
    assert found.head_sha() == odd.sha("HEAD")
    assert found.is_shallow() is False


def test_without_a_snapshot_every_question_asks_git_again(repo: GitRepo) -> None:
    r = Repository.discover(repo.path)
    first = r.head_sha()
    assert (r.untracked_files(), r.differs_from_head()) == ([], False)
    repo.write("src/app.py", "changed\n")
    repo.write("wip.py", "x = 1\n")
    assert (r.untracked_files(), r.differs_from_head()) == (["wip.py"], True)
    repo.commit("second")
    assert r.head_sha() == repo.sha("HEAD") != first
    assert (r.untracked_files(), r.differs_from_head()) == ([], False)


def test_a_snapshot_keeps_what_it_read_first(repo: GitRepo, git_calls: Calls) -> None:
    r = Repository.discover(repo.path, snapshot=True)
    head = r.head_sha()
    assert (r.untracked_files(), r.differs_from_head()) == ([], False)
    repo.write("wip.py", "x = 1\n")
    repo.commit("second")
    assert r.head_sha() == head
    assert (r.untracked_files(), r.differs_from_head()) == ([], False)
    assert Counter(c[0] for c in git_calls()) == Counter(
        {"rev-parse": 1, "ls-files": 1, "diff": 1, "config": 1}
    )


def test_a_snapshot_reads_shallowness_again_after_a_fetch(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("src/app.py", "two\n")
    repo.commit("second")
    clone = GitRepo(tmp_path / "shallow")
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone.path))
    r = Repository.discover(clone.path, snapshot=True)
    assert r.is_shallow()
    # A base that exists nowhere: the clone is unshallowed looking for it, then told so.
    with pytest.raises(GitError, match="not even after fetching its full history"):
        resolve_base(r, explicit="2" * 40, environ={})
    assert not r.is_shallow()
    assert r.head_sha() == clone.sha("HEAD")
