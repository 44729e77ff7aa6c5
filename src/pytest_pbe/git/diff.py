"""New lines: the diff from the merge-base to the working tree, plus untracked files.

Paths come from ``--raw -z`` records (exact bytes, never re-parsed from quoted patch
headers); line numbers come from the ``-U0`` patch that follows them in the same output.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_pbe.errors import ParseError
from pytest_pbe.git.classify import Classifier, path_selected
from pytest_pbe.git.models import (
    ADDED,
    MODIFIED,
    RENAMED,
    UNTRACKED,
    BaseRevision,
    ChangeSet,
    FileChange,
)
from pytest_pbe.git.runner import Repository

# Options shared by every diff/log we parse: raw records + zero-context patches, renames
# followed, nothing the repository configures (external diff, textconv, colour, relative
# paths, submodule log format, glued hunks) allowed to change the format. ``--text``: lines
# come from the files' contents, never from git's binary guess or a ``-diff``/``binary``
# attribute the change itself may carry.
DIFF_OPTIONS: tuple[str, ...] = (
    "--text",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-relative",
    "--ignore-submodules=all",
    "--submodule=short",
    "-M",
    "--raw",
    "-p",
    "-U0",
    "--inter-hunk-context=0",
    "-z",
)

_HUNK = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_BINARY_SNIFF = 8000  # git's own heuristic: a NUL byte in the first 8000 bytes
_BINARY_MARKERS = (b"Binary files ", b"GIT binary patch")
_PYTHON_SUFFIXES = (".py", ".pyi")
_SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class RawEntry:
    """One ``--raw`` record: ``:old_mode new_mode old_sha new_sha status`` and its path(s)."""

    status: str
    old_mode: str
    new_mode: str
    old_path: str | None
    path: str

    @property
    def patches(self) -> int:
        # A type change (file <-> symlink) is printed as a deletion plus a creation.
        return 2 if self.status == "T" else 1


def parse_raw_z(data: bytes) -> tuple[list[RawEntry], bytes]:
    """Read the ``--raw -z`` records at the start of ``data``; return them and the rest."""
    entries: list[RawEntry] = []
    pos, end = 0, len(data)
    while pos < end and data[pos] == 0x3A:  # ':'
        fields, pos = _take(data, pos, 1)
        meta = fields[0][1:].split(b" ")
        if len(meta) != 5 or not meta[4]:
            raise ParseError(f"unexpected git --raw record: {fields[0][:80]!r}")
        letter = meta[4][:1].decode("ascii", "replace")
        names, pos = _take(data, pos, 2 if letter in ("R", "C") else 1)
        paths = [os.fsdecode(n) for n in names]
        entries.append(
            RawEntry(
                status=letter,
                old_mode=meta[0].decode("ascii", "replace"),
                new_mode=meta[1].decode("ascii", "replace"),
                old_path=paths[0] if len(paths) == 2 else None,
                path=paths[-1],
            )
        )
    if data[pos : pos + 1] == b"\0":  # -z puts one NUL between the records and the patches
        pos += 1
    return entries, data[pos:]


def _take(data: bytes, pos: int, count: int) -> tuple[list[bytes], int]:
    out: list[bytes] = []
    for _ in range(count):
        nul = data.find(b"\0", pos)
        if nul == -1:
            raise ParseError(f"truncated git --raw output near {data[pos : pos + 80]!r}")
        out.append(data[pos:nul])
        pos = nul + 1
    return out, pos


def parse_unified_zero(data: bytes) -> list[frozenset[int]]:
    """Added line numbers (new side) of each ``diff --git`` section of a ``-U0`` patch.

    Hunk bodies are consumed by the counts in their ``@@`` header, so content lines that
    look like headers (``+++ x``) cannot confuse the parser. Context lines, if any, advance
    the new-side counter but are not new.
    """
    result: list[frozenset[int]] = []
    current: set[int] | None = None
    seen_hunk = False
    old_left = new_left = lineno = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        if old_left > 0 or new_left > 0:
            if current is None:  # a hunk only starts inside a section: never, but not -O safe
                raise ParseError(f"a diff hunk outside any 'diff --git' section: {line[:80]!r}")
            tag = line[:1]
            if tag == b"+" and new_left > 0:
                current.add(lineno)
                lineno += 1
                new_left -= 1
            elif tag == b"-" and old_left > 0:
                old_left -= 1
            elif tag == b" " and old_left > 0 and new_left > 0:
                lineno += 1
                old_left -= 1
                new_left -= 1
            elif tag != b"\\":  # "\ No newline at end of file" is a marker, not a line
                raise ParseError(f"unexpected line in a diff hunk: {line[:80]!r}")
            continue
        if line.startswith(b"diff --git "):
            if current is not None:
                result.append(frozenset(current))
            current, seen_hunk = set(), False
        elif current is None:
            if not line.startswith(b"* Unmerged path "):
                raise ParseError(f"git diff output does not start with a header: {line[:80]!r}")
        elif line.startswith(b"@@"):
            match = _HUNK.match(line)
            if match is None:
                raise ParseError(f"malformed hunk header: {line[:80]!r}")
            old_left = 1 if match[2] is None else int(match[2])
            new_left = 1 if match[4] is None else int(match[4])
            lineno = int(match[3])
            seen_hunk = True
        elif seen_hunk and not line.startswith(b"\\"):
            raise ParseError(f"unexpected text after a diff hunk: {line[:80]!r}")
        elif line.startswith(_BINARY_MARKERS):
            # --text forbids these; a file shown this way would lose its lines silently.
            raise ParseError(f"git showed a file as binary despite --text: {line[:80]!r}")
        # else: an extended header line (index, ---/+++, mode, rename, Binary files ...)
    if old_left > 0 or new_left > 0:
        raise ParseError("git diff output ends inside a hunk")
    if current is not None:
        result.append(frozenset(current))
    return result


def file_changes(
    data: bytes, *, classifier: Classifier, untracked: Iterable[FileChange] = ()
) -> list[FileChange]:
    """FileChanges from one ``--raw -p -U0 -z`` output; files without new lines left out."""
    entries, patch = parse_raw_z(data)
    sections = parse_unified_zero(patch)
    if sum(e.patches for e in entries) != len(sections):
        raise ParseError(
            f"git printed {len(sections)} patches for {len(entries)} changed paths; "
            "cannot pair line numbers with paths"
        )
    out: list[FileChange] = []
    i = 0
    for entry in entries:
        added = sections[i + entry.patches - 1]  # the new side is the last section
        i += entry.patches
        # Only regular files have lines: not deletions, symlinks (120000), gitlinks (160000).
        if entry.status in ("D", "U") or not entry.new_mode.startswith("100") or not added:
            continue
        status = {"R": RENAMED, "A": ADDED, "C": ADDED}.get(entry.status, MODIFIED)
        out.append(
            FileChange(
                path=entry.path,
                status=status,
                old_path=entry.old_path if entry.status == "R" else None,
                lines=added,
                kind=classifier.classify(entry.path),
            )
        )
    out.extend(untracked)
    return out


def text_line_count(data: bytes) -> int | None:
    """Lines in ``data`` as git counts them (last line may lack a newline); None if binary."""
    if b"\0" in data[:_BINARY_SNIFF]:
        return None
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def file_line_count(path: Path, *, sniff: bool = True) -> int | None:
    """``text_line_count`` of a file, read in chunks so a huge untracked file costs no memory.

    Without ``sniff`` a NUL byte does not make it binary (as ``git diff --text``).
    """
    count, last = 0, b""
    with path.open("rb") as fh:
        chunk = fh.read(_BINARY_SNIFF)
        if sniff and b"\0" in chunk:
            return None
        while chunk:
            count += chunk.count(b"\n")
            last = chunk[-1:]
            chunk = fh.read(1 << 20)
    return count + (1 if last not in (b"", b"\n") else 0)


def untracked_paths(repo: Repository) -> list[str]:
    """Untracked, not ignored files (what ``git status`` would list), repo-relative.

    Listed once in a snapshot: the change set and the history's uncommitted work agree.
    """
    return repo.untracked_files()


def untracked_changes(
    repo: Repository, paths: Sequence[str], classifier: Classifier
) -> list[FileChange]:
    changes: list[FileChange] = []
    for rel in paths:
        full = repo.root / rel
        try:
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode):  # symlinks, fifos, sockets: no lines
                continue
            # A Python file is judged by its lines whatever bytes it holds (as --text).
            count = file_line_count(full, sniff=not rel.endswith(_PYTHON_SUFFIXES))
        except OSError:
            continue  # removed or unreadable since git listed it: nothing to measure
        if not count:
            continue
        changes.append(  # symlinks are judged by linked_changes
            FileChange(
                path=rel,
                status=UNTRACKED,
                old_path=None,
                lines=frozenset(range(1, count + 1)),
                kind=classifier.classify(rel),
            )
        )
    return changes


def linked_module_paths(data: bytes, untracked: Sequence[str], root: Path) -> list[str]:
    """Python paths that are symlinks, changed in the diff or untracked.

    Python imports a symlinked module by its target's content, so the link is new code.
    """
    entries, _ = parse_raw_z(data)
    tracked = [
        e.path for e in entries if e.status not in ("D", "U") and e.new_mode == _SYMLINK_MODE
    ]
    links = [rel for rel in untracked if (root / rel).is_symlink()]
    return sorted({rel for rel in (*tracked, *links) if rel.endswith(_PYTHON_SUFFIXES)})


def linked_changes(root: Path, paths: Sequence[str], classifier: Classifier) -> list[FileChange]:
    """Each symlinked module, with every line of its target new (the link made it a module)."""
    changes: list[FileChange] = []
    for rel in paths:
        count = file_line_count(link_target(root, rel), sniff=False) or 0
        if count:
            lines = frozenset(range(1, count + 1))
            changes.append(FileChange(rel, ADDED, None, lines, classifier.classify(rel)))
    return changes


def link_target(root: Path, rel: str) -> Path:
    """The regular file inside the repository a symlinked module names; else ParseError."""
    link = root / rel
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ParseError(
            f"{rel}: a symlinked module whose target does not exist; replace the link "
            "with the module itself"
        ) from None
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        raise ParseError(
            f"{rel}: a symlinked module whose target {target} is outside the repository "
            "(or not a file); replace the link with the module itself"
        )
    return target


_LONE_CR = re.compile(rb"\r(?!\n)")


def content_digests(root: Path, files: Iterable[FileChange]) -> dict[str, str]:
    """sha256 of each file's bytes now; a Python file git and Python would number apart fails.

    Python's tokenizer ends a line at a lone CR, git does not: statements would land
    outside the lines git calls new. Other separators (form feed, NEL, U+2028) end no
    line for either, so they are harmless.
    """
    digests: dict[str, str] = {}
    for change in files:
        data = read_bytes(root / change.path)
        if change.path.endswith(_PYTHON_SUFFIXES):
            cr = _LONE_CR.search(data)
            if cr is not None:
                raise ParseError(
                    f"{change.path}: mixed line endings: lone CR at byte {cr.start()}; "
                    "normalise to LF (git and Python would number its lines differently)"
                )
        digests[change.path] = hashlib.sha256(data).hexdigest()
    return digests


def read_bytes(path: Path) -> bytes:
    """A file's bytes (through a symlink); empty when it is gone or unreadable."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def is_dirty(repo: Repository, untracked: Sequence[str]) -> bool:
    """True when the index or working tree differs from HEAD, or untracked files exist."""
    return bool(untracked) or repo.differs_from_head()


