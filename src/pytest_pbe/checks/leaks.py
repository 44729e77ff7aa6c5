"""The `leaks` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class LeaksCheck(PendingCheck):
    id = "leaks"
    title = "No resource leaks"
