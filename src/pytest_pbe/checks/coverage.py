"""The `coverage` item: new code covered by tests (100% by default), total coverage >= 80%.

Judged from coverage.py's own analysis of each changed source file (statements, excluded,
missing, branches): a change to any line of a multi-line statement counts that statement
once, excluded lines never count, a file that was never measured counts as uncovered (with
the reason), and with branch coverage a partly taken line earns partial credit.

Per-path thresholds (``pbe_coverage_paths``, lines of ``glob = percent``) judge the new
lines of each matching file on their own; ``pbe_new_code_coverage`` judges the files no glob
matches, pooled. A glob matches the repository-relative path (as every finding prints it)
or the path relative to pytest's rootdir, so a service's own configuration in a monorepo
(rootdir ``services/billing``) may write ``src/billing/legacy/** = 50`` as well as
``services/billing/src/billing/legacy/** = 50``. ``**`` spans directories, ``*`` and ``?``
stay within one path segment, and the most specific glob (most literal characters) wins.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pbe.checks.base import Check
from pytest_pbe.errors import PbeError
from pytest_pbe.model import CheckResult, Finding, MetricValue, Status

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext
    from pytest_pbe.git import Classifier
    from pytest_pbe.measure.coverage import FileCoverage, MeasuredCoverage


def floor_percent(value: Fraction) -> float:
    """A percent shown with 2 decimals, rounded DOWN: 99.999 shows as 99.99, never 100."""
    return math.floor(value * 100 * 100) / 100


def _show(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _glob_regex(glob: str) -> re.Pattern[str]:
    """``**`` spans directories, ``*`` and ``?`` stay within one path segment."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class PathThresholds:
    """``pbe_coverage_paths``: the most specific matching glob wins (most literal chars)."""

    def __init__(self, rules: Iterable[tuple[str, float]]) -> None:
        ranked = [
            (len(glob.replace("*", "").replace("?", "")), n, glob, _glob_regex(glob), pct)
            for n, (glob, pct) in enumerate(rules)
        ]
        # Most literal characters first; on a tie the later line wins.
        self.rules = sorted(ranked, key=lambda r: (-r[0], -r[1]))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def match(self, path: str, *also: str) -> tuple[str, float] | None:
        """The most specific rule matching ``path`` or any of its other spellings ``also``."""
        for _, _, glob, regex, percent in self.rules:
            if regex.match(path) or any(regex.match(other) for other in also):
                return glob, percent
        return None


@dataclass
class FileVerdict:
    """New-code coverage of one changed file."""

    path: str
    coverage: FileCoverage
    statements: list[int] = field(default_factory=list)  # new statements (first lines)
    uncovered: list[int] = field(default_factory=list)
    partial: dict[int, tuple[int, ...]] = field(default_factory=dict)  # line -> missed dests
    credit: Fraction = Fraction(0)  # covered statements, partial ones as a fraction
    threshold: tuple[str, float] | None = None

    @property
    def covered(self) -> int:
        """Fully covered new statements."""
        return len(self.statements) - len(self.uncovered) - len(self.partial)

    def percent(self) -> Fraction | None:
        return self.credit / len(self.statements) if self.statements else None


@dataclass
class Verdict:
    files: list[FileVerdict]
    skipped: list[tuple[str, str]]  # (path, why) changed source files not judged
    new_lines: int
    covered: int
    partial: int
    credit: Fraction

    def percent(self) -> Fraction | None:
        return self.credit / self.new_lines if self.new_lines else None


def judge_file(path: str, cov: FileCoverage, lines: Iterable[int]) -> FileVerdict:
    """The new statements of one file and how well the tests cover them."""
    starts = cov.statement_starts
    statements = cov.statements
    new = sorted({starts.get(line, line) for line in lines} & statements)
    verdict = FileVerdict(path, cov, new)
    missing = cov.missing
    missing_branches = cov.missing_branches
    credit = Fraction(0)
    for line in new:
        if line in missing:
            verdict.uncovered.append(line)
        elif line in missing_branches:
            dests = missing_branches[line]
            verdict.partial[line] = dests
            exits = cov.branches.get(line, 0)
            if exits > len(dests):
                credit += Fraction(exits - len(dests), exits)
        else:
            credit += 1
    verdict.credit = credit
    return verdict


