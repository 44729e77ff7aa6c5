"""GitLab Code Quality JSON (``--pbe-report-gitlab``), for ``artifacts:reports:codequality``.

A list of issues with ``description``, ``check_name``, ``fingerprint`` (unique per finding,
stable across runs), ``severity`` (info, minor, major, critical, blocker) and
``location.path`` + ``location.lines.begin``. GitLab places every issue in a file, so items
that failed as a whole (no finding with a path) appear in the JUnit report instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_pbe.model import Report
from pytest_pbe.report.files import write_atomic
from pytest_pbe.report.findings import Entry, Level, entries, rule_id

SEVERITIES = ("info", "minor", "major", "critical", "blocker")


def severity(entry: Entry) -> str:
    """Blocking errors are major (critical for security); advice is minor; info is info."""
    if entry.level is Level.ERROR:
        return "critical" if entry.check.id == "security" else "major"
    if entry.level is Level.WARNING:
        return "minor"
    return "info"


def to_gitlab(report: Report) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    for entry in entries(report):
        finding = entry.finding
        if not finding.path:
            continue
        description = f"{entry.check.id}: {finding.message}"
        if finding.commit:
            description += f" (commit {finding.commit[:12]})"
        lines: dict[str, int] = {"begin": finding.line if finding.line and finding.line > 0 else 1}
        if finding.end_line is not None and finding.end_line > lines["begin"]:
            lines["end"] = finding.end_line
        issues.append(
            {
                "type": "issue",
                "description": description,
                "check_name": rule_id(entry.check, finding),
                "fingerprint": entry.fingerprint,
                "severity": severity(entry),
                "categories": ["Bug Risk"] if entry.level is Level.ERROR else ["Style"],
                "location": {"path": finding.path, "lines": lines},
            }
        )
    return issues


def render(report: Report) -> str:
    return json.dumps(to_gitlab(report), indent=2, ensure_ascii=False) + "\n"


def write(report: Report, path: Path) -> None:
    write_atomic(path, render(report), what="GitLab Code Quality report")
