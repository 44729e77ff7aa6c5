"""Judging a range for the ``tdd`` item: the verdicts, and the result they make.

Imported when the item is judged, after the tests (the plugin's start-up does not pay for
it); the red-green replay (``pytest_pbe.tdd.replay``) only in ``--pbe-tdd=replay``.
See ``pytest_pbe.tdd.verdicts`` for what history can and cannot prove.
"""

from __future__ import annotations

import contextlib
import gc
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pbe.errors import PbeError, first_line
from pytest_pbe.git.classify import path_selected
from pytest_pbe.model import CheckResult, Finding, MetricValue, Severity, Status
from pytest_pbe.options import GENERATED_MARKERS
from pytest_pbe.tdd.gitread import RawLog, changed_paths, listed_files, raw_log, read_blobs
from pytest_pbe.tdd.lost import LostTest, lost_tests
from pytest_pbe.tdd.mapping import COVERAGE, DESCRIBE, NAMES, CoverageMap, NamingMap, TestMap
from pytest_pbe.tdd.source import Outline, Outlines, lines_naming, module_names
from pytest_pbe.tdd.verdicts import (
    EXEMPT,
    FAILED,
    PAIRED,
    TEST_AFTER,
    TEST_FIRST,
    UNTESTED,
    UNVERIFIED,
    VERDICTS,
    VERIFIED,
    CommitVerdict,
    Inputs,
    Renames,
    UnitVerdict,
    blob_keys,
    change_renames,
    changes_with_parents,
    judge,
    violations_in,
)

if TYPE_CHECKING:
    from pytest_pbe.checks.base import Check
    from pytest_pbe.git import BaseRevision, Classifier, Commit, Repository
    from pytest_pbe.measure.coverage import MeasuredCoverage
    from pytest_pbe.tdd.replay import ReplayJob, ReplayOutcome


def line_ranges(lines: Iterable[int]) -> str:
    """``{1, 2, 3, 7}`` -> ``"1-3, 7"``."""
    out: list[str] = []
    ordered = sorted(lines)
    start = prev = ordered[0] if ordered else 0
    for line in ordered[1:]:
        if line != prev + 1:
            out.append(f"{start}-{prev}" if start != prev else str(start))
            start = line
        prev = line
    if ordered:
        out.append(f"{start}-{prev}" if start != prev else str(start))
    return ", ".join(out)


def _short(commit: Commit | None) -> str:
    if commit is None or commit.sha is None:
        return "uncommitted"
    return commit.sha[:7]


def _where(commit: Commit) -> str:
    if commit.sha is None:
        return "in the uncommitted work"
    return f"in {commit.sha[:7]} {commit.subject!r}"


class _Worktree:
    """The working tree as the session ran it: contents and outlines, cached."""

    def __init__(self, root: Path, outlines: Outlines) -> None:
        self.root = root
        self.outlines = outlines
        self._data: dict[str, bytes | None] = {}

    def read(self, rel: str) -> bytes | None:
        if rel not in self._data:
            path = os.path.join(self.root, rel)  # noqa: PTH118  # thousands of files: no Path
            try:
                with open(path, "rb") as file:  # noqa: PTH123
                    self._data[rel] = file.read()
            except OSError:
                self._data[rel] = None
        return self._data[rel]

    def outline(self, rel: str) -> Outline | None:
        data = self.read(rel)
        return self.outlines(data) if data is not None and rel.endswith(".py") else None

    def parsed(self) -> dict[bytes, Outline]:
        """The outlines made of working-tree contents, by content."""
        out: dict[bytes, Outline] = {}
        for data in self._data.values():
            found = self.outlines.known(data) if data is not None else None
            if found is not None and data is not None:
                out[data] = found
        return out


