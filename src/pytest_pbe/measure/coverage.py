"""Coverage measured in the session: shared by the coverage, tdd and errors items.

Two sources, never both at once:

* pytest-cov, when it is active (``--cov``): its own ``Coverage`` object is read through
  its controller after pytest-cov has stopped and combined it (pytest-cov finishes at the
  end of ``pytest_runtestloop``, before the items are judged). Starting a second collector
  beside it would break pytest-cov, so we never do.
* otherwise our own ``coverage.Coverage``: started in ``pytest_load_initial_conftests``
  (like pytest-cov) so that the project's imports from conftest files are seen, with the
  project's own coverage configuration (``.coveragerc``, ``setup.cfg``, ``tox.ini``,
  ``pyproject.toml``), its data kept in memory (the project's ``.coverage`` file is never
  touched), and collected from pytest-xdist workers through ``workeroutput``.

Which tests ran each line of the range's files is recorded when the ``tdd`` item is on
(``pertest.PerTestLines``, beside coverage.py rather than through its per-test contexts,
which cost a flush of every file at every test); otherwise the faster ``sys.monitoring``
core is used where coverage.py can use it for the project's options (Python 3.12+, and
3.14+ for branch coverage). With pytest-cov, its ``--cov-context=test`` contexts are read.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_pbe.errors import PbeError
from pytest_pbe.measure.collected import CollectedData, collected_in_memory
from pytest_pbe.measure.parsing import ParsedAhead
from pytest_pbe.measure.pertest import PerTestLines

if TYPE_CHECKING:
    import coverage
    from coverage.data import CoverageData

    from pytest_pbe.config import Settings

#: What a pytest-xdist worker sends back in ``workeroutput``: its data, serialised.
WORKER_OUTPUT_KEY = "pbe_coverage_data"
#: ... and which of its tests ran which lines of the range's files.
WORKER_TESTS_KEY = "pbe_coverage_tests"
#: What the controller tells each worker: the files whose lines are recorded per test.
WORKER_WATCH_KEY = "pbe_coverage_watch"
#: coverage.py warnings that are noise in a pytest session (pytest-cov silences them too).
_QUIET = ("no-data-collected", "module-not-imported", "module-not-measured", "no-sysmon")


@dataclass(frozen=True)
class FileCoverage:
    """coverage.py's analysis of one file, in that file's own line numbers.

    ``statements``, ``excluded`` and ``missing`` are coverage.py's own analysis (multi-line
    statements are keyed by their first line, as coverage.py reports them). A file that was
    never measured has ``measured=False``, a ``reason``, and every statement missing.
    """

    path: Path  # absolute
    measured: bool  # False: never imported / outside source; then ``reason`` says why
    reason: str = ""
    statements: frozenset[int] = frozenset()
    excluded: frozenset[int] = frozenset()
    missing: frozenset[int] = frozenset()
    # Branch coverage: source line -> destinations never taken (empty without branch=True).
    # A negative destination is an exit from the code object (coverage.py's convention).
    missing_branches: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    # Multi-line statements: each line -> the first line of its statement.
    statement_starts: Mapping[int, int] = field(default_factory=dict)
    # Per-test contexts where recorded: line -> node ids of the tests that ran it.
    contexts: Mapping[int, frozenset[str]] = field(default_factory=dict)
    # Branch coverage: branch line -> number of possible destinations (lines with 2+ exits).
    branches: Mapping[int, int] = field(default_factory=dict)
    # True when the project's coverage config omits the file on purpose ([run]/[report] omit).
    omitted: bool = False

    def start_of(self, line: int) -> int:
        """The first line of the statement that ``line`` belongs to (itself if single-line)."""
        return self.statement_starts.get(line, line)


class MeasuredCoverage:
    """The session's coverage, read after the test loop.

    Files are analysed lazily (``file``) and cached; ``total_percent`` is coverage.py's own
    total under the project's configuration (what ``coverage report`` would print), computed
    on first use.
    """

    has_contexts: bool = False  # True when per-test contexts were recorded
    why_no_contexts: str = ""  # when they were not: why, in one line

    def __init__(
        self,
        files: Mapping[Path, FileCoverage] | None = None,
        *,
        total_percent: float | Callable[[], float | None] | None = None,
        has_contexts: bool = False,
        branch: bool = False,
        origin: str = "",
        analyze: Callable[[Path], FileCoverage] | None = None,
    ) -> None:
        self._files: dict[Path, FileCoverage] = dict(files or {})
        self._total = total_percent
        self.has_contexts = has_contexts
        self.branch = branch  # True when branch coverage was measured
        self.origin = origin  # "pytest-cov" or "pytest-pbe": who collected the data
        self._analyze = analyze

    @property
    def total_percent(self) -> float | None:
        """coverage.py's total percent (None when nothing at all was measured)."""
        if callable(self._total):
            self._total = self._total()
        return self._total

    def prepare(self, paths: Sequence[Path]) -> None:
        """Analyse these files now, last first (the parsing child works from the first).

        A file that cannot be analysed is left for ``file`` to raise about.
        """
        for path in reversed(paths):
            if path not in self._files and self._analyze is not None:
                with contextlib.suppress(PbeError):
                    self._files[path] = self._analyze(path)

    def file(self, path: Path) -> FileCoverage:
        """The analysis of ``path`` (absolute); raises ``PbeError`` if it cannot be analysed."""
        found = self._files.get(path)
        if found is None:
            if self._analyze is None:
                raise PbeError(f"no coverage analysis for {str(path)!r}")
            found = self._files[path] = self._analyze(path)
        return found


