"""Judging each commit of the range: was its behavioural change preceded by a test?

What history can and cannot prove (the approximation, stated honestly):

* The tests that exercise a piece of code are known only for the END of the range (the
  working tree the session ran): per-test coverage contexts, or naming and imports. History
  gives each commit's changed lines in that commit's own coordinates. We never map line
  numbers across commits. Each changed executable line is attributed to its *unit* in that
  commit's version of the file (the innermost function, method or class, else the module's
  top level), and the unit is found again at the end by its qualified name (following file
  renames). A unit that was renamed later falls back to the whole file; code whose file is
  gone by the end is "superseded" and not judged.
* A test (function) has *events*: the commits of the range whose added lines touch it (its
  creation included). For a change of unit U in commit i, let k be the previous commit of
  the range that changed U. Then, over the tests T exercising U at the end:
  - an event in (k, i): ``test-first``; an event at i: ``paired``;
  - else some test of T has no event at or after i (it existed before and still does the
    same): ``refactor``, the change is exercised by tests that already existed;
  - else an event after i: ``test-after``; else T is empty: ``untested``.
  A commit takes the worst verdict of its units (untested > test-after > paired >
  test-first > refactor).
* A test of the merge base that the range deleted or emptied (``pytest_pbe.tdd.lost``)
  and that used a changed unit is named with it; under ``names`` that unit then counts
  only the tests that still use its name (no file-wide fallback), so deleting the only
  test of a function one breaks is no "refactor".
* History cannot prove that the earlier test FAILED before the code arrived, nor that a
  test touched in the same file is about this change (the ``names`` mapping works at file
  level). ``replay`` mode runs the tests to prove red-then-green.
* A squashed range (one commit) can only show pairing.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_pbe.git import Commit, FileChange
from pytest_pbe.options import GENERATED_MARKERS
from pytest_pbe.tdd.gitread import BlobKey, RawLog
from pytest_pbe.tdd.lost import LostTest
from pytest_pbe.tdd.mapping import NAMES, TestMap, TestRef, module_keys, unit_names
from pytest_pbe.tdd.source import MODULE, Outline, outline

if TYPE_CHECKING:
    from pytest_pbe.tdd.replay import ReplayOutcome

# A replay's outcome (``pytest_pbe.tdd.replay``), named here so that judging without a
# replay never imports the replayer.
VERIFIED = "verified"
FAILED = "failed"
UNVERIFIED = "unverified"

TEST_FIRST = "test-first"
PAIRED = "paired"
REFACTOR = "refactor"
EXEMPT = "exempt"
TEST_AFTER = "test-after"
UNTESTED = "untested"
VERDICTS = (TEST_FIRST, PAIRED, REFACTOR, EXEMPT, TEST_AFTER, UNTESTED)
_WORST = (UNTESTED, TEST_AFTER, PAIRED, TEST_FIRST, REFACTOR)

WAIVER_KEY = "pbe-waive"
_GENERATED_HEAD_LINES = 5  # where tools put their marker


def violations_in(mode: str) -> frozenset[str]:
    return frozenset({TEST_AFTER, UNTESTED, PAIRED} if mode == "strict" else {TEST_AFTER, UNTESTED})


@dataclass(frozen=True)
class UnitVerdict:
    path: str  # as named in the commit
    head_path: str | None  # as named at the end (None: gone)
    unit: str
    lines: frozenset[int]  # changed executable lines, in the commit's coordinates
    verdict: str
    mapping: str
    tests: frozenset[TestRef] = frozenset()  # exercising the unit at the end
    window: frozenset[TestRef] = frozenset()  # tests added or changed in (k, i]
    later: tuple[int, TestRef] | None = None  # first event after the commit
    lost: tuple[LostTest, ...] = ()  # tests the range deleted or emptied that exercised it
    evidence: str = ""  # what judged it, when not the mapping's usual reading
    #: ``lines`` as they stand at the end of the range (violations only; None: not mapped,
    #: empty: the lines were changed or removed since).
    head_lines: frozenset[int] | None = None
    since: int = -1  # the previous commit of the range that changed the unit (-1: none)


@dataclass
class CommitVerdict:
    index: int
    commit: Commit
    verdict: str
    reason: str = ""
    units: tuple[UnitVerdict, ...] = ()
    waiver: str | None = None
    replay: ReplayOutcome | None = None  # replay mode only
    introduced: frozenset[str] = field(default_factory=frozenset)

    @property
    def mappings(self) -> frozenset[str]:
        return frozenset(u.mapping for u in self.units)


@dataclass
class Inputs:
    """Everything the judge reads, gathered by the caller (git and disk access)."""

    commits: Sequence[Commit]
    raw: RawLog
    blobs: Mapping[BlobKey, bytes | None]  # (sha, path) contents of changed files
    head_outline: Callable[[str], Outline | None]  # working tree, by repo-relative path
    disk: Callable[[str], bytes | None]  # working tree content (the uncommitted pseudo-commit)
    test_map: TestMap
    excluded: Callable[[str], bool]  # tdd_exclude globs
    classify: Callable[[str], str]  # the git layer's test/source/other
    outline: Callable[[bytes], Outline] = outline  # an ``Outlines`` cache for big ranges
    lost_tests: Sequence[LostTest] = ()  # see ``pytest_pbe.tdd.lost``
    generated_markers: Sequence[str] = GENERATED_MARKERS
    #: (first parent, path there) contents of changed files: what each change started from.
    #: A file missing here is judged line by line, as if all its code were new.
    before: Mapping[BlobKey, bytes | None] = field(default_factory=dict)


def content_at(inputs: Inputs, commit: Commit, path: str) -> bytes | None:
    if commit.sha is None:
        return inputs.disk(path)
    return inputs.blobs.get((commit.sha, path))


def _judged_files(commits: Sequence[Commit]) -> list[tuple[Commit, FileChange]]:
    """Every changed .py source or test file of the range's non-merge commits."""
    return [
        (c, f)
        for c in commits
        if not c.is_merge
        for f in c.files
        if f.kind in ("source", "test") and f.path.endswith(".py")
    ]


