"""Huge changes keep a readable terminal: findings grouped by file and capped, -v shows all."""

from __future__ import annotations

import pytest

from pytest_pbe.model import CheckResult, Finding, Report, Status
from pytest_pbe.report.terminal import render_lines


def _report(findings: list[Finding], details: tuple[str, ...] = (), summary: str = "bad") -> Report:
    check = CheckResult("coverage", "New code is covered", Status.FAILED, summary, True)
    check = CheckResult(
        check.id, check.title, check.status, summary, findings=tuple(findings), details=details
    )
    return Report(checks=(check,), tests_passed=True)


def _text(report: Report, *, verbose: bool = False) -> list[str]:
    return [text for text, _ in render_lines(report, verbose=verbose)]


def _uncovered(files: int, per_file: int) -> list[Finding]:
    return [
        Finding(f"new line {n} is not executed", path=f"src/m{i:04d}.py", line=n, rule="uncovered")
        for i in range(files)
        for n in range(1, per_file + 1)
    ]


def test_a_5000_file_change_prints_a_few_lines_and_one_summary_of_the_rest() -> None:
    lines = _text(_report(_uncovered(5_000, 2)))
    assert len(lines) < 20
    assert lines[-1].strip() == (
        "... 9,990 more findings in 4,995 files, not shown "
        "(-v shows all, the report files have every one)"
    )


def test_findings_are_grouped_by_file_with_a_cap_per_file() -> None:
    findings = _uncovered(3, 5)
    # Interleave the files: grouping must bring each file's findings together.
    findings.sort(key=lambda f: (f.line, f.path))
    lines = [line.strip() for line in _text(_report(findings))[1:]]
    assert lines[:4] == [
        "src/m0000.py:1  uncovered: new line 1 is not executed",
        "src/m0000.py:2  uncovered: new line 2 is not executed",
        "src/m0000.py:3  uncovered: new line 3 is not executed",
        "src/m0000.py: ... 2 more",
    ]
    assert lines[4].startswith("src/m0001.py:1  ")
    assert lines[-1] == (
        "... 6 more findings in 3 files, not shown (-v shows all, the report files have every one)"
    )


def test_one_file_with_many_findings_shows_the_first_ten() -> None:
    findings = [Finding(f"problem {n}", path="m.py", line=n) for n in range(1, 26)]
    lines = [line.strip() for line in _text(_report(findings))[1:]]
    assert lines[9] == "m.py:10  problem 10"
    assert lines[10] == "... 15 more (-v shows all, the report files have every one)"
    assert len(lines) == 11


def test_findings_without_a_path_are_never_hidden_behind_file_findings() -> None:
    findings = [*_uncovered(50, 1), Finding("total coverage 10% is below 80%", rule="total")]
    lines = [line.strip() for line in _text(_report(findings))]
    assert "total: total coverage 10% is below 80%" in lines


def test_verbose_shows_every_finding_and_every_detail() -> None:
    details = tuple(f"src/m{i}.py: not judged" for i in range(300))
    lines = _text(_report(_uncovered(100, 3), details), verbose=True)
    assert len(lines) == 1 + 300 + 300
    assert not any("more" in line for line in lines)


def test_long_details_are_capped_without_verbose() -> None:
    details = tuple(f"src/m{i}.py: not judged" for i in range(300))
    lines = [line.strip() for line in _text(_report([], details))]
    assert len(lines) < 30
    assert lines[-1] == "... 280 more lines (-v shows all, the report files have every one)"


@pytest.mark.parametrize("verbose", [False, True])
def test_a_huge_summary_is_shortened_only_without_verbose(verbose: bool) -> None:
    summary = "; ".join(f"src/m{i}.py: 50% of new lines covered (need 90%)" for i in range(2_000))
    first = _text(_report([], summary=summary), verbose=verbose)[0]
    if verbose:
        assert first.endswith(summary)
    else:
        assert len(first) < 400
        assert first.endswith("... (1,994 more in the report files)")


def test_many_findings_without_a_file_are_capped_too() -> None:
    findings = [Finding(f"commit {n} broke the order", rule="order") for n in range(40)]
    findings.append(Finding("new line 1 is not executed", path="a.py", line=1))
    lines = [line.strip() for line in _text(_report(findings))[1:]]
    assert len(lines) == 12
    assert lines[10] == "a.py:1  new line 1 is not executed"
    assert lines[-1].startswith("... 30 more findings, not shown (-v")
