"""Reading what the git layer does not offer yet: blobs at a revision, the raw log.

Everything goes through ``Repository.run`` (the safe git runner), one process per batch:
``git cat-file --batch`` for file contents, one ``git log --raw`` for the whole range.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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
    known: Mapping[BlobKey, str] | None = None,
) -> dict[BlobKey, bytes | None]:
    """The content of each ``(rev, path)``; None where the path does not exist there.

    With ``disk`` (working tree contents), a key whose blob id is known, and equals the id
    of the working tree's content, is taken from disk (the same bytes by construction:
    nothing trusts stat data or filters). The ids come from ``known`` (the raw log's, for
    every file a commit of the range changed) and, for the other keys at ``head`` (a
    revision, usually the one HEAD points to), from one ``git ls-tree``. Files unchanged
    since their commit then cost no git read at all.
    """
    wanted: list[BlobKey] = []
    seen: set[BlobKey] = set()
    for key in keys:
        if key not in seen and "\n" not in key[1] and "\n" not in key[0]:
            seen.add(key)
            wanted.append(key)
    result: dict[BlobKey, bytes | None] = dict.fromkeys(seen)
    if disk is not None:
        ids = dict(known or {})
        if head is not None and any(k[0] == head and k not in ids for k in wanted):
            tree = tree_blob_ids(repo, head)
            for key in wanted:
                if key[0] == head and key not in ids and key[1] in tree:
                    ids[key] = tree[key[1]]
        wanted = _from_disk(wanted, ids, disk, result)
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


def _from_disk(
    wanted: list[BlobKey],
    ids: Mapping[BlobKey, str],
    disk: Callable[[str], bytes | None],
    result: dict[BlobKey, bytes | None],
) -> list[BlobKey]:
    """Fill ``result`` from disk where the blob ids match; return the keys left for git."""
    rest: list[BlobKey] = []
    on_disk: dict[str, bytes | None] = {}
    disk_ids: dict[tuple[str, int], str | None] = {}  # each file hashed once per id length
    for key in wanted:
        expected = ids.get(key)
        if expected is None:
            rest.append(key)
            continue
        path = key[1]
        if path not in on_disk:
            on_disk[path] = disk(path)
        data = on_disk[path]
        hashed = (path, len(expected))
        if hashed not in disk_ids:
            disk_ids[hashed] = None if data is None else blob_id(data, len(expected))
        if data is not None and disk_ids[hashed] == expected:
            result[key] = data
        else:
            rest.append(key)
    return rest


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
    #: ``(commit, path)`` -> the blob id the commit left at that path (regular files only).
    blob_ids: Mapping[BlobKey, str] = field(default_factory=dict)
    #: ``(commit, path)`` -> the blob id the commit's parent had there (under the old name
    #: for a rename); None where the parent had no regular file there.
    parent_ids: Mapping[BlobKey, str | None] = field(default_factory=dict)

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
    blob_ids: dict[BlobKey, str] = {}
    parent_ids: dict[BlobKey, str | None] = {}
    for chunk in out.split(b"\x01")[1:]:
        sha = chunk[:40].decode("ascii", "replace")
        rest = chunk[40:].lstrip(b"\0\n")
        parsed, _ = parse_raw_z(rest)
        entries[sha] = tuple(parsed)
        for entry, (old_mode, old_id, new_id) in zip(parsed, _ids(rest, parsed), strict=True):
            if entry.status != "D" and entry.new_mode in ("100644", "100755"):
                blob_ids[(sha, entry.path)] = new_id
            regular = entry.status not in ("A", "C") and old_mode in ("100644", "100755")
            parent_ids[(sha, entry.path)] = old_id if regular else None
    return RawLog(entries, blob_ids, parent_ids)


def _ids(data: bytes, entries: Sequence[RawEntry]) -> list[tuple[str, str, str]]:
    """The old mode, old and new object ids of each ``--raw -z`` record ``parse_raw_z`` read
    from ``data``.

    Each record is ``:old_mode new_mode old_id new_id status``, NUL, then one path (two for
    a rename or copy), each NUL-terminated; ``parse_raw_z`` has validated them already.
    """
    ids: list[tuple[str, str, str]] = []
    pos = 0
    for entry in entries:
        end = data.index(b"\0", pos)
        fields = data[pos + 1 : end].decode("ascii", "replace").split(" ")
        ids.append((fields[0], fields[2], fields[3]))
        pos = end + 1
        for _ in range(2 if entry.status in ("R", "C") else 1):
            pos = data.index(b"\0", pos) + 1
    return ids


def listed_files(repo: Repository) -> list[str]:
    """Tracked and untracked (not ignored) files of the working tree, repo-relative."""
    return sorted(set(repo.list_files(untracked=True)))


def changed_paths(repo: Repository, old: str, new: str | None) -> list[tuple[str, str]]:
    """``(status, path)`` between two revisions (``new`` None: the working tree), no renames."""
    args = ["diff", "--no-renames", "--name-status", "-z", "--no-ext-diff", "--no-textconv", old]
    if new is not None:
        args.append(new)
    out = repo.run(*args, "--")
    fields = [os.fsdecode(f) for f in out.split(b"\0") if f]
    return [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