def tdd_result(
    check: Check,
    verdicts: list[CommitVerdict],
    mode: str,
    test_map: TestMap,
    why_names: str,
    real_commits: int,
) -> CheckResult:
    """The item's result from the range's verdicts (and replay outcomes, in replay mode)."""
    bad = violations_in(mode)
    counts = dict.fromkeys(VERDICTS, 0)
    findings: list[Finding] = []
    replay_counts: dict[str, int] = {VERIFIED: 0, FAILED: 0, UNVERIFIED: 0}
    used: set[str] = set()
    named_lost: set[tuple[str, str, str, str]] = set()  # each lost test once per unit
    for verdict in verdicts:
        counts[verdict.verdict] += 1
        used |= {u.mapping for u in verdict.units if u.verdict != EXEMPT}
        if verdict.verdict in bad:
            findings.extend(_violation_findings(verdict, verdicts, mode))
        findings.extend(_lost_findings(verdict, named_lost))
        outcome = verdict.replay
        if outcome is not None:
            replay_counts[outcome.status] += 1
            if outcome.status != VERIFIED:
                findings.append(_replay_finding(verdict, outcome))
    waived = sum(1 for v in verdicts if v.waiver is not None)
    violations = sum(counts[v] for v in bad) + replay_counts[FAILED]
    if used == {COVERAGE}:
        mapping = COVERAGE
    elif used == {NAMES}:
        mapping = NAMES
    elif used:
        mapping = "mixed"
    else:
        mapping = test_map.name
    metrics: dict[str, MetricValue] = {
        "commits": len(verdicts),
        "violations": violations,
        **{v.replace("-", "_"): counts[v] for v in VERDICTS},
        "waived": waived,
        "lost_tests": len({(t[0], t[1]) for t in named_lost}),
        "mode": mode,
        "mapping": mapping,
    }
    if mode == "replay":
        metrics.update(
            replay_verified=replay_counts[VERIFIED],
            replay_failed=replay_counts[FAILED],
            unverified=replay_counts[UNVERIFIED],
        )
    parts = [f"{counts[v]} {v}" for v in VERDICTS if counts[v]]
    if waived:
        parts.append(f"{waived} waived (PBE-Waive)")
    if mode == "replay" and any(replay_counts.values()):
        parts.append(
            f"replay: {replay_counts[VERIFIED]} verified, {replay_counts[FAILED]} failed, "
            f"{replay_counts[UNVERIFIED]} unverified"
        )
    notes = [f"mapping: {_mapping_note(mapping, why_names)}"]
    if real_commits == 1 and any(v.verdict != EXEMPT for v in verdicts):
        notes.append("a single commit (squashed?) can only show pairing, not test-first order")
    counted = f"{len(verdicts)} commit{'s' if len(verdicts) != 1 else ''}"
    summary = f"{counted}: {', '.join(parts)} ({'; '.join(notes)})"
    details = [_timeline_line(v) for v in verdicts]
    if violations:
        status = Status.FAILED
        summary = f"{violations} violation{'s' if violations != 1 else ''} in {summary}"
    elif replay_counts[UNVERIFIED]:
        status = Status.ERROR
        summary = (
            f"{replay_counts[UNVERIFIED]} commit(s) could not be verified by replay "
            f"(unverified, not passed) in {summary}"
        )
    else:
        status = Status.PASSED
    return check.result(status, summary, metrics=metrics, findings=findings, details=details)


@dataclass
class Judgement:
    """The verdicts of a range and what was read to reach them."""

    verdicts: list[CommitVerdict]
    test_map: TestMap
    why_names: str
    blobs: Mapping[tuple[str, str], bytes | None]
    tree: _Worktree
    rootdir_rel: str


