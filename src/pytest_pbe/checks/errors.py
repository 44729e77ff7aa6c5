"""The `errors` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class ErrorsCheck(PendingCheck):
    id = "errors"
    title = "Error handling is comprehensive"
