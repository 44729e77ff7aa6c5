"""Fixtures for the report formats: finished reports to render, and a probe item.

The probe is a real third-party checklist item (registered through
``pytest_pbe_register_checks`` in a conftest.py), so end-to-end tests can put any finding,
however hostile its text, through a real ``pytest --pbe-verify`` session.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_pbe.model import CheckResult, Finding, Report, RevisionInfo, Severity, Status

SHA_A = "a" * 40
SHA_B = "b" * 40

#: Text that every medium must escape: commas, colons, newlines, percent signs, markup.
HOSTILE = 'bad, worse: 100% <script>alert("x")</script> | *bold* [link](http://e.x)\nline2\r%0A'
HOSTILE_PATH = "src/we,ird:dir/50% <b>name</b>.py"


@pytest.fixture
def make_report() -> Callable[..., Report]:
    """``make_report(*checks, passed_tests=True, base=...)`` -> a Report."""

    def make(
        *checks: CheckResult,
        tests_passed: bool = True,
        base: RevisionInfo | None = None,
        head_sha: str | None = SHA_B,
    ) -> Report:
        return Report(
            checks=tuple(checks),
            tests_passed=tests_passed,
            base=base or RevisionInfo("origin/main", SHA_A, SHA_A, "default-branch"),
            head_sha=head_sha,
            dirty=False,
        )

    return make


@pytest.fixture
def make_check() -> Callable[..., CheckResult]:
    """``make_check(id, status, *findings, required=True, summary=..., details=())``."""

    def make(
        check_id: str,
        status: Status,
        *findings: Finding,
        required: bool = True,
        summary: str | None = None,
        details: Sequence[str] = (),
        metrics: dict[str, Any] | None = None,
    ) -> CheckResult:
        return CheckResult(
            id=check_id,
            title=f"The {check_id} item",
            status=status,
            summary=summary if summary is not None else f"{check_id} {status.value}",
            required=required,
            findings=tuple(findings),
            details=tuple(details),
            metrics=metrics or {},
        )

    return make


@pytest.fixture
def hostile_report(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> Report:
    """A failing report whose every string tries to break out of its medium."""
    return make_report(
        make_check("tests", Status.PASSED),
        make_check(
            "lint",
            Status.FAILED,
            Finding(HOSTILE, HOSTILE_PATH, 3, 5, rule="E,1:2"),
            Finding("plain message", "src/app.py", 7, rule="F401", severity=Severity.WARNING),
            summary=HOSTILE,
        ),
        make_check(
            "tdd",
            Status.FAILED,
            Finding(HOSTILE, "src/app.py", 1, rule="code-before-test", commit=SHA_A),
            details=(f"{SHA_A[:10]} {HOSTILE}",),
        ),
        make_check("types", Status.ERROR, summary="mypy crashed: <boom>"),
        make_check("docs", Status.SKIPPED, required=False),
    )


PROBE = """
from __future__ import annotations

import pytest

from pytest_pbe.checks.base import Check
from pytest_pbe.model import Finding, Severity, Status

SPEC = {spec}


class Probe(Check):
    id = "probe"
    title = "Probe item"

    def evaluate(self, ctx):
        if SPEC["changes"]:
            ctx.changes()
        findings = [
            Finding(
                message=f["message"],
                path=f.get("path"),
                line=f.get("line"),
                end_line=f.get("end_line"),
                rule=f.get("rule", ""),
                severity=Severity(f.get("severity", "error")),
                commit=f.get("commit"),
            )
            for f in SPEC["findings"]
        ]
        return self.result(
            Status(SPEC["status"]), SPEC["summary"], findings=findings, details=SPEC["details"]
        )


@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Probe()]
"""


@pytest.fixture
def probe(pytester: pytest.Pytester) -> Callable[..., Path]:
    """Write a conftest.py registering the ``probe`` item with the given findings.

    ``probe(findings, status="failed", summary=..., details=(), changes=True, where=dir)``;
    with ``changes`` the item asks for the new code, so the report carries base and head.
    """

    def write(
        findings: Sequence[dict[str, Any]] = (),
        *,
        status: str = "failed",
        summary: str = "probe summary",
        details: Sequence[str] = (),
        changes: bool = True,
        where: Path | None = None,
    ) -> Path:
        spec = {
            "findings": list(findings),
            "status": status,
            "summary": summary,
            "details": list(details),
            "changes": changes,
        }
        path = (where or pytester.path) / "conftest.py"
        path.write_text(textwrap.dedent(PROBE).replace("{spec}", repr(spec)))
        return path

    return write
