"""The `leaks` item: resources each test leaves behind, attributed to the test.

The per-test watcher (``pytest_pbe.leakwatch``) runs where the tests run: in this
process, or inside every pytest-xdist worker. It ships its findings in each teardown
report's ``user_properties``; this item reads them from the session facts, applies the
allowlist (``pbe_leaks_ignore``) and judges. What it matches is CPython's own test
runner's "environment changed": dangling threads, child processes, and more (open
descriptors, unclosed files and sockets, unraisable and thread exceptions, coroutines
never awaited, asyncio tasks destroyed while pending).
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_pbe.checks.base import Check
from pytest_pbe.errors import PbeError
from pytest_pbe.model import CheckResult, Finding, MetricValue, Status

if TYPE_CHECKING:
    import pytest

    from pytest_pbe.config import Settings
    from pytest_pbe.context import VerifyContext
    from pytest_pbe.leakwatch import Leak, LeakWatcher
    from pytest_pbe.session import TestOutcome

_PLUGIN_NAME = "pbe-leak-watcher"


def is_ignored(patterns: Sequence[str], nodeid: str, kind: str) -> bool:
    """``pbe_leaks_ignore``: a leak kind (``thread``), a test-id glob, or ``KIND:GLOB``."""
    from pytest_pbe.leakwatch import KINDS

    for pattern in patterns:
        prefix, sep, rest = pattern.partition(":")
        if sep and prefix in KINDS and not rest.startswith(":"):
            if prefix == kind and fnmatch.fnmatchcase(nodeid, rest):
                return True
        elif fnmatch.fnmatchcase(kind, pattern) or fnmatch.fnmatchcase(nodeid, pattern):
            return True
    return False


class LeaksCheck(Check):
    id = "leaks"
    title = "No resource leaks"

    def __init__(self) -> None:
        self.watcher: LeakWatcher | None = None
        self._config: pytest.Config | None = None

    def configure(self, config: pytest.Config, settings: Settings) -> None:
        self._install(config)

    def configure_worker(self, config: pytest.Config) -> None:
        self._install(config)

    def _install(self, config: pytest.Config) -> None:
        from pytest_pbe.leakwatch import LeakWatcher

        self.watcher = LeakWatcher(config)
        self._config = config
        config.pluginmanager.register(self.watcher, _PLUGIN_NAME)

    def unconfigure(self) -> None:
        if self.watcher is not None and self._config is not None:
            self.watcher.close()
            if self._config.pluginmanager.is_registered(self.watcher):
                self._config.pluginmanager.unregister(self.watcher)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        from pytest_pbe.leakwatch import PROPERTY, Leak
        from pytest_pbe.leakwatch.probes import probes_available

        watcher = self.watcher
        if watcher is None:
            raise PbeError("the leak watcher was never installed, so no test was watched")
        tests = ctx.session.outcomes
        if not tests:
            return self.skipped("no test ran, so there was nothing to watch")
        watched = watcher.watched + watcher.remote_watched
        if watched < len(tests):
            raise PbeError(
                f"the leak watcher saw {watched} of {len(tests)} tests (a crashed or "
                "unwatched pytest-xdist worker?): leaks in the others were not measured"
            )
        found: list[tuple[TestOutcome, Leak]] = []
        for test in tests.values():
            for name, value in test.user_properties:
                if name != PROPERTY:
                    continue
                try:
                    leak = Leak.from_property(value)
                    found.append((tests.get(leak.test, test) if leak.test else test, leak))
                except ValueError as exc:
                    raise PbeError(
                        f"unreadable leak record for {test.nodeid}: {exc}; "
                        "is another plugin writing a 'pbe_leak' user property?"
                    ) from exc
        patterns = ctx.settings.leaks_ignore
        kept = [(t, leak) for t, leak in found if not is_ignored(patterns, t.nodeid, leak.kind)]
        ignored = len(found) - len(kept)
        by_kind = Counter(leak.kind for _, leak in kept)
        leaking = len({t.nodeid for t, _ in kept})
        probes = probes_available()
        kind_counts: dict[str, MetricValue] = dict(sorted(by_kind.items()))
        metrics: dict[str, MetricValue] = {
            "tests_watched": watched,
            "leaks": len(kept),
            "ignored": ignored,
            "tests_leaking": leaking,
            "by_kind": kind_counts,
            "probes": ", ".join(probes),
        }
        unmeasured = {"fd", "process"} - set(probes)
        note = f" ({' and '.join(sorted(unmeasured))} not measurable here)" if unmeasured else ""
        ignored_note = f", {ignored} accepted by pbe_leaks_ignore" if ignored else ""
        if not kept:
            return self.result(
                Status.PASSED,
                f"no leaks in {watched} tests{ignored_note}{note}",
                metrics=metrics,
            )
        findings = [self._finding(ctx, test, leak) for test, leak in kept]
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(by_kind.items()))
        return self.result(
            Status.FAILED,
            f"{len(kept)} leak(s) in {leaking} test(s): {kinds}{ignored_note}"
            f"{note}; fix them, or accept known ones with pbe_leaks_ignore",
            metrics=metrics,
            findings=findings,
        )

    def _finding(self, ctx: VerifyContext, test: TestOutcome, leak: Leak) -> Finding:
        path, line = ctx.test_place(test)
        message = f"{test.nodeid} leaked: {leak.what}"
        if leak.origin:
            message += f" (created at {leak.origin})"
        if leak.hint:
            message += f"; {leak.hint}"
        return Finding(message=message, path=path, line=line, rule=leak.kind)
