"""Which tests exercise which source code, as the code stands at the end of the range.

Two mappings, the precise one preferred:

* ``coverage``: per-test coverage contexts of this very session (line -> node ids of the
  tests that ran it). A unit (function, method, class, or the module's top level) is
  exercised by every test that ran a line of its body. ``def``/``class`` lines run at
  import time, outside any test, so they never carry a context: the body's do.
* ``names``: the naming convention (``test_<module>.py`` / ``<module>_test.py`` anywhere)
  and the test modules' imports of the module. Test functions that mention the unit's
  name narrow it down; when none does, every test function of those files counts.

Both read the working tree (what the session ran). A unit's tests are named
``(test file, test function qualname)``, repo-relative.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from pytest_pbe.errors import PbeError
from pytest_pbe.tdd.source import MODULE, Outline, module_names

TestRef = tuple[str, str]  # (repo-relative test file, test function qualname)

COVERAGE = "coverage"
NAMES = "names"
DESCRIBE = {
    COVERAGE: "per-test coverage contexts",
    NAMES: "test naming and imports",
}

_PHASES = ("|run", "|setup", "|teardown")


class TestMap(Protocol):
    name: str

    def tests_for(self, head_path: str, unit: str) -> tuple[frozenset[TestRef], str]:
        """The tests exercising ``unit`` of ``head_path`` at the end, and the mapping used."""

    def users_of(self, head_path: str, names: frozenset[str]) -> tuple[frozenset[TestRef], str]:
        """The tests that use ``names`` (defined in ``head_path`` by code that runs at
        import, where no test's run is seen executing it), and the mapping used."""


def unit_names(unit: str) -> frozenset[str]:
    """The names a test uses when it is about ``unit`` (its class and its own name)."""
    if unit == MODULE:
        return frozenset()
    return frozenset(p for p in unit.split(".")[:2] if not p.startswith("_"))


def names_module(test_path: str, imports: frozenset[str], head_path: str) -> bool:
    """The naming convention, or an import: the test file is about ``head_path``."""
    wanted, dotted = module_keys(head_path)
    return posixpath.basename(test_path) in wanted or bool(imports & dotted)


def module_keys(head_path: str) -> tuple[frozenset[str], frozenset[str]]:
    """The test file names that go with ``head_path``, and the dotted names it imports as."""
    stem = posixpath.basename(head_path)[: -len(".py")]
    if stem == "__init__":
        stem = posixpath.basename(posixpath.dirname(head_path)) or stem
    return frozenset({f"test_{stem}.py", f"{stem}_test.py"}), frozenset(module_names(head_path))


def node_to_ref(nodeid: str, rootdir_rel: str) -> TestRef | None:
    """``tests/test_a.py::TestX::test_y[1]|run`` -> ``("tests/test_a.py", "TestX.test_y")``."""
    for phase in _PHASES:
        nodeid = nodeid.removesuffix(phase)
    parts = nodeid.split("::")
    if len(parts) < 2 or not parts[0]:
        return None
    names = [p.split("[", 1)[0] for p in parts[1:]]
    path = posixpath.normpath(posixpath.join(rootdir_rel, parts[0])) if rootdir_rel else parts[0]
    return path, ".".join(n for n in names if n)


class NamingMap:
    """Test files by name and by what they import (see the module docstring)."""

    name = NAMES

    def __init__(self, test_outlines: Callable[[], Mapping[str, Outline]]) -> None:
        # Read on first use: parsing every test file of the project is most of the tdd
        # item's own time, and per-test coverage usually answers for every unit.
        self._read_outlines = test_outlines
        self._outlines: Mapping[str, Outline] | None = None
        self._files: dict[str, list[str]] = {}

    @property
    def test_outlines(self) -> Mapping[str, Outline]:
        if self._outlines is None:
            self._outlines = self._read_outlines()
        return self._outlines

    def files_for(self, head_path: str) -> list[str]:
        found = self._files.get(head_path)
        if found is None:
            wanted, dotted = module_keys(head_path)
            found = [
                path
                for path, outline in self.test_outlines.items()
                if posixpath.basename(path) in wanted or outline.imports & dotted
            ]
            self._files[head_path] = found
        return found

    def tests_for(self, head_path: str, unit: str) -> tuple[frozenset[TestRef], str]:
        refs: set[TestRef] = set()
        narrowed: set[TestRef] = set()
        names = unit_names(unit)
        for path in self.files_for(head_path):
            outline = self.test_outlines[path]
            for test in outline.test_functions():
                ref = (path, test.qualname)
                refs.add(ref)
                if names & outline.mentions.get(test.qualname, frozenset()):
                    narrowed.add(ref)
        return frozenset(narrowed or refs), NAMES

    def users_of(self, head_path: str, names: frozenset[str]) -> tuple[frozenset[TestRef], str]:
        """Test functions that name one of ``names``, in test files that import its module
        or the name itself; else every test of a file that imports the name."""
        _, dotted = module_keys(head_path)
        using: set[TestRef] = set()
        importing: set[TestRef] = set()
        for path, outline in self.test_outlines.items():
            imported = {i.rsplit(".", 1)[-1] for i in outline.imports if "." in i} & names
            if not (imported or outline.imports & dotted):
                continue
            for test in outline.test_functions():
                ref = (path, test.qualname)
                if names & outline.mentions.get(test.qualname, frozenset()):
                    using.add(ref)
                elif imported:
                    importing.add(ref)
        return frozenset(using or importing), NAMES


class CoverageMap:
    """Per-test contexts; falls back to ``names`` for files coverage did not measure."""

    name = COVERAGE

    def __init__(
        self,
        file_coverage: Callable[[Path], object],
        root: Path,
        rootdir_rel: str,
        head_outline: Callable[[str], Outline | None],
        fallback: TestMap,
        naming_lines: Callable[[frozenset[str]], Mapping[str, set[int]]] = lambda _: {},
    ) -> None:
        # naming_lines: source file -> the lines of it whose code uses one of the names.
        self.naming_lines = naming_lines
        self.file_coverage = file_coverage
        self.root = root
        self.rootdir_rel = rootdir_rel
        self.head_outline = head_outline
        self.fallback = fallback
        self._contexts: dict[str, dict[int, frozenset[str]] | None] = {}
        self._refs: dict[str, TestRef | None] = {}  # node id -> test, for every unit alike

    def _file_contexts(self, head_path: str) -> dict[int, frozenset[str]] | None:
        if head_path not in self._contexts:
            try:
                measured = self.file_coverage(self.root / head_path)
            except PbeError:
                self._contexts[head_path] = None
                return None
            ok = getattr(measured, "measured", False)
            reason = str(getattr(measured, "reason", ""))
            if not ok and not reason.startswith("never imported"):
                # Outside coverage's source or omitted on purpose: coverage cannot say.
                self._contexts[head_path] = None
            else:
                # Read once into a plain dict: each unit then looks its lines up cheaply.
                contexts: Mapping[int, frozenset[str]] = getattr(measured, "contexts", {})
                plain = contexts if type(contexts) is dict else dict(contexts.items())
                self._contexts[head_path] = plain if ok else {}
        return self._contexts[head_path]

    def tests_for(self, head_path: str, unit: str) -> tuple[frozenset[TestRef], str]:
        contexts = self._file_contexts(head_path)
        if contexts is None:
            return self.fallback.tests_for(head_path, unit)
        outline = self.head_outline(head_path)
        found = outline.find(unit) if outline is not None and unit != MODULE else None
        lines: Iterable[int]
        if found is not None:
            lines = range(found.body_start, found.end + 1)
        else:
            lines = list(contexts)  # module level, or a unit renamed since: the whole file
        return self._refs_of(contexts, lines), COVERAGE

    def users_of(self, head_path: str, names: frozenset[str]) -> tuple[frozenset[TestRef], str]:
        """Tests whose run executed code naming one of ``names`` (constructing, raising or
        reading it), in any measured file; the names mapping's users where coverage did
        not measure ``head_path``, and, when no run named it, the tests that name it."""
        if self._file_contexts(head_path) is None:
            return self.fallback.users_of(head_path, names)
        refs: set[TestRef] = set()
        for path, lines in self.naming_lines(names).items():
            contexts = self._file_contexts(path)
            if contexts:
                refs |= self._refs_of(contexts, lines)
        if refs:
            return frozenset(refs), COVERAGE
        return self.fallback.users_of(head_path, names)

    def _refs_of(
        self, contexts: Mapping[int, frozenset[str]], lines: Iterable[int]
    ) -> frozenset[TestRef]:
        nodeids: set[str] = set()
        for line in lines:
            found_ids = contexts.get(line)
            if found_ids:
                nodeids |= found_ids
        refs: set[TestRef] = set()
        known = self._refs
        for nodeid in nodeids:
            if nodeid not in known:
                known[nodeid] = node_to_ref(nodeid, self.rootdir_rel)
            ref = known[nodeid]
            if ref is not None:
                refs.add(ref)
        return frozenset(refs)
