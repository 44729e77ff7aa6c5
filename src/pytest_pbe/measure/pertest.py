"""Which tests ran each line of the range's files, recorded beside coverage.py.

coverage.py's own per-test contexts (``switch_context``) flush every measured file into its
SQLite data at every test: on a suite of short tests that costs about as much as the tests
themselves. The tdd item only asks about the files the range touched, so at each test
boundary this takes what the tracer recorded for those files since the previous boundary
(the way coverage.py's own flush does it: snapshot each live set, then remove the snapshot
from it, keeping the set object the tracer writes to), files it under the test that just
ran, and hands everything back to the live data before coverage.py reads it, so coverage's
own figures are untouched.

It reads coverage.py's collector (``Coverage._collector.data``), which has no public API:
where that is missing, or the core is ``sys.monitoring`` (which reports each line only once
per process, not once per test), nothing is recorded and ``reason`` says why.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from pytest_pbe.errors import PbeError, first_line
from pytest_pbe.measure.collected import FROM_NEGATIVE, LINE_MASK, TO_NEGATIVE


def _collector_of(cov: Any) -> tuple[Any, str]:
    """coverage.py's running collector, or None and why it cannot be read per test."""
    collector = getattr(cov, "_collector", None)
    if collector is None or not isinstance(getattr(collector, "data", None), dict):
        return None, "this coverage.py version does not expose its collector's data"
    tracer = str(getattr(collector, "tracer_name", lambda: "")() or "")
    if tracer == "SysMonitor":
        return None, (
            "coverage.py's sys.monitoring core reports each line once per process, not per "
            "test: set [run] core = ctrace for the tdd item's per-test mapping"
        )
    return collector, ""


