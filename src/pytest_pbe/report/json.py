"""The JSON report (schema ``pytest-pbe/report/v1``): stable keys, only ever added to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_pbe import __version__
from pytest_pbe.model import CheckResult, Finding, Report
from pytest_pbe.report.files import write_atomic

SCHEMA = "pytest-pbe/report/v1"


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "end_line": finding.end_line,
        "rule": finding.rule,
        "message": finding.message,
        "severity": str(finding.severity),
        "commit": finding.commit,
        "url": finding.url,
    }


def check_to_dict(check: CheckResult) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.title,
        "status": str(check.status),
        "required": check.required,
        "summary": check.summary,
        "metrics": dict(check.metrics),
        "findings": [finding_to_dict(f) for f in check.findings],
        "details": list(check.details),
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "version": __version__,
        "passed": report.passed,
        "complete": report.complete,
        "tests_passed": report.tests_passed,
        "base": {
            "ref": report.base.ref,
            "sha": report.base.sha,
            "merge_base": report.base.merge_base,
            "source": report.base.source,
        },
        "head": {"sha": report.head_sha, "dirty": report.dirty},
        "scope": None
        if report.scope is None
        else {
            "path": report.scope.path,
            "files": list(report.scope.files),
            "outside": report.scope.outside,
        },
        "notes": list(report.notes),
        "checks": [check_to_dict(c) for c in report.checks],
    }


def render(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"


def write(report: Report, path: Path) -> None:
    write_atomic(path, render(report), what="JSON report")
