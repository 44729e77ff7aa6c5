"""The `types` item: mypy errors on new code (mypy checks the project as configured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.model import CheckResult, Status
from pytest_pbe.tools.item import ToolCheck, plural, to_finding
from pytest_pbe.tools.runs import ToolRuns

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext


class TypesCheck(ToolCheck):
    id = "types"
    title = "New code type-checks (mypy)"
    run_names = ("mypy",)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        runs = ToolRuns.of(ctx)
        reason = runs.skip_reason("mypy")
        if reason is not None:
            return self.skipped(reason)
        errors = [i for i in runs.collect("mypy") if i.severity == "error"]
        new, old = runs.new_code.split(errors)
        metrics = self.metrics(runs, "mypy", new=new, old=old)
        where = self.where(ctx)
        if new:
            return self.result(
                Status.FAILED,
                f"{plural(len(new), 'mypy error')} {where}{self.not_counted(old)}",
                metrics=metrics,
                findings=[to_finding(i) for i in new],
            )
        return self.result(
            Status.PASSED,
            f"no mypy errors {where} ({plural(runs.spec('mypy').files, 'changed file')})"
            + self.not_counted(old),
            metrics=metrics,
        )
