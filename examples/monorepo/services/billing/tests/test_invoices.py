from __future__ import annotations

import pytest
from billing.invoices import total, with_tax


def test_total_sums_quantity_times_price() -> None:
    assert total([(2, 150), (1, 99)]) == 399


def test_with_tax_rounds_half_up() -> None:
    assert with_tax(1000, 19) == 1190
    assert with_tax(5, 10) == 6


def test_a_negative_tax_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        with_tax(100, -1)
