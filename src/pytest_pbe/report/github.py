"""GitHub Actions: workflow-command annotations and the step summary.

Annotations are ``::error file=…,line=…,endLine=…,title=…::message`` lines on stdout.
GitHub shows at most 10 errors, 10 warnings and 10 notices per step (50 per job), so the
most important come first and one notice says how many were left out. The checklist is
appended, as Markdown, to the file named by ``GITHUB_STEP_SUMMARY`` (1 MiB per step).
"""

from __future__ import annotations

from pathlib import Path

from pytest_pbe.model import Report
from pytest_pbe.report import markdown
from pytest_pbe.report.findings import Level, check_level, entries, unexplained

PER_LEVEL = 10  # GitHub keeps 10 error, 10 warning and 10 notice annotations per step
PER_JOB = 50
STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes per step summary
_SUMMARY_MARGIN = 4 * 1024  # room for what other steps' tools may still append

_COMMAND = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTE: "notice"}


def escape_data(text: str) -> str:
    """The message part, as actions/toolkit escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (file, title): also ',' and ':' that would end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(
    level: Level,
    message: str,
    *,
    title: str,
    path: str | None = None,
    line: int | None = None,
    end_line: int | None = None,
) -> str:
    props = []
    if path:
        props.append(f"file={escape_property(path)}")
        if line is not None and line > 0:
            props.append(f"line={line}")
            if end_line is not None and end_line > line:
                props.append(f"endLine={end_line}")
    props.append(f"title={escape_property(title)}")
    return f"::{_COMMAND[level]} {','.join(props)}::{escape_data(message)}"


def workflow_commands(
    report: Report, *, per_level: int = PER_LEVEL, per_job: int = PER_JOB
) -> list[str]:
    """The workflow commands, capped, most important first, with a note of the rest."""
    candidates: list[tuple[Level, str]] = []
    # An item that failed without a finding has only its summary: it still must be seen.
    for check in unexplained(report):
        candidates.append(
            (
                check_level(check),
                _command(check_level(check), check.summary, title=_title(check.id)),
            )
        )
    for entry in entries(report):
        finding = entry.finding
        message = finding.message
        if finding.commit:
            message = f"{message} (commit {finding.commit[:12]})"
        title = _title(entry.check.id, finding.rule)
        command = _command(
            entry.level,
            message,
            title=title,
            path=finding.path,
            line=finding.line,
            end_line=finding.end_line,
        )
        candidates.append((entry.level, command))
    candidates.sort(key=lambda c: c[0])  # stable: errors, warnings, notices

    shown: list[str] = []
    left_out = dict.fromkeys(Level, 0)
    counts = dict.fromkeys(Level, 0)
    # One notice slot is kept for the note when anything has to be left out.
    room = dict.fromkeys(Level, per_level)
    budget = per_job
    overflow = _overflows(candidates, per_level, per_job)
    if overflow:
        room[Level.NOTE] -= 1
        budget -= 1
    for level, command in candidates:
        if counts[level] < room[level] and len(shown) < budget:
            shown.append(command)
            counts[level] += 1
        else:
            left_out[level] += 1
    if overflow:
        parts = [f"{n} {_COMMAND[level]}(s)" for level, n in left_out.items() if n]
        shown.append(
            _command(
                Level.NOTE,
                f"{', '.join(parts)} not annotated (GitHub shows {per_level} per type and "
                "step): the step summary and the report files list every finding",
                title="pytest-pbe: more findings",
            )
        )
    return shown


def _overflows(candidates: list[tuple[Level, str]], per_level: int, per_job: int) -> bool:
    if len(candidates) > per_job:
        return True
    return any(sum(1 for lv, _ in candidates if lv is level) > per_level for level in Level)


def _title(check_id: str, rule: str = "") -> str:
    return f"pbe {check_id}: {rule}" if rule else f"pbe {check_id}"


def append_step_summary(report: Report, path: Path) -> None:
    """Append the checklist to the step summary, keeping the file under GitHub's 1 MiB."""
    try:
        used = path.stat().st_size if path.exists() else 0
    except OSError:
        used = 0
    budget = STEP_SUMMARY_LIMIT - used - _SUMMARY_MARGIN
    if budget < 512:
        text = ""  # no room even for the checklist: leave the summary as other steps made it
    else:
        text = markdown.render(report, max_bytes=budget)
    if not text:
        return
    with path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
        handle.write("\n" + text)
