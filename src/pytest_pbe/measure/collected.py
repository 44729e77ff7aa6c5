"""coverage.py's collected data, read from its stopped collector without the SQLite trip.

``Coverage.get_data`` writes every traced file's arcs into an in-memory SQLite database
and the analysis reads them back out, one query a file: on a project of 150 modules that
round trip was the largest part of the work after the tests (about 60 ms of 150). This
reads the same sets where the tracer left them, as coverage.py's own ``flush_data`` and
``_post_save_work`` do (the same file-name mapping, the same unpacking of CTracer's packed
arcs, the same never-imported files "touched" under ``source``), and answers the four
questions the analysis asks of a ``CoverageData``: ``has_arcs``, ``measured_files``,
``lines`` and ``arcs``.

It reads private parts of coverage.py (``Coverage._collector``, ``_inorout``,
``_file_mapper``, ``_data``). Wherever one is missing, or the data is not the plain case
(plugins, data flushed earlier, say), ``collected_in_memory`` returns None and the caller
asks coverage.py's ``get_data``: the figures never depend on which path was taken.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

# CTracer packs a branch arc (from, to) into one int: 28 bits each, two sign bits above.
LINE_MASK = 0xFFFFFFF
FROM_NEGATIVE = 1 << 56
TO_NEGATIVE = 1 << 57

Arc = tuple[int, int]


def unpack_arcs(packed: Iterable[int]) -> list[Arc]:
    """CTracer's packed arcs as (from, to) pairs (``Collector.flush_data``'s unpacking)."""
    arcs = []
    for value in packed:
        start = value & LINE_MASK
        end = (value >> 28) & LINE_MASK
        if value & FROM_NEGATIVE:
            start = -start
        if value & TO_NEGATIVE:
            end = -end
        arcs.append((start, end))
    return arcs


class CollectedData:
    """The collector's data, answering what the analysis asks of a ``CoverageData``."""

    def __init__(
        self,
        executed: Mapping[str, Collection[Any]],
        *,
        has_arcs: bool,
        packed: bool,
        touched: Iterable[str] = (),
    ) -> None:
        self._executed = executed  # file -> arcs (maybe packed) or lines
        self._has_arcs = has_arcs
        self._packed = packed
        self._files = set(executed).union(touched)
        self._arcs: dict[str, list[Arc]] = {}

    @property
    def packed(self) -> bool:
        """Whether the arcs are CTracer's packed ints (``packed_arcs`` gives them as they are)."""
        return self._has_arcs and self._packed

    def packed_arcs(self, filename: str) -> list[int] | None:
        """A file's arcs still packed (``unpack_arcs`` unpacks them), as ``arcs`` would."""
        if filename not in self._files:
            return None
        return list(self._executed.get(filename, ()))

    def has_arcs(self) -> bool:
        return self._has_arcs

    def measured_files(self) -> set[str]:
        return set(self._files)

    def arcs(self, filename: str) -> list[Arc] | None:
        if filename not in self._files:
            return None
        if not self._has_arcs:
            return []
        found = self._arcs.get(filename)
        if found is None:
            raw = self._executed.get(filename, ())
            found = unpack_arcs(raw) if self._packed else list(raw)
            self._arcs[filename] = found
        return list(found)

    def lines(self, filename: str) -> list[int] | None:
        if filename not in self._files:
            return None
        if self._has_arcs:
            return list({n for arc in self.arcs(filename) or () for n in arc if n > 0})
        return list(set(self._executed.get(filename, ())))

    def contexts_by_lineno(self, filename: str) -> dict[int, list[str]]:
        """No dynamic contexts are recorded in this data (the caller keeps its own)."""
        return {}


def collected_in_memory(cov: Any) -> CollectedData | None:
    """What ``cov.get_data()`` would hold, read from its stopped collector; else None.

    None when coverage.py's internals are not the ones this reads, when plugins take part
    (their files and reporters are coverage.py's business) or when data was flushed into
    the ``CoverageData`` before (then only coverage.py knows the sum).
    """
    try:
        collector = cov._collector
        existing = cov._data
        if collector is None or existing is None or list(cov._plugins):
            return None
        if existing._file_map or existing._has_lines or existing._has_arcs:
            return None  # flushed before: the SQLite data holds part of it
        if collector.file_tracers:
            return None
        if not collector._activity():  # get_data flushes nothing: empty, no kind chosen
            return CollectedData({}, has_arcs=False, packed=False)
        branch = bool(collector.branch)
        packed = bool(collector.core.packed_arcs) if branch else False
        # Mapped first, as flush_data does: two names mapped to one keep the later set.
        mapped = collector.mapped_file_dict(
            {name: set(entries) for name, entries in list(collector.data.items())}
        )
        if branch:  # add_arcs skips files without arcs; add_lines keeps them, empty
            mapped = {name: entries for name, entries in mapped.items() if entries}
        touched = []
        for path, plugin_name in cov._inorout.find_possibly_unexecuted_files():
            if plugin_name:
                return None
            touched.append(cov._file_mapper(path))
    except AttributeError:
        return None
    return CollectedData(mapped, has_arcs=branch, packed=packed, touched=touched)