class PerTestLines:
    """Lines of the watched files, by the test that ran them (see the module docstring)."""

    def __init__(self, cov: Any, watched: Callable[[], Collection[str]]) -> None:
        self._cov = cov
        self._watched_source = watched
        self._watched: frozenset[str] | None = None
        self._is_watched: dict[str, bool] = {}  # tracer's file name -> watched?
        self._watched_names: list[str] = []  # the watched ones, in the order first traced
        self._current = ""  # node id of the test running now ('' between tests)
        self._held: dict[str, set[Any]] = {}  # taken out of the live data, given back at finish
        # (node id, tracer's file name, raw entries): decoded only when someone asks.
        self._taken: list[tuple[str, str, set[Any]]] = []
        self._received: dict[str, dict[int, set[str]]] = {}  # from pytest-xdist workers
        self.reason = ""  # why nothing could be recorded ('' when recording works)
        self._finished = False
        self._checked: Any = None  # the collector found readable (asked again if it changes)

    @property
    def recording(self) -> bool:
        return not self.reason

    def files(self) -> frozenset[str]:
        """The watched files (none, with ``reason`` set, when they cannot be known)."""
        if self._watched is None:
            try:
                self._watched = frozenset(self._watched_source())
            except PbeError as exc:
                self._watched = frozenset()
                self.reason = first_line(exc, "git")
        return self._watched

    def boundary(self, nodeid: str) -> None:
        """A test starts (``nodeid``) or the loop ends (''): file what ran since the last one."""
        # Once per test: the common case (a collector already checked, no new file traced,
        # nothing run in a watched file since the last boundary) makes no Python loop.
        if self._finished or self.reason:
            return
        watched = self._watched if self._watched is not None else self.files()
        collector = getattr(self._cov, "_collector", None)
        if collector is None or collector is not self._checked:
            collector, why = _collector_of(self._cov)
            if collector is None:
                self.reason = why
                return
            self._checked = collector
        if watched:
            data = collector.data
            if len(data) != len(self._is_watched):  # a file was traced for the first time
                real_dirs: dict[str, str] = {}
                for name in data.copy():
                    if name not in self._is_watched:
                        # The tracer's names are real paths; ours are as git lists them.
                        is_watched = name in watched or real_path(name, real_dirs) in watched
                        self._is_watched[name] = is_watched
                        if is_watched:
                            self._watched_names.append(name)
            names = self._watched_names
            # Did any watched file run since? (In C: the live sets' truth, no loop here.)
            if not any(map(data.get, names)):
                names = []
            for name in names:
                live = data.get(name)
                if not live:
                    continue
                snapshot = live.copy()
                live.difference_update(snapshot)
                self._held.setdefault(name, set()).update(snapshot)
                if self._current:
                    self._taken.append((self._current, name, snapshot))
        self._current = nodeid

    def finish(self) -> None:
        """Give every line back to coverage.py's live data (call before it reads its data)."""
        if self._finished:
            return
        self.boundary("")
        self._finished = True
        collector, _ = _collector_of(self._cov)
        if collector is None:
            return
        for name, entries in self._held.items():
            collector.data.setdefault(name, set()).update(entries)
        self._held.clear()

    def by_file(self) -> dict[str, dict[int, set[str]]]:
        """file name (as in coverage.py's data) -> line -> node ids of the tests that ran it."""
        self.finish()
        collector, _ = _collector_of(self._cov)
        found: dict[str, dict[int, set[str]]] = {
            name: {line: set(ids) for line, ids in lines.items()}
            for name, lines in self._received.items()
        }
        if collector is not None:
            mapped = getattr(collector, "cached_mapped_file", lambda name: name)
            packed = bool(getattr(getattr(collector, "core", None), "packed_arcs", False))
            branch = bool(getattr(collector, "branch", False))
            for nodeid, name, entries in self._taken:
                lines = found.setdefault(mapped(name), {})
                for line in _lines(entries, branch=branch, packed=packed):
                    lines.setdefault(line, set()).add(nodeid)
        return found

    # --- pytest-xdist: workers send theirs to the controller ------------------------------
    def dumps(self) -> str:
        return json.dumps(
            {
                "reason": self.reason,
                "files": {
                    name: {str(line): sorted(ids) for line, ids in lines.items()}
                    for name, lines in self.by_file().items()
                },
            }
        )

    def receive(self, blob: str) -> None:
        """Merge a worker's ``dumps``; a worker that could not record makes the whole so."""
        loaded = json.loads(blob)
        if loaded.get("reason"):
            self.reason = self.reason or str(loaded["reason"])
        files: Mapping[str, Mapping[str, Iterable[str]]] = loaded.get("files", {})
        for name, lines in files.items():
            into = self._received.setdefault(name, {})
            for line, ids in lines.items():
                into.setdefault(int(line), set()).update(ids)


def real_path(name: str, real_dirs: dict[str, str]) -> str:
    """``os.path.realpath(name)``, with each directory resolved once in ``real_dirs``.

    The first boundary meets every file imported so far (a hundred or more), and
    ``realpath`` looks up each component of each: here a directory is resolved once, and
    a file only checked for being a link itself (then resolved in full).
    """
    head, tail = os.path.split(name)
    if not os.path.isabs(name) or tail in ("", ".", ".."):  # noqa: PTH117  # str in, str out
        return os.path.realpath(name)
    real_head = real_dirs.get(head)
    if real_head is None:
        real_head = real_dirs[head] = os.path.realpath(head)
    joined = os.path.join(real_head, tail)  # noqa: PTH118  # as realpath joins
    try:
        if stat.S_ISLNK(os.lstat(joined).st_mode):
            return os.path.realpath(name)
    except OSError:  # missing: realpath keeps such a name as it is
        pass
    return joined


def _lines(entries: Iterable[Any], *, branch: bool, packed: bool) -> set[int]:
    """Line numbers from the tracer's raw entries: lines, (from, to) arcs or packed arcs."""
    lines: set[int] = set()
    for entry in entries:
        if isinstance(entry, tuple):
            lines.update(n for n in entry if n > 0)
        elif branch and packed:
            if not entry & FROM_NEGATIVE:
                lines.add(entry & LINE_MASK)
            if not entry & TO_NEGATIVE:
                lines.add((entry >> 28) & LINE_MASK)
        else:
            lines.add(entry)
    lines.discard(0)
    return lines
