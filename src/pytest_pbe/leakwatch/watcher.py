"""The pytest plugin that watches each test and attributes leaks to its node id."""

from __future__ import annotations

import logging
import time
import tracemalloc
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, cast

import pytest

from pytest_pbe.leakwatch import probes
from pytest_pbe.leakwatch.model import WATCHED_KEY, Leak

#: How long, in total, a test's new threads may take to finish after its teardown
#: before they count as leaked (CPython's own runner also waits for dangling threads).
THREAD_GRACE_SECONDS = 0.1

TRACEMALLOC_HINT = (
    "run with 'python -X tracemalloc=20 -m pytest' or PYTHONTRACEMALLOC=20 "
    "to see where it was created"
)

_ASYNCIO_LEAKS = ("Task was destroyed but it is pending", "exception was never retrieved")

_WarningFilter = tuple[Any, ...]
#: ``warnings._showwarnmsg_impl`` (where every shown warning goes) is not in the stubs.
_WARNINGS: Any = warnings


def _python_default_ignore() -> _WarningFilter | None:
    """Python's own ``ignore::ResourceWarning`` entry (the last one; the defaults come last)."""
    for entry in reversed(warnings.filters):
        action, message, category, module, lineno = entry
        if (action, message, category, module, lineno) == (
            "ignore",
            None,
            ResourceWarning,
            None,
            0,
        ):
            return cast(_WarningFilter, entry)
    return None


def _filters_mutated() -> None:
    mutated = getattr(warnings, "_filters_mutated", None)
    if callable(mutated):
        mutated()


def _show_resource_warnings() -> _WarningFilter | None:
    """Let ``ResourceWarning`` through where only Python's default filter hides it.

    Done once, for the test loop, on the session's filters: pytest runs each test on a
    copy of them (``catch_warnings``) with the user's ``filterwarnings`` (ini, command
    line, marks) put in front, so those still win. So does one of the user's that is
    more specific, or one of their own that decides for every ``ResourceWarning``
    (``error``, ``ignore``, ...). Returns the entry added, for :func:`_unshow`.
    """
    default_ignore = _python_default_ignore()
    if default_ignore is None:
        return None
    filters = cast(list[_WarningFilter], warnings.filters)
    for index, entry in enumerate(filters):
        _action, message, category, module, lineno = entry
        if not issubclass(ResourceWarning, category):
            continue
        if message is None and module is None and lineno == 0:  # decides for all of them
            if entry is default_ignore:
                shown: _WarningFilter = ("always", None, ResourceWarning, None, 0)
                filters.insert(index, shown)
                _filters_mutated()
                return shown
            return None
    return None


def _unshow(shown: _WarningFilter) -> None:
    """Remove the entry :func:`_show_resource_warnings` added (if it is still there)."""
    filters = cast(list[_WarningFilter], warnings.filters)
    for index, entry in enumerate(filters):
        if entry is shown:
            del filters[index]
            _filters_mutated()
            return


def _take_back(properties: list[tuple[str, object]], records: list[tuple[str, str]]) -> None:
    """Remove exactly ``records`` (the same objects) from ``properties``."""
    mine = {id(record) for record in records}
    properties[:] = [entry for entry in properties if id(entry) not in mine]


ShowWarning = Callable[[warnings.WarningMessage], object]
Allocation = Callable[[object], tuple[str | None, str | None]]


