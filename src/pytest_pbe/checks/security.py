"""The `security` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class SecurityCheck(PendingCheck):
    id = "security"
    title = "Security considerations addressed (bandit)"
