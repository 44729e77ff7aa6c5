"""CSV lines for the old accounting system."""

from __future__ import annotations


def invoice_line(number: str, cents: int) -> str:
    return f"{number};{cents // 100}.{cents % 100:02d}"


def header(separator: str = ";") -> str:
    if separator != ";":
        return "number" + separator + "amount"
    return "number;amount"