# --- collectors ------------------------------------------------------------------------------


def pytest_cov_plugin(config: pytest.Config) -> Any:
    """pytest-cov's plugin when it measures this session (``--cov`` without ``--no-cov``)."""
    plugin = config.pluginmanager.getplugin("_cov")
    if plugin is None or getattr(plugin, "_disabled", False):
        return None
    return plugin


def pytest_cov_requested(config: pytest.Config) -> bool:
    """True when pytest-cov will start its own collector for this command line."""
    if pytest_cov_plugin(config) is not None:
        return True
    options = config.known_args_namespace
    return bool(getattr(options, "cov_source", None)) and not getattr(options, "no_cov", False)


def _sysmon_usable(cov: coverage.Coverage) -> bool:
    """Whether coverage.py can use ``sys.monitoring`` for these options (else: quietly not)."""
    from coverage import env

    if not getattr(env.PYBEHAVIOR, "pep669", False):
        return False
    if cov.config.branch and not getattr(env.PYBEHAVIOR, "branch_right_left", False):
        return False
    if cov.config.timid or cov.config.plugins or cov.config.dynamic_context:
        return False
    return not any(c in cov.config.concurrency for c in ("greenlet", "eventlet", "gevent"))


class _Collector:
    """One running ``coverage.Coverage`` of ours, data in memory."""

    def __init__(self, *, per_test: bool, rootdir: Path) -> None:
        import coverage

        self.per_test = per_test
        # config_file=True: the project's .coveragerc / setup.cfg / tox.ini / pyproject.toml.
        self.cov = coverage.Coverage(data_file=None, config_file=True, auto_data=False)
        config = self.cov.config
        config.disable_warnings = [*config.disable_warnings, *_QUIET]
        # Our own code is no part of the project's figures (coverage.py leaves out what is
        # in site-packages, not a develop-mode install), unless the project is pytest-pbe.
        ours = Path(__file__).resolve().parent.parent
        if not ours.is_relative_to(rootdir.resolve()):
            config.run_omit = [*(config.run_omit or []), str(ours / "*")]
        user_core = config.core  # [run] core or COVERAGE_CORE: the user's choice wins
        if per_test:
            config.dynamic_context = None  # which test ran a line is recorded beside it
            if user_core is None:
                config.core = "ctrace"  # sys.monitoring reports a line once, not per test
        elif user_core is None and _sysmon_usable(self.cov):
            config.core = "sysmon"
        self.core = config.core or "default"
        self.cov.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.cov.stop()

    def _stopped(self, before_reading: Callable[[], None] | None) -> coverage.Coverage:
        self.stop()
        if before_reading is not None:
            before_reading()
        return self.cov

    def data(self, before_reading: Callable[[], None] | None = None) -> CoverageData:
        return self._stopped(before_reading).get_data()

    def collected(self, before_reading: Callable[[], None] | None = None) -> CollectedData | None:
        """``data()`` read from the collector itself (``measure.collected``), else None."""
        return collected_in_memory(self._stopped(before_reading))


