"""The `docs` item: "Documentation has been consulted" -- an attestation, not a measurement.

Nothing can measure whether someone read the documentation, so this item only reports
what was *attested*: ``Docs-Consulted: <what>`` trailers on the commits of the range
(repeatable), and for the uncommitted work a declaration (ini ``pbe_docs`` or
``--pbe-docs``). The range passes when it carries at least one attestation; commits
without one are listed. Not required by default (``pbe_required`` can make it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.checks.base import Check
from pytest_pbe.model import CheckResult, Finding, MetricValue, Severity, Status

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext

TRAILER = "docs-consulted"
NOTE = "an attestation, not a measurement"


class DocsCheck(Check):
    id = "docs"
    title = "Documentation has been consulted"
    default_required = False

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        commits = ctx.history()  # GitError: the item ends in error, never passed
        declared = list(ctx.settings.docs)
        attested: list[str] = []
        unattested = []
        for commit in commits:
            if commit.sha is None:
                continue  # the uncommitted work: attested by the declaration
            found = [v.strip() for k, v in commit.trailers if k.lower() == TRAILER and v.strip()]
            attested.extend(f"{what} ({commit.sha[:10]})" for what in found)
            if not found and not commit.is_merge:
                unattested.append(commit)
        uncommitted = any(commit.sha is None for commit in commits)
        attested.extend(f"{what} (declared)" for what in declared)
        committed = [c for c in commits if c.sha is not None]
        metrics: dict[str, MetricValue] = {
            "commits": len(committed),
            "uncommitted_work": uncommitted,
            "attestations": len(attested),
            "unattested_commits": len(unattested),
        }
        findings = [
            Finding(
                message=f"commit {c.sha[:10]} {c.subject!r} has no 'Docs-Consulted:' trailer",
                rule="unattested",
                severity=Severity.INFO,
                commit=c.sha,
            )
            for c in unattested
            if c.sha is not None
        ]
        if not committed and not uncommitted and not declared:
            return self.skipped(f"no new commits or uncommitted work to attest ({NOTE})")
        if attested:
            return self.result(
                Status.PASSED,
                f"attested ({NOTE}): " + "; ".join(attested),
                metrics=metrics,
                findings=findings,
            )
        where = []
        if committed:
            where.append(
                f"none of the {len(committed)} commit(s) carries a 'Docs-Consulted:' trailer"
            )
        if uncommitted:
            where.append("the uncommitted work has no pbe_docs / --pbe-docs declaration")
        return self.result(
            Status.FAILED,
            f"nothing attested ({NOTE}): " + " and ".join(where) + "; add 'Docs-Consulted: "
            "<what you read>' to a commit message, or pass --pbe-docs '<what you read>'",
            metrics=metrics,
            findings=findings,
        )
