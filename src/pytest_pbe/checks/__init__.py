"""The built-in checklist items, registered through pytest-pbe's own hook."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pytest_pbe.checks.base import Check
from pytest_pbe.checks.coverage import CoverageCheck
from pytest_pbe.checks.docs import DocsCheck
from pytest_pbe.checks.errors import ErrorsCheck
from pytest_pbe.checks.leaks import LeaksCheck
from pytest_pbe.checks.lint import LintCheck
from pytest_pbe.checks.performance import PerformanceCheck
from pytest_pbe.checks.security import SecurityCheck
from pytest_pbe.checks.tdd import TddCheck
from pytest_pbe.checks.tests import TestsCheck
from pytest_pbe.checks.types import TypesCheck

__all__ = ["BuiltinChecks", "Check"]


class BuiltinChecks:
    """A plugin of our own hooks, exactly like a third party's."""

    @pytest.hookimpl
    def pytest_pbe_register_checks(self, config: pytest.Config) -> Sequence[Check]:
        return [
            TestsCheck(),
            CoverageCheck(),
            TddCheck(),
            TypesCheck(),
            LintCheck(),
            SecurityCheck(),
            ErrorsCheck(),
            LeaksCheck(),
            PerformanceCheck(),
            DocsCheck(),
        ]
