"""The checklist at the end of pytest's terminal summary."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pytest_pbe.model import CheckResult, Report, Status

FINDINGS_SHOWN = 10  # per item without -v

_MARK = {
    Status.PASSED: ("PASS", {"green": True}),
    Status.FAILED: ("FAIL", {"red": True, "bold": True}),
    Status.ERROR: ("ERROR", {"red": True, "bold": True}),
    Status.SKIPPED: ("SKIP", {"yellow": True}),
}


def render_lines(report: Report, *, verbose: bool) -> list[tuple[str, dict[str, bool]]]:
    """The checklist as (text, markup) lines, so it can be tested without a terminal."""
    lines: list[tuple[str, dict[str, bool]]] = []
    width = max((len(c.id) for c in report.checks), default=5)
    for check in report.checks:
        mark, markup = _MARK[check.status]
        optional = "" if check.required else " (not required)"
        summary = f"{check.title}: {check.summary}" if check.summary else check.title
        lines.append((f"[{mark:<5}] {check.id:<{width}}  {summary}{optional}", markup))
        if check.status in (Status.FAILED, Status.ERROR) or verbose:
            lines.extend((f"          {text}", {}) for text in _finding_lines(check, verbose))
            lines.extend((f"          {text}", {}) for text in check.details)
    return lines


def _finding_lines(check: CheckResult, verbose: bool) -> list[str]:
    findings = check.findings if verbose else check.findings[:FINDINGS_SHOWN]
    out = []
    for finding in findings:
        where = finding.location()
        commit = f" [{finding.commit[:10]}]" if finding.commit else ""
        rule = f"{finding.rule}: " if finding.rule else ""
        out.append(f"{where}{commit}  {rule}{finding.message}".strip())
    hidden = len(check.findings) - len(findings)
    if hidden:
        out.append(f"... {hidden} more (-v shows all, the report files have every one)")
    return out


def verdict_line(report: Report, exit_status: int, report_errors: Sequence[str]) -> str:
    failed = [c.id for c in report.checks if c.blocks and c.status is Status.FAILED]
    errored = [c.id for c in report.checks if c.blocks and c.status is Status.ERROR]
    if exit_status == 0 and report.passed:
        return "pbe: verified: every required item passed"
    parts = []
    if not report.complete:
        parts.append("the session was interrupted, so the checklist is incomplete")
    if failed:
        parts.append("failed: " + ", ".join(failed))
    if errored:
        parts.append("could not be checked: " + ", ".join(errored))
    parts.extend(report_errors)
    if not parts and not report.tests_passed:
        parts.append("the tests did not pass")
    return f"pbe: NOT verified (exit {exit_status}): " + "; ".join(parts)


def write_checklist(
    terminalreporter: pytest.TerminalReporter,
    report: Report,
    *,
    verbose: bool,
    report_errors: Sequence[str],
    exit_status: int,
) -> None:
    terminalreporter.write_sep("=", "pbe verification checklist")
    if report.base.ref is not None and report.base.merge_base is not None:
        terminalreporter.write_line(
            f"new code: since {report.base.ref} (merge-base {report.base.merge_base[:10]}, "
            f"from {report.base.source})" + (", with uncommitted work" if report.dirty else "")
        )
    for note in report.notes:
        terminalreporter.write_line(note)
    for text, markup in render_lines(report, verbose=verbose):
        terminalreporter.write_line(text, **markup)
    ok = exit_status == 0 and report.passed
    terminalreporter.write_line(
        verdict_line(report, exit_status, report_errors), green=ok, red=not ok, bold=True
    )