def diff_to_worktree(repo: Repository, rev: str) -> bytes:
    """``--raw -p -U0 -z`` from ``rev`` to the files on disk (committed+staged+unstaged)."""
    return repo.run("diff", *DIFF_OPTIONS, rev, "--")


def collect_changes(
    repo: Repository,
    base: BaseRevision,
    *,
    include_uncommitted: bool = True,
    classifier: Classifier | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> ChangeSet:
    """The new code since ``base.merge_base``, in working-tree coordinates."""
    classifier = classifier or Classifier()
    head = repo.head_sha()
    # The diff first: a snapshot's untracked files and state may still be being read beside.
    if include_uncommitted:
        data = diff_to_worktree(repo, base.merge_base)
    else:
        data = repo.run("diff", *DIFF_OPTIONS, base.merge_base, head, "--")
    untracked = untracked_paths(repo)
    extra = untracked_changes(repo, untracked, classifier) if include_uncommitted else []
    links = linked_module_paths(data, untracked if include_uncommitted else (), repo.root)
    extra += linked_changes(repo.root, links, classifier)
    files = [
        f
        for f in file_changes(data, classifier=classifier, untracked=extra)
        if path_selected(f.path, include=include, exclude=exclude)
    ]
    files.sort(key=lambda f: f.path)
    digests = content_digests(repo.root, files)
    return ChangeSet(
        root=repo.root,
        base=base,
        head_sha=head,
        dirty=is_dirty(repo, untracked),
        shallow=repo.is_shallow(),
        include_uncommitted=include_uncommitted,
        files=tuple(files),
        digests=digests,
    )
