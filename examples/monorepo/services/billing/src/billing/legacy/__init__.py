"""Exporters kept for the old accounting system until it is switched off."""
