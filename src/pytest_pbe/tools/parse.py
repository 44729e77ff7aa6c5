"""Parsers for the machine-readable output of mypy, ruff and bandit.

Each turns a finished run into ``Issue`` values with repository-relative paths, or raises
``ToolError`` when the output says the tool could not do its job (a crash, a rejected
configuration, a file it could not parse): fail closed, never an empty, passing list.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pytest_pbe.errors import ToolError
from pytest_pbe.tools.process import Completed

MYPY_DOCS = "https://mypy.readthedocs.io/en/stable/error_code_list.html"

LEVELS = {"undefined": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class Issue:
    """One finding of a tool, located in the repository."""

    tool: str
    path: str | None  # repo-relative with '/', or absolute when outside the repository
    line: int | None
    end_line: int | None
    rule: str
    message: str
    url: str | None = None
    severity: str = "error"  # the tool's own: mypy error/note, bandit low/medium/high
    confidence: str = ""  # bandit only

    def lines(self) -> range:
        if self.line is None:
            return range(0)
        end = self.end_line if self.end_line is not None else self.line
        return range(self.line, max(end, self.line) + 1)


def relative_path(raw: str, *, cwd: Path, root: Path) -> str:
    """A tool's path (relative to its working directory, or absolute) made repo-relative."""
    path = Path(raw)
    if not path.is_absolute():
        path = cwd / path
    path = Path(_normalise(path))
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _normalise(path: Path) -> str:
    # The directories resolved (the root is git's real path), the file's own name kept: a
    # symlinked module's findings belong to the link, the module Python imports.
    path = Path(os.path.normpath(path))
    return str(Path(os.path.realpath(path.parent)) / path.name)


def _what_now(run: Completed) -> str:
    return f"run '{' '.join(run.argv[:6])}{' ...' if len(run.argv) > 6 else ''}' to see it all"


def _crash(run: Completed, why: str) -> ToolError:
    return ToolError(
        f"{run.tool} {why} (exit {run.returncode}): {run.first_stderr()}; {_what_now(run)}"
    )


# --- mypy -------------------------------------------------------------------------------------


def _require_mypy_output(run: Completed) -> None:
    """A positive sign that mypy ran: its JSON lines, or its empty success summary.

    With ``--output json --error-summary`` mypy prints one JSON object per message and,
    when there is none, the success summary as an empty line: nothing at all on stdout
    is not mypy's output, whatever the exit status.
    """
    if run.returncode in (0, 1) and not run.stdout.strip("\n ") and run.stdout != "\n":
        raise ToolError(
            f"{run.tool} exited {run.returncode} with {len(run.stdout)} characters on stdout: "
            f"it did not produce mypy's output; check PBE_MYPY names mypy, then {_what_now(run)}"
        )


def _mypy_shaped(data: object) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("file"), str)
        and isinstance(data.get("message"), str)
        and data.get("severity") in ("error", "note")
    )


def parse_mypy(run: Completed, *, cwd: Path, root: Path) -> list[Issue]:
    """mypy ``--output json``: one JSON object per line; exit 0 clean, 1 errors, 2 blocked."""
    issues: list[Issue] = []
    _require_mypy_output(run)
    for raw in run.stdout.split("\n"):
        line = raw.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"mypy printed output that is not JSON ({line[:80]!r}: {exc}), so it "
                f"did not produce mypy's output; {_what_now(run)}"
            ) from exc
        if not _mypy_shaped(data):
            raise _crash(run, f"printed JSON of an unexpected shape ({line[:80]!r})")
        code = data.get("code") or ""
        severity = str(data.get("severity") or "error")
        path = relative_path(str(data.get("file", "")), cwd=cwd, root=root)
        if code == "syntax":
            raise ToolError(
                f"mypy could not parse {path}:{data.get('line')}: {data.get('message')}; "
                "fix the syntax error"
            )
        issues.append(
            Issue(
                tool="mypy",
                path=path,
                line=_int(data.get("line")),
                end_line=_int(data.get("end_line")),
                rule=str(code),
                message=str(data.get("message", "")),
                url=f"{MYPY_DOCS}#code-{code}" if code else None,
                severity=severity,
            )
        )
    if "unrecognized arguments: --output" in run.stderr:
        raise ToolError(
            "this mypy is too old for '--output json' (needs mypy >= 1.11); upgrade mypy"
        )
    config_errors = [
        line for line in run.stderr_lines() if not line.lower().startswith(("warning:", "note:"))
    ]
    if run.returncode not in (0, 1) or config_errors:
        blocking = [i for i in issues if i.severity == "error"]
        why = (
            f"{blocking[0].path}:{blocking[0].line}: {blocking[0].message}"
            if blocking and not config_errors
            else (config_errors[0] if config_errors else run.first_stderr())
        )
        raise ToolError(
            f"mypy could not check the project (exit {run.returncode}): {why}; fix the mypy "
            f"configuration or the error, then {_what_now(run)}"
        )
    if run.returncode == 1 and not any(i.severity == "error" for i in issues):
        raise _crash(run, "failed without reporting an error")
    return issues


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    return None