def blob_keys(commits: Sequence[Commit]) -> list[BlobKey]:
    """The contents the judge needs: every changed .py file at its commit."""
    return [(c.sha, f.path) for c, f in _judged_files(commits) if c.sha is not None]


def changes_with_parents(commits: Sequence[Commit]) -> list[tuple[Commit, FileChange]]:
    """Every changed .py file of a commit with a parent (``Inputs.before`` holds them)."""
    return [(c, f) for c, f in _judged_files(commits) if c.parents]


def content_before(inputs: Inputs, commit: Commit, change: FileChange) -> bytes | None:
    if not commit.parents:
        return None
    return inputs.before.get((commit.parents[0], change.old_path or change.path))


def changed_code(
    new: Outline, old: Outline | None, *, tests: bool = False
) -> frozenset[str] | None:
    """The units whose code differs between two versions of a file; None when unknown.

    A unit is changed when its code (``Outline.code``, or ``Outline.test_code`` for test
    functions) differs from the first parent's, or the parent has no such unit.
    """
    if not new.parsed or old is None or not old.parsed:
        return None
    now, then = (new.test_code, old.test_code) if tests else (new.code, old.code)
    return frozenset(name for name, code in now.items() if then.get(name) != code)


class Renames:
    """Follows file renames forward to the name at the end of the range."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.forward: dict[str, str] = {}
        for old, new in pairs:
            if old != new:
                self.forward[old] = new

    def final(self, path: str) -> str:
        seen = {path}
        while path in self.forward:
            path = self.forward[path]
            if path in seen:
                break
            seen.add(path)
        return path


def test_events(inputs: Inputs, renames: Renames) -> dict[TestRef, list[int]]:
    """For each test function (named at the end), the commits whose changed lines fall in it
    and that changed its code: a comment, a docstring, layout or an assertion message alone
    checks nothing new."""
    events: dict[TestRef, list[int]] = {}
    for index, commit in enumerate(inputs.commits):
        if commit.is_merge:
            continue
        for change in commit.files:
            if change.kind != "test" or not change.path.endswith(".py"):
                continue
            text = content_at(inputs, commit, change.path)
            if text is None:
                continue
            final = renames.final(change.path)
            lines = sorted(change.lines)
            out = inputs.outline(text)
            old_text = content_before(inputs, commit, change)
            old = inputs.outline(old_text) if old_text is not None else None
            code = changed_code(out, old, tests=True)
            for test in out.test_functions():
                at = bisect.bisect_left(lines, test.start)  # the first changed line from its start
                if at < len(lines) and lines[at] <= test.end:
                    if code is not None and test.qualname not in code:
                        continue
                    events.setdefault((final, test.qualname), []).append(index)
    return events


def is_generated(text: bytes, markers: Sequence[str] = GENERATED_MARKERS) -> bool:
    """Does one of ``markers`` appear, exactly, in the first lines of ``text``?"""
    head = b"\n".join(text.split(b"\n", _GENERATED_HEAD_LINES)[:_GENERATED_HEAD_LINES])
    return any(marker.encode("utf-8") in head for marker in markers if marker)


def judge(inputs: Inputs) -> list[CommitVerdict]:
    renames = Renames(inputs.raw.renames() + change_renames(inputs.commits))
    events = test_events(inputs, renames)
    plans = [_plan_commit(inputs, index, c, renames) for index, c in enumerate(inputs.commits)]
    changes: dict[tuple[str, str], list[int]] = {}  # (head path, unit) -> commits changing it
    for index, plan in enumerate(plans):
        if isinstance(plan, _Plan):
            for change in plan.changed:
                if change.head is not None:
                    changes.setdefault((change.head, change.unit), []).append(index)
    history = _UnitHistory(changes)
    return [
        plan if isinstance(plan, CommitVerdict) else _judge_commit(inputs, plan, events, history)
        for plan in plans
    ]


@dataclass(frozen=True)
class _Change:
    path: str  # as named in the commit
    head: str | None  # as named at the end (None: gone)
    unit: str
    lines: frozenset[int]
    defines: frozenset[str]  # names bound by changed code that runs at import (module level)


@dataclass(frozen=True)
class _Plan:
    index: int
    commit: Commit
    changed: tuple[_Change, ...]
    waiver: str | None = None  # exempt, and its changes still start the next window


@dataclass(frozen=True)
class _UnitHistory:
    changes: Mapping[tuple[str, str], list[int]]

    def previous(self, key: tuple[str, str], index: int) -> int:
        found = self.changes.get(key, [])
        at = bisect.bisect_left(found, index)
        return found[at - 1] if at else -1

    def next(self, key: tuple[str, str], index: int) -> int | None:
        found = self.changes.get(key, [])
        at = bisect.bisect_right(found, index)
        return found[at] if at < len(found) else None


def change_renames(commits: Sequence[Commit]) -> list[tuple[str, str]]:
    return [(f.old_path, f.path) for c in commits for f in c.files if f.old_path is not None]


def _waiver(commit: Commit) -> str | None:
    for key, value in commit.trailers:
        if key.lower() == WAIVER_KEY:
            return value or "(no reason given)"
    return None


def _plan_commit(
    inputs: Inputs, index: int, commit: Commit, renames: Renames
) -> CommitVerdict | _Plan:
    """The commit's changed units, or its verdict when it is exempt."""
    if commit.is_merge:
        return CommitVerdict(index, commit, EXEMPT, "merge commit: its parents are judged")
    changed: list[_Change] = []
    touched_source = False
    for change in commit.files:
        if change.kind != "source" or inputs.excluded(change.path):
            continue
        text = content_at(inputs, commit, change.path)
        if text is not None and is_generated(text, inputs.generated_markers):
            continue
        touched_source = True
        changed += _changed_units(inputs, commit, change, text, renames)
    waiver = _waiver(commit)
    if waiver is not None:
        return _Plan(index, commit, tuple(changed), waiver)
    if not touched_source:
        return CommitVerdict(index, commit, EXEMPT, _no_source_reason(inputs, commit))
    if not changed:
        return CommitVerdict(
            index, commit, EXEMPT,
            "no executable line changed (comments, docstrings, blank lines, layout or "
            "suppression comments only)",
        )  # fmt: skip
    return _Plan(index, commit, tuple(changed))


