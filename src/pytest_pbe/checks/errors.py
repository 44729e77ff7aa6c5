"""The `errors` item: error-handling anti-patterns, and new handlers no test entered.

Two parts:

* static: ruff with an explicit selection of error-handling rules (``ERROR_RULES``: bare
  ``except``, blind ``except Exception`` that swallows, ``try``/``except``/``pass`` and
  ``continue``, ``raise`` without ``from`` inside ``except`` ...), whatever rules the
  project selected; its ``# noqa`` comments and per-file ignores still apply;
* dynamic: new ``except`` handlers whose body never ran in the session ("error path never
  exercised"), from the shared coverage measurement.

When coverage cannot be read the static part is still reported, and the item ends in
``error`` (fail closed) -- unless the ``coverage`` item was switched off on purpose
(``pbe_skip``/``pbe_checks``): then the handler part is left out and the summary says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.errors import PbeError, first_line
from pytest_pbe.model import CheckResult, Finding, Status
from pytest_pbe.tools.item import ToolCheck, plural, to_finding
from pytest_pbe.tools.runs import ToolRuns

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext
    from pytest_pbe.tools.handlers import Handler

UNEXERCISED = "unexercised-handler"


def _finding(handler: Handler) -> Finding:
    return Finding(
        message=(
            f"error path never exercised: no test entered this '{handler.clause}' handler; "
            "write a test that makes the guarded code raise"
        ),
        path=handler.path,
        line=handler.line,
        end_line=handler.end_line,
        rule=UNEXERCISED,
    )


class ErrorsCheck(ToolCheck):
    id = "errors"
    title = "Error handling is comprehensive"
    needs = frozenset({"coverage"})
    run_names = ("ruff-errors",)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        from pytest_pbe.tdd.source import WORKTREE_OUTLINES
        from pytest_pbe.tools.handlers import never_entered, new_handlers

        runs = ToolRuns.of(ctx)
        reason = runs.skip_reason("ruff-errors")
        if reason is not None:
            return self.skipped(reason)
        new, old = runs.new_code.split(runs.collect("ruff-errors"))
        findings = [to_finding(i) for i in new]
        metrics = self.metrics(runs, "ruff-errors", new=new, old=old)
        # The tdd item, judged before, parsed the same files: their outlines are reused.
        handlers = new_handlers(runs.new_code, ctx.stash.get(WORKTREE_OUTLINES, None))
        metrics["new_handlers"] = len(handlers)
        parts = [f"{plural(len(new), 'error-handling finding')} {self.where(ctx)}"]

        cannot_judge: str | None = None
        if handlers:
            try:
                missed, unjudged = never_entered(handlers, ctx.coverage(), runs.new_code)
            except PbeError as exc:
                missed, unjudged = [], []
                cannot_judge = first_line(exc, "?")
            if unjudged:
                cannot_judge = "; ".join(unjudged)
            metrics["handlers_never_entered"] = len(missed)
            findings += [_finding(h) for h in missed]
            if cannot_judge is None:
                parts.append(
                    f"{len(missed)} of {plural(len(handlers), 'new except handler')} "
                    "never entered by a test"
                )

        if cannot_judge is not None:
            verb = "was" if len(handlers) == 1 else "were"
            parts.append(
                f"could not judge whether {plural(len(handlers), 'new except handler')} {verb} "
                f"ever entered by a test ({cannot_judge})"
            )
            if "coverage" not in ctx.settings.skipped_by_user:
                return self.result(
                    Status.ERROR, "; ".join(parts), metrics=metrics, findings=findings
                )
            parts[-1] += ": the coverage item is switched off"
        summary = "; ".join(parts) + self.not_counted(old)
        status = Status.FAILED if findings else Status.PASSED
        return self.result(status, summary, metrics=metrics, findings=findings)
