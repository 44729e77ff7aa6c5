"""User names as people type them, and as we store them."""

from __future__ import annotations


def normalize(name: str) -> str:
    """Collapse runs of whitespace and trim: ``'  Ada   Lovelace '`` -> ``'Ada Lovelace'``."""
    return " ".join(name.split())


def initials(name: str) -> str:
    """``'Ada Lovelace'`` -> ``'AL'``."""
    return "".join(part[0].upper() for part in normalize(name).split(" ") if part)
