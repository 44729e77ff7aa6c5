"""The `lint` item: ruff findings on new code, with the project's own rule selection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.model import CheckResult, Status
from pytest_pbe.tools.item import ToolCheck, plural, to_finding
from pytest_pbe.tools.runs import ToolRuns

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext


class LintCheck(ToolCheck):
    id = "lint"
    title = "Code follows best practices (ruff)"
    run_names = ("ruff",)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        runs = ToolRuns.of(ctx)
        reason = runs.skip_reason("ruff")
        if reason is not None:
            return self.skipped(reason)
        new, old = runs.new_code.split(runs.collect("ruff"))
        metrics = self.metrics(runs, "ruff", new=new, old=old)
        where = self.where(ctx)
        if new:
            return self.result(
                Status.FAILED,
                f"{plural(len(new), 'ruff finding')} {where}{self.not_counted(old)}",
                metrics=metrics,
                findings=[to_finding(i) for i in new],
            )
        return self.result(
            Status.PASSED,
            f"no ruff findings {where} ({plural(runs.spec('ruff').files, 'changed file')})"
            + self.not_counted(old),
            metrics=metrics,
        )
