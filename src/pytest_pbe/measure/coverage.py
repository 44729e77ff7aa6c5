"""Coverage measured in the session: shared by the coverage, tdd and errors items.

(API stub: the coverage issue fills it in.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_pbe.errors import PbeError

if TYPE_CHECKING:
    from pytest_pbe.config import Settings


@dataclass(frozen=True)
class FileCoverage:
    """coverage.py's analysis of one file, in that file's own line numbers."""

    path: Path  # absolute
    measured: bool  # False: never imported / outside source; then ``reason`` says why
    reason: str = ""
    statements: frozenset[int] = frozenset()
    excluded: frozenset[int] = frozenset()
    missing: frozenset[int] = frozenset()
    # Branch coverage: source line -> destinations never taken (empty without branch=True).
    missing_branches: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    # Multi-line statements: each line -> the first line of its statement.
    statement_starts: Mapping[int, int] = field(default_factory=dict)
    # Per-test contexts where recorded: line -> node ids of the tests that ran it.
    contexts: Mapping[int, frozenset[str]] = field(default_factory=dict)


class MeasuredCoverage:
    """The session's coverage, read after the test loop."""

    total_percent: float | None = None
    has_contexts: bool = False  # True when per-test contexts were recorded

    def file(self, path: Path) -> FileCoverage:
        raise PbeError("coverage measurement is not implemented yet")


class CoverageMeasurement:
    """Started in ``pytest_configure`` when an enabled item needs coverage."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    def configure(self) -> None:
        """Start collecting (or attach to pytest-cov) on the controller / single process."""

    def configure_worker(self) -> None:
        """Inside a pytest-xdist worker."""

    def result(self) -> MeasuredCoverage:
        raise PbeError("coverage measurement is not implemented yet")

    def stop(self) -> None:
        """Release the collector (always called)."""


COVERAGE_MEASUREMENT = pytest.StashKey[CoverageMeasurement]()
