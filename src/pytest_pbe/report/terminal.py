"""The checklist at the end of pytest's terminal summary."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from pytest_pbe.model import CheckResult, Finding, Report, Status

FINDINGS_SHOWN = 10  # per item without -v
PER_FILE_SHOWN = 3  # per file without -v, when an item's findings span several files
DETAILS_SHOWN = 20  # detail lines per item without -v
SUMMARY_CHARS = 300  # an item's summary is shortened past this without -v
_EVERYTHING = "(-v shows all, the report files have every one)"

_MARK = {
    Status.PASSED: ("PASS", {"green": True}),
    Status.FAILED: ("FAIL", {"red": True, "bold": True}),
    Status.ERROR: ("ERROR", {"red": True, "bold": True}),
    Status.SKIPPED: ("SKIP", {"yellow": True}),
}


# Control characters (a newline in a file name, an ANSI escape in a commit subject) and the
# lone surrogates of non-UTF-8 file names: shown escaped, so no text can forge a line of the
# checklist, recolour the terminal, or fail to encode.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def terminal_safe(text: str) -> str:
    """``text`` with control characters and lone surrogates backslash-escaped."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def render_lines(report: Report, *, verbose: bool) -> list[tuple[str, dict[str, bool]]]:
    """The checklist as (text, markup) lines, so it can be tested without a terminal."""
    lines: list[tuple[str, dict[str, bool]]] = []
    width = max((len(c.id) for c in report.checks), default=5)
    for check in report.checks:
        mark, markup = _MARK[check.status]
        optional = "" if check.required else " (not required)"
        text = check.summary if verbose else _short_summary(check.summary)
        summary = f"{check.title}: {text}" if text else check.title
        lines.append((f"[{mark:<5}] {check.id:<{width}}  {summary}{optional}", markup))
        if check.status in (Status.FAILED, Status.ERROR) or verbose:
            lines.extend((f"          {text}", {}) for text in _finding_lines(check, verbose))
            lines.extend((f"          {text}", {}) for text in _detail_lines(check, verbose))
    return lines


def _short_summary(summary: str) -> str:
    """Whole '; '-separated parts up to SUMMARY_CHARS, then how many were left out."""
    if len(summary) <= SUMMARY_CHARS:
        return summary
    parts = summary.split("; ")
    kept: list[str] = []
    size = 0
    for part in parts:
        size += len(part) + (2 if kept else 0)
        if kept and size > SUMMARY_CHARS:
            break
        kept.append(part)
    left = len(parts) - len(kept)
    if not left:  # one enormous part: cut it
        return summary[:SUMMARY_CHARS] + "... (the report files have it whole)"
    return "; ".join(kept) + f"; ... ({left:,} more in the report files)"


def _finding_line(finding: Finding) -> str:
    where = finding.location()
    commit = f" [{finding.commit[:10]}]" if finding.commit else ""
    rule = f"{finding.rule}: " if finding.rule else ""
    return f"{where}{commit}  {rule}{finding.message}".strip()


def _finding_lines(check: CheckResult, verbose: bool) -> list[str]:
    """Every finding with -v; else grouped by file, capped per file and per item."""
    if verbose:
        return [_finding_line(f) for f in check.findings]
    groups: dict[str | None, list[Finding]] = {}
    for finding in check.findings:
        groups.setdefault(finding.path, []).append(finding)
    # Findings without a file (a total, a commit) are few and say the most: shown first.
    pathless = groups.pop(None, [])
    if not groups or (len(groups) == 1 and not pathless):
        shown = check.findings[:FINDINGS_SHOWN]
        out = [_finding_line(f) for f in shown]
        hidden = len(check.findings) - len(shown)
        if hidden:
            out.append(f"... {hidden:,} more {_EVERYTHING}")
        return out
    out = [_finding_line(f) for f in pathless[:FINDINGS_SHOWN]]
    budget = max(FINDINGS_SHOWN - len(out), PER_FILE_SHOWN)
    hidden_findings = len(pathless) - len(out)
    hidden_files = 0
    for path, findings in groups.items():
        if budget <= 0:
            hidden_findings += len(findings)
            hidden_files += 1
            continue
        kept = findings[: min(PER_FILE_SHOWN, budget)]
        budget -= len(kept)
        out.extend(_finding_line(f) for f in kept)
        if len(findings) > len(kept):
            out.append(f"{path}: ... {len(findings) - len(kept):,} more")
            hidden_findings += len(findings) - len(kept)
            hidden_files += 1
    if hidden_findings:
        files = "file" if hidden_files == 1 else "files"
        what = "finding" if hidden_findings == 1 else "findings"
        where = f" in {hidden_files:,} {files}" if hidden_files else ""
        out.append(f"... {hidden_findings:,} more {what}{where}, not shown {_EVERYTHING}")
    return out


def _detail_lines(check: CheckResult, verbose: bool) -> list[str]:
    if verbose or len(check.details) <= DETAILS_SHOWN:
        return list(check.details)
    hidden = len(check.details) - DETAILS_SHOWN
    return [*check.details[:DETAILS_SHOWN], f"... {hidden:,} more lines {_EVERYTHING}"]


def loosening_lines(report: Report) -> list[str]:
    """Every acknowledged loosening: a reader of the checklist sees what was let by."""
    acknowledged = [item for item in report.loosenings if item.acknowledged is not None]
    if not acknowledged:
        return []
    lines = [f"acknowledged loosenings ({len(acknowledged)}):"]
    for item in acknowledged:
        lines.append(f"  {item.item:<12} {item.message} (PBE-Loosen: {item.acknowledged})")
    return lines


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
            terminal_safe(
                f"new code: since {report.base.ref} (merge-base {report.base.merge_base[:10]}, "
                f"from {report.base.source})" + (", with uncommitted work" if report.dirty else "")
            )
        )
    for note in report.notes:
        terminalreporter.write_line(terminal_safe(note))
    for text, markup in render_lines(report, verbose=verbose):
        terminalreporter.write_line(terminal_safe(text), **markup)
    for line in loosening_lines(report):
        terminalreporter.write_line(terminal_safe(line), yellow=True)
    ok = exit_status == 0 and report.passed
    terminalreporter.write_line(
        terminal_safe(verdict_line(report, exit_status, report_errors)),
        green=ok,
        red=not ok,
        bold=True,
    )