def judge_range(
    repo: Repository,
    base: BaseRevision,
    commits: Sequence[Commit],
    classifier: Classifier,
    *,
    rootdir: Path,
    exclude: Sequence[str] = (),
    coverage: Callable[[], MeasuredCoverage] | None = None,
    working_files: Sequence[str] | None = None,
    raw: RawLog | None = None,
    uncommitted: bool | None = None,
    generated_markers: Sequence[str] = GENERATED_MARKERS,
) -> Judgement:
    """Judge every commit of the range (the git layer's ``history``), oldest first.

    ``working_files``: the working tree's files (``VerifyContext.working_files``), listed
    here when not given. ``raw``: the range's ``raw_log`` if it was read already (from the
    merge base to the last commit of ``commits``), else it is read here. ``uncommitted``:
    whether the judged working tree differs from HEAD (None: whether ``commits`` ends in the
    uncommitted pseudo-commit, which leaves out work that only deletes).
    """
    with _cyclic_gc_paused():
        return _judge_range(
            repo,
            base,
            commits,
            classifier,
            rootdir=rootdir,
            exclude=exclude,
            coverage=coverage,
            working_files=listed_files(repo) if working_files is None else working_files,
            raw=raw,
            uncommitted=any(c.sha is None for c in commits) if uncommitted is None else uncommitted,
            generated_markers=generated_markers,
        )


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while judging; put back as it was, whatever happens.

    Judging a huge change makes millions of small objects (syntax trees, outlines, verdicts)
    and no reference cycles: reference counting frees them all. Left on, the collector runs
    full collections over the whole session's heap meanwhile (a third of the judging time
    on a 5,000-file change) and finds nothing to free.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _judge_range(
    repo: Repository,
    base: BaseRevision,
    commits: Sequence[Commit],
    classifier: Classifier,
    *,
    rootdir: Path,
    exclude: Sequence[str],
    coverage: Callable[[], MeasuredCoverage] | None,
    working_files: Sequence[str],
    raw: RawLog | None,
    uncommitted: bool,
    generated_markers: Sequence[str],
) -> Judgement:
    def excluded(path: str) -> bool:
        return not path_selected(path, include=(), exclude=exclude)

    outlines = Outlines()  # one parse per distinct content, whatever the range's size
    tree = _Worktree(repo.root, outlines)
    rootdir_rel = _relative(rootdir, repo.root)
    real = [c for c in commits if c.sha is not None]
    last = real[-1].sha if real else None
    if raw is None:
        raw = raw_log(repo, base.merge_base, last) if last is not None else RawLog({})
    blobs, before = _read_contents(repo, commits, raw, tree, last)

    def test_outlines() -> dict[str, Outline]:
        found_here: dict[str, Outline] = {}
        for rel in working_files:
            if rel.endswith(".py") and classifier.classify(rel) == "test":
                found = tree.outline(rel)
                if found is not None and found.test_functions():
                    found_here[rel] = found
        return found_here

    naming = NamingMap(test_outlines)
    test_map: TestMap = naming
    why_names = "coverage was not measured"
    if coverage is not None:
        try:
            measured = coverage()
        except PbeError as exc:
            why_names = first_line(exc, "unavailable")
        else:
            if measured.has_contexts:
                users = partial(_naming_lines, files=working_files, kinds=classifier, tree=tree)
                test_map = CoverageMap(
                    measured.file, repo.root, rootdir_rel, tree.outline, naming, users
                )
                why_names = ""
            else:
                why_names = measured.why_no_contexts or "coverage recorded no per-test data"
    verdicts = judge(
        Inputs(
            commits=commits,
            raw=raw,
            blobs=blobs,
            head_outline=tree.outline,
            disk=tree.read,
            test_map=test_map,
            excluded=excluded,
            classify=classifier.classify,
            outline=outlines,
            lost_tests=_lost_in_range(
                repo, base.merge_base, raw, commits, classifier, tree, uncommitted=uncommitted
            ),
            generated_markers=generated_markers,
            before=before,
        )
    )
    return Judgement(verdicts, test_map, why_names, blobs, tree, rootdir_rel)


def _read_contents(
    repo: Repository, commits: Sequence[Commit], raw: RawLog, tree: _Worktree, last: str | None
) -> tuple[dict[tuple[str, str], bytes | None], dict[tuple[str, str], bytes | None]]:
    """Each changed file at its commit, and as its first parent had it (``Inputs.before``).

    One read: most files are still on disk as their last commit left them, and most parent
    versions are what an earlier commit of the range left (the raw log names each change's
    parent blob), so git is asked only for the rest, such as files as the merge base had them.
    """
    keys = blob_keys(commits)
    by_id = {raw.blob_ids[k]: k for k in keys if k in raw.blob_ids}
    known = dict(raw.blob_ids)
    same: dict[tuple[str, str], tuple[str, str] | None] = {}  # parent key -> a key read
    for commit, change in changes_with_parents(commits):
        key = (commit.parents[0], change.old_path or change.path)
        sha = commit.sha
        parent_id = raw.parent_ids.get((sha, change.path), "") if sha is not None else ""
        if parent_id is None:
            same[key] = None  # added by this commit
        elif parent_id in by_id:
            same[key] = by_id[parent_id]
        else:
            same[key] = key
            keys.append(key)
            if parent_id:
                known[key] = parent_id
    read = read_blobs(repo, keys, head=last, disk=tree.read, known=known)
    blobs = {k: read[k] for k in blob_keys(commits)}
    before = {k: (read[found] if found is not None else None) for k, found in same.items()}
    return blobs, before


def _naming_lines(
    names: frozenset[str], *, files: Sequence[str], kinds: Classifier, tree: _Worktree
) -> dict[str, set[int]]:
    """Source file -> the lines whose code uses one of ``names`` (for code run at import)."""
    found: dict[str, set[int]] = {}
    encoded = [n.encode() for n in names]
    for rel in files:
        if not rel.endswith(".py") or kinds.classify(rel) != "source":
            continue
        data = tree.read(rel)
        if data is not None and any(n in data for n in encoded):
            lines = lines_naming(data, names)
            if lines:
                found[rel] = lines
    return found