def _changed_units(
    inputs: Inputs, commit: Commit, change: FileChange, text: bytes | None, renames: Renames
) -> list[_Change]:
    """The units of one file whose code the commit changed, with their changed lines."""
    out = inputs.outline(text) if text is not None and change.path.endswith(".py") else None
    code: frozenset[str] | None = None
    if out is not None:
        old_text = content_before(inputs, commit, change)
        code = changed_code(out, inputs.outline(old_text) if old_text is not None else None)
    by_unit: dict[str, set[int]] = {}
    for line in sorted(change.lines):
        if out is not None and not out.is_executable(line):
            continue
        unit = out.unit_of(line) if out is not None else MODULE
        if code is not None and unit not in code:
            continue  # the unit's code is the parent's: comments, layout, suppressions
        by_unit.setdefault(unit, set()).add(line)
    final = renames.final(change.path)
    head_exists = inputs.head_outline(final) is not None or inputs.disk(final) is not None
    found = []
    for name, numbers in by_unit.items():
        defines: frozenset[str] = frozenset()
        if out is not None and name == MODULE:
            defines = frozenset().union(*(out.top_names.get(n, frozenset()) for n in numbers))
        found.append(
            _Change(change.path, final if head_exists else None, name, frozenset(numbers), defines)
        )
    return found


