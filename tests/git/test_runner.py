from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import GitRepo, make_repo

from pytest_pbe.errors import GitError
from pytest_pbe.git import Repository
from pytest_pbe.git.runner import child_environment, explain_failure


def test_discover_from_subdirectory(repo: GitRepo) -> None:
    (repo.path / "src" / "deep").mkdir()
    found = Repository.discover(repo.path / "src" / "deep")
    assert found.root == repo.path.resolve()
    assert found.head_sha() == repo.sha("HEAD")
    assert not found.is_shallow()


def test_discover_from_a_file(repo: GitRepo) -> None:
    assert Repository.discover(repo.path / "src" / "app.py").root == repo.path.resolve()


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="not inside a git repository") as info:
        Repository.discover(tmp_path / "plain")
    assert "\n" not in str(info.value)


def test_no_commits(tmp_path: Path) -> None:
    make_repo(tmp_path / "empty")
    with pytest.raises(GitError, match="has no commits yet") as info:
        Repository.discover(tmp_path / "empty")
    assert "\n" not in str(info.value)


def test_git_not_installed(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    found = Repository.discover(repo.path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(GitError, match="git is not installed"):
        Repository.discover(repo.path)
    with pytest.raises(GitError, match="git is not installed"):
        found.head_sha()


def test_dubious_ownership_message() -> None:
    stderr = (
        b"fatal: detected dubious ownership in repository at '/w/r'\n"
        b"To add an exception for this directory, call:\n\n"
        b"\tgit config --global --add safe.directory /w/r\n"
    )
    msg = explain_failure(("status",), stderr, Path("/w/r"))
    assert "git config --global --add safe.directory /w/r" in msg
    assert "\n" not in msg


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_dubious_ownership_real(repo: GitRepo) -> None:
    os.chown(repo.path, 12345, 12345)
    with pytest.raises(GitError, match=r"safe\.directory") as info:
        Repository.discover(repo.path)
    assert "\n" not in str(info.value)


def test_failure_message_is_first_line_of_stderr(repo: GitRepo) -> None:
    r = Repository.discover(repo.path)
    with pytest.raises(
        GitError, match=r"^git cat-file failed: fatal: Not a valid object name"
    ) as info:
        r.run("cat-file", "-t", "no-such-object")
    assert "\n" not in str(info.value)
    assert r.run("cat-file", "-t", "no-such-object", check=False) == b""


def test_run_passes_input(repo: GitRepo) -> None:
    r = Repository.discover(repo.path)
    out = r.run("hash-object", "--stdin", input=b"hello\n")
    assert out.strip() == b"ce013625030ba8dba906f756967f9e9ca394464a"


def test_child_environment_drops_redirections() -> None:
    env = child_environment(
        {
            "GIT_DIR": "/elsewhere",
            "GIT_WORK_TREE": "/elsewhere",
            "GIT_INDEX_FILE": "/x",
            "GIT_EXTERNAL_DIFF": "evil",
            "GIT_PAGER": "evil",
            "GIT_TRACE": "1",
            "GIT_CEILING_DIRECTORIES": "/keep",
            "GIT_SSH_COMMAND": "ssh -i key",
            "HOME": "/home/u",
            "LANG": "de_DE.UTF-8",
        }
    )
    for gone in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_EXTERNAL_DIFF", "GIT_PAGER"):
        assert gone not in env
    assert "GIT_TRACE" not in env
    assert env["GIT_CEILING_DIRECTORIES"] == "/keep"
    assert env["GIT_SSH_COMMAND"] == "ssh -i key"
    assert env["LC_ALL"] == "C"
    assert env["GIT_OPTIONAL_LOCKS"] == "0"
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_redirecting_environment_is_ignored(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_repo(tmp_path / "other")
    other.write("x", "x\n")
    other.commit("other")
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    r = Repository.discover(repo.path)
    assert r.root == repo.path.resolve()
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert r.head_sha() == repo.sha("HEAD")


def test_repository_config_cannot_run_programs(repo: GitRepo, tmp_path: Path) -> None:
    """fsmonitor, external diff, textconv, clean filters, hooks: none may execute."""
    marker = tmp_path / "executed"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\necho $0 >> {marker}\ncat\n")
    script.chmod(0o755)
    for key in (
        "core.fsmonitor",
        "diff.external",
        "diff.evil.textconv",
        "filter.evil.clean",
        "filter.evil.smudge",
        "core.pager",
        "gpg.program",
    ):
        repo.git("config", key, str(script))
    repo.git("config", "log.showSignature", "true")
    repo.write(".gitattributes", "* diff=evil filter=evil\n")
    repo.commit("attributes")
    marker.unlink(missing_ok=True)
    repo.write("src/app.py", "changed\n")
    repo.write("new.py", "x = 1\n")

    from pytest_pbe.git import collect_changes, history

    r = Repository.discover(repo.path)
    base = repo.base_at("HEAD~1")
    changes = collect_changes(r, base)
    history(r, base)
    assert not marker.exists(), marker.read_text()
    assert changes.lines_for("src/app.py") == {1}


def test_no_shell_is_involved(repo: GitRepo) -> None:
    r = Repository.discover(repo.path)
    # A revision full of shell syntax is just a (missing) name to git.
    assert r.run("rev-parse", "--verify", "--quiet", "$(touch pwned); x", check=False) == b""
    assert not (repo.path / "pwned").exists()
    assert not Path("pwned").exists()
