"""The `coverage` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class CoverageCheck(PendingCheck):
    id = "coverage"
    title = "New code is covered by tests"
