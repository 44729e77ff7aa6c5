"""The result model: what a checklist item decides, as frozen, typed data.

Data flows one way: git and session facts go into the checks, the checks produce
``CheckResult`` values, and the reports only read them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

#: A metric is a plain JSON scalar (or a nested mapping of them for per-file figures).
MetricValue: TypeAlias = (
    "int | float | str | bool | Mapping[str, MetricValue] | list[MetricValue] | None"
)


class Status(str, enum.Enum):
    """How an item ended. ``ERROR`` means it could not be judged: never a pass."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """One thing an item found: a place in the repository, a rule, and a message."""

    message: str
    path: str | None = None  # repo-relative, '/' separators
    line: int | None = None
    end_line: int | None = None
    rule: str = ""
    severity: Severity = Severity.ERROR
    commit: str | None = None  # full sha, for findings that belong to a commit
    url: str | None = None  # documentation link where the tool gives one

    def location(self) -> str:
        """``path:line-end`` for humans, as short as the facts allow."""
        if self.path is None:
            return ""
        if self.line is None:
            return self.path
        if self.end_line is not None and self.end_line != self.line:
            return f"{self.path}:{self.line}-{self.end_line}"
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class CheckResult:
    """What one checklist item decided."""

    id: str
    title: str
    status: Status
    summary: str
    required: bool = True
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    # Extra lines a check wants shown under it in the terminal (a TDD timeline, say).
    details: tuple[str, ...] = ()

    @property
    def blocks(self) -> bool:
        """True when this item alone makes the run fail (fail closed on ``error``)."""
        return self.required and self.status in (Status.FAILED, Status.ERROR)


@dataclass(frozen=True)
class Loosening:
    """A change in the judged range that weakens what an item checks.

    ``acknowledged`` holds the reason a ``PBE-Loosen:`` trailer (or the trusted
    ``--pbe-loosen`` flag) gave; None when nothing acknowledged it.
    """

    item: str
    setting: str  # what was loosened: an option, a tool's key, a suppression comment
    message: str
    path: str | None = None
    line: int | None = None
    blanket: bool = True  # False: a suppression naming its rule codes (listed, not failing)
    acknowledged: str | None = None


@dataclass(frozen=True)
class RevisionInfo:
    ref: str | None
    sha: str | None
    merge_base: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Scope:
    """The part of the repository this run judged (pytest's rootdir, for monorepos)."""

    path: str  # repo-relative; '' for the whole repository
    files: tuple[str, ...]  # changed files judged
    outside: int  # changed files outside ``path``, left to their own project's run


@dataclass(frozen=True)
class Report:
    """The finished checklist of one session."""

    checks: tuple[CheckResult, ...]
    tests_passed: bool
    base: RevisionInfo = RevisionInfo(None, None)
    head_sha: str | None = None
    dirty: bool | None = None
    complete: bool = True  # False when the session was interrupted
    scope: Scope | None = None
    notes: tuple[str, ...] = ()
    loosenings: tuple[Loosening, ...] = ()

    @property
    def passed(self) -> bool:
        return self.complete and self.tests_passed and not any(c.blocks for c in self.checks)

    def get(self, check_id: str) -> CheckResult | None:
        for check in self.checks:
            if check.id == check_id:
                return check
        return None
