"""The hooks through which checklist items are registered, and reports read.

The ten built-in items are registered through these very hooks, exactly like a
third party's. Implementations in other plugins or conftest.py files must be marked
``@pytest.hookimpl(optionalhook=True)`` so that they load when pytest-pbe is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_pbe.checks.base import Check
    from pytest_pbe.model import CheckResult, Report


@pytest.hookspec
def pytest_pbe_register_checks(config: pytest.Config) -> Sequence[Check]:
    """Return the checklist items this plugin contributes.

    Called once, in ``pytest_configure``, and only under ``--pbe-verify``. Each item
    is a :class:`pytest_pbe.checks.base.Check`; its ``id`` must be unique. Built-in
    items come first in the contract's order, then the others in registration order.
    """
    raise NotImplementedError


@pytest.hookspec
def pytest_pbe_amend_results(config: pytest.Config, results: list[CheckResult]) -> None:
    """Amend the results after every item was evaluated, before the report is built.

    ``results`` may be changed in place (replace an element with
    ``dataclasses.replace(result, ...)``, append a new result). Each plugin's hook is
    called on its own copies and judged on its own (``pytest_pbe.amend``): a built-in
    item may only get stricter (passed < skipped < failed < error), keep its findings,
    metrics and ``required``, and add to its summary. Any other change to it is refused
    (the verdict stands, with a ``hook-refused`` finding and a report note naming the
    plugin); removing it makes it an error. Third parties' items may be changed freely.
    """


@pytest.hookspec
def pytest_pbe_report(config: pytest.Config, report: Report) -> None:
    """Read the finished report (before it is printed and written), e.g. to upload it."""
