"""What the four static-analysis items share: starting their runs, turning issues into findings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pytest_pbe.checks.base import Check
from pytest_pbe.model import Finding, MetricValue, Severity
from pytest_pbe.tools.parse import Issue
from pytest_pbe.tools.runs import ToolRuns

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext

FILTER_WORDS = {
    "added": "on new lines",
    "file": "in changed files",
    "all": "in the project",
}


def to_finding(issue: Issue, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(
        message=issue.message,
        path=issue.path,
        line=issue.line,
        end_line=issue.end_line,
        rule=issue.rule,
        severity=severity,
        url=issue.url,
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class ToolCheck(Check):
    """An item judged from background tool runs started at session start."""

    #: The runs (names in ``ToolRuns``) this item reads.
    run_names: ClassVar[tuple[str, ...]] = ()
    judges_new_code = True
    start_in_background = True  # git and the tools' launch, beside the other starts

    _runs: ToolRuns | None = None

    def start(self, ctx: VerifyContext) -> None:
        runs = ToolRuns.of(ctx)
        self._runs = runs
        for name in self.run_names:
            runs.ensure(name)

    def unconfigure(self) -> None:
        if self._runs is not None:
            self._runs.stop()

    @staticmethod
    def where(ctx: VerifyContext) -> str:
        return FILTER_WORDS.get(ctx.settings.filter, "in new code")

    def metrics(
        self, runs: ToolRuns, name: str, *, new: Sequence[Issue], old: Sequence[Issue]
    ) -> dict[str, MetricValue]:
        seconds = runs.seconds(name)
        return {
            "files": runs.spec(name).files,
            "findings": len(new),
            "not_new": len(old),
            "filter": runs.new_code.mode,
            "tool_seconds": None if seconds is None else round(seconds, 3),
        }

    @staticmethod
    def not_counted(old: Sequence[Issue]) -> str:
        return f"; {len(old)} more on old code, not counted" if old else ""