_EARLY = pytest.StashKey[_Collector]()


class _EarlyGuard:
    """Stops the early collector at session start when no item adopted it."""

    def __init__(self, collector: _Collector) -> None:
        self.collector = collector
        self.adopted = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        if not self.adopted:
            self.collector.stop()


_GUARD = pytest.StashKey[_EarlyGuard]()


def start_early(config: pytest.Config) -> None:
    """``pytest_load_initial_conftests`` under ``--pbe-verify``: see the project's imports.

    Never when pytest-cov will measure (two collectors at once break pytest-cov). Per-test
    recording is assumed; ``CoverageMeasurement.configure`` swaps to a faster collector if
    the session turns out not to need it.
    """
    if pytest_cov_requested(config):
        return
    try:
        collector = _Collector(per_test=True, rootdir=Path(config.rootpath))
    except Exception:  # noqa: BLE001  # a bad coverage config: the items that need it say so
        return
    guard = _EarlyGuard(collector)
    config.stash[_EARLY] = collector
    config.stash[_GUARD] = guard
    config.pluginmanager.register(guard, "pbe-coverage-early")
    config.add_cleanup(collector.stop)


class _TestBoundaries:
    """Files what each test runs (setup, call and teardown) under its node id.

    One boundary per test: what runs until the next test starts is the test's (its
    teardown included); after the test loop, nothing is.
    """

    def __init__(self, recorder: PerTestLines) -> None:
        self.recorder = recorder

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        self.recorder.boundary(item.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            self.recorder.boundary("")


class _ControllerHooks:
    """pytest-xdist controller side: receive each worker's data when it goes down."""

    def __init__(self, measurement: CoverageMeasurement) -> None:
        self.measurement = measurement

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        recorder = self.measurement.recorder
        if recorder is not None:
            files = recorder.files()
            node.workerinput[WORKER_WATCH_KEY] = sorted(files) if recorder.recording else None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        worker = str(getattr(node, "workerinput", {}).get("workerid", node))
        blob = output.get(WORKER_OUTPUT_KEY)
        if isinstance(blob, bytes):
            self.measurement.worker_data.append(blob)
        else:
            self.measurement.lost_workers.append(worker)
        tests = output.get(WORKER_TESTS_KEY)
        recorder = self.measurement.recorder
        if recorder is not None:
            if isinstance(tests, str):
                recorder.receive(tests)
            else:
                recorder.reason = recorder.reason or f"worker {worker!r} sent no per-test lines"


class _WorkerHooks:
    """pytest-xdist worker side: send the data to the controller at session finish."""

    def __init__(self, measurement: CoverageMeasurement) -> None:
        self.measurement = measurement

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(session.config, "workeroutput", None)
        if output is not None:
            output[WORKER_OUTPUT_KEY] = self.measurement.merged_data().dumps()
            if self.measurement.recorder is not None:
                output[WORKER_TESTS_KEY] = self.measurement.recorder.dumps()


class CoverageMeasurement:
    """Started in ``pytest_configure`` when an enabled item needs coverage."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        watched: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.config = config
        self.settings = settings
        #: Which test ran each line is recorded for the tdd item (it costs the faster core),
        #: for the files ``watched`` names (absolute paths: the range's files).
        self.wants_per_test = "tdd" in settings.checks and settings.tdd != "off"
        self.watched = watched
        self.recorder: PerTestLines | None = None
        self.ahead: ParsedAhead | None = None  # coverage.py's parse, done while tests run
        self.collector: _Collector | None = None
        self.earlier: list[CoverageData] = []  # data of a swapped-out early collector
        self.worker_data: list[bytes] = []
        self.lost_workers: list[str] = []
        self._pytest_cov: Any = None
        self._result: MeasuredCoverage | None = None

    def _start(self) -> None:
        early = self.config.stash.get(_EARLY, None)
        guard = self.config.stash.get(_GUARD, None)
        if early is not None and early.running and early.per_test == self.wants_per_test:
            self.collector = early
        else:
            if early is not None:  # keep what it saw of the imports, then change collector
                self.earlier.append(early.data())
            self.collector = _Collector(
                per_test=self.wants_per_test, rootdir=Path(self.config.rootpath)
            )
            self.config.add_cleanup(self.collector.stop)
        if guard is not None:
            guard.adopted = True
        if self.wants_per_test:
            self.recorder = PerTestLines(self.collector.cov, self.watched)
            self.config.pluginmanager.register(
                _TestBoundaries(self.recorder), "pbe-coverage-per-test"
            )

    def configure(self) -> None:
        """Start collecting (or attach to pytest-cov) on the controller / single process."""
        self._pytest_cov = pytest_cov_plugin(self.config)
        if self._pytest_cov is not None:
            return
        self._start()
        self.config.pluginmanager.register(_ControllerHooks(self), "pbe-coverage-controller")

    def configure_worker(self) -> None:
        """Inside a pytest-xdist worker."""
        if pytest_cov_plugin(self.config) is not None:
            return  # pytest-cov's worker collects; its controller combines
        watch = getattr(self.config, "workerinput", {}).get(WORKER_WATCH_KEY)

        def watched() -> Collection[str]:
            if not isinstance(watch, list):
                raise PbeError("the pytest-xdist controller sent no list of the range's files")
            return watch

        self.watched = watched
        self._start()
        self.config.pluginmanager.register(_WorkerHooks(self), "pbe-coverage-worker")

    def _cov(self) -> coverage.Coverage | None:
        """The ``Coverage`` whose data will be analysed: pytest-cov's or ours."""
        if self._pytest_cov is not None:
            controller = getattr(self._pytest_cov, "cov_controller", None)
            return getattr(controller, "cov", None)
        return self.collector.cov if self.collector is not None else None

    def parse_ahead(self, files: Collection[str], *, first: int = 0) -> None:
        """Have coverage.py parse ``files`` in a child process while the tests run.

        The ``first`` of them (the changed files) are sent back as soon as they are parsed.
        """
        cov = self._cov()
        if cov is None or self.ahead is not None:
            return
        self.ahead = ParsedAhead(
            files, exclude=_exclude_regex(cov), branch=cov.config.branch, first=first
        )
        self.ahead.start()

    def merged_data(self) -> CoverageData:
        """Our collector's data, with the early collector's and the workers' merged in."""
        from coverage.data import CoverageData

        if self.collector is None:
            raise PbeError("coverage collector was never started in this process")
        recorder = self.recorder
        data = self.collector.data(recorder.finish if recorder is not None else None)
        for earlier in self.earlier:
            data.update(earlier)
        for blob in self.worker_data:
            received = CoverageData(no_disk=True)
            received.loads(blob)
            data.update(received)
        self.earlier.clear()
        self.worker_data.clear()
        return data

    def _session_data(self) -> CoverageData | CollectedData:
        """``merged_data()``, read from the collector itself when nothing is merged in."""
        collector = self.collector
        merged_in = bool(self.earlier or self.worker_data)
        # Where coverage.py's own report computes the total, it reads its own data anyway.
        if collector is not None and not merged_in and not _reported_by_coverage(collector.cov):
            recorder = self.recorder
            found = collector.collected(recorder.finish if recorder is not None else None)
            if found is not None:
                return found
        return self.merged_data()

    def result(self) -> MeasuredCoverage:
        """The session's coverage, measured once (raises ``PbeError`` when it cannot be)."""
        if self._result is None:
            try:
                self._result = self._measure()
            except PbeError:
                raise
            except Exception as exc:  # coverage.py's own errors: wrapped, never a pass
                raise PbeError(f"coverage measurement failed: {type(exc).__name__}: {exc}") from exc
        return self._result

    def _measure(self) -> MeasuredCoverage:
        if self._pytest_cov is not None:
            return self._from_pytest_cov(self._pytest_cov)
        if self.lost_workers:
            raise PbeError(
                "coverage data from pytest-xdist worker(s) "
                + ", ".join(repr(w) for w in self.lost_workers)
                + " never arrived (the worker crashed or was restarted): rerun the session"
            )
        data = self._session_data()
        collector = self.collector
        if collector is None:  # merged_data raised already; kept for the type checker
            raise PbeError("coverage collector was never started in this process")
        recorder = self.recorder
        per_test = None
        if recorder is not None:
            per_test = recorder.by_file() if recorder.recording else None
        return _measured(
            collector.cov,
            data,
            contexts=per_test is not None,
            origin="pytest-pbe",
            ahead=self.ahead,
            per_test=per_test,
            why_no_contexts=recorder.reason if recorder is not None else "",
        )

    def _from_pytest_cov(self, plugin: Any) -> MeasuredCoverage:
        controller = getattr(plugin, "cov_controller", None)
        cov = getattr(controller, "cov", None)
        if cov is None:
            raise PbeError("pytest-cov is active but has no coverage data (was it disabled?)")
        combining = getattr(controller, "combining_cov", cov)
        if combining is not cov:
            raise PbeError("pytest-cov has not combined its data yet: cannot judge coverage")
        options = getattr(plugin, "options", None)
        contexts = getattr(options, "cov_context", None) == "test"
        cov_source = getattr(options, "cov_source", None)
        total = getattr(plugin, "cov_total", None)
        return _measured(
            cov,
            cov.get_data(),
            contexts=contexts,
            origin="pytest-cov",
            total=float(total) if isinstance(total, (int, float)) else None,
            cli_source=list(cov_source) if cov_source else None,
            why_no_contexts="pytest-cov measured without --cov-context=test; add it for the "
            "per-test mapping",
            ahead=self.ahead,
        )

    def stop(self) -> None:
        """Release the collector and the parsing child (always called)."""
        if self.collector is not None:
            self.collector.stop()
        if self.ahead is not None:
            self.ahead.stop()


COVERAGE_MEASUREMENT = pytest.StashKey[CoverageMeasurement]()


# --- analysis -------------------------------------------------------------------------------


def _section(cov: coverage.Coverage, name: str) -> str:
    """How the user spells ``[run]`` in the configuration file coverage.py read."""
    config_file = str(getattr(cov.config, "config_file", "") or "")
    base = Path(config_file).name
    if base == "pyproject.toml":
        return f"[tool.coverage.{name}]"
    if base in ("setup.cfg", "tox.ini"):
        return f"[coverage:{name}]"
    return f"[{name}]"


def _exclude_regex(cov: coverage.Coverage) -> str:
    """The regex coverage.py's parser excludes lines with, as coverage.py builds it."""
    build = getattr(cov, "_exclude_regex", None)
    if callable(build):
        return str(build("exclude"))
    from coverage.misc import join_regex

    return str(join_regex(cov.config.exclude_list))


def _total(cov: coverage.Coverage) -> float | None:
    from coverage.exceptions import NoDataError

    try:
        return float(cov.report(file=io.StringIO()))
    except NoDataError:
        return None


def _measured(
    cov: coverage.Coverage,
    data: CoverageData | CollectedData,
    *,
    contexts: bool,
    origin: str,
    total: float | None = None,
    cli_source: list[str] | None = None,
    per_test: Mapping[str, Mapping[int, Collection[str]]] | None = None,
    why_no_contexts: str = "",
    ahead: ParsedAhead | None = None,
) -> MeasuredCoverage:
    analyzer = _Analyzer(
        cov, data, contexts=contexts, cli_source=cli_source, per_test=per_test, ahead=ahead
    )
    if total is None:
        analyzer.ask_ahead()  # the child computes the total's figures beside the judging
    measured = MeasuredCoverage(
        total_percent=total if total is not None else analyzer.total,
        has_contexts=contexts,
        branch=data.has_arcs(),
        origin=origin,
        analyze=analyzer.analyze,
    )
    if not contexts:
        measured.why_no_contexts = why_no_contexts or "coverage recorded no per-test contexts"
    return measured


class _LazyContexts(Mapping[int, frozenset[str]]):
    """line -> node ids, read from the data only when a consumer looks."""

    def __init__(self, load: Callable[[], dict[int, frozenset[str]]]) -> None:
        self._load: Callable[[], dict[int, frozenset[str]]] | None = load
        self._data: dict[int, frozenset[str]] = {}

    def _loaded(self) -> dict[int, frozenset[str]]:
        if self._load is not None:
            self._data, self._load = self._load(), None
        return self._data

    def __getitem__(self, key: int) -> frozenset[str]:
        return self._loaded()[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _node_id(context: str, static: str) -> str:
    """Our contexts are node ids; pytest-cov's are ``nodeid|setup/run/teardown``."""
    if static and context.startswith(static + "|"):
        context = context[len(static) + 1 :]
    elif context == static:
        return ""
    head, sep, tail = context.rpartition("|")
    return head if sep and tail in ("setup", "run", "teardown") else context


class _Analyzer:
    def __init__(
        self,
        cov: coverage.Coverage,
        data: CoverageData | CollectedData,
        *,
        contexts: bool,
        cli_source: list[str] | None,
        per_test: Mapping[str, Mapping[int, Collection[str]]] | None = None,
        ahead: ParsedAhead | None = None,
    ) -> None:
        self.cov = cov
        self.ahead = ahead
        self._exclude = _exclude_regex(cov) if ahead is not None else ""
        self.data = data
        self.contexts = contexts
        self.cli_source = cli_source
        # Our own per-test record (file -> line -> node ids); else the data's contexts.
        self.per_test = per_test
        self.static = str(cov.config.context or "")
        # The names in the data (coverage.py also "touches" never-imported files under
        # ``source``: those have no executed line, see ``analyze``). coverage.py records real
        # paths, so a real path is looked up as it is; ``_by_real`` only when that misses.
        self.names = frozenset(data.measured_files())
        self._by_real: dict[str, str] | None = None
        # Each measured file's numbers, from the one analysis that judging or the total made.
        self._numbers: dict[str, Any] = {}
        self._for_total: list[str] | None = None
        self._asked = 0
        self._omit: Any = None
        self._include: Any = None
        self._source: list[str] | None = None

    def _name_of(self, path: Path) -> tuple[str, str | None]:
        """``(real path, name in the data or None)`` for an absolute path."""
        text = str(path)
        if text in self.names:
            return text, text
        real = os.path.realpath(path)
        if real in self.names:
            return real, real
        if self._by_real is None:
            self._by_real = {os.path.realpath(name): name for name in self.names}
        return real, self._by_real.get(real)

    def _analysis(self, morf: str) -> tuple[Any, Any]:
        """coverage.py's ``Analysis`` of one file (one parse) and its reporter."""
        from coverage.python import PythonFileReporter

        reporter = PythonFileReporter(morf, self.cov)
        if self.ahead is not None:
            parsed = self.ahead.take(reporter.filename, self._exclude)
            if parsed is not None:
                reporter._parser = parsed  # the child's parse of this very content
        try:
            from coverage.results import analysis_from_file_reporter
        except ImportError:  # older coverage.py: the private entry point its reporters use
            analysis = self.cov._analyze(morf, file_reporter=reporter)
        else:
            # What ``Coverage._analyze`` does, without its per-call data flush and realpath.
            # It asks the data has_arcs, lines and arcs: CollectedData answers those too.
            data: Any = self.data
            analysis = analysis_from_file_reporter(data, self.cov.config.precision, reporter, morf)
        if morf in self.names:
            self._numbers[morf] = analysis.numbers
        return analysis, reporter

    def analyze(self, path: Path) -> FileCoverage:
        from coverage.exceptions import CoverageException

        real, name = self._name_of(path)
        if not Path(real).is_file():
            raise PbeError(f"cannot analyse coverage of {str(path)!r}: no such file")
        try:
            # One parse gives statements, exclusions and the missing branch destinations.
            analysis, reporter = self._analysis(name or real)
            starts = reporter.multiline_map()
        except (CoverageException, SyntaxError, OSError, ValueError) as exc:
            raise PbeError(f"coverage.py cannot analyse {str(path)!r}: {exc}") from exc
        if name is not None and not analysis.executed:
            name = None  # listed in the data, but not one line of it ever ran
        statements = frozenset(analysis.statements)
        missing: frozenset[int] = frozenset(analysis.missing) if name else statements
        missing_branches: dict[int, tuple[int, ...]] = {}
        branches: dict[int, int] = {}
        if analysis.has_arcs:
            branches = {ln: n for ln, n in analysis.exit_counts.items() if n > 1}
            missing_branches = {
                ln: tuple(sorted(dests)) for ln, dests in analysis.missing_branch_arcs().items()
            }
        reason, omitted = ("", False) if name else self._why_unmeasured(real)
        contexts: Mapping[int, frozenset[str]] = {}
        if name and self.contexts:
            contexts = _LazyContexts(lambda: self._contexts(name, starts))
        return FileCoverage(
            path=Path(path),
            measured=name is not None,
            reason=reason,
            statements=statements,
            excluded=frozenset(analysis.excluded),
            missing=missing,
            missing_branches=missing_branches,
            statement_starts={k: v for k, v in starts.items() if k != v},
            contexts=contexts,
            branches=branches,
            omitted=omitted,
        )

    def _total_names(self) -> list[str]:
        """The measured files the total counts (report include/omit), the changed ones last.

        The items judge the changed files in this process anyway: the child is not asked
        about them (``_asked`` is how many come first, the ones it is asked about).
        """
        if self._for_total is None:
            from coverage.files import GlobMatcher, prep_patterns
            from coverage.python import PythonFileReporter

            config = self.cov.config
            include = config.report_include
            omit = config.report_omit
            included = GlobMatcher(prep_patterns(include), "report_include") if include else None
            omitted = GlobMatcher(prep_patterns(omit), "report_omit") if omit else None
            names: list[str] = []
            for name in sorted(self.names):
                if included is not None or omitted is not None:
                    filename = PythonFileReporter(name, self.cov).filename
                    if (included is not None and not included.match(filename)) or (
                        omitted is not None and omitted.match(filename)
                    ):
                        continue
                names.append(name)
            changed = self.ahead.changed_files() if self.ahead is not None else frozenset()
            self._for_total = [n for n in names if n not in changed]
            self._asked = len(self._for_total)
            self._for_total += [n for n in names if n in changed]
        return self._for_total

    def ask_ahead(self) -> None:
        """Have the parsing child compute the total's figures while the items are judged.

        Each file's executed lines (arcs) are read from the data here, as coverage.py's
        analysis reads them; the child answers coverage.py's ``Numbers`` for the files it
        parsed and that are unchanged since. ``total`` analyses the rest here.
        """
        ahead = self.ahead
        if ahead is None or _reported_by_coverage(self.cov) or self.cov.config.relative_files:
            return
        config = self.cov.config
        data = self.data
        has_arcs = data.has_arcs()
        read: Callable[[str], Any] = data.arcs if has_arcs else data.lines
        # Packed arcs go as they are: the child unpacks them, this process has other work.
        packed = False
        if isinstance(data, CollectedData) and data.packed:
            packed, read = True, data.packed_arcs
        ahead.ask_numbers(
            {
                "exclude": self._exclude,
                "precision": int(config.precision),
                "has_arcs": has_arcs,
                "packed": packed,
                "partial_list": list(config.partial_list),
                "partial_always_list": list(config.partial_always_list),
            },
            ((name, read(name)) for name in self._total_names()[: self._asked]),
        )

    def total(self) -> float | None:
        """coverage.py's total percent, as ``coverage report`` computes it.

        Each measured file is analysed once: the files judged already were, the parsing
        child computed the figures of others (``ask_ahead``), and the rest are analysed here
        for their numbers only, from the last backwards while the child works forwards.
        Where coverage.py's report would see other data or other files (``[paths]``
        remapping, plugins' file reporters, report contexts), its own ``report()`` computes
        it.
        """
        if _reported_by_coverage(self.cov):
            return _total(self.cov)
        from coverage.exceptions import NotPython

        config = self.cov.config
        ahead = self.ahead
        numbers: list[Any] = []
        for name in reversed(self._total_names()):
            found = self._numbers.get(name)
            if found is None and ahead is not None:
                found = ahead.numbers(name)
            if found is None:
                try:
                    found = self._analysis(name)[0].numbers
                except NotPython:
                    # coverage.py's rule: only a *.py* (or extension-less) file must parse.
                    if _should_be_python(name) and not config.ignore_errors:
                        raise
                    continue
                except Exception:
                    if not config.ignore_errors:
                        raise
                    continue
            numbers.append(found)
        if ahead is not None:
            ahead.stop()  # every measured file is analysed: its work is done
        if not numbers:
            return None
        return float(sum(numbers).pc_covered)

    def _contexts(self, name: str, starts: Mapping[int, int]) -> dict[int, frozenset[str]]:
        merged: dict[int, set[str]] = {}
        if self.per_test is not None:
            for line, ids in self.per_test.get(name, {}).items():
                merged.setdefault(starts.get(line, line), set()).update(ids)
        else:
            for line, labels in self.data.contexts_by_lineno(name).items():
                ids = {n for n in (_node_id(c, self.static) for c in labels) if n}
                if ids:
                    merged.setdefault(starts.get(line, line), set()).update(ids)
        return {line: frozenset(ids) for line, ids in merged.items()}

    # --- why a file was not measured ----------------------------------------------------
    def _matchers(self) -> tuple[Any, Any]:
        from coverage.files import GlobMatcher, prep_patterns

        if self._omit is None:
            config = self.cov.config
            omit = [*(config.run_omit or []), *(config.report_omit or [])]
            include = [*(config.run_include or []), *(config.report_include or [])]
            self._omit = GlobMatcher(prep_patterns(omit), "omit") if omit else False
            self._include = GlobMatcher(prep_patterns(include), "include") if include else False
        return self._omit, self._include

    def _source_roots(self) -> list[str]:
        if self._source is None:
            roots: list[str] = []
            config = self.cov.config
            for src in [*(config.source or []), *(config.source_pkgs or [])]:
                if Path(src).is_dir():
                    roots.append(os.path.realpath(src))
                    continue
                roots.extend(_package_roots(src))
            self._source = roots
        return self._source

    def _why_unmeasured(self, real: str) -> tuple[str, bool]:
        omit, include = self._matchers()
        if omit and omit.match(real):
            return f"omitted by {_section(self.cov, 'run')} omit", True
        config = self.cov.config
        if config.source or config.source_pkgs:
            roots = self._source_roots()
            if not any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
                if self.cli_source:
                    return f"outside the --cov source ({', '.join(self.cli_source)})", False
                return f"outside {_section(self.cov, 'run')} source", False
        elif include and not include.match(real):
            return f"outside {_section(self.cov, 'run')} include", False
        return "never imported by a test", False


def _reported_by_coverage(cov: coverage.Coverage) -> bool:
    """Whether only coverage.py's own ``report()`` sees the data as it would."""
    config = cov.config
    return bool(config.paths or config.plugins or config.report_contexts)


def _should_be_python(filename: str) -> bool:
    ext = Path(filename).suffix
    return not ext or ext.startswith(".py")


def _package_roots(name: str) -> list[str]:
    """Where an importable package or module named in ``source`` lives (none if unknown)."""
    import importlib.util

    module = sys.modules.get(name)
    if module is not None:
        paths = list(getattr(module, "__path__", []) or [])
        file = getattr(module, "__file__", None)
        if paths:
            return [os.path.realpath(p) for p in paths]
        return [os.path.realpath(file)] if file else []
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [os.path.realpath(p) for p in spec.submodule_search_locations]
    return [os.path.realpath(spec.origin)] if spec.origin else []
