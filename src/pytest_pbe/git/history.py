"""The commits of merge_base..HEAD with their added lines, from ONE ``git log`` process.

Order: ``--topo-order --reverse``, so every commit comes after its parents and the commits
of one line of work stay together (what a test-first judgement needs), oldest first.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from pytest_pbe.errors import ParseError
from pytest_pbe.git.classify import Classifier
from pytest_pbe.git.diff import (
    DIFF_OPTIONS,
    diff_to_worktree,
    file_changes,
    is_dirty,
    untracked_changes,
    untracked_paths,
)
from pytest_pbe.git.models import BaseRevision, Commit, FileChange
from pytest_pbe.git.runner import Repository

UNCOMMITTED_SUBJECT = "Uncommitted changes"


def history(
    repo: Repository,
    base: BaseRevision,
    *,
    include_uncommitted: bool = True,
    classifier: Classifier | None = None,
) -> list[Commit]:
    """Commits of ``base.merge_base..HEAD`` oldest first, plus the uncommitted pseudo-commit."""
    classifier = classifier or Classifier()
    head = repo.head_sha()
    # A fresh random marker per call: no commit message or file can contain it by accident.
    marker = secrets.token_hex(12).encode("ascii")
    fmt = (
        f"--format=%x00{marker.decode()}%x00%H%x00%P%x00%aI%x00%s%x00"
        "%(trailers:only,unfold,separator=%x00,key_value_separator=%x00)"
        f"%x00{marker.decode()}.%x00"
    )
    out = repo.run(
        "log", "--topo-order", "--reverse", *DIFF_OPTIONS, fmt,
        f"{base.merge_base}..{head}", "--",
    )  # fmt: skip
    commits = parse_log(out, marker, classifier)
    if include_uncommitted:
        pseudo = uncommitted_commit(repo, head, classifier)
        if pseudo is not None:
            commits.append(pseudo)
    return commits


def parse_log(out: bytes, marker: bytes, classifier: Classifier) -> list[Commit]:
    """Split the one ``git log`` output into commits (see ``history`` for the format)."""
    records = out.split(b"\0" + marker + b"\0")
    if records[0].strip(b"\0\n"):
        raise ParseError(f"unexpected git log output before the first commit: {records[0][:80]!r}")
    commits: list[Commit] = []
    for record in records[1:]:
        header, sep, rest = record.partition(b"\0" + marker + b".\0")
        if not sep:
            raise ParseError(f"truncated git log record: {record[:80]!r}")
        fields = header.split(b"\0")
        if len(fields) < 5:
            raise ParseError(f"git log record has {len(fields)} fields: {header[:80]!r}")
        sha, parents, date, subject, *rest_fields = (f.decode("utf-8", "replace") for f in fields)
        trailers = _pairs(rest_fields)
        is_merge = len(parents.split()) > 1
        files: list[FileChange] = []
        if not is_merge:  # merges are judged by their parents; ignore any diff git prints
            files = file_changes(rest.lstrip(b"\0\n"), classifier=classifier)
            files.sort(key=lambda f: f.path)
        commits.append(
            Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author_date=date,
                subject=subject,
                trailers=trailers,
                files=tuple(files),
                is_merge=is_merge,
            )
        )
    return commits


def _pairs(fields: list[str]) -> tuple[tuple[str, str], ...]:
    if fields in ([], [""]):
        return ()
    if len(fields) % 2:
        raise ParseError(f"odd number of trailer fields: {fields[:6]!r}")
    return tuple((fields[i].strip(), fields[i + 1].strip()) for i in range(0, len(fields), 2))


def uncommitted_commit(repo: Repository, head: str, classifier: Classifier) -> Commit | None:
    """HEAD -> working tree (+ untracked files) as a commit with sha None; None if clean."""
    untracked = untracked_paths(repo)
    if not is_dirty(repo, untracked):
        return None
    files = file_changes(
        diff_to_worktree(repo, head),
        classifier=classifier,
        untracked=untracked_changes(repo, untracked, classifier),
    )
    files.sort(key=lambda f: f.path)
    return Commit(
        sha=None,
        parents=(head,),
        author_date=datetime.now().astimezone().isoformat(timespec="seconds"),
        subject=UNCOMMITTED_SUBJECT,
        trailers=(),
        files=tuple(files),
        is_merge=False,
    )
