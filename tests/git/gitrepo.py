"""Real git repositories under tmp_path, with deterministic identities and dates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pytest_pbe.git import BaseRevision

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2024-01-02T03:04:05+00:00",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_COMMITTER_DATE": "2024-01-02T03:04:05+00:00",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}

# Variables a developer's shell or a CI runner may have set that would leak into tests.
_SCRUB = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "PBE_BASE",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_SHA",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "SYSTEM_PULLREQUEST_TARGETBRANCH",
    "CHANGE_TARGET",
    "PRE_COMMIT_FROM_REF",
)


class GitRepo:
    """A throwaway repository with helpers that speak in the test's terms."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tick = 0

    def git(self, *args: str, input: bytes | None = None) -> str:
        env = {**os.environ, **GIT_ENV}
        # Each commit a second later than the last, so ordering by date is meaningful.
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = (
            f"2024-01-02T03:04:{self._tick:02d}+00:00"
        )
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            input=input,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {args} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode(errors="surrogateescape").strip()

    def write(self, rel: str, content: str | bytes) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        return target

    def commit(self, message: str, *paths: str) -> str:
        self.git("add", "-A", "--", *(paths or (".",)))
        self._tick = (self._tick + 1) % 60
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.sha("HEAD")

    def sha(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")

    def base_at(self, rev: str) -> BaseRevision:
        sha = self.sha(rev)
        return BaseRevision(ref=rev, sha=sha, merge_base=sha, source="option")


def make_repo(path: Path, *, branch: str = "main") -> GitRepo:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "-q", "-b", branch, str(path)],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return GitRepo(path)
