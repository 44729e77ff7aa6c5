"""The per-test leak watcher behind the ``leaks`` item.

A pytest plugin object (:class:`LeakWatcher`) that watches every test's setup, call and
teardown, attributes what the test leaves behind to its node id, and ships the findings
in the teardown report's ``user_properties`` (so they travel from pytest-xdist workers
to the controller with the report).
"""

from __future__ import annotations

from pytest_pbe.leakwatch.model import KINDS, PROPERTY, WATCHED_KEY, Leak
from pytest_pbe.leakwatch.watcher import LeakWatcher

__all__ = ["KINDS", "PROPERTY", "WATCHED_KEY", "Leak", "LeakWatcher"]