def judge(
    changes: Iterable[tuple[str, Iterable[int]]],
    measured: MeasuredCoverage,
    root: Path,
    thresholds: PathThresholds | None = None,
    scope_prefix: str = "",
) -> Verdict:
    """Judge the changed lines of each changed source file (repo-relative path, lines).

    ``scope_prefix`` is pytest's rootdir relative to the repository: per-path globs match
    the repository-relative path or the path relative to the rootdir.
    """
    prefix = scope_prefix.strip("/") + "/" if scope_prefix.strip("/") else ""
    files: list[FileVerdict] = []
    skipped: list[tuple[str, str]] = []
    changes = list(changes)
    measured.prepare([root / path for path, _ in changes])
    for path, lines in changes:
        cov = measured.file(root / path)
        if cov.omitted:
            skipped.append((path, cov.reason))
            continue
        verdict = judge_file(path, cov, lines)
        if thresholds:
            local = (path[len(prefix) :],) if prefix and path.startswith(prefix) else ()
            verdict.threshold = thresholds.match(path, *local)
        files.append(verdict)
    return Verdict(
        files=files,
        skipped=skipped,
        new_lines=sum(len(f.statements) for f in files),
        covered=sum(f.covered for f in files),
        partial=sum(len(f.partial) for f in files),
        credit=sum((f.credit for f in files), Fraction(0)),
    )


def _runs(lines: list[int], statements: list[int]) -> list[tuple[int, int]]:
    """Group uncovered statements that no other new statement separates."""
    runs: list[tuple[int, int]] = []
    position = {line: n for n, line in enumerate(statements)}
    for line in lines:
        if runs and position[line] == position[runs[-1][1]] + 1:
            runs[-1] = (runs[-1][0], line)
        else:
            runs.append((line, line))
    return runs


def _statement_ends(cov: FileCoverage) -> dict[int, int]:
    ends: dict[int, int] = {}
    for line, start in cov.statement_starts.items():
        if line > ends.get(start, start):
            ends[start] = line
    return ends


def _lines_covered(percent: Fraction, lines: int) -> str:
    plural = "s" if lines != 1 else ""
    return f"{_show(floor_percent(percent))}% of {lines} new line{plural} covered"


def _where(dest: int) -> str:
    return "the exit" if dest < 0 else f"line {dest}"


def findings_for(verdict: FileVerdict) -> list[Finding]:
    cov = verdict.coverage
    out: list[Finding] = []
    ends = _statement_ends(cov) if cov.statement_starts else {}
    why = f" ({cov.reason})" if not cov.measured and cov.reason else ""
    for first, last in _runs(verdict.uncovered, verdict.statements):
        end = ends.get(last, last)
        where = f"new line {first}" if end == first else f"new lines {first}-{end}"
        verb = "is" if end == first else "are"
        out.append(
            Finding(
                message=f"{where} {verb} not executed by any test{why}",
                path=verdict.path,
                line=first,
                end_line=end,
                rule="uncovered",
            )
        )
    for line, dests in sorted(verdict.partial.items()):
        targets = ", ".join(_where(d) for d in dests)
        out.append(
            Finding(
                message=f"new line {line} is only partly covered: it never jumped to {targets}",
                path=verdict.path,
                line=line,
                end_line=ends.get(line, line),
                rule="partial",
            )
        )
    return out


#: At most this many files are parsed ahead (a huge monorepo's rest is parsed on demand).
_PARSE_AHEAD_LIMIT = 20_000


def parse_order(
    *, changed: Sequence[str], project: Sequence[str], classifier: Classifier, prefix: str
) -> list[str]:
    """The Python files of the project, in the order the parsing child takes them.

    The changed files first (their figures are the ones judged), then the other source
    files (for the total), and test files last: a project's ``[run] source`` rarely
    measures them, and the child would otherwise spend the session parsing them.
    """
    from pytest_pbe.git.classify import TEST

    inside = prefix + "/" if prefix else ""
    ordered = dict.fromkeys(
        p for p in (*changed, *project) if p.endswith(".py") and p.startswith(inside)
    )
    sources: list[str] = []
    tests: list[str] = []
    for path in ordered:
        (tests if classifier.classify(path) == TEST else sources).append(path)
    return sources + tests


