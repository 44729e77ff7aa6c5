"""Example third-party pytest-pbe item: no TODO/FIXME/XXX markers on new lines."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_pbe.checks.base import Check
from pytest_pbe.model import CheckResult, Finding, Severity, Status

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext

MARKER = re.compile(r"\b(TODO|FIXME|XXX)\b")


class NoTodoCheck(Check):
    id = "no-todo"
    title = "No TODO markers left in new code"
    default_required = False

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        changes = ctx.changes()  # GitError here becomes this item's `error`
        findings: list[Finding] = []
        for change in changes.files:
            if not change.lines:
                continue
            path = changes.root / change.path
            try:
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError as exc:
                return self.error(f"cannot read {change.path!r}: {exc.strerror}")
            for number in sorted(change.lines):
                if number <= len(text) and (match := MARKER.search(text[number - 1])):
                    findings.append(
                        Finding(
                            message=f"new {match.group(1)} marker: finish it or file an issue",
                            path=change.path,
                            line=number,
                            rule=match.group(1),
                            severity=Severity.WARNING,
                        )
                    )
        if findings:
            return self.result(
                Status.FAILED, f"{len(findings)} marker(s) on new lines", findings=findings
            )
        files = sum(1 for f in changes.files if f.lines)
        return self.result(Status.PASSED, f"no marker on the new lines of {files} file(s)")


@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config: pytest.Config) -> Sequence[Check]:
    return [NoTodoCheck()]
