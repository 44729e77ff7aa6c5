"""The runner: registers the items, drives them through the session, builds the report.

Installed as a pytest plugin only under ``--pbe-verify``. Fail closed: an item that
raises ends in ``error`` with the reason, and a required item in ``error`` fails the run.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence

import pytest

from pytest_pbe.amend import amend_results
from pytest_pbe.checks import BuiltinChecks
from pytest_pbe.checks.base import Check
from pytest_pbe.config import BUILTIN_IDS, Settings
from pytest_pbe.context import VerifyContext
from pytest_pbe.errors import PbeError, ReportWriteError, first_line
from pytest_pbe.heap import heap_set_aside
from pytest_pbe.loosenings import apply_loosenings
from pytest_pbe.measure.threads import (
    OWN_THREADS,
    hidden_from_every_tracer,
    hide_from_tracers,
    untraced,
)
from pytest_pbe.model import CheckResult, Loosening, Report, RevisionInfo, Scope, Status
from pytest_pbe.report import emit_terminal_extras, write_reports
from pytest_pbe.report.terminal import write_checklist
from pytest_pbe.session import SessionFacts

VERIFIER_KEY = pytest.StashKey["Verifier"]()

# Exit codes beyond pytest's own 0-5 (documented in the README).
EXIT_CHECKS_FAILED = 6
EXIT_CHECKS_ERROR = 7


def _collect_checks(config: pytest.Config) -> list[Check]:
    batches: list[Sequence[Check]] = config.hook.pytest_pbe_register_checks(config=config)
    # Third parties may return None or junk: validated below, never trusted.
    checks: list[object] = [check for batch in batches if batch for check in batch]
    seen: set[str] = set()
    for check in checks:
        check_id = getattr(check, "id", None)
        if not isinstance(check, Check) or not isinstance(check_id, str) or not check_id:
            raise pytest.UsageError(
                f"pytest_pbe_register_checks returned {check!r}: expected a "
                "pytest_pbe.checks.base.Check with an id"
            )
        if check_id in seen:
            raise pytest.UsageError(f"two checklist items share the id {check_id!r}")
        seen.add(check_id)
    valid = [check for check in checks if isinstance(check, Check)]
    missing = [i for i in BUILTIN_IDS if i not in seen]
    if missing:  # only reachable if the built-in plugin was blocked
        raise pytest.UsageError(f"built-in checklist items missing: {', '.join(missing)}")
    order = {check_id: n for n, check_id in enumerate(BUILTIN_IDS)}
    # Built-ins in the contract's order, then the others as they were registered.
    return sorted(valid, key=lambda c: order.get(c.id, len(order)))


def _is_result(value: object) -> bool:
    """Third-party code can return anything; only a well-formed result counts."""
    return isinstance(value, CheckResult) and isinstance(value.status, Status)


def _describe(exc: BaseException) -> str:
    text = first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Starters:
    """One starter thread per background start, so that their git work overlaps."""

    def __init__(self, works: Sequence[Callable[[], None]]) -> None:
        self.threads = [_Starter(work) for work in works]
        for thread in self.threads:
            thread.start()

    def wait_started(self, *, raise_errors: bool = True) -> None:
        for thread in self.threads:
            thread.wait_started(raise_errors=raise_errors)

    def release(self) -> None:
        for thread in self.threads:
            thread.release()


class _Starter(threading.Thread):
    """Runs one background start, then stays alive until pytest unconfigures.

    Alive on purpose: Linux sends a child its parent-death signal when the *thread* that
    started it ends, so the tools it launched would otherwise die with it.
    """

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="pbe-start", daemon=True)
        OWN_THREADS.add(self)  # never runs the tests' code: the leak watcher skips its children
        self._work = work
        self._done = threading.Event()
        self._released = threading.Event()
        self._raised: BaseException | None = None

    def run(self) -> None:
        untraced()
        try:
            self._work()
        except BaseException as exc:  # noqa: BLE001  # handed to the main thread
            self._raised = exc
        finally:
            self._done.set()
        self._released.wait()

    def wait_started(self, *, raise_errors: bool = True) -> None:
        self._done.wait()
        if raise_errors and self._raised is not None:
            raised, self._raised = self._raised, None
            raise raised

    def release(self) -> None:
        self._released.set()
        self.join(timeout=5)


class Verifier:
    """The plugin object that exists only under ``--pbe-verify``."""

    def __init__(self, config: pytest.Config, checks: list[Check], settings: Settings) -> None:
        self.config = config
        self.checks = checks
        self.settings = settings
        self.facts = SessionFacts()
        self.ctx = VerifyContext(config, settings, self.facts)
        self.early_results: dict[str, CheckResult] = {}  # items that failed to set up
        self.report: Report | None = None
        self.report_errors: list[str] = []
        self.is_worker = hasattr(config, "workerinput")
        #: Ctrl-C arrived after the tests, while the items were being judged.
        self.judging_interrupted = False
        self.starter: _Starters | None = None
        self.starts_beside_collection = False
        self._show_to_tracers: Callable[[], None] | None = None
        self.loosenings: tuple[Loosening, ...] = ()

    @classmethod
    def install(cls, config: pytest.Config) -> Verifier:
        config.pluginmanager.register(BuiltinChecks(), "pbe-builtin-checks")
        checks = _collect_checks(config)
        settings = Settings.from_config(config, [c.id for c in checks])
        verifier = cls(config, checks, settings)
        config.stash[VERIFIER_KEY] = verifier
        config.pluginmanager.register(verifier, "pbe-verifier")
        verifier._start_measurements()
        for check in verifier.enabled():
            if verifier.is_worker:
                verifier._guard(check, lambda c=check: c.configure_worker(config))
            else:
                verifier._guard(check, lambda c=check: c.configure(config, settings))
        return verifier

    def _start_measurements(self) -> None:
        """Shared measurements run once, for every enabled item that reads them."""
        if any("coverage" in c.needs for c in self.enabled()):
            from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT, CoverageMeasurement

            measurement = CoverageMeasurement(
                self.config, self.settings, watched=self.ctx.range_files
            )
            self.ctx.stash[COVERAGE_MEASUREMENT] = measurement
            try:
                if self.is_worker:
                    measurement.configure_worker()
                else:
                    measurement.configure()
            except Exception as exc:  # noqa: BLE001  # fail closed: every reader is in error
                error = exc
                if not isinstance(exc, PbeError):
                    error = PbeError(
                        f"coverage.py could not start: {exc}; fix the coverage configuration"
                    )
                    error.__cause__ = exc
                for check in self.enabled():
                    if "coverage" in check.needs:
                        self.early_results.setdefault(check.id, self._error(check, error))

    def _stop_measurements(self) -> None:
        from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT

        measurement = self.ctx.stash.get(COVERAGE_MEASUREMENT, None)
        if measurement is not None:
            with contextlib.suppress(Exception):  # clean-up must not mask the verdict
                measurement.stop()

    def pytest_unconfigure(self) -> None:
        self._stop_measurements()
        if self.starter is not None:
            self.starter.release()
        if self._show_to_tracers is not None:
            self._show_to_tracers()

    def enabled(self) -> Iterator[Check]:
        return (c for c in self.checks if c.id in self.settings.checks)

    def _guard(self, check: Check, step: object) -> None:
        """Run a set-up step; a failure is kept as the item's verdict (never a pass)."""
        try:
            step()  # type: ignore[operator]
        except pytest.UsageError:
            raise
        except Exception as exc:  # noqa: BLE001  # fail closed: any failure becomes the verdict
            self.early_results.setdefault(check.id, self._error(check, exc))

    def _error(self, check: Check, exc: BaseException) -> CheckResult:
        if isinstance(exc, PbeError):
            summary = first_line(exc, type(exc).__name__)
        else:
            summary = f"internal error: {_describe(exc)}"
            if not self.settings.debug:
                summary += " (run with --pbe-debug for the traceback)"
        details: tuple[str, ...] = ()
        if self.settings.debug:
            details = tuple("".join(traceback.format_exception(exc)).rstrip().splitlines())
        return CheckResult(
            id=check.id, title=check.title, status=Status.ERROR, summary=summary, details=details
        )

    # --- pytest hooks ---------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.is_worker:
            return
        background: list[Check] = []
        for check in self.enabled():
            if check.id in self.early_results:
                continue
            if check.start_in_background:
                background.append(check)
            else:
                self._guard(check, lambda c=check: c.start(self.ctx))
        if background:
            # Our threads get no tracer at all (see ``measure.threads``): only then may
            # they run while collection imports the project.
            self._show_to_tracers = hide_from_tracers(OWN_THREADS)
            self.starts_beside_collection = hidden_from_every_tracer()
            starts = [self._start_of(check) for check in background]
            self.starter = _Starters([*starts, self._read_loosenings])

    def _read_loosenings(self) -> None:
        # Beside collection, like the items' git work: judging then asks git nothing. A
        # failure is met again, and reported, when the loosenings are applied.
        with contextlib.suppress(Exception):
            self.ctx.loosenings()

    def _start_of(self, check: Check) -> Callable[[], None]:
        return lambda: self._guard(check, lambda: check.start(self.ctx))

    def _started(self) -> None:
        """Wait for the background starts (git, the tools' launch) before judging."""
        if self.starter is not None:
            self.starter.wait_started()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        # The background starts (each on its own thread, so their git work overlaps) run
        # beside collection only when no tracer can see their threads: coverage.py's
        # tracer, on a thread's first call into a file it has not seen, can open its
        # sys.modules window (coverage.py issue 2247) while collection imports the
        # project (measured: 1 run in 6 of the monorepo test failed so, with a KeyError
        # inside importlib, while a new thread was traced until its first line).
        if self.starter is not None and not self.starts_beside_collection:
            self.starter.wait_started(raise_errors=False)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        # They end before the first test: what they launch (the tools' processes, the
        # parsing child and its reader thread) exists by then, or the leaks item would
        # blame that test.
        if self.starter is not None:
            self.starter.wait_started(raise_errors=False)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.facts.record_collection(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.facts.record(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        self.facts.finished = self.facts.finished or time.perf_counter()
        self.facts.exitstatus = int(exitstatus)
        self.facts.collected = session.testscollected
        self.facts.interrupted = int(exitstatus) == int(pytest.ExitCode.INTERRUPTED)
        with heap_set_aside():
            try:
                self._started()
                results = self._evaluate_all()
            finally:
                for check in self.enabled():
                    # Clean-up must not mask the verdict.
                    with contextlib.suppress(Exception):
                        check.unconfigure()
            # The change's loosenings are part of each built-in verdict, before any hook.
            results, self.loosenings = apply_loosenings(self.ctx, results)
            results, hook_notes = amend_results(self.config, results)
            results = self._validated(results)
            report = self._build_report(results)
            self.report = dataclasses.replace(report, notes=report.notes + hook_notes)
            # A reader of the finished report gets a copy: the verdict written is ours.
            self.config.hook.pytest_pbe_report(
                config=self.config, report=copy.deepcopy(self.report)
            )
            try:
                write_reports(self.report, self.settings, self.config)
            except ReportWriteError as exc:
                self.report_errors.append(str(exc))
        session.exitstatus = self.exit_status(int(exitstatus))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.report is None:
            return
        emit_terminal_extras(terminalreporter, self.report, self.settings, self.config)
        write_checklist(
            terminalreporter,
            self.report,
            verbose=self.config.get_verbosity() > 0,
            report_errors=self.report_errors,
            exit_status=self.exit_status(self.facts.exitstatus),
        )

    # --- evaluation -----------------------------------------------------------------------
    def _evaluate_all(self) -> list[CheckResult]:
        judged: dict[str, CheckResult] = {}
        for check in sorted(self.checks, key=lambda c: c.judged_last):  # stable: order kept
            judged[check.id] = self._required(check, self._evaluate(check))
        return [judged[check.id] for check in self.checks]

    def _evaluate(self, check: Check) -> CheckResult:
        if check.id not in self.settings.checks:
            return check.skipped("switched off (pbe_checks / --pbe-skip)")
        if check.id in self.early_results:
            return self.early_results[check.id]
        if self.judging_interrupted:
            return check.error("interrupted (KeyboardInterrupt) before it was judged: not judged")
        if self.facts.interrupted and check.id != "tests":
            return check.error("session interrupted before the tests finished: not judged")
        moved = self.ctx.changed_during_session() if check.judges_new_code else None
        if moved is not None:
            return check.error(moved)
        try:
            result = check.evaluate(self.ctx)
        except KeyboardInterrupt:  # Ctrl-C while judging: this item and the rest are unjudged
            self.judging_interrupted = True
            return check.error("interrupted (KeyboardInterrupt) while judging: not judged")
        except Exception as exc:  # noqa: BLE001  # fail closed: it becomes this item's error
            return self._error(check, exc)
        if not _is_result(result):
            return check.error(f"internal error: item returned {result!r}, not a CheckResult")
        if result.id != check.id:
            result = dataclasses.replace(result, id=check.id)
        return result

    def _required(self, check: Check, result: CheckResult) -> CheckResult:
        required = self.settings.is_required(check.id, check.default_required)
        return dataclasses.replace(result, required=required)

    def _validated(self, results: list[CheckResult]) -> list[CheckResult]:
        """After third parties amended: every built-in still there, once, in order."""
        good = [r for r in results if _is_result(r)]
        by_id: dict[str, CheckResult] = {}
        for result in good:
            by_id.setdefault(result.id, result)
        out = []
        for check_id in BUILTIN_IDS:
            if check_id in by_id:
                out.append(by_id.pop(check_id))
            else:
                check = next(c for c in self.checks if c.id == check_id)
                out.append(
                    self._required(check, check.error("removed by a pytest_pbe_amend_results hook"))
                )
        out.extend(by_id.values())
        return out

    def _dirty_now(self) -> bool:
        """Did the session itself change the working tree (the report says what is on disk)?"""
        if self.ctx.changed_during_session() is not None:
            return True
        from pytest_pbe.git import Repository

        try:
            return Repository(self.ctx.repository().root).differs_from_head()
        except PbeError:
            return True  # cannot tell: never claim a clean tree

    def _build_report(self, results: list[CheckResult]) -> Report:
        base = RevisionInfo(None, None)
        head: str | None = None
        dirty: bool | None = None
        scope: Scope | None = None
        notes: list[str] = []
        try:
            changes = self.ctx.all_changes()
        except PbeError as exc:
            notes.append(f"new code unknown: {exc}")
        else:
            b = changes.base
            base = RevisionInfo(b.ref, b.sha, b.merge_base, b.source)
            head, dirty = changes.head_sha, changes.dirty or self._dirty_now()
            judged = tuple(f.path for f in self.ctx.changes().files)
            scope = Scope(self.ctx.scope_prefix(), judged, len(changes.files) - len(judged))
            if scope.outside:
                files = "file is" if scope.outside == 1 else "files are"
                notes.append(
                    f"{scope.outside} changed {files} outside {scope.path}, left to its own "
                    "run (pytest's rootdir decides what this run judges)"
                )
        tests_result = next((r for r in results if r.id == "tests"), None)
        if tests_result is not None and tests_result.status is not Status.SKIPPED:
            tests_passed = tests_result.status is Status.PASSED
        else:
            tests_passed = self.facts.exitstatus == 0
        return Report(
            checks=tuple(results),
            tests_passed=tests_passed,
            base=base,
            head_sha=head,
            dirty=dirty,
            complete=not (self.facts.interrupted or self.judging_interrupted),
            scope=scope,
            notes=tuple(notes),
            loosenings=self.loosenings,
        )

    def exit_status(self, pytest_status: int) -> int:
        """pytest's own failures first (1-5), then 6 for failed items, 7 for errors."""
        if self.judging_interrupted and pytest_status == 0:
            return int(pytest.ExitCode.INTERRUPTED)
        if pytest_status != 0 or self.report is None:
            return pytest_status
        report = self.report
        if not report.tests_passed or any(
            r.blocks and r.status is Status.FAILED for r in report.checks
        ):
            return EXIT_CHECKS_FAILED
        if self.report_errors or any(r.blocks for r in report.checks):
            return EXIT_CHECKS_ERROR
        return 0
