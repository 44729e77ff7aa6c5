"""pytest-pbe: ``pytest --pbe-verify`` turns "done" into a measured checklist."""

from __future__ import annotations

__version__ = "0.1.0"