def _lost_in_range(
    repo: Repository,
    merge_base: str,
    raw: RawLog,
    commits: Sequence[Commit],
    classifier: Classifier,
    tree: _Worktree,
    *,
    uncommitted: bool,
) -> list[LostTest]:
    """Test functions of the merge base that the range deleted or emptied."""
    # Each path's first change in the range says whether it existed at the merge base:
    # files the range added cost no read of the base (and no git call at all).
    at_base: dict[str, bool] = {}
    for entries in raw.entries.values():
        for entry in entries:
            at_base.setdefault(entry.path, entry.status not in ("A", "C", "R"))
            if entry.old_path is not None:
                at_base.setdefault(entry.old_path, True)
    if uncommitted:  # deletions too, which the uncommitted pseudo-commit leaves out
        last = next((c.sha for c in reversed(commits) if c.sha is not None), merge_base)
        for status, path in changed_paths(repo, last, None):
            at_base.setdefault(path, status != "A")
    paths = sorted(
        p
        for p, existed in at_base.items()
        if existed and p.endswith(".py") and classifier.classify(p) == "test"
    )
    if not paths:
        return []
    renames = Renames(raw.renames() + change_renames(commits))
    base = read_blobs(repo, [(merge_base, p) for p in paths])
    outlines = {p: tree.outlines(data) for (_, p), data in base.items() if data is not None}
    return lost_tests(outlines, lambda path: tree.outline(renames.final(path)))


def replay_verdicts(
    repo: Repository, judged: Judgement, classify: Callable[[str], str], *, timeout: float
) -> None:
    """Replay every test-first or paired commit; the outcome lands in ``verdict.replay``."""
    jobs = [
        (verdict, replay_job(repo, verdict, judged, classify))
        for verdict in judged.verdicts
        if verdict.verdict in (TEST_FIRST, PAIRED)
    ]
    if not jobs:
        return
    from pytest_pbe.tdd.replay import Replayer  # replay mode only

    with Replayer(
        repo, rootdir_rel=judged.rootdir_rel, timeout=timeout, classify=classify
    ) as replayer:
        for verdict, job in jobs:
            verdict.replay = replayer.replay(job)


def replay_job(
    repo: Repository,
    verdict: CommitVerdict,
    judged: Judgement,
    classify: Callable[[str], str],
) -> ReplayJob:
    """What to replay for one commit: tests, overlays, and the names it introduces."""
    from pytest_pbe.tdd.replay import ReplayJob, node_id  # replay mode only

    blobs, tree, rootdir_rel = judged.blobs, judged.tree, judged.rootdir_rel
    commit = verdict.commit
    parent = commit.parents[0]
    refs = {t for u in verdict.units if u.verdict in (TEST_FIRST, PAIRED) for t in u.window}
    selection = tuple(sorted({n for r in refs if (n := node_id(r, rootdir_rel)) is not None}))
    cases_before = _cases_before(repo, verdict, judged)
    kinds = classify
    if commit.sha is None:
        paths = changed_paths(repo, parent, None)
        untracked = repo.list_files(tracked=False, untracked=True)
        entries = [*paths, *(("A", p) for p in sorted(untracked))]
        green = {p: (None if s == "D" else tree.read(p)) for s, p in entries}
        red = {p: v for p, v in green.items() if kinds(p) == "test"}
    else:
        entries = changed_paths(repo, parent, commit.sha)
        tests = [(s, p) for s, p in entries if kinds(p) == "test"]
        contents = read_blobs(repo, [(commit.sha, p) for s, p in tests if s != "D"])
        red = {p: (None if s == "D" else contents.get((commit.sha, p))) for s, p in tests}
        green = {}
    introduced: set[str] = set()
    changed: set[str] = set()
    before = read_blobs(
        repo, [(parent, f.old_path or f.path) for f in commit.files if f.kind == "source"]
    )
    for change in commit.files:
        if change.kind != "source" or not change.path.endswith(".py"):
            continue
        now = tree.read(change.path) if commit.sha is None else blobs.get((commit.sha, change.path))
        old = before.get((parent, change.old_path or change.path))
        new_names = tree.outlines(now).names if now is not None else frozenset()
        old_names = tree.outlines(old).names if old is not None else frozenset()
        introduced |= new_names - old_names
        if old is None:
            introduced |= set(module_names(change.path))
    for unit in verdict.units:
        changed.add(unit.unit.rsplit(".", 1)[-1])
    verdict.introduced = frozenset(introduced)
    return ReplayJob(
        sha=commit.sha,
        parent=parent,
        selection=selection,
        red_overlay=red,
        green_overlay=green,
        introduced=frozenset(introduced),
        changed=frozenset(changed),
        cases_before=cases_before,
    )


