"""One-off: store every name in its normal form."""

from __future__ import annotations

from users.names import normalize


def migrate(rows: list[dict[str, str]]) -> int:
    changed = 0
    for row in rows:
        fixed = normalize(row["name"])
        if fixed != row["name"]:
            row["name"] = fixed
            changed += 1
    return changed
