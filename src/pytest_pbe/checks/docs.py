"""The `docs` item: pending its own issue."""

from __future__ import annotations

from pytest_pbe.checks.base import PendingCheck


class DocsCheck(PendingCheck):
    id = "docs"
    title = "Documentation has been consulted"
    default_required = False
