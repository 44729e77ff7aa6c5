"""Invoice totals, in cents so that no float ever rounds a price."""

from __future__ import annotations


def total(lines: list[tuple[int, int]]) -> int:
    """The sum of ``quantity * unit_cents`` over the invoice lines."""
    return sum(quantity * unit_cents for quantity, unit_cents in lines)


def with_tax(cents: int, rate_percent: int) -> int:
    """``cents`` plus tax, rounded half up to the cent."""
    if rate_percent < 0:
        raise ValueError(f"tax rate must not be negative, got {rate_percent!r}")
    return (cents * (100 + rate_percent) + 50) // 100
