"""Measurements taken during the test session and shared by several items."""
