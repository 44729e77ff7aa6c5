"""Loosenings of the tools' own configuration (coverage.py, mypy, ruff, bandit)."""

from __future__ import annotations

from pytest_pbe.git import Repository
from pytest_pbe.model import Loosening


def tool_config_loosenings(repo: Repository, base: str) -> list[Loosening]:
    """Each key of a tool's configuration made looser than at ``base``."""
    return []
