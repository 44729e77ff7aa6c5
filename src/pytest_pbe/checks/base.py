"""The shape of a checklist item, shared by the built-in items and third parties."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

from pytest_pbe.model import CheckResult, Finding, MetricValue, Status

if TYPE_CHECKING:
    import pytest

    from pytest_pbe.config import Settings
    from pytest_pbe.context import VerifyContext


class Check:
    """One checklist item.

    Life cycle, all on the controller (never on pytest-xdist workers, except
    ``configure_worker``):

    1. ``configure`` in ``pytest_configure``: start what must see the whole session
       (a coverage collector, a leak watcher registered as a pytest plugin).
    2. ``start`` in ``pytest_sessionstart``: start background work that needs the new
       code (tools run beside the tests). With ``start_in_background``, it runs on a
       thread of its own, beside the other background starts and collection (it must
       only touch the context and its own state, and import nothing new: see
       ``measure.threads``); the first test waits until they have all returned, and
       processes it started die with pytest's death even if pytest is killed.
    3. ``evaluate`` after the test loop: return the verdict. Raise
       ``pytest_pbe.errors.PbeError`` (or anything) when it cannot judge: the runner
       turns it into ``error`` with the message; it never becomes a pass.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    default_required: ClassVar[bool] = True
    #: Shared session measurements this item reads ("coverage"); started only if needed.
    needs: ClassVar[frozenset[str]] = frozenset()
    #: It judges the change set's files: a file whose bytes changed during the session
    #: makes it ``error`` (what it would judge is not what the tests ran).
    judges_new_code: ClassVar[bool] = False
    #: ``start`` runs on the background starter thread instead of the main thread.
    start_in_background: ClassVar[bool] = False
    #: ``evaluate`` runs after the other items' (it waits for work done beside theirs, as
    #: the coverage total computed by the parsing child); the checklist's order is kept.
    judged_last: ClassVar[bool] = False

    def configure(self, config: pytest.Config, settings: Settings) -> None:
        """Prepare before collection (controller or single process)."""

    def configure_worker(self, config: pytest.Config) -> None:
        """Prepare inside a pytest-xdist worker (only per-test collectors belong here)."""

    def start(self, ctx: VerifyContext) -> None:
        """Start background work at session start."""

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        raise NotImplementedError

    def unconfigure(self) -> None:
        """Release what ``configure``/``start`` acquired (always called)."""

    # Helpers so that items build results in one line; ``required`` is set by the runner.
    def result(
        self,
        status: Status,
        summary: str,
        *,
        metrics: Mapping[str, MetricValue] | None = None,
        findings: Iterable[Finding] = (),
        details: Iterable[str] = (),
    ) -> CheckResult:
        return CheckResult(
            id=self.id,
            title=self.title,
            status=status,
            summary=summary,
            metrics=dict(metrics or {}),
            findings=tuple(findings),
            details=tuple(details),
        )

    def skipped(self, reason: str) -> CheckResult:
        return self.result(Status.SKIPPED, reason)

    def error(self, reason: str) -> CheckResult:
        return self.result(Status.ERROR, reason)
