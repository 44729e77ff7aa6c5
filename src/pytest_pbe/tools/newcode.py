"""The new-code filter: which files the tools judge, and which findings the change owns.

``pbe_filter`` decides what is reported:

* ``added`` (default): findings whose line range touches a new or changed line;
* ``file``: findings anywhere in a changed file;
* ``all``: every finding the tool made.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from pytest_pbe.tools.parse import Issue

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext
    from pytest_pbe.git import ChangeSet

PYTHON_SUFFIXES = (".py", ".pyi")
JUDGED_KINDS = ("source", "test")


@dataclass(frozen=True)
class NewCode:
    """The changed Python files the tools judge, with their new lines."""

    root: Path  # repository top level
    cwd: Path  # where the tools run: pytest's rootdir, where the project's config lives
    mode: str  # added | file | all
    files: tuple[str, ...]  # repo-relative, '/' separators
    kinds: Mapping[str, str] = field(default_factory=dict)
    lines: Mapping[str, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def from_changes(cls, changes: ChangeSet, cwd: Path, mode: str) -> NewCode:
        root = Path(os.path.realpath(changes.root))
        cwd = Path(os.path.realpath(cwd))
        files: list[str] = []
        kinds: dict[str, str] = {}
        lines: dict[str, frozenset[int]] = {}
        for change in changes.files:
            absolute = root / change.path
            if change.kind not in JUDGED_KINDS or not change.path.endswith(PYTHON_SUFFIXES):
                continue
            if not (absolute == cwd or cwd in absolute.parents) or not absolute.is_file():
                continue  # outside the project pytest runs (another project of a monorepo)
            files.append(change.path)
            kinds[change.path] = change.kind
            lines[change.path] = change.lines
        return cls(
            root=root,
            cwd=cwd,
            mode=mode,
            files=tuple(files),
            kinds=MappingProxyType(kinds),
            lines=MappingProxyType(lines),
        )

    @classmethod
    def from_context(cls, ctx: VerifyContext) -> NewCode:
        return cls.from_changes(ctx.changes(), ctx.rootdir, ctx.settings.filter)

    def absolute(self, path: str) -> Path:
        return self.root / path

    def for_tool(self, path: str) -> str:
        """A repo-relative path as the tools, running in ``cwd``, should be given it."""
        return os.path.relpath(self.root / path, self.cwd)

    def python_files(self, suffixes: tuple[str, ...] = PYTHON_SUFFIXES) -> list[str]:
        return [path for path in self.files if path.endswith(suffixes)]

    def is_new(self, issue: Issue) -> bool:
        if self.mode == "all":
            return True
        if issue.path is None or issue.path not in self.lines:
            return False
        if self.mode == "file":
            return True
        new = self.lines[issue.path]
        return any(line in new for line in issue.lines())

    def split(self, issues: Iterable[Issue]) -> tuple[list[Issue], list[Issue]]:
        """(findings the change owns, the others) under the filter mode."""
        new: list[Issue] = []
        old: list[Issue] = []
        for issue in issues:
            (new if self.is_new(issue) else old).append(issue)
        return new, old
