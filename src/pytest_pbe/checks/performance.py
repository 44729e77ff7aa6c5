"""The `performance` item: time budgets, and pytest-benchmark regressions.

- Each test's wall time (setup + call + teardown) against ``pbe_max_test_seconds``;
  the whole session against ``pbe_max_session_seconds`` (off by default).
- Where pytest-benchmark ran and a saved run exists (``--benchmark-compare``, or else the
  newest run saved before this session), a median slower by more than
  ``pbe_benchmark_regression`` percent fails the item.
- The summary always names the three slowest tests, so a pass is informative too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pytest_pbe.checks.base import Check
from pytest_pbe.errors import PbeError
from pytest_pbe.model import CheckResult, Finding, MetricValue, Status

if TYPE_CHECKING:
    import pytest

    from pytest_pbe.config import Settings
    from pytest_pbe.context import VerifyContext

SLOWEST_SHOWN = 3


def human_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f}ms"
    return f"{seconds * 1e6:.1f}us"


class PerformanceCheck(Check):
    id = "performance"
    title = "Performance is acceptable"

    def __init__(self) -> None:
        self._started = datetime.now(timezone.utc)

    def configure(self, config: pytest.Config, settings: Settings) -> None:
        self._started = datetime.now(timezone.utc)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        settings = ctx.settings
        tests = [t for t in ctx.session.outcomes.values() if t.outcome != "skipped"]
        if not tests:
            return self.skipped("no test ran, so there was nothing to time")
        tests.sort(key=lambda t: t.duration, reverse=True)
        budget = settings.max_test_seconds
        slow = [t for t in tests if t.duration > budget]
        findings = [
            Finding(
                f"{t.nodeid} took {human_seconds(t.duration)} "
                f"(call {human_seconds(t.call_duration)}), over the {budget:g}s budget "
                "(pbe_max_test_seconds): make it faster, or mark it and raise the budget",
                *ctx.test_place(t),
                rule="slow-test",
            )
            for t in slow
        ]
        session_seconds = ctx.session.duration
        session_budget = settings.max_session_seconds
        if session_budget is not None and session_seconds > session_budget:
            findings.append(
                Finding(
                    message=(
                        f"the session took {human_seconds(session_seconds)}, over the "
                        f"{session_budget:g}s budget (pbe_max_session_seconds)"
                    ),
                    rule="slow-session",
                )
            )
        bench_note, regressions, compared = self._benchmarks(ctx, settings.benchmark_regression)
        findings.extend(regressions)
        slowest = ", ".join(
            f"{t.nodeid} {human_seconds(t.duration)}" for t in tests[:SLOWEST_SHOWN]
        )
        slowest_metric: list[MetricValue] = [
            {"nodeid": t.nodeid, "seconds": round(t.duration, 6)} for t in tests[:SLOWEST_SHOWN]
        ]
        metrics: dict[str, MetricValue] = {
            "tests_timed": len(tests),
            "slow_tests": len(slow),
            "max_test_seconds": budget,
            "session_seconds": round(session_seconds, 3),
            "max_session_seconds": session_budget,
            "slowest": slowest_metric,
            "benchmarks_compared": compared,
            "benchmark_regressions": len(regressions),
        }
        problems = []
        if slow:
            problems.append(f"{len(slow)} test(s) over {budget:g}s")
        if any(f.rule == "slow-session" for f in findings):
            problems.append(f"session over {session_budget:g}s")
        if regressions:
            problems.append(f"{len(regressions)} benchmark regression(s)")
        summary = f"slowest: {slowest}" + (f"; {bench_note}" if bench_note else "")
        if problems:
            return self.result(
                Status.FAILED, "; ".join(problems) + f"; {summary}", metrics=metrics,
                findings=findings,
            )  # fmt: skip
        return self.result(
            Status.PASSED, f"{len(tests)} tests within {budget:g}s each; {summary}", metrics=metrics
        )

    # --- pytest-benchmark -----------------------------------------------------------------
    def _benchmarks(self, ctx: VerifyContext, allowed: float) -> tuple[str, list[Finding], int]:
        """(note, regression findings, how many benchmarks were compared)."""
        session = getattr(ctx.config, "_benchmarksession", None)  # pytest-benchmark's own
        if session is None:
            return "", [], 0
        if getattr(session, "disabled", False) is True:
            return "pytest-benchmark is disabled (e.g. under xdist): no benchmark compared", [], 0
        try:
            current = {
                str(bench.fullname): float(bench.stats.median)
                for bench in getattr(session, "benchmarks", [])
                if bench
            }
        except (AttributeError, TypeError, ValueError) as exc:
            raise PbeError(
                f"could not read pytest-benchmark's results ({exc}); is this pytest-benchmark "
                "version supported? Skip the item with --pbe-skip performance meanwhile"
            ) from exc
        if not current:
            return "", [], 0
        source, baseline = self._baseline(session)
        if baseline is None:
            return f"{len(current)} benchmark(s), no saved baseline to compare with", [], 0
        findings = []
        compared = 0
        locations = {t.nodeid: t for t in ctx.session.outcomes.values()}
        for name, median in sorted(current.items()):
            before = baseline.get(name)
            if before is None or before <= 0:
                continue
            compared += 1
            change = (median - before) / before * 100
            if change > allowed:
                test = locations.get(name)
                findings.append(
                    Finding(
                        f"benchmark {name!r}: median {human_seconds(median)} against "
                        f"{human_seconds(before)} in {source} (+{change:.1f}%, allowed "
                        f"{allowed:g}%, pbe_benchmark_regression)",
                        *ctx.test_place(test),
                        rule="benchmark-regression",
                    )
                )
        return f"{compared} benchmark(s) compared with {source}", findings, compared

    def _baseline(self, session: Any) -> tuple[str, dict[str, float] | None]:
        """The explicit ``--benchmark-compare`` run, else the newest saved before this session."""
        mapping = getattr(session, "compared_mapping", None)
        if isinstance(mapping, Mapping) and mapping:
            path, benches = list(mapping.items())[-1]
            return str(path), _medians(benches.values())
        storage = getattr(session, "storage", None)
        if storage is None:
            return "", None
        try:
            runs = list(storage.load())
        except Exception as exc:  # any storage failure: we can't judge
            raise PbeError(f"could not load saved pytest-benchmark runs: {exc}") from exc
        earlier = [(path, data) for path, data in runs if self._saved_before(data)]
        if not earlier:
            return "", None
        path, data = earlier[-1]
        return str(path), _medians(data.get("benchmarks", []))

    def _saved_before(self, data: Mapping[str, Any]) -> bool:
        stamp = data.get("datetime")
        if not isinstance(stamp, str):
            return False
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when < self._started


def _medians(benches: Iterable[Any]) -> dict[str, float]:
    out = {}
    for bench in benches:
        try:
            out[str(bench["fullname"])] = float(bench["stats"]["median"])
        except (KeyError, TypeError, ValueError):
            continue
    return out
