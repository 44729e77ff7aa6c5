"""The checklist as GitHub-flavoured Markdown (``--pbe-report-md``, the step summary).

Every value that comes from code, git or a tool is escaped, so a commit subject or a file
name cannot inject markup, links or HTML. The output stays under ``max_bytes``: the
checklist always, then as many findings as fit, and a line saying how many were left out.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from pytest_pbe.model import CheckResult, Report, Status
from pytest_pbe.report.files import write_atomic
from pytest_pbe.report.findings import verdict

DEFAULT_MAX_BYTES = 1024 * 1024 - 4096  # GitHub's step summary limit, with a margin
_NOTE_ROOM = 300  # bytes kept for the "N more findings" line

_ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "⛔",
    Status.SKIPPED: "⏭️",
}
# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that can start markup, a link, a table cell, or raw HTML.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-!|~&])")
_SPACE = re.compile(r"[\r\n\t\f\v]+")


def escape(text: str) -> str:
    """Plain text safe in a paragraph or a table cell: one line, no markup."""
    return _SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text))


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _header(report: Report) -> list[str]:
    icon = "✅" if report.passed else "❌"
    lines = [f"## {icon} pytest-pbe: {verdict(report)}", ""]
    base = report.base
    if base.ref is not None and base.merge_base is not None:
        where = (
            f"New code since {escape(base.ref)} (merge-base {escape(base.merge_base[:12])}, "
            f"from {escape(base.source or 'unknown')})"
        )
        if report.dirty:
            where += ", with uncommitted work"
        lines.extend([where + ".", ""])
    if not report.complete:
        lines.extend(["**The session was interrupted: the checklist is incomplete.**", ""])
    if not report.tests_passed:
        lines.extend(["**The tests did not pass.**", ""])
    lines.extend(["| | Item | Result | Required |", "| --- | --- | --- | --- |"])
    for check in report.checks:
        summary = escape(check.summary) if check.summary else ""
        lines.append(
            f"| {_ICON[check.status]} {check.status.value} | **{escape(check.id)}** "
            f"{escape(check.title)} | {summary} | {'yes' if check.required else 'no'} |"
        )
    lines.append("")
    acknowledged = [item for item in report.loosenings if item.acknowledged is not None]
    if acknowledged:
        lines.extend([f"**Acknowledged loosenings ({len(acknowledged)}):**", ""])
        for item in acknowledged:
            reason = escape(item.acknowledged or "")
            lines.append(
                f"- **{escape(item.item)}** {escape(item.message)} (PBE\\-Loosen: {reason})"
            )
        lines.append("")
    return lines


def _item_lines(check: CheckResult) -> list[tuple[bool, list[str]]]:
    """An item's section as blocks (is it a finding row?, lines)."""
    head = [
        f"### {_ICON[check.status]} {escape(check.id)}: {escape(check.title)}",
        "",
        escape(check.summary) if check.summary else "",
        "",
    ]
    blocks = [(False, head)]
    if check.details:
        lines = [line for detail in check.details for line in detail.splitlines()]
        body = html.escape("\n".join(lines), quote=False)
        blocks.append(
            (
                False,
                ["<details><summary>details</summary>", "", f"<pre>{body}</pre>", "</details>", ""],
            )
        )
    if check.findings:
        blocks.append((False, ["| Where | Rule | Message |", "| --- | --- | --- |"]))
        for finding in check.findings:
            where = escape(finding.location()) if finding.path else ""
            message = finding.message
            if finding.commit:
                message = f"{message} (commit {finding.commit[:12]})"
            blocks.append((True, [f"| {where} | {escape(finding.rule)} | {escape(message)} |"]))
        blocks.append((False, [""]))
    return blocks


def render(report: Report, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The whole report, or as much as fits in ``max_bytes`` (UTF-8) with a note of the rest."""
    out = "\n".join(_header(report)) + "\n"
    if _size(out) > max_bytes:
        # Not even the checklist fits: say so in one line rather than writing half a table.
        note = f"pytest-pbe: {verdict(report)} (the checklist did not fit here)\n"
        return note if _size(note) <= max_bytes else ""
    total = sum(len(c.findings) for c in report.checks)
    written = 0
    full = False
    for check in report.checks:
        if check.status not in (Status.FAILED, Status.ERROR) and not check.findings:
            continue
        for is_finding, block in _item_lines(check):
            text = "\n".join(block) + "\n"
            if _size(out) + _size(text) + _NOTE_ROOM > max_bytes:
                full = True
                break
            out += text
            written += is_finding
        if full:
            break
    if total > written and full:
        out += (
            f"\n_{total - written} more finding(s) not shown here (size limit): the JSON, "
            "SARIF and GitLab reports list every one._\n"
        )
    return out


def write(report: Report, path: Path) -> None:
    write_atomic(path, render(report), what="Markdown report")
