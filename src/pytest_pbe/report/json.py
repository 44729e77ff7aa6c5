"""The JSON report (schema ``pytest-pbe/report/v1``): stable keys, only ever added to."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from pytest_pbe import __version__
from pytest_pbe.model import CheckResult, Finding, Loosening, Report
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


def loosening_to_dict(loosening: Loosening) -> dict[str, Any]:
    return {
        "item": loosening.item,
        "setting": loosening.setting,
        "path": loosening.path,
        "line": loosening.line,
        "message": loosening.message,
        "blanket": loosening.blanket,
        "acknowledged": loosening.acknowledged is not None,
        "reason": loosening.acknowledged,
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
        "loosenings": [loosening_to_dict(item) for item in report.loosenings],
    }


#: Objects of plain values this deep (a finding, one file's figures) take one line each.
RECORD_DEPTH = 4

_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_CONSTANT_KEYS = {True: "true", False: "false", None: "null"}


def render(report: Report) -> str:
    """The report as ``json.dumps(indent=2)`` lays it out, but records deep down on one line.

    The same keys, values and order as ``json.dumps(..., ensure_ascii=False, default=str)``;
    only the layout differs, and only below ``RECORD_DEPTH``. Each record is encoded by the
    C encoder (``json`` only uses it without ``indent``): a report of fifteen thousand
    findings is written in under half the time, and reads as one finding a line.
    """
    out: list[str] = []
    _layout(report_to_dict(report), 0, out)
    out.append("\n")
    return "".join(out)


_CONTAINERS = (dict, list, tuple)
# A separator no encoded text holds otherwise (JSON strings escape every control character),
# for encoding a whole list of records in one call and then breaking it into lines.
_SEP = "\x1f"
_SEPARATED = json.JSONEncoder(ensure_ascii=False, default=str, separators=(_SEP, ": "))


def _layout(value: object, depth: int, out: list[str]) -> None:
    """Append ``value``'s text, its closing bracket ``depth`` levels in, to ``out``."""
    if not value or not isinstance(value, _CONTAINERS) or _is_record(value, depth):
        out.append(_ENCODER.encode(value))
        return
    pad = "\n" + "  " * (depth + 1)
    end = "\n" + "  " * depth + ("}" if isinstance(value, dict) else "]")
    batched = _batched(value, depth)
    if batched is not None:
        out.append(batched[0] + pad + batched[1:-1].replace("\n", pad) + end)
    elif isinstance(value, dict):
        for n, (key, item) in enumerate(value.items()):
            out.append(f"{',' if n else '{'}{pad}{_ENCODER.encode(_key(key))}: ")
            _layout(item, depth + 1, out)
        out.append(end)
    else:
        for n, item in enumerate(value):
            out.append(("," if n else "[") + pad)
            _layout(item, depth + 1, out)
        out.append(end)


def _batched(value: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int) -> str | None:
    """A list of plain strings, or a list or object of records, encoded in one call.

    Its items are separated by a newline (indented by the caller); None for other contents.
    A ``_SEP`` right after a record's ``}`` separates items: inside a record (plain values
    only) it always follows a value's last character, never ``}``.
    """
    items = value.values() if isinstance(value, dict) else value
    kinds = set(map(type, items))
    if kinds == {str} and not isinstance(value, dict):
        return _SEPARATED.encode(value).replace(_SEP, ",\n")
    if kinds == {dict} and depth + 1 >= RECORD_DEPTH:
        inner = set(map(type, itertools.chain.from_iterable(map(dict.values, items))))
        if not any(issubclass(kind, _CONTAINERS) for kind in inner):
            return _SEPARATED.encode(value).replace("}" + _SEP, "},\n").replace(_SEP, ", ")
    return None


def _is_record(value: object, depth: int) -> bool:
    """An object of plain values at least ``RECORD_DEPTH`` deep: written on one line."""
    return (
        depth >= RECORD_DEPTH
        and isinstance(value, dict)
        and not any(isinstance(v, _CONTAINERS) for v in value.values())
    )


def _key(key: object) -> str:
    """An object key as ``json`` writes it (str, int, float, bool or None)."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return _CONSTANT_KEYS[key]
    if isinstance(key, (int, float)):
        return _ENCODER.encode(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def write(report: Report, path: Path) -> None:
    write_atomic(path, render(report), what="JSON report")