class _Watch:
    """The state of the one test being watched (cheap to make: most tests leak nothing)."""

    __slots__ = (
        "allocation",
        "before",
        "leaks",
        "log",
        "nodeid",
        "origins",
        "passon",
        "reported",
        "shipped",
    )

    def __init__(
        self, nodeid: str, before: probes.Snapshot, passon: ShowWarning, allocation: Allocation
    ) -> None:
        self.nodeid = nodeid
        self.before = before
        self.passon = passon  # whoever recorded warnings before us (pytest's recorder)
        self.allocation = allocation
        self.log: list[warnings.WarningMessage] = []
        self.leaks: list[Leak] = []
        self.origins: dict[int, tuple[str | None, str | None]] = {}
        self.reported: probes.Resources | None = None  # already blamed through a fixture
        # The records put in the item's user_properties for its teardown report (taken out
        # again once the test's reports are made).
        self.shipped: list[tuple[str, str]] = []

    def record(self, message: warnings.WarningMessage) -> None:
        """Installed as ``warnings._showwarnmsg_impl`` for the test: see, then pass on.

        pytest already records each test's warnings (in a ``catch_warnings`` around the
        test): this only looks at them on the way, so the user's filters, pytest's
        warnings summary and ``pytest.warns`` see exactly what they would without us.

        An object's allocation traceback is read while its warning is being emitted.
        Later is too late: keeping the warning resurrects the finalized object, and
        CPython then re-stamps its tracemalloc traceback with the stack at that moment.
        """
        if (
            message.source is not None
            and issubclass(message.category, (ResourceWarning, RuntimeWarning))
            and tracemalloc.is_tracing()
        ):
            self.origins[id(message)] = self.allocation(message.source)
        self.log.append(message)
        self.passon(message)


class _AsyncioHandler(logging.Handler):
    """asyncio logs pending tasks destroyed and unretrieved task exceptions: catch those."""

    def __init__(self, watcher: LeakWatcher) -> None:
        super().__init__(logging.ERROR)
        self.watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        watch = self.watcher.current
        if watch is None:
            return
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001  # a broken log record must not break the test
            return
        if any(marker in text for marker in _ASYNCIO_LEAKS):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            watch.leaks.append(Leak("task", " ".join(lines[:2])))


