from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitrepo import GitRepo, make_repo

from pytest_pbe.errors import GitError
from pytest_pbe.git import (
    BaseRevision,
    Repository,
    UnsafeRevisionError,
    collect_changes,
    resolve_base,
)

ZERO = "0" * 40


def discover(repo: GitRepo) -> Repository:
    return Repository.discover(repo.path)


def test_explicit_option(feature: GitRepo) -> None:
    base = resolve_base(discover(feature), explicit="main", environ={"PBE_BASE": "feature"})
    assert base == BaseRevision(
        ref="main",
        sha=feature.sha("main"),
        merge_base=feature.sha("main~1"),
        source="option",
    )


def test_explicit_source_is_recorded(feature: GitRepo) -> None:
    base = resolve_base(discover(feature), explicit="main", explicit_source="ini", environ={})
    assert base.source == "ini"


def test_env_pbe_base(feature: GitRepo) -> None:
    base = resolve_base(discover(feature), explicit=None, environ={"PBE_BASE": "main~1"})
    assert (base.ref, base.source, base.sha) == ("main~1", "env:PBE_BASE", feature.sha("main~1"))


@pytest.mark.parametrize("bad", ["-x", "--output=/tmp/pwned", "-"])
def test_option_like_base_is_refused(repo: GitRepo, bad: str) -> None:
    with pytest.raises(UnsafeRevisionError, match="starts with '-'"):
        resolve_base(discover(repo), explicit=bad, environ={})
    with pytest.raises(UnsafeRevisionError):
        resolve_base(discover(repo), explicit=None, environ={"PBE_BASE": bad})
    assert issubclass(UnsafeRevisionError, GitError)


def test_missing_base(repo: GitRepo) -> None:
    with pytest.raises(GitError, match=r"'nope' \(from option\) does not exist") as info:
        resolve_base(discover(repo), explicit="nope", environ={})
    assert "\n" not in str(info.value)


def test_base_that_is_not_a_commit(repo: GitRepo) -> None:
    tree = repo.git("rev-parse", "HEAD^{tree}")
    with pytest.raises(GitError, match="does not exist"):
        resolve_base(discover(repo), explicit=tree, environ={})


def test_default_branch_local_main(feature: GitRepo) -> None:
    base = resolve_base(discover(feature), explicit=None, environ={})
    assert (base.ref, base.source) == ("main", "default-branch")
    assert base.merge_base == feature.sha("main~1")


def test_on_main_without_origin_new_code_is_uncommitted_work(repo: GitRepo) -> None:
    r = discover(repo)
    base = resolve_base(r, explicit=None, environ={})
    assert (base.ref, base.sha, base.merge_base) == ("main", repo.sha("HEAD"), repo.sha("HEAD"))
    assert collect_changes(r, base).files == ()
    repo.write("wip.py", "x\n")
    assert [f.path for f in collect_changes(r, base).files] == ["wip.py"]


def test_default_branch_master(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "r", branch="master")
    r.write("a", "a\n")
    r.commit("a")
    assert resolve_base(Repository.discover(r.path), explicit=None, environ={}).ref == "master"


def test_no_default_branch(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "r", branch="trunk")
    r.write("a", "a\n")
    r.commit("a")
    with pytest.raises(GitError, match="--pbe-base") as info:
        resolve_base(Repository.discover(r.path), explicit=None, environ={})
    assert "\n" not in str(info.value)


def test_default_branch_prefers_origin_head(feature: GitRepo, tmp_path: Path) -> None:
    clone = GitRepo(tmp_path / "clone")
    feature.git("clone", "-q", "--no-local", str(feature.path), str(clone.path))
    clone.git("checkout", "-q", "-b", "topic", "origin/feature")
    base = resolve_base(discover(clone), explicit=None, environ={})
    # origin/HEAD points at the clone source's checked-out branch: feature
    assert (base.ref, base.source) == ("origin/HEAD", "default-branch")
    clone.git("remote", "set-head", "origin", "--delete")
    assert resolve_base(discover(clone), explicit=None, environ={}).ref == "origin/main"