class CoverageCheck(Check):
    id = "coverage"
    title = "New code is covered by tests"
    needs = frozenset({"coverage"})
    judges_new_code = True
    start_in_background = True  # git and the parsing child's launch, beside the others
    # The parsing child computes the total's figures from the moment the session's data is
    # first read (the tdd item reads it) while the other items are judged: read it last.
    judged_last = True

    def start(self, ctx: VerifyContext) -> None:
        # coverage.py's parse of the changed files, then of the rest (for the total), in a
        # child process while the tests run. Only a head start: evaluate() parses whatever
        # is missing, and says so if git cannot tell what changed.
        from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT

        measurement = ctx.stash.get(COVERAGE_MEASUREMENT, None)
        if measurement is None:
            return
        try:
            changes = ctx.changes()
            changed = {f.path: None for f in changes.files if f.lines}
            order = parse_order(
                changed=list(changed),
                project=ctx.working_files(),
                classifier=ctx.classifier(),
                prefix=ctx.scope_prefix(),
            )
        except PbeError:
            return
        root = os.path.realpath(changes.root) + os.sep  # coverage.py names files by real path
        files = [root + p.replace("/", os.sep) for p in order]
        first = 0  # the changed source files lead the order: sent back as soon as parsed
        while first < len(order) and order[first] in changed:
            first += 1
        measurement.parse_ahead(files[:_PARSE_AHEAD_LIMIT], first=first)

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        settings = ctx.settings
        changes = ctx.changes()
        sources = [
            (f.path, f.lines)
            for f in changes.files
            if f.kind == "source" and f.path.endswith(".py") and f.lines
        ]
        measured = ctx.coverage()
        thresholds = PathThresholds(settings.coverage_paths)
        verdict = judge(sources, measured, changes.root, thresholds, ctx.scope_prefix())
        total = measured.total_percent
        if total is None:
            raise PbeError(
                "coverage.py measured no file in this session: check [run] source/include "
                "in the project's coverage configuration"
            )
        return self.build(
            verdict,
            total,
            new_threshold=settings.new_code_coverage,
            total_threshold=settings.total_coverage,
            origin=measured.origin,
            branch=measured.branch,
        )

    def build(
        self,
        verdict: Verdict,
        total: float,
        *,
        new_threshold: float,
        total_threshold: float,
        origin: str = "",
        branch: bool = False,
    ) -> CheckResult:
        findings: list[Finding] = []
        per_file: dict[str, MetricValue] = {}
        problems: list[str] = []
        pooled_lines = 0
        pooled_credit = Fraction(0)
        for f in verdict.files:
            findings.extend(findings_for(f))
            pct = f.percent()
            entry: dict[str, MetricValue] = {
                "new_lines": len(f.statements),
                "new_lines_covered": f.covered,
                "new_lines_partial": len(f.partial),
                "new_code_percent": None if pct is None else floor_percent(pct),
                "measured": f.coverage.measured,
            }
            if not f.coverage.measured:
                entry["reason"] = f.coverage.reason
            if f.threshold is not None:
                glob, need = f.threshold
                entry["threshold"] = need
                if pct is not None and pct * 100 < Fraction(need):
                    problems.append(
                        f"{f.path}: {_show(floor_percent(pct))}% of new lines covered "
                        f"(need {_show(need)}% for {glob!r})"
                    )
            else:
                pooled_lines += len(f.statements)
                pooled_credit += f.credit
            if f.statements:
                per_file[f.path] = entry
        percent = verdict.percent()
        if pooled_lines and pooled_credit * 100 < Fraction(new_threshold) * pooled_lines:
            problems.insert(0, "new code below threshold")
        total_ok = Fraction(total) >= Fraction(total_threshold)
        if not total_ok:
            findings.append(
                Finding(
                    message=f"total coverage {_show(floor_percent(Fraction(total) / 100))}% is "
                    f"below the required {_show(total_threshold)}% (pbe_total_coverage)",
                    rule="total",
                )
            )
        by_path = any(f.threshold is not None and f.statements for f in verdict.files)
        if percent is None:
            new_text = "no new executable code"
        elif not by_path:
            new_text = (
                f"{_lines_covered(percent, verdict.new_lines)} (need {_show(new_threshold)}%)"
            )
        else:
            # Per-path thresholds judge their files; pbe_new_code_coverage only the rest.
            new_text = _lines_covered(percent, verdict.new_lines)
            if pooled_lines and "new code below threshold" in problems:
                new_text += (
                    f"; outside pbe_coverage_paths: "
                    f"{_lines_covered(pooled_credit / pooled_lines, pooled_lines)} "
                    f"(need {_show(new_threshold)}%)"
                )
            elif len(problems) == 0:
                new_text += "; every path meets its threshold (pbe_coverage_paths)"
        total_text = f"total {_show(floor_percent(Fraction(total) / 100))}%"
        if not total_ok:
            total_text += f" (need {_show(total_threshold)}%)"
        extra = [p for p in problems if p != "new code below threshold"]
        summary = f"{new_text}; {total_text}"
        if extra:
            summary += "; " + "; ".join(extra)
        metrics: dict[str, MetricValue] = {
            "new_lines": verdict.new_lines,
            "new_lines_covered": verdict.covered,
            "new_lines_partial": verdict.partial,
            "new_code_percent": None if percent is None else floor_percent(percent),
            "total_percent": floor_percent(Fraction(total) / 100),
            "branch": branch,
            "measured_by": origin,
            "files": per_file,
        }
        details = [f"{path}: not judged, {why}" for path, why in verdict.skipped]
        status = Status.PASSED if total_ok and not problems else Status.FAILED
        return self.result(status, summary, metrics=metrics, findings=findings, details=details)


__all__ = ["CoverageCheck", "PathThresholds", "judge", "judge_file"]
