"""The `lint` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class LintCheck(PendingCheck):
    id = "lint"
    title = "Code follows best practices (ruff)"