def test_detached_head(feature: GitRepo) -> None:
    feature.git("checkout", "-q", "--detach", "HEAD")
    r = discover(feature)
    base = resolve_base(r, explicit=None, environ={})
    assert base.ref == "main"
    assert [f.path for f in collect_changes(r, base).files] == ["feature.py"]


def test_unrelated_histories(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--orphan", "lonely")
    repo.write("x.py", "x\n")
    repo.commit("lonely root")
    with pytest.raises(GitError, match="no common ancestor") as info:
        resolve_base(discover(repo), explicit="main", environ={})
    assert "\n" not in str(info.value)


# --- CI environments ------------------------------------------------------------------


def event(tmp_path: Path, payload: dict[str, object]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_github_pull_request_base_sha(feature: GitRepo, tmp_path: Path) -> None:
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": event(
            tmp_path, {"pull_request": {"base": {"sha": feature.sha("main")}}}
        ),
    }
    base = resolve_base(discover(feature), explicit=None, environ=env)
    assert (base.sha, base.source) == (feature.sha("main"), "github:pull_request")
    assert base.merge_base == feature.sha("main~1")


def test_github_pull_request_target(feature: GitRepo, tmp_path: Path) -> None:
    env = {
        "GITHUB_EVENT_NAME": "pull_request_target",
        "GITHUB_EVENT_PATH": event(
            tmp_path, {"pull_request": {"base": {"sha": feature.sha("main")}}}
        ),
    }
    assert (
        resolve_base(discover(feature), explicit=None, environ=env).source == "github:pull_request"
    )


def test_github_pull_request_merge_commit_uses_first_parent(
    feature: GitRepo, tmp_path: Path
) -> None:
    pr_head = feature.sha("feature")
    old_base = feature.sha("main~1")
    feature.git("checkout", "-q", "--detach", "main")
    feature.git("merge", "-q", "--no-ff", "-m", "Merge pr into main", pr_head)
    merge = feature.sha("HEAD")
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_SHA": merge,
        "GITHUB_EVENT_PATH": event(
            tmp_path, {"pull_request": {"base": {"sha": old_base}, "head": {"sha": pr_head}}}
        ),
    }
    r = discover(feature)
    base = resolve_base(r, explicit=None, environ=env)
    assert (base.ref, base.sha, base.merge_base) == (feature.sha("main"),) * 3
    assert [f.path for f in collect_changes(r, base).files] == ["feature.py"]


def test_github_merge_group(feature: GitRepo, tmp_path: Path) -> None:
    env = {
        "GITHUB_EVENT_NAME": "merge_group",
        "GITHUB_EVENT_PATH": event(tmp_path, {"merge_group": {"base_sha": feature.sha("main")}}),
    }
    base = resolve_base(discover(feature), explicit=None, environ=env)
    assert (base.sha, base.source) == (feature.sha("main"), "github:merge_group")


def test_github_push(feature: GitRepo, tmp_path: Path) -> None:
    env = {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": event(tmp_path, {"before": feature.sha("main~1")}),
    }
    base = resolve_base(discover(feature), explicit=None, environ=env)
    assert (base.sha, base.source) == (feature.sha("main~1"), "github:push")


def test_github_push_of_new_branch_falls_back(feature: GitRepo, tmp_path: Path) -> None:
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": event(tmp_path, {"before": ZERO})}
    assert resolve_base(discover(feature), explicit=None, environ=env).source == "default-branch"


def test_github_other_event_falls_back(feature: GitRepo) -> None:
    env = {"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_EVENT_PATH": "/nonexistent"}
    assert resolve_base(discover(feature), explicit=None, environ=env).source == "default-branch"


def test_github_unreadable_payload(feature: GitRepo, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(bad)}
    with pytest.raises(GitError, match="GitHub event payload") as info:
        resolve_base(discover(feature), explicit=None, environ=env)
    assert "\n" not in str(info.value)