def _judge_commit(
    inputs: Inputs, plan: _Plan, events: Mapping[TestRef, list[int]], history: _UnitHistory
) -> CommitVerdict:
    index, commit = plan.index, plan.commit
    if plan.waiver is not None:
        return CommitVerdict(index, commit, EXEMPT, f"waived: {plan.waiver}", waiver=plan.waiver)
    units: list[UnitVerdict] = []
    for change in plan.changed:
        path, head, unit, lines = change.path, change.head, change.unit, change.lines
        if head is None:
            units.append(UnitVerdict(path, None, unit, lines, EXEMPT, ""))
            continue
        tests, mapping = inputs.test_map.tests_for(head, unit)
        evidence = ""
        if not tests:
            names = unit_names(unit) if unit != MODULE else change.defines
            if names and _runs_at_import(inputs, head, unit):
                tests, mapping = inputs.test_map.users_of(head, names)
                evidence = f"tests that use {', '.join(sorted(names))} (code that runs at import)"
        lost = tuple(t for t in inputs.lost_tests if t.exercised(head, unit))
        if lost and mapping == NAMES:
            tests = _still_using(inputs, tests, unit)
        judged_unit = _judge_unit(
            inputs, change, head, tests, mapping, events, index, history, evidence=evidence
        )
        units.append(dataclasses.replace(judged_unit, lost=lost) if lost else judged_unit)
    judged = [u for u in units if u.verdict != EXEMPT]
    if not judged:
        return CommitVerdict(
            index, commit, EXEMPT, "superseded: the changed code is gone by the end of the range",
            tuple(units),
        )  # fmt: skip
    worst = min(judged, key=lambda u: _WORST.index(u.verdict)).verdict
    if worst in (UNTESTED, TEST_AFTER, PAIRED):  # the findings point at the end's lines
        units = [_mapped_to_head(inputs, commit, u) if u.verdict == worst else u for u in units]
    return CommitVerdict(index, commit, worst, "", tuple(units))


def _mapped_to_head(inputs: Inputs, commit: Commit, unit: UnitVerdict) -> UnitVerdict:
    if unit.head_path is None:
        return unit
    now = inputs.disk(unit.head_path)
    then = content_at(inputs, commit, unit.path)
    return dataclasses.replace(unit, head_lines=lines_at_end(then, now, unit.lines))


