"""Plain data the git layer hands to the checks: revisions, changed files, commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

ADDED = "added"
MODIFIED = "modified"
RENAMED = "renamed"
UNTRACKED = "untracked"


@dataclass(frozen=True)
class BaseRevision:
    """The revision new code is measured against, and where it came from."""

    ref: str
    sha: str
    merge_base: str
    source: str


@dataclass(frozen=True)
class FileChange:
    """One changed file: its added/modified line numbers on the new side."""

    path: str
    status: str
    old_path: str | None
    lines: frozenset[int]
    kind: str


@dataclass(frozen=True)
class Commit:
    """One commit of the range (``sha`` None for the uncommitted pseudo-commit)."""

    sha: str | None
    parents: tuple[str, ...]
    author_date: str
    subject: str
    trailers: tuple[tuple[str, str], ...]
    files: tuple[FileChange, ...]
    is_merge: bool


@dataclass(frozen=True)
class ChangeSet:
    """The new code: every changed file with its new lines, in working-tree coordinates."""

    root: Path
    base: BaseRevision
    head_sha: str
    dirty: bool
    shallow: bool
    include_uncommitted: bool
    files: tuple[FileChange, ...]
    #: sha256 of each changed file's bytes (through a symlink: its target's) when read, so
    #: the judging can tell that what it judges is still what the tests ran and git saw.
    digests: Mapping[str, str] = field(default_factory=dict)
    _index: Mapping[str, FileChange] = field(
        default_factory=lambda: MappingProxyType({}), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Frozen dataclass: build the lookup once, via object.__setattr__.
        object.__setattr__(self, "_index", MappingProxyType({f.path: f for f in self.files}))

    def lines_for(self, path: str) -> frozenset[int]:
        change = self._index.get(path)
        return change.lines if change is not None else frozenset()

    def by_path(self) -> Mapping[str, FileChange]:
        return self._index