def test_gitlab(feature: GitRepo) -> None:
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": feature.sha("main~1")}
    base = resolve_base(discover(feature), explicit=None, environ=env)
    assert (base.sha, base.source) == (feature.sha("main~1"), "gitlab")


@pytest.mark.parametrize(
    ("var", "value", "source"),
    [
        ("SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main", "azure"),
        ("SYSTEM_PULLREQUEST_TARGETBRANCH", "main", "azure"),
        ("CHANGE_TARGET", "main", "jenkins"),
    ],
)
def test_target_branch_sources(
    feature: GitRepo, tmp_path: Path, var: str, value: str, source: str
) -> None:
    # Without a remote the local branch is used...
    base = resolve_base(discover(feature), explicit=None, environ={var: value})
    assert (base.ref, base.source) == ("main", source)
    # ...and in a clone the remote-tracking branch wins.
    clone = GitRepo(tmp_path / "clone")
    feature.git("clone", "-q", "--no-local", str(feature.path), str(clone.path))
    base = resolve_base(discover(clone), explicit=None, environ={var: value})
    assert (base.ref, base.source) == ("origin/main", source)


def test_pre_commit(feature: GitRepo) -> None:
    env = {"PRE_COMMIT_FROM_REF": feature.sha("main")}
    base = resolve_base(discover(feature), explicit=None, environ=env)
    assert (base.sha, base.source) == (feature.sha("main"), "pre-commit")


def test_env_and_option_beat_ci(feature: GitRepo) -> None:
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": feature.sha("main"), "PBE_BASE": "main~1"}
    assert resolve_base(discover(feature), explicit=None, environ=env).source == "env:PBE_BASE"


def test_missing_ci_base_is_an_error(feature: GitRepo) -> None:
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": "1" * 40}
    with pytest.raises(GitError, match="gitlab"):
        resolve_base(discover(feature), explicit=None, environ=env)


# --- shallow clones ----------------------------------------------------------------------


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[GitRepo, str]:
    """A bare 'origin' whose main has 120 commits; 'feature' forks at main~100 (+3)."""
    work = make_repo(tmp_path / "upstream-work")
    for i in range(20):
        work.write("log.txt", f"{i}\n")
        work.commit(f"main {i}")
    work.git("checkout", "-q", "-b", "feature")
    for i in range(3):
        work.write(f"feat{i}.py", "x\n")
        work.commit(f"feature {i}")
    work.git("checkout", "-q", "main")
    # a long main after the fork, written fast with fast-import
    stream = "".join(
        f"commit refs/heads/main\ncommitter A <a@b> {1700000000 + i} +0000\n"
        f"data 2\nm\n{'from refs/heads/main^0' + chr(10) if i == 0 else ''}"
        f"M 644 inline log.txt\ndata {len(str(i)) + 1}\n{i}\n\n"
        for i in range(100)
    )
    work.git("fast-import", "--quiet", input=stream.encode())
    work.git("reset", "-q", "--hard")
    bare = tmp_path / "origin.git"
    work.git("clone", "-q", "--bare", str(work.path), str(bare))
    fork = work.git("merge-base", "main", "feature")
    return GitRepo(bare), fork


def shallow_clone(tmp_path: Path, bare: GitRepo, branch: str) -> GitRepo:
    clone = GitRepo(tmp_path / "shallow")
    bare.git(
        "clone", "-q", "--depth", "1", "--branch", branch, f"file://{bare.path}", str(clone.path)
    )
    return clone


def test_shallow_clone_deepens_to_remote_base(
    upstream: tuple[GitRepo, str], tmp_path: Path
) -> None:
    bare, fork = upstream
    clone = shallow_clone(tmp_path, bare, "feature")
    r = discover(clone)
    assert r.is_shallow()
    base = resolve_base(r, explicit="origin/main", environ={})
    assert base.merge_base == fork
    assert base.sha == bare.git("rev-parse", "main")
    cs = collect_changes(r, base)
    assert [f.path for f in cs.files] == ["feat0.py", "feat1.py", "feat2.py"]


