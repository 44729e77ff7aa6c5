"""SARIF 2.1.0 for GitHub code scanning (``--pbe-report-sarif``).

One run, one rule per ``pbe/<item>/<rule>``, one result per finding with a repo-relative
``uri`` (under ``%SRCROOT%``), a region, and a ``partialFingerprints`` entry that stays the
same when code above the finding moves. Code scanning needs a location for every result,
so what has no place in the code (an item that failed as a whole) is a tool notification.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pytest_pbe import __version__
from pytest_pbe.model import Report
from pytest_pbe.report.files import write_atomic
from pytest_pbe.report.findings import Level, check_level, entries, rule_id, unexplained

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "pytestPbe/v1"

_LEVEL = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTE: "note"}


def _uri(path: str) -> str:
    return quote(path, safe="/")


def to_sarif(report: Report, *, root: Path | None = None) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []

    for entry in entries(report):
        check, finding = entry.check, entry.finding
        rid = rule_id(check, finding)
        if rid not in rule_index:
            rule_index[rid] = len(rules)
            name = f"{check.title}: {finding.rule}" if finding.rule else check.title
            rule: dict[str, Any] = {
                "id": rid,
                "name": _rule_name(rid),
                "shortDescription": {"text": name},
                "fullDescription": {
                    "text": f"pytest-pbe checklist item {check.id!r} ({check.title})"
                    + (f", rule {finding.rule!r}" if finding.rule else "")
                },
                "defaultConfiguration": {"level": _LEVEL[entry.level]},
                "properties": {"tags": ["pytest-pbe", check.id]},
            }
            if finding.url:
                rule["helpUri"] = finding.url
            rules.append(rule)
        message = finding.message
        if finding.commit:
            message = f"{message} (commit {finding.commit[:12]})"
        result: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": rule_index[rid],
            "level": _LEVEL[entry.level],
            "message": {"text": message},
            "partialFingerprints": {FINGERPRINT_KEY: entry.fingerprint},
            "properties": {"check": check.id, "commit": finding.commit},
        }
        if finding.path:
            location: dict[str, Any] = {
                "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"}
            }
            if finding.line is not None and finding.line > 0:
                region = {"startLine": finding.line}
                if finding.end_line is not None and finding.end_line >= finding.line:
                    region["endLine"] = finding.end_line
                location["region"] = region
            result["locations"] = [{"physicalLocation": location}]
            results.append(result)
        else:
            notifications.append(_notification(_LEVEL[entry.level], message, rid))
    for check in unexplained(report):
        notifications.append(
            _notification(_LEVEL[check_level(check)], check.summary or check.status.value, check.id)
        )

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "pytest-pbe",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"passed": report.passed, "headSha": report.head_sha},
    }
    if root is not None:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rule_name(rid: str) -> str:
    """A PascalCase-ish name, as SARIF viewers show it."""
    words = rid.replace("/", " ").replace("-", " ").replace("_", " ").split()
    return "".join(w[:1].upper() + w[1:] for w in words)


def _notification(level: str, text: str, descriptor: str) -> dict[str, Any]:
    return {
        "level": level,
        "message": {"text": text},
        "descriptor": {"id": descriptor},
    }


def render(report: Report, *, root: Path | None = None) -> str:
    return json.dumps(to_sarif(report, root=root), indent=2, ensure_ascii=False) + "\n"


def write(report: Report, path: Path, *, root: Path | None = None) -> None:
    write_atomic(path, render(report, root=root), what="SARIF report")
