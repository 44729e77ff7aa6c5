"""pytest wiring, and nothing else.

Without ``--pbe-verify`` the plugin only declares its options and hooks: no
subprocess, no extra import, no change to output or exit status.
"""

from __future__ import annotations

import pytest

from pytest_pbe import options


def pytest_addoption(parser: pytest.Parser) -> None:
    options.register(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_pbe import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Like pytest-cov: coverage must be running before conftest files import the project.
    if early_config.known_args_namespace.pbe_verify or early_config.getini("pbe_verify"):
        from pytest_pbe.measure.coverage import start_early

        start_early(early_config)


@pytest.hookimpl(trylast=True)  # after conftests and other plugins have registered theirs
def pytest_configure(config: pytest.Config) -> None:
    if not (config.getoption("pbe_verify") or config.getini("pbe_verify")):
        return
    from pytest_pbe.heap import heap_set_aside

    with heap_set_aside():  # the plugin's imports trigger a full collection otherwise
        from pytest_pbe.engine import Verifier

        Verifier.install(config)
