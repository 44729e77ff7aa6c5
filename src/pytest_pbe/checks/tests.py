"""The `tests` item: the session itself. At least one test ran and none failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.checks.base import Check
from pytest_pbe.model import CheckResult, Finding, Status

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext

_BAD = ("failed", "error", "xpassed")  # strict xfail passes surface as failed already


class TestsCheck(Check):
    __test__ = False  # not a test class, whatever pytest's python_classes say

    id = "tests"
    title = "Tests are written and passing"

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        facts = ctx.session
        counts = facts.counts()
        ran = sum(counts[k] for k in ("passed", "failed", "error", "xfailed", "xpassed"))
        parts = [f"{counts[k]} {k}" for k in ("passed", *_BAD, "skipped", "xfailed") if counts[k]]
        if facts.collection_errors:
            parts.append(f"{facts.collection_errors} collection error(s)")
        summary = ", ".join(parts) or "no tests"
        metrics = {
            "ran": ran,
            "collection_errors": facts.collection_errors,
            **{
                k: counts[k] for k in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
            },
        }
        findings = [
            Finding(f"{test.nodeid} {test.outcome}", *ctx.test_place(test), rule=test.outcome)
            for test in facts.outcomes.values()
            if test.outcome in ("failed", "error")
        ]
        if facts.interrupted:
            return self.result(Status.ERROR, f"session interrupted ({summary})", metrics=metrics)
        if facts.collection_errors:
            return self.result(
                Status.FAILED,
                f"{summary}: fix the collection errors above",
                metrics=metrics,
                findings=findings,
            )
        if counts["failed"] or counts["error"]:
            return self.result(Status.FAILED, summary, metrics=metrics, findings=findings)
        if counts["passed"] == 0 and ran == counts["xfailed"]:
            return self.result(
                Status.FAILED,
                f"{summary}: no test ran, so nothing was verified; write a test",
                metrics=metrics,
            )
        return self.result(Status.PASSED, summary, metrics=metrics)