class LeakWatcher:
    """Registered as a pytest plugin by the ``leaks`` item (controller and xdist workers).

    Per test it costs two hooks and two cheap steps: at the start (the protocol), the
    previous test's closing snapshot (with the threads re-read) and a hook on the warnings
    pytest records; at the end of the teardown, one new snapshot compared with the opening
    one. Findings are worked out and records built only when something differs; they go
    in the item's ``user_properties`` just before pytest makes the teardown report from
    them (and come out again once the test is done, so the item keeps only its own).
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rootdir = Path(config.rootpath)
        self.watched = 0  # tests watched in this process
        self.remote_watched = 0  # tests watched by pytest-xdist workers (controller only)
        self.workers_reporting = 0
        self.current: _Watch | None = None
        self._last: probes.Snapshot | None = None
        self._owned = probes.Resources()  # held by wider-scoped fixtures: nobody's leak
        # id(fixturedef) -> (name, scope, what it created, the test that set it up)
        self._fixtures: dict[int, tuple[str, str, probes.Resources, str]] = {}
        self._handler: _AsyncioHandler | None = None
        self._workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)

    # --- the test loop: set up once, not per test -----------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        if self._handler is None:
            self._handler = _AsyncioHandler(self)
            logging.getLogger("asyncio").addHandler(self._handler)
        shown = _show_resource_warnings()
        try:
            return (yield)
        finally:
            if shown is not None:
                _unshow(shown)

    # --- the test protocol ------------------------------------------------------------
    @pytest.hookimpl(wrapper=True, trylast=True)  # innermost: other plugins' per-test set-up first
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        # The previous test's closing snapshot opens this one (one listing per test):
        # nothing runs between two tests but pytest's reporting. Threads are re-read.
        last = self._last
        before = last.with_fresh_threads() if last is not None else probes.Snapshot.take()
        passon: ShowWarning = _WARNINGS._showwarnmsg_impl
        watch = self.current = _Watch(item.nodeid, before, passon, self._allocation)
        _WARNINGS._showwarnmsg_impl = watch.record
        try:
            return (yield)
        finally:
            self.current = None
            _WARNINGS._showwarnmsg_impl = passon
            if watch.shipped:
                _take_back(item.user_properties, watch.shipped)

    # One hook at the end of each test, not one at each of its three reports: the teardown
    # report is made from ``item.user_properties`` right after the teardown hooks return
    # (pytest's own unraisable and thread-exception collectors are plain trylast hooks:
    # they have reported to the warnings by then). So the teardown's duration includes
    # the closing snapshot (microseconds) and, for a test that left a thread running,
    # the wait of up to THREAD_GRACE_SECONDS for it to end.
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            watch = self.current
            if watch is not None and watch.nodeid == item.nodeid:
                leaks = self._finish(watch)
                if leaks:
                    watch.shipped = [leak.to_property() for leak in leaks]
                    item.user_properties.extend(watch.shipped)
                self.watched += 1
                if self._workeroutput is not None:
                    self._workeroutput[WATCHED_KEY] = self.watched

    # --- fixtures wider than a test own what they create until their teardown ----------
    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        if fixturedef.scope == "function" or self.current is None:
            return (yield)
        before = probes.Snapshot.take(self.current.before)
        try:
            return (yield)
        finally:
            created = probes.new_since(before, probes.Snapshot.take(before), self._owned)
            if created:
                self._owned.add(created)
                owner = self.current.nodeid
                self._fixtures[id(fixturedef)] = (
                    fixturedef.argname,
                    fixturedef.scope,
                    created,
                    owner,
                )

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> None:
        if not self._fixtures:
            return
        entry = self._fixtures.pop(id(fixturedef), None)
        if entry is None:
            return
        name, scope, created, owner = entry
        self._owned.discard(created)
        watch = self.current
        if watch is None:
            return
        left = probes.Snapshot.take(watch.before).held()
        left.threads &= created.threads
        left.fds &= created.fds
        left.children &= created.children
        if watch.reported is None:
            watch.reported = probes.Resources()
        watch.reported.add(left)
        suffix = f", created by the {scope}-scoped fixture {name!r} and not released by it"
        # Reported now (the fixture's teardown runs in this test's), blamed on its owner.
        owner_if_other = owner if owner != watch.nodeid else None
        watch.leaks.extend(
            Leak(leak.kind, leak.what + suffix, leak.origin, leak.hint, owner_if_other)
            for leak in self._describe(left)
        )

    # --- xdist: the controller learns how many tests each worker watched -------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None)
        if isinstance(output, dict):
            count = output.get(WATCHED_KEY, 0)
            if isinstance(count, int):
                self.remote_watched += count
                self.workers_reporting += 1

    def pytest_unconfigure(self) -> None:
        self.close()

    def close(self) -> None:
        if self._handler is not None:
            logging.getLogger("asyncio").removeHandler(self._handler)
            self._handler = None

    # --- judging one test ---------------------------------------------------------------
    def _finish(self, watch: _Watch) -> list[Leak]:
        after = self._last = probes.Snapshot.take(watch.before)
        if not watch.log and not watch.leaks and after.same_as(watch.before):
            return []  # the common case: nothing to work out, nothing built
        leaks = list(watch.leaks)
        for message in watch.log:
            leak = self._from_warning(watch, message)
            if leak is not None:
                leaks.append(leak)
        new = probes.new_since(watch.before, after, self._owned)
        if watch.reported is not None:
            new.discard(watch.reported)
        if new.threads:
            deadline = time.monotonic() + THREAD_GRACE_SECONDS
            for thread in list(new.threads):
                try:
                    thread.join(max(0.0, deadline - time.monotonic()))
                except RuntimeError:  # a thread that can't be joined (a dummy thread)
                    continue
                if not thread.is_alive():
                    new.threads.discard(thread)
        leaks.extend(self._describe(new))
        return leaks

    def _describe(self, new: probes.Resources) -> list[Leak]:
        leaks = []
        for thread in sorted(new.threads, key=lambda t: t.name):
            daemon = "daemon " if thread.daemon else ""
            leaks.append(
                Leak(
                    "thread",
                    f"{daemon}thread {thread.name!r} still running after the test",
                    hint="stop and join it in the test or a fixture's teardown",
                )
            )
        for pid in sorted(new.children):
            if probes.process_alive(pid):
                leaks.append(
                    Leak(
                        "process",
                        f"child process {probes.describe_process(pid)} after the test",
                        hint="terminate it and wait() for it before the test ends",
                    )
                )
        for fd in sorted(new.fds):
            target = probes.describe_fd(fd)
            if target is not None:
                leaks.append(
                    Leak(
                        "fd",
                        f"file descriptor {fd} ({target}) left open",
                        hint="close it (a with-block) before the test ends",
                    )
                )
        return leaks

    def _from_warning(self, watch: _Watch, message: warnings.WarningMessage) -> Leak | None:
        category = message.category
        text = str(message.message)
        if issubclass(category, ResourceWarning):
            origin, hint = watch.origins.get(id(message)) or self._allocation(message.source)
            return Leak("resource-warning", text, origin, hint)
        if issubclass(category, RuntimeWarning) and "was never awaited" in text:
            origin, hint = watch.origins.get(id(message)) or self._allocation(message.source)
            return Leak("coroutine", text.splitlines()[0], origin, hint)
        if issubclass(category, pytest.PytestUnraisableExceptionWarning):
            return self._from_pytest_report(text, "unraisable")
        if issubclass(category, pytest.PytestUnhandledThreadExceptionWarning):
            return self._from_pytest_report(text, "thread-exception")
        return None

    def _from_pytest_report(self, text: str, kind: str) -> Leak:
        """Parse pytest's unraisable / thread-exception warning text."""
        head, _, rest = text.partition("\n")
        body, allocated = rest, ""
        for marker in ("Object allocated at", "Enable tracemalloc"):
            if marker in body:
                body, _, tail = body.partition(marker)
                allocated = tail if marker.startswith("Object") else ""
        lines = [line for line in body.splitlines() if line.strip()]
        error = next(
            (line.strip() for line in reversed(lines) if not line.startswith((" ", "\t"))),
            "",
        )
        if kind == "unraisable" and error.startswith("ResourceWarning"):
            kind = "resource-warning"
        elif kind == "unraisable" and error.startswith("RuntimeWarning") and "awaited" in error:
            kind = "coroutine"
        origin = None
        hint = None
        if allocated:
            origin = self._frame_from_text(allocated)
        elif "Enable tracemalloc" in text and kind != "thread-exception":
            hint = TRACEMALLOC_HINT
        what = head.strip() + (f": {error}" if error and error not in head else "")
        return Leak(kind, what, origin, hint)

    def _frame_from_text(self, text: str) -> str | None:
        frames = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith('File "') and '", line ' in line:
                path, _, rest = line[6:].partition('", line ')
                frames.append((path, rest.split(",")[0].strip()))
        return self._pick_frame(frames)

    def _allocation(self, source: object) -> tuple[str | None, str | None]:
        if source is None:
            return None, None
        if not tracemalloc.is_tracing():
            return None, TRACEMALLOC_HINT
        traceback = tracemalloc.get_object_traceback(source)
        if traceback is None:
            return None, None
        # Most recent call last, as the text form prints it.
        frames = [(frame.filename, str(frame.lineno)) for frame in traceback]
        return self._pick_frame(frames), None

    def _pick_frame(self, frames: list[tuple[str, str]]) -> str | None:
        """The most recent frame in the project (not the stdlib): where the test made it."""
        if not frames:
            return None

        def shown(path: str, line: str) -> str:
            try:
                rel = Path(path).resolve().relative_to(self.rootdir.resolve()).as_posix()
            except (ValueError, OSError):
                rel = path
            return f"{rel}:{line}"

        for path, line in reversed(frames):
            if "site-packages" in path or not Path(path).is_absolute():
                continue
            try:
                Path(path).resolve().relative_to(self.rootdir.resolve())
            except (ValueError, OSError):
                continue
            return shown(path, line)
        return shown(*frames[-1])
