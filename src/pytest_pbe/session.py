"""Facts about the test session, recorded from pytest's reports as they arrive.

Under pytest-xdist the controller receives every worker's reports, so the facts
are complete there.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import pytest


@dataclass
class TestOutcome:
    nodeid: str
    outcome: str = "passed"  # passed, failed, error, skipped, xfailed, xpassed
    duration: float = 0.0  # setup + call + teardown, seconds
    call_duration: float = 0.0
    location: tuple[str, int | None] | None = None  # (path relative to rootdir, 0-based line)
    user_properties: list[tuple[str, object]] = field(default_factory=list)


@dataclass
class SessionFacts:
    """What happened in the session; filled by the verifier, read by the items."""

    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    collection_errors: int = 0
    collected: int = 0
    exitstatus: int = 0
    interrupted: bool = False
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def record(self, report: pytest.TestReport) -> None:
        test = self.outcomes.get(report.nodeid)
        if test is None:
            test = self.outcomes[report.nodeid] = TestOutcome(report.nodeid)
        test.duration += report.duration
        test.location = (report.location[0], report.location[1])
        test.user_properties.extend(report.user_properties)
        if report.when == "call":
            test.call_duration = report.duration
        wasxfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if wasxfail:
                test.outcome = "xfailed" if report.skipped else "xpassed"
            elif test.outcome != "error":
                test.outcome = report.outcome
        elif report.failed:
            test.outcome = "error"  # a fixture broke in setup or teardown
        elif report.skipped and report.when == "setup":
            test.outcome = "xfailed" if wasxfail else "skipped"

    def record_collection(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors += 1

    def counts(self) -> Counter[str]:
        return Counter(test.outcome for test in self.outcomes.values())

    @property
    def duration(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started
