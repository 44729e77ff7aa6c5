from __future__ import annotations

from users.names import initials, normalize


def test_normalize_collapses_whitespace() -> None:
    assert normalize("  Ada   Lovelace ") == "Ada Lovelace"


def test_initials_are_upper_case() -> None:
    assert initials("ada  lovelace") == "AL"
