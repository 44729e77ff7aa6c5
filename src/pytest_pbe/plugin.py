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


@pytest.hookimpl(trylast=True)  # after conftests and other plugins have registered theirs
def pytest_configure(config: pytest.Config) -> None:
    if not (config.getoption("pbe_verify") or config.getini("pbe_verify")):
        return
    from pytest_pbe.engine import Verifier

    Verifier.install(config)