def lines_at_end(then: bytes | None, now: bytes | None, lines: frozenset[int]) -> frozenset[int]:
    """``lines`` of ``then`` where they stand in ``now``; lines changed since are left out."""
    if then is None or now is None:
        return frozenset()
    if then == now:
        return lines
    matcher = difflib.SequenceMatcher(None, then.split(b"\n"), now.split(b"\n"), autojunk=False)
    mapped: set[int] = set()
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            mapped.update(n - i1 + j1 for n in lines if i1 < n <= i2)
    return frozenset(mapped)


def _runs_at_import(inputs: Inputs, head: str, unit: str) -> bool:
    """Module-level code, or a class's own body (its methods are units of their own)."""
    if unit == MODULE:
        return True
    found = inputs.head_outline(head)
    at = found.find(unit) if found is not None else None
    return at is not None and at.is_class


def _still_using(inputs: Inputs, tests: frozenset[TestRef], unit: str) -> frozenset[TestRef]:
    """Under ``names``, without the file-wide fallback: the lost test was what named it."""
    names = unit_names(unit)
    if not names:
        return tests

    def uses(ref: TestRef) -> bool:
        found = inputs.head_outline(ref[0])
        return found is not None and bool(names & found.mentions.get(ref[1], frozenset()))

    return frozenset(t for t in tests if uses(t))


def _judge_unit(
    inputs: Inputs,
    change: _Change,
    head: str,
    tests: frozenset[TestRef],
    mapping: str,
    events: Mapping[TestRef, list[int]],
    index: int,
    history: _UnitHistory,
    *,
    evidence: str = "",
) -> UnitVerdict:
    key = (head, change.unit)
    previous, upcoming = history.previous(key, index), history.next(key, index)
    changed = events
    window = frozenset(t for t in tests if any(previous < j <= index for j in changed.get(t, ())))
    later = min(((j, t) for t in tests for j in changed.get(t, ()) if j > index), default=None)
    # A test about this code added or changed after it, before the code changed again: an
    # existing test had to be fixed, or a test arrived to check the change; not a refactor.
    fixed = min(
        (
            (j, t)
            for t in tests
            if _about(inputs, t, change, mapping)
            for j in changed.get(t, ())
            if index < j and (upcoming is None or j < upcoming)
        ),
        default=None,
    )
    earlier = [t for t in window if any(previous < j < index for j in changed.get(t, ()))]
    if any(_about(inputs, t, change, mapping) for t in earlier):
        verdict = TEST_FIRST
    elif window:
        verdict = PAIRED
    elif fixed is not None:
        verdict, later = TEST_AFTER, fixed
    elif any(all(j < index for j in changed.get(t, ())) for t in tests):
        verdict = REFACTOR
    elif later is not None:
        verdict = TEST_AFTER
    else:
        verdict = UNTESTED
    return UnitVerdict(
        change.path, head, change.unit, change.lines, verdict, mapping, tests, window,
        later, evidence=evidence, since=previous,
    )  # fmt: skip


def _about(inputs: Inputs, test: TestRef, change: _Change, mapping: str) -> bool:
    """Is ``test`` about the changed unit? Per-test coverage saw it run the unit; under the
    names mapping (file-wide at worst), a test that names the unit or lives in the module's
    own test file (``test_<module>.py``) is."""
    if mapping != NAMES:
        return True
    wanted, _ = module_keys(change.head or change.path)
    if posixpath.basename(test[0]) in wanted:
        return True
    names = unit_names(change.unit)
    found = inputs.head_outline(test[0])
    mentions = found.mentions.get(test[1], frozenset()) if found is not None else frozenset()
    return bool(names & mentions)


def _no_source_reason(inputs: Inputs, commit: Commit) -> str:
    if commit.sha is not None:
        paths = {f.path for f in commit.files}
        for entry in inputs.raw.entries.get(commit.sha, ()):
            if entry.path in paths:
                continue
            if entry.status in ("D", "M") and inputs.classify(entry.path) == "source":
                return "pure deletion"
            if entry.status == "R":
                return "rename only"
    return "no source change"
