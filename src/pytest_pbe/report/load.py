"""A ``Report`` read back from the JSON report, so every format can be made from it later.

``python -m pytest_pbe.report r.json --md=r.md --sarif=r.sarif --gitlab=gl.json
--junitxml=junit.xml --html=DIR`` writes the other formats from a JSON report (the HTML
page then shows the files with findings, since the JSON report holds no diff).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_pbe.errors import ParseError
from pytest_pbe.model import (
    CheckResult,
    Finding,
    Loosening,
    Report,
    RevisionInfo,
    Severity,
    Status,
)
from pytest_pbe.report.json import SCHEMA


def _finding(data: Mapping[str, Any]) -> Finding:
    return Finding(
        message=str(data["message"]),
        path=data.get("path"),
        line=data.get("line"),
        end_line=data.get("end_line"),
        rule=str(data.get("rule") or ""),
        severity=Severity(data.get("severity") or "error"),
        commit=data.get("commit"),
        url=data.get("url"),
    )


def _check(data: Mapping[str, Any]) -> CheckResult:
    return CheckResult(
        id=str(data["id"]),
        title=str(data["title"]),
        status=Status(data["status"]),
        summary=str(data.get("summary") or ""),
        required=bool(data.get("required", True)),
        metrics=dict(data.get("metrics") or {}),
        findings=tuple(_finding(f) for f in data.get("findings") or ()),
        details=tuple(str(d) for d in data.get("details") or ()),
    )


def _loosening(data: Mapping[str, Any]) -> Loosening:
    reason = data.get("reason")
    return Loosening(
        item=str(data["item"]),
        setting=str(data["setting"]),
        message=str(data["message"]),
        path=data.get("path"),
        line=data.get("line"),
        blanket=bool(data.get("blanket", True)),
        acknowledged=None if reason is None else str(reason),
    )


def report_from_dict(data: Mapping[str, Any]) -> Report:
    if data.get("schema") != SCHEMA:
        raise ParseError(
            f"not a pytest-pbe JSON report: schema {data.get('schema')!r}, expected {SCHEMA!r}"
        )
    try:
        base = data.get("base") or {}
        head = data.get("head") or {}
        return Report(
            checks=tuple(_check(c) for c in data["checks"]),
            tests_passed=bool(data.get("tests_passed", data.get("passed"))),
            base=RevisionInfo(
                base.get("ref"), base.get("sha"), base.get("merge_base"), base.get("source")
            ),
            head_sha=head.get("sha"),
            dirty=head.get("dirty"),
            complete=bool(data.get("complete", True)),
            notes=tuple(data.get("notes") or ()),
            loosenings=tuple(_loosening(item) for item in data.get("loosenings") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"malformed pytest-pbe JSON report: {exc!r}") from exc


def read_report(path: Path) -> Report:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParseError(f"cannot read the JSON report {str(path)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError(f"{str(path)!r} is not a pytest-pbe JSON report (not an object)")
    return report_from_dict(data)
