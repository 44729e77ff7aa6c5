"""The `performance` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class PerformanceCheck(PendingCheck):
    id = "performance"
    title = "Performance is acceptable"
