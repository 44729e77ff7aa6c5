"""Reading what the git layer does not offer yet: blobs at a revision, the raw log.

Everything goes through ``Repository.run`` (the safe git runner), one process per batch:
``git cat-file --batch`` for file contents, one ``git log --raw`` for the whole range.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pytest_pbe.errors import ParseError
from pytest_pbe.git.diff import RawEntry, parse_raw_z
from pytest_pbe.git.runner import Repository

BlobKey = tuple[str, str]  # (revision, repo-relative path)


def read_blobs(
    repo: Repository,
    keys: Iterable[BlobKey],
    *,
    head: str | None = None,
    disk: Callable[[str], bytes | None] | None = None,
) -> dict[BlobKey, bytes | None]:
    """The content of each ``(rev, path)``; None where the path does not exist there.

    With ``head`` (a revision, usually the one HEAD points to) and ``disk`` (working tree
    contents), a file of ``head`` whose working-tree content has the very blob id recorded
    in ``head`` is taken from disk (the same bytes by construction: nothing trusts stat data
    or filters), so a big final commit costs one ``git ls-tree`` instead of reading blobs.
    """
    wanted: list[BlobKey] = []
    seen: set[BlobKey] = set()
    for key in keys:
        if key not in seen and "\n" not in key[1] and "\n" not in key[0]:
            seen.add(key)
            wanted.append(key)
    result: dict[BlobKey, bytes | None] = dict.fromkeys(seen)
    if head is not None and disk is not None and any(rev == head for rev, _ in wanted):
        ids = tree_blob_ids(repo, head)
        rest: list[BlobKey] = []
        for key in wanted:
            expected = ids.get(key[1]) if key[0] == head else None
            data = disk(key[1]) if expected is not None else None
            if data is not None and blob_id(data, len(expected or "")) == expected:
                result[key] = data
            else:
                rest.append(key)
        wanted = rest
    if not wanted:
        return result
    request = b"".join(f"{rev}:{path}\n".encode() for rev, path in wanted)
    out = repo.run("cat-file", "--batch", input=request)
    pos = 0
    for key in wanted:
        nl = out.find(b"\n", pos)
        if nl == -1:
            raise ParseError(f"git cat-file --batch stopped early, at {key[0]}:{key[1]}")
        header = out[pos:nl]
        pos = nl + 1
        if header.endswith((b" missing", b" ambiguous")):
            continue
        parts = header.split(b" ")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ParseError(f"unexpected git cat-file header: {header[:80]!r}")
        size = int(parts[2])
        data = out[pos : pos + size]
        pos += size + 1  # the content is followed by one newline
        if parts[1] == b"blob":
            result[key] = data
    return result


def tree_blob_ids(repo: Repository, rev: str) -> dict[str, str]:
    """Repo-relative path -> blob id of every regular file in ``rev``'s tree."""
    out = repo.run("ls-tree", "-r", "-z", "--full-tree", rev)
    ids: dict[str, str] = {}
    for record in out.split(b"\0"):
        meta, tab, path = record.partition(b"\t")
        parts = meta.split(b" ")
        if tab and len(parts) == 3 and parts[1] == b"blob" and parts[0] in (b"100644", b"100755"):
            ids[os.fsdecode(path)] = parts[2].decode("ascii")
    return ids


def blob_id(data: bytes, length: int = 40) -> str:
    """git's object id of a blob with this content (sha1, or sha256 for 64-digit ids)."""
    digest = hashlib.sha256 if length == 64 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RawLog:
    """Per commit of the range, every path it touched (deletions and pure renames too)."""

    entries: Mapping[str, tuple[RawEntry, ...]]

    def renames(self) -> list[tuple[str, str]]:
        """``(old, new)`` pairs in history order (oldest first)."""
        return [
            (e.old_path, e.path)
            for entries in self.entries.values()
            for e in entries
            if e.status == "R" and e.old_path is not None
        ]


def raw_log(repo: Repository, merge_base: str, head: str) -> RawLog:
    """One ``git log --raw`` over ``merge_base..head`` (merges left out: they are exempt)."""
    out = repo.run(
        "log", "--topo-order", "--reverse", "--no-merges", "-M", "--raw", "-z", "--no-abbrev",
        "--no-ext-diff", "--no-textconv", "--no-color", "--no-relative", "--format=%x01%H",
        f"{merge_base}..{head}", "--",
    )  # fmt: skip
    entries: dict[str, tuple[RawEntry, ...]] = {}
    for chunk in out.split(b"\x01")[1:]:
        sha = chunk[:40].decode("ascii", "replace")
        rest = chunk[40:].lstrip(b"\0\n")
        parsed, _ = parse_raw_z(rest)
        entries[sha] = tuple(parsed)
    return RawLog(entries)


def listed_files(repo: Repository) -> list[str]:
    """Tracked and untracked (not ignored) files of the working tree, repo-relative."""
    return sorted(set(repo.list_files(untracked=True)))


def changed_paths(repo: Repository, old: str, new: str | None) -> list[tuple[str, str]]:
    """``(status, path)`` between two revisions (``new`` None: the working tree), no renames."""
    args = ["diff", "--no-renames", "--name-status", "-z", "--no-ext-diff", "--no-textconv", old]
    if new is not None:
        args.append(new)
    out = repo.run(*args, "--", config=repo.filter_overrides if new is None else ())
    fields = [os.fsdecode(f) for f in out.split(b"\0") if f]
    return [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