def _cases_before(
    repo: Repository, verdict: CommitVerdict, judged: Judgement
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The selected tests whose body the range did not change for this commit, only their
    ``parametrize`` cases: each with the revision before the range changed them for it.

    That revision is the parent of the first commit, after the unit's previous change, that
    touched the test's file; the test's body there must be what this commit runs.
    """
    from pytest_pbe.tdd.replay import node_id  # replay mode only

    commits = [v.commit for v in judged.verdicts]
    wanted: dict[tuple[str, str], set[str]] = {}  # (rev, path) -> test qualnames
    for unit in verdict.units:
        if unit.verdict not in (TEST_FIRST, PAIRED):
            continue
        for path, qualname in unit.window:
            first = next(
                (c for c in commits[unit.since + 1 : verdict.index + 1]
                 if any(f.path == path for f in c.files)),
                None,
            )  # fmt: skip
            if first is not None and first.parents:
                wanted.setdefault((first.parents[0], path), set()).add(qualname)
    if not wanted:
        return ()
    sha = verdict.commit.sha
    keys = list(wanted)
    if sha is not None:
        keys += [(sha, p) for _, p in wanted if (sha, p) not in judged.blobs]
    then = read_blobs(repo, keys)
    groups: dict[str, set[str]] = {}
    for (rev, path), qualnames in wanted.items():
        if sha is None:
            now = judged.tree.read(path)
        else:
            now = judged.blobs.get((sha, path)) or then.get((sha, path))
        old = then.get((rev, path))
        if old is None or now is None:
            continue
        bodies, old_bodies = (
            judged.tree.outlines(now).test_bodies,
            judged.tree.outlines(old).test_bodies,
        )
        for qualname in qualnames:
            body = bodies.get(qualname)
            found = node_id((path, qualname), judged.rootdir_rel)
            if body is not None and old_bodies.get(qualname) == body and found is not None:
                groups.setdefault(rev, set()).add(found)
    return tuple((rev, tuple(sorted(ids))) for rev, ids in sorted(groups.items()))


def _relative(rootdir: Path, root: Path) -> str:
    try:
        rel = Path(os.path.realpath(rootdir)).relative_to(os.path.realpath(root))
    except ValueError:
        return ""
    text = rel.as_posix()
    return "" if text == "." else text


def _mapping_note(mapping: str, why_names: str) -> str:
    if mapping == COVERAGE:
        return DESCRIBE[COVERAGE]
    if mapping == "mixed":
        return "per-test coverage contexts, test naming and imports where coverage did not measure"
    reason = f" ({why_names})" if why_names else ""
    return f"{DESCRIBE[NAMES]}{reason}"


def _violation_findings(
    verdict: CommitVerdict, verdicts: list[CommitVerdict], mode: str
) -> list[Finding]:
    commit = verdict.commit
    by_path: dict[str, list[UnitVerdict]] = {}
    for unit in verdict.units:
        if unit.verdict == verdict.verdict:
            by_path.setdefault(unit.head_path or unit.path, []).append(unit)
    out = []
    for path, units in by_path.items():
        # Where the lines stand at the end of the range (HEAD or the working tree).
        lines = sorted({n for u in units for n in _end_lines(u)})
        # The location (path, first..last line) is the finding's own and is printed before
        # the message: the message names the lines only when they are separate runs.
        runs = line_ranges(lines)
        where = f"{'lines ' + runs + ' ' if ', ' in runs else ''}changed {_where(commit)}"
        if not lines:
            then = line_ranges({n for u in units for n in u.lines})
            where = (
                f"lines {then} of {units[0].path} changed {_where(commit)} (no longer at HEAD "
                "as written)"
            )
        mapping = DESCRIBE.get(units[0].mapping, units[0].mapping)
        evidence = next((u.evidence for u in units if u.evidence), "")
        if evidence:
            mapping = f"{mapping}, judged by {evidence}"
        if verdict.verdict == TEST_AFTER:
            later = min(u.later for u in units if u.later is not None)
            test = posixpath.basename(later[1][0])
            message = (
                f"{where} with no test; {test} arrived later in {_short(verdicts[later[0]].commit)}"
                f" (mapping: {mapping}): {_settle(commit, TEST_AFTER_STEP)}"
            )
        elif verdict.verdict == UNTESTED:
            message = (
                f"{where} with no test exercising it by the end of the range (mapping: "
                f"{mapping}): {_settle(commit, UNTESTED_STEP)}"
            )
        else:  # paired, in strict mode
            tests = sorted({posixpath.basename(t[0]) for u in units for t in u.window})
            message = (
                f"{where} together with its test {', '.join(tests)}: strict mode wants the "
                f"failing test in an earlier commit (mapping: {mapping})"
            )
        out.append(
            Finding(
                message=message,
                path=path,
                line=lines[0] if lines else None,
                end_line=lines[-1] if lines else None,
                rule=verdict.verdict,
                commit=commit.sha,
            )
        )
    return out


TEST_AFTER_STEP = "move that test's commit before this one"
UNTESTED_STEP = (
    "commit the test before it: write a test that fails without it, commit it and move that "
    "commit before this one"
)


def _end_lines(unit: UnitVerdict) -> frozenset[int]:
    return unit.lines if unit.head_lines is None else unit.head_lines


def _settle(commit: Commit, step: str) -> str:
    """How to settle a violation of a commit already made (or of the uncommitted work)."""
    if commit.sha is None or not commit.parents:
        return (
            "commit a test that fails without it first, then this code (or both in one "
            "commit: paired)"
        )
    parent = commit.parents[0][:7]
    return (
        f"{step} (`git rebase -i {parent}`: put the test's commit above this one, or squash "
        f"them), or reword this commit with a `PBE-Waive: <reason>` trailer; a test added "
        f"later still makes it test-after"
    )


def _lost_findings(verdict: CommitVerdict, named: set[tuple[str, str, str, str]]) -> list[Finding]:
    """A deleted or emptied test that exercised a unit this commit changed, named once."""
    out = []
    for unit in verdict.units:
        for lost in unit.lost:
            key = (lost.path, lost.qualname, unit.path, unit.unit)
            if key in named:
                continue
            named.add(key)
            message = (
                f"{lost.describe()} in the range; it exercised {unit.unit} of {unit.path}, "
                f"changed {_where(verdict.commit)}, which is judged without it "
                f"({unit.verdict}): keep a test that would notice {unit.unit} breaking"
            )
            out.append(
                Finding(
                    message=message,
                    path=lost.path,
                    rule="deleted-test",
                    severity=Severity.WARNING,
                    commit=verdict.commit.sha,
                )
            )
    return out


def _replay_finding(verdict: CommitVerdict, outcome: ReplayOutcome) -> Finding:
    commit = verdict.commit
    units = [u for u in verdict.units if u.verdict in (TEST_FIRST, PAIRED)]
    path = units[0].path if units else None
    lines = sorted({n for u in units if u.path == path for n in u.lines})
    if outcome.status == FAILED:
        message = f"replay of {_short(commit)} {commit.subject!r} failed: {outcome.reason}"
        rule, severity = "replay-failed", Severity.ERROR
    else:
        message = (
            f"replay of {_short(commit)} {commit.subject!r} is unverified: {outcome.reason}; "
            "history alone says it was tested, but the red-green proof could not be made"
        )
        rule, severity = "unverified", Severity.WARNING
    return Finding(
        message=message,
        path=path,
        line=lines[0] if lines else None,
        end_line=lines[-1] if lines else None,
        rule=rule,
        severity=severity,
        commit=commit.sha,
    )


def _timeline_line(verdict: CommitVerdict) -> str:
    commit = verdict.commit
    sha = commit.sha[:10] if commit.sha else "(uncommitted)"
    subject = commit.subject if len(commit.subject) <= 48 else commit.subject[:47] + "…"
    extra = ""
    if verdict.verdict == EXEMPT:
        extra = f"  [{verdict.reason}]"
    else:
        mapped = sorted(verdict.mappings - {""})
        extra = f"  [{', '.join(mapped)}]" if mapped else ""
    outcome = verdict.replay
    if outcome is not None:
        extra += f"  replay: {outcome.status}"
    return f"{sha:<13} {verdict.verdict:<10} {subject}{extra}"
