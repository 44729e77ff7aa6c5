from __future__ import annotations

from users.migrations.m0002_normalize_names import migrate


def test_names_already_normal_are_left_alone() -> None:
    rows = [{"name": "Ada Lovelace"}]
    assert migrate(rows) == 0
    assert rows == [{"name": "Ada Lovelace"}]
