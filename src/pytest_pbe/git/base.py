"""Which revision new code is measured against: option/env, CI, the ini, the default branch.

The ini is part of the change being judged, so it ranks below the CI system's base.

In shallow CI checkouts the base or the merge-base may be missing; we deepen step by step
(never ``--depth`` on a complete clone) and, failing that, say exactly how to fix the job.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping

from pytest_pbe.errors import GitError
from pytest_pbe.git.models import BaseRevision
from pytest_pbe.git.runner import FETCH_TIMEOUT, Repository, UnsafeRevisionError

DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")
DEEPEN_STEPS: tuple[int | None, ...] = (50, 200, 1000, None)  # None: --unshallow
_ZERO_SHA = "0" * 40
_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
_EVENT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
EVENT_PAYLOAD_CAP = 16 * 1024 * 1024  # GitHub's payloads are far smaller; more is not one

SHALLOW_FIX = (
    "fetch the full history: `fetch-depth: 0` for actions/checkout, `GIT_DEPTH: 0` for "
    "GitLab CI, or `git fetch --unshallow` locally"
)


def resolve_base(
    repo: Repository,
    *,
    explicit: str | None,
    explicit_source: str = "option",
    environ: Mapping[str, str],
    allow_fetch: bool = True,
    configured: str | None = None,
    configured_source: str = "pbe_base",
) -> BaseRevision:
    """Find the base revision and its merge-base with HEAD; GitError (one line) if we can't.

    ``explicit`` (the command line) and ``PBE_BASE`` first, then the CI system's base, then
    ``configured`` (the project's ini), then the default branch.
    """
    head = repo.head_sha()
    if explicit is not None and explicit.strip():
        return _resolve(repo, [explicit.strip()], explicit_source, head, allow_fetch)
    env_base = environ.get("PBE_BASE", "").strip()
    if env_base:
        return _resolve(repo, [env_base], "env:PBE_BASE", head, allow_fetch)
    ci = ci_candidates(repo, environ, head)
    if ci is not None:
        refs, source = ci
        return _resolve(repo, refs, source, head, allow_fetch)
    if configured is not None and configured.strip():
        return _resolve(repo, [configured.strip()], configured_source, head, allow_fetch)
    for ref, sha in zip(DEFAULT_BRANCHES, repo.verify_commits(DEFAULT_BRANCHES), strict=True):
        if sha is not None:
            merge_base = _merge_base(repo, ref, sha, head, allow_fetch)
            return BaseRevision(ref=ref, sha=sha, merge_base=merge_base, source="default-branch")
    raise GitError(
        "cannot find a base revision to measure new code from: none of "
        f"{', '.join(DEFAULT_BRANCHES)} exists; pass --pbe-base <ref> or set PBE_BASE"
    )


def check_revision(ref: str) -> None:
    """Refuse revisions git could read as an option (or that cannot be an argument at all)."""
    if ref.startswith("-"):
        raise UnsafeRevisionError(
            f"refusing base revision {ref!r}: it starts with '-' and would be read as an "
            "option; pass a branch, tag or commit sha"
        )
    if any(ord(c) < 32 for c in ref):
        raise UnsafeRevisionError(
            f"refusing base revision {ref!r}: it contains control characters; "
            "pass a branch, tag or commit sha"
        )


def ci_candidates(
    repo: Repository, environ: Mapping[str, str], head: str
) -> tuple[list[str], str] | None:
    """The base the CI system says this build is about, as refs to try in order."""
    github = _github(repo, environ, head)
    if github is not None:
        return github
    sha = environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "").strip()
    if sha:
        return [sha], "gitlab"
    for var, source in (("SYSTEM_PULLREQUEST_TARGETBRANCH", "azure"), ("CHANGE_TARGET", "jenkins")):
        branch = environ.get(var, "").strip()
        if branch:
            branch = branch.removeprefix("refs/heads/")
            return [f"origin/{branch}", branch], source
    ref = environ.get("PRE_COMMIT_FROM_REF", "").strip()
    if ref:
        return [ref], "pre-commit"
    return None


def _github(
    repo: Repository, environ: Mapping[str, str], head: str
) -> tuple[list[str], str] | None:
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event not in ("pull_request", "pull_request_target", "merge_group", "push"):
        return None
    path = environ.get("GITHUB_EVENT_PATH", "")
    if not path:
        return None
    payload = _load_event(path)
    if event == "push":
        before = _event_sha(payload, path, "before")
        return ([before], "github:push") if before != _ZERO_SHA else None
    if event == "merge_group":
        return [_event_sha(payload, path, "merge_group", "base_sha")], "github:merge_group"
    base_sha = _event_sha(payload, path, "pull_request", "base", "sha")
    pr_head = _optional_event_sha(payload, path, "pull_request", "head", "sha")
    # actions/checkout builds refs/pull/N/merge: a two-parent merge of the PR into its base.
    # Its first parent is the base the PR was merged onto, newer than base.sha maybe.
    parents = raw_parents(repo, head)
    if len(parents) == 2 and (environ.get("GITHUB_SHA") == head or pr_head == parents[1]):
        return [parents[0]], "github:pull_request"
    return [base_sha], "github:pull_request"


class EventPayloadError(GitError):
    """GITHUB_EVENT_PATH names something that is not a well-formed event payload."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"GITHUB_EVENT_PATH={path}: the GitHub event payload {problem}; "
            "fix the CI job or pass --pbe-base <ref> to name the base yourself"
        )


