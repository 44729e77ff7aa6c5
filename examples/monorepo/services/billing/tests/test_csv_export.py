from __future__ import annotations

from billing.legacy.csv_export import header, invoice_line


def test_invoice_line_shows_euros_and_cents() -> None:
    assert invoice_line("A-1", 1205) == "A-1;12.05"


def test_the_header_names_the_columns() -> None:
    assert header() == "number;amount"