# --- ruff -------------------------------------------------------------------------------------


def parse_ruff(run: Completed, *, cwd: Path, root: Path) -> list[Issue]:
    """``ruff check --output-format json``: exit 0 clean, 1 findings, 2 ruff failed."""
    if run.returncode not in (0, 1):
        raise _crash(run, "failed")
    try:
        data = json.loads(run.stdout or "null")
    except json.JSONDecodeError as exc:
        raise _crash(run, f"printed output that is not JSON ({exc})") from exc
    if not isinstance(data, list):
        raise _crash(run, "printed no JSON list of findings")
    issues: list[Issue] = []
    for item in data:
        location = item.get("location") if isinstance(item, dict) else None
        end = (item.get("end_location") or {}) if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("filename"), str)
            or not isinstance(location, dict)
            or not isinstance(end, dict)
            or _int(location.get("row")) is None
        ):
            raise _crash(run, f"printed findings of an unexpected shape ({str(item)[:80]!r})")
        code = item.get("code")
        path = relative_path(item["filename"], cwd=cwd, root=root)
        if code in (None, "invalid-syntax", "E999"):
            raise ToolError(
                f"ruff could not parse {path}:{location.get('row')}: {item.get('message')}; "
                "fix the syntax error"
            )
        issues.append(
            Issue(
                tool="ruff",
                path=path,
                line=_int(location.get("row")),
                end_line=_int(end.get("row")),
                rule=str(code),
                message=str(item.get("message", "")),
                url=item.get("url") or None,
            )
        )
    return issues


# --- bandit -----------------------------------------------------------------------------------


def parse_bandit(run: Completed, *, cwd: Path, root: Path) -> list[Issue]:
    """``bandit -f json``: exit 0 clean, 1 findings (or a crash, with no JSON), 2 bad usage."""
    try:
        data = json.loads(run.stdout) if run.stdout.strip() else None
    except json.JSONDecodeError as exc:
        raise _crash(run, f"printed output that is not JSON ({exc})") from exc
    if run.returncode not in (0, 1) or not isinstance(data, dict):
        raise _crash(run, "failed")
    errors = data.get("errors") or []
    results = data.get("results") or []
    if not isinstance(errors, list) or not isinstance(results, list):
        raise _crash(run, "printed JSON of an unexpected shape (errors/results not lists)")
    if not all(isinstance(item, dict) for item in errors) or not all(
        isinstance(item, dict) and isinstance(item.get("filename"), str) for item in results
    ):
        raise _crash(run, "printed JSON of an unexpected shape (an error or result not an object)")
    if errors:
        first = errors[0]
        path = relative_path(str(first.get("filename", "")), cwd=cwd, root=root)
        raise ToolError(
            f"bandit could not scan {path}: {first.get('reason', 'unknown reason')}"
            + (f" (and {len(errors) - 1} more file(s))" if len(errors) > 1 else "")
            + "; fix the file (a syntax error?) so that it can be scanned"
        )
    issues: list[Issue] = []
    for item in results:
        raw_range = item.get("line_range")
        if not isinstance(raw_range, list):
            raw_range = []
        line_range = [n for n in raw_range if isinstance(n, int)]
        line = _int(item.get("line_number"))
        issues.append(
            Issue(
                tool="bandit",
                path=relative_path(str(item.get("filename", "")), cwd=cwd, root=root),
                line=line,
                end_line=max(line_range) if line_range else line,
                rule=str(item.get("test_id", "")),
                message=str(item.get("issue_text", "")),
                url=item.get("more_info") or None,
                severity=str(item.get("issue_severity", "undefined")).lower(),
                confidence=str(item.get("issue_confidence", "undefined")).lower(),
            )
        )
    return issues