def _load_event(path: str) -> Mapping[str, object]:
    """The payload's JSON object, read without blocking and at most the cap."""
    text = _read_event_bytes(path)
    try:
        data = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise EventPayloadError(path, "is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise EventPayloadError(
            path, f"is not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    except RecursionError:
        raise EventPayloadError(path, "is JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise EventPayloadError(path, f"is a JSON {type(data).__name__}, not an object")
    return data


def _read_event_bytes(path: str) -> bytes:
    # O_NONBLOCK: opening a FIFO nobody writes to returns at once instead of waiting.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise EventPayloadError(path, f"cannot be opened ({exc.strerror})") from None
    too_big = f"is larger than {EVENT_PAYLOAD_CAP // (1024 * 1024)} MiB"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EventPayloadError(path, "is not a regular file (a FIFO, device or directory)")
        if info.st_size > EVENT_PAYLOAD_CAP:
            raise EventPayloadError(path, too_big)
        data = _read_at_most(fd, EVENT_PAYLOAD_CAP + 1)
    except OSError as exc:
        raise EventPayloadError(path, f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > EVENT_PAYLOAD_CAP:  # it grew after the size was checked
        raise EventPayloadError(path, too_big)
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(1024 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _field(data: Mapping[str, object], keys: tuple[str, ...]) -> object:
    node: object = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _optional_event_sha(data: Mapping[str, object], path: str, *keys: str) -> str | None:
    """``_event_sha``, or None where the payload has no such field."""
    return None if _field(data, keys) is None else _event_sha(data, path, *keys)


def _event_sha(data: Mapping[str, object], path: str, *keys: str) -> str:
    """The commit sha at ``keys`` of the payload; EventPayloadError if it is not one."""
    node = _field(data, keys)
    where = ".".join(keys)
    if not isinstance(node, str):
        got = "missing" if node is None else f"a JSON {type(node).__name__}"
        raise EventPayloadError(path, f"has {where} {got}, not a commit sha")
    if not _EVENT_SHA.fullmatch(node):
        raise EventPayloadError(path, f"has {where} = {node[:80]!r}, not a full hex commit sha")
    return node


def raw_parents(repo: Repository, sha: str) -> list[str]:
    """Parents as recorded in the commit object (a shallow graft would hide them)."""
    out = repo.run("cat-file", "commit", sha)
    header = out.split(b"\n\n", 1)[0]
    return [ln[7:].decode("ascii") for ln in header.split(b"\n") if ln.startswith(b"parent ")]


def _resolve(
    repo: Repository, refs: list[str], source: str, head: str, allow_fetch: bool
) -> BaseRevision:
    for ref in refs:
        check_revision(ref)
    for ref, sha in zip(refs, repo.verify_commits(refs), strict=True):
        if sha is not None:
            return BaseRevision(ref, sha, _merge_base(repo, ref, sha, head, allow_fetch), source)
    was_shallow = repo.is_shallow()
    found = _fetch_missing(repo, refs, head, allow_fetch)
    if found is None:
        shown = " or ".join(repr(r) for r in refs)
        if repo.is_shallow():
            raise GitError(
                f"base revision {shown} (from {source}) is not in this shallow clone"
                f"{_no_fetch_note(allow_fetch)}; {SHALLOW_FIX}"
            )
        deepened = ", not even after fetching its full history" if was_shallow else ""
        raise GitError(
            f"base revision {shown} (from {source}) does not exist in {repo.root}{deepened}; "
            "pass an existing branch, tag or sha with --pbe-base, or fetch it first"
        )
    ref, sha = found
    return BaseRevision(ref, sha, _merge_base(repo, ref, sha, head, allow_fetch), source)


def _no_fetch_note(allow_fetch: bool) -> str:
    return "" if allow_fetch else " and fetching is switched off"


def _remote(repo: Repository) -> str | None:
    remotes = repo.remotes()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if len(remotes) == 1 else None


def _fetch_missing(
    repo: Repository, refs: list[str], head: str, allow_fetch: bool
) -> tuple[str, str] | None:
    """Fetch what is needed for one of ``refs`` to exist: that ref and its sha, or None."""
    remote = _remote(repo)
    if not allow_fetch or remote is None:
        return None
    shallow = repo.is_shallow()
    depth = ("--depth=50",) if shallow else ()  # never --depth on a complete clone
    for ref in refs:
        prefix = f"{remote}/"
        if ref.startswith(prefix) and len(ref) > len(prefix):
            branch = ref[len(prefix) :]
            spec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
            if _fetch(repo, remote, depth, spec) and (sha := repo.verify_commit(ref)):
                return ref, sha
        elif (
            _FULL_SHA.fullmatch(ref)
            and _fetch(repo, remote, depth, ref)
            and (sha := repo.verify_commit(ref))
        ):
            return ref, sha
    if shallow:  # an abbreviated sha or a name we cannot fetch: it may be deeper in history
        for step in DEEPEN_STEPS:
            _deepen(repo, remote, step, head)
            for ref, sha in zip(refs, repo.verify_commits(refs), strict=True):
                if sha is not None:
                    return ref, sha
            if not repo.is_shallow():
                break
    return None


def _merge_base(repo: Repository, ref: str, sha: str, head: str, allow_fetch: bool) -> str:
    """merge-base of ``sha`` and HEAD, deepening a shallow clone step by step if needed."""
    for step in (0, *DEEPEN_STEPS):  # 0: look before fetching anything
        if step != 0:
            remote = _remote(repo)
            if not allow_fetch or remote is None:
                break
            _deepen(repo, remote, step, head, sha)
        proc = repo.run_process("merge-base", sha, head)
        if proc.returncode == 0:
            return proc.stdout.decode("ascii").strip()
        if proc.returncode != 1:
            raise repo.error(("merge-base",), proc.stderr)
        if not repo.is_shallow():  # complete history: genuinely unrelated
            raise GitError(
                f"{ref!r} and HEAD have no common ancestor (unrelated histories); "
                "pass a base on the branch this one grew from with --pbe-base"
            )
    raise GitError(
        f"no merge-base of {ref!r} and HEAD in this shallow clone"
        f"{_no_fetch_note(allow_fetch)}; {SHALLOW_FIX}"
    )


def _deepen(repo: Repository, remote: str, step: int | None, *wants: str) -> None:
    how = "--unshallow" if step is None else f"--deepen={step}"
    # Asking for HEAD (and the base) by sha deepens their histories even when they are not
    # on a fetched branch (refs/pull/N/merge); servers that refuse shas get the default.
    if _fetch(repo, remote, (how,), *wants) or _fetch(repo, remote, (how,)):
        return
    raise GitError(f"git fetch {how} {remote} failed; {SHALLOW_FIX}")


def _fetch(repo: Repository, remote: str, options: tuple[str, ...], *refspecs: str) -> bool:
    proc = repo.run_process(
        "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head",
        *repo.fetch_options(remote), *options, remote, *refspecs,
        timeout=FETCH_TIMEOUT,
    )  # fmt: skip
    return proc.returncode == 0
