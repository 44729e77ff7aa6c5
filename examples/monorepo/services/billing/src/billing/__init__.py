"""Billing: invoices and their totals."""
