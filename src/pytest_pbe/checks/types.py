"""The `types` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class TypesCheck(PendingCheck):
    id = "types"
    title = "New code type-checks (mypy)"