def test_shallow_clone_deepens_to_sha_base(upstream: tuple[GitRepo, str], tmp_path: Path) -> None:
    bare, fork = upstream
    clone = shallow_clone(tmp_path, bare, "feature")
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": fork}
    base = resolve_base(discover(clone), explicit=None, environ=env)
    assert (base.sha, base.merge_base, base.source) == (fork, fork, "gitlab")


def test_shallow_clone_default_branch_sha_not_reachable(
    upstream: tuple[GitRepo, str], tmp_path: Path
) -> None:
    bare, fork = upstream
    clone = shallow_clone(tmp_path, bare, "feature")
    base = resolve_base(discover(clone), explicit=bare.git("rev-parse", "main~50"), environ={})
    assert base.merge_base == fork


def test_shallow_github_merge_commit(upstream: tuple[GitRepo, str], tmp_path: Path) -> None:
    bare, fork = upstream
    work = GitRepo(tmp_path / "upstream-work")
    work.git("checkout", "-q", "--detach", "main")
    work.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    work.git("push", "-q", str(bare.path), "HEAD:refs/heads/pr-merge")
    merge = work.sha("HEAD")
    clone = shallow_clone(tmp_path, bare, "pr-merge")
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_SHA": merge,
        "GITHUB_EVENT_PATH": event(
            tmp_path,
            {"pull_request": {"base": {"sha": fork}, "head": {"sha": work.sha("feature")}}},
        ),
    }
    r = discover(clone)
    base = resolve_base(r, explicit=None, environ=env)
    assert base.sha == base.merge_base == work.sha("main")
    assert [f.path for f in collect_changes(r, base).files] == ["feat0.py", "feat1.py", "feat2.py"]


def test_shallow_without_fetch_names_the_fix(upstream: tuple[GitRepo, str], tmp_path: Path) -> None:
    bare, _ = upstream
    clone = shallow_clone(tmp_path, bare, "feature")
    with pytest.raises(GitError) as info:
        resolve_base(discover(clone), explicit="origin/main", environ={}, allow_fetch=False)
    message = str(info.value)
    assert "fetch-depth: 0" in message
    assert "GIT_DEPTH: 0" in message
    assert "\n" not in message
    assert clone.git("rev-list", "--count", "HEAD") == "1"  # nothing was fetched


def test_shallow_with_base_present_but_no_merge_base_without_fetch(
    upstream: tuple[GitRepo, str], tmp_path: Path
) -> None:
    bare, _ = upstream
    clone = shallow_clone(tmp_path, bare, "feature")
    clone.git("fetch", "-q", "--depth", "1", "origin", "+refs/heads/main:refs/remotes/origin/main")
    with pytest.raises(GitError, match="fetch-depth: 0"):
        resolve_base(discover(clone), explicit="origin/main", environ={}, allow_fetch=False)


def test_shallow_base_that_exists_nowhere(upstream: tuple[GitRepo, str], tmp_path: Path) -> None:
    bare, _ = upstream
    clone = shallow_clone(tmp_path, bare, "feature")
    with pytest.raises(GitError, match="not even after fetching its full history") as info:
        resolve_base(discover(clone), explicit="2" * 40, environ={})
    assert "\n" not in str(info.value)


def test_complete_clone_fetches_missing_remote_branch_without_depth(
    feature: GitRepo, tmp_path: Path
) -> None:
    clone = GitRepo(tmp_path / "clone")
    feature.git("clone", "-q", "--no-local", str(feature.path), str(clone.path))
    feature.git("branch", "release", "main")  # appears upstream after the clone was made
    r = discover(clone)
    with pytest.raises(GitError, match="does not exist"):
        resolve_base(r, explicit="origin/release", environ={}, allow_fetch=False)
    base = resolve_base(r, explicit="origin/release", environ={})
    assert base.sha == feature.sha("main")
    assert not r.is_shallow()  # no --depth on a complete clone
