"""The `tdd` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class TddCheck(PendingCheck):
    id = "tdd"
    title = "Tests were written first"
