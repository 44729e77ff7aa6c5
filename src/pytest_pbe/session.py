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
        # Runs for every report (three a test): each attribute read once, the outcome
        # compared as the string it is (``report.failed`` is ``outcome == "failed"``).
        nodeid = report.nodeid
        test = self.outcomes.get(nodeid)
        if test is None:
            test = self.outcomes[nodeid] = TestOutcome(nodeid)
        duration = report.duration
        test.duration += duration
        location = report.location
        test.location = (location[0], location[1])
        if report.user_properties:
            test.user_properties.extend(report.user_properties)
        when = report.when
        outcome = report.outcome
        if when == "call":
            test.call_duration = duration
            if hasattr(report, "wasxfail"):
                test.outcome = "xfailed" if outcome == "skipped" else "xpassed"
            elif test.outcome != "error":
                test.outcome = outcome
        elif outcome == "failed":
            test.outcome = "error"  # a fixture broke in setup or teardown
        elif outcome == "skipped" and when == "setup":
            test.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"

    def record_collection(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors += 1

    def counts(self) -> Counter[str]:
        return Counter(test.outcome for test in self.outcomes.values())

    @property
    def duration(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started
