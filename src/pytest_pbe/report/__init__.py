"""Output formats, one module each. They only read the finished ``Report``.

``write_reports`` writes every file a path was given for (all are attempted, the failures
are joined); ``emit_terminal_extras`` adds what belongs on stdout beside the checklist:
GitHub workflow annotations and the step summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pbe.errors import PbeError, ReportWriteError

if TYPE_CHECKING:
    import pytest

    from pytest_pbe.config import Settings
    from pytest_pbe.context import VerifyContext
    from pytest_pbe.git import ChangeSet
    from pytest_pbe.model import Report
    from pytest_pbe.report.html import CoverageLookup


def _context(config: pytest.Config) -> VerifyContext | None:
    from pytest_pbe.engine import VERIFIER_KEY

    verifier = config.stash.get(VERIFIER_KEY, None)
    return verifier.ctx if verifier is not None else None


def _changes(config: pytest.Config) -> ChangeSet | None:
    """The judged new code; already computed for the report's header, so no git runs here."""
    ctx = _context(config)
    if ctx is None:
        return None
    try:
        return ctx.changes()
    except PbeError:
        return None


def repo_root(config: pytest.Config) -> Path | None:
    """The repository's top level (finding paths are relative to it), None when unknown."""
    ctx = _context(config)
    if ctx is None:
        return None
    try:
        return ctx.repository().root  # memoized by the context: git answered (or failed) once
    except PbeError:
        return None


def _coverage(config: pytest.Config, root: Path) -> CoverageLookup | None:
    """Per-file executable/missing lines from the session's coverage, when it was measured."""
    from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT
    from pytest_pbe.report.html import LineCoverage

    ctx = _context(config)
    if ctx is None or COVERAGE_MEASUREMENT not in ctx.stash:
        return None
    try:
        measured = ctx.coverage()
    except PbeError:
        return None

    def lookup(path: str) -> LineCoverage | None:
        try:
            data = measured.file(root / path)
        except Exception:  # noqa: BLE001  # a page without coverage marks beats no page
            return None
        if not data.measured:
            return None
        return LineCoverage(
            frozenset(data.statements - data.excluded),
            frozenset(data.missing),
            dict(data.statement_starts),
        )

    return lookup


def write_reports(report: Report, settings: Settings, config: pytest.Config) -> None:
    """Write every report file asked for; all are attempted, the failures are joined."""
    from pytest_pbe.report import gitlab, junit, markdown, sarif
    from pytest_pbe.report import html as html_report
    from pytest_pbe.report import json as json_report

    def html_write(rep: Report, path: Path) -> None:
        root = repo_root(config)
        coverage = _coverage(config, root) if root is not None else None
        html_report.write(rep, path, root=root, changes=_changes(config), coverage=coverage)

    failures: list[str] = []
    writers: list[tuple[Path | None, Callable[[Report, Path], object]]] = [
        (settings.report_json, json_report.write),
        (settings.report_md, markdown.write),
        (settings.report_sarif, lambda rep, p: sarif.write(rep, p, root=repo_root(config))),
        (settings.report_gitlab, gitlab.write),
        (settings.junitxml, junit.write),
        (settings.report_html, html_write),
    ]
    for path, write in writers:
        if path is None:
            continue
        try:
            write(report, path)
        except ReportWriteError as exc:
            failures.append(str(exc))
    if failures:
        raise ReportWriteError("; ".join(failures))


def emit_terminal_extras(
    terminalreporter: pytest.TerminalReporter,
    report: Report,
    settings: Settings,
    config: pytest.Config,
) -> None:
    """Output that belongs on stdout beside the checklist (CI annotations)."""
    from pytest_pbe.report import github
    from pytest_pbe.report.terminal import terminal_safe

    if not github.enabled(settings.github_annotations, os.environ):
        return
    # Workflow commands must start a line of their own on stdout.
    terminalreporter.ensure_newline()
    for command in github.workflow_commands(report):
        terminalreporter.write_line(terminal_safe(command))
    summary = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if summary:
        try:
            github.append_step_summary(report, Path(summary))
        except OSError as exc:
            terminalreporter.write_line(
                f"pbe: cannot append the checklist to the step summary {summary!r}: "
                f"{exc.strerror or exc}",
                yellow=True,
            )
