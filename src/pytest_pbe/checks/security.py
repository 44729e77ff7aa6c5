"""The `security` item: bandit findings on new code at or above the configured levels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.model import CheckResult, Severity, Status
from pytest_pbe.tools.item import ToolCheck, plural, to_finding
from pytest_pbe.tools.parse import LEVELS, Issue
from pytest_pbe.tools.runs import ToolRuns

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext


class SecurityCheck(ToolCheck):
    id = "security"
    title = "Security considerations addressed (bandit)"
    run_names = ("bandit",)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        runs = ToolRuns.of(ctx)
        reason = runs.skip_reason("bandit")
        if reason is not None:
            return self.skipped(reason)
        settings = ctx.settings
        severity, confidence = settings.bandit_severity, settings.bandit_confidence

        def blocking(issue: Issue) -> bool:
            return (
                LEVELS.get(issue.severity, 0) >= LEVELS[severity]
                and LEVELS.get(issue.confidence, 0) >= LEVELS[confidence]
            )

        new, old = runs.new_code.split(runs.collect("bandit"))
        failing = [i for i in new if blocking(i)]
        below = [i for i in new if not blocking(i)]
        findings = [to_finding(i, Severity.ERROR) for i in failing]
        findings += [to_finding(i, Severity.WARNING) for i in below]
        metrics = self.metrics(runs, "bandit", new=failing, old=old)
        metrics["below_threshold"] = len(below)
        metrics["threshold"] = f"severity>={severity}, confidence>={confidence}"
        where = self.where(ctx)
        levels = f"at or above {severity} severity and {confidence} confidence"
        warned = f"; {len(below)} below that listed as warnings" if below else ""
        if failing:
            return self.result(
                Status.FAILED,
                f"{plural(len(failing), 'bandit finding')} {levels} {where}{warned}"
                + self.not_counted(old),
                metrics=metrics,
                findings=findings,
            )
        return self.result(
            Status.PASSED,
            f"no bandit findings {levels} {where}{warned}" + self.not_counted(old),
            metrics=metrics,
            findings=findings,
        )
