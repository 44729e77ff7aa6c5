"""What every machine-readable format shares: which findings matter most, and their identity.

The formats only read the finished ``Report``; this module decides, once for all of them,
how important each finding is (so caps keep the most important) and gives every finding a
fingerprint that is stable across runs and unique within one report.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_pbe.model import CheckResult, Finding, Report, Severity, Status


class Level(enum.IntEnum):
    """How loud a finding is in CI: ERROR fails the run, WARNING and NOTE do not."""

    ERROR = 0
    WARNING = 1
    NOTE = 2


@dataclass(frozen=True)
class Entry:
    """One finding with the item it belongs to and its place in the report."""

    check: CheckResult
    finding: Finding
    level: Level
    fingerprint: str
    order: int  # position in the report: the checklist's order, then the item's own


def level_of(check: CheckResult, finding: Finding) -> Level:
    """An error finding of an item that blocks the run is an error; the rest are advice."""
    if finding.severity is Severity.INFO:
        return Level.NOTE
    if finding.severity is Severity.ERROR and check.blocks:
        return Level.ERROR
    return Level.WARNING


def check_level(check: CheckResult) -> Level:
    """The level of an item as a whole (for items that failed without findings)."""
    if check.blocks:
        return Level.ERROR
    if check.status in (Status.FAILED, Status.ERROR):
        return Level.WARNING
    return Level.NOTE


def rule_id(check: CheckResult, finding: Finding) -> str:
    """``pbe/<item>/<rule>``: the rule a finding breaks, namespaced by its item."""
    return f"pbe/{check.id}/{finding.rule}" if finding.rule else f"pbe/{check.id}"


def _identity(check: CheckResult, finding: Finding) -> str:
    # Line numbers are left out on purpose: a finding keeps its fingerprint when code above
    # it moves. Identical findings are told apart by their occurrence number instead.
    parts = (check.id, finding.rule, finding.path or "", finding.message, finding.commit or "")
    return "\x1f".join(parts)


def entries(report: Report) -> list[Entry]:
    """Every finding of every judged item, most important first (stable within a level)."""
    out: list[Entry] = []
    seen: dict[str, int] = {}
    order = 0
    for check in report.checks:
        if check.status is Status.SKIPPED:
            continue
        for finding in check.findings:
            identity = _identity(check, finding)
            occurrence = seen.get(identity, 0)
            seen[identity] = occurrence + 1
            digest = hashlib.sha256(f"{identity}\x1e{occurrence}".encode()).hexdigest()
            out.append(Entry(check, finding, level_of(check, finding), digest, order))
            order += 1
    out.sort(key=lambda e: (e.level, not e.check.blocks, e.order))
    return out


def unexplained(report: Report) -> Iterator[CheckResult]:
    """Items that failed or errored with no finding to show where: only their summary says why."""
    for check in report.checks:
        if check.status in (Status.FAILED, Status.ERROR) and not check.findings:
            yield check


def verdict(report: Report) -> str:
    return "verified" if report.passed else "NOT verified"
