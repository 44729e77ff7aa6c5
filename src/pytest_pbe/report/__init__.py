"""Output formats, one module each. They only read the finished ``Report``.

``write_reports`` writes every file a path was given for (all are attempted, the failures
are joined); ``emit_terminal_extras`` adds what belongs on stdout beside the checklist:
GitHub workflow annotations and the step summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
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


def _writer(kind: str, config: pytest.Config) -> Callable[[Report, Path], object]:
    """The writer of one format; its module is imported here, when its file is asked for."""
    if kind == "json":
        from pytest_pbe.report import json as json_report

        return json_report.write
    if kind == "markdown":
        from pytest_pbe.report import markdown

        return markdown.write
    if kind == "sarif":
        from pytest_pbe.report import sarif

        return lambda rep, path: sarif.write(rep, path, root=repo_root(config))
    if kind == "gitlab":
        from pytest_pbe.report import gitlab

        return gitlab.write
    if kind == "junit":
        from pytest_pbe.report import junit

        return junit.write
    from pytest_pbe.report import html

    def html_write(rep: Report, path: Path) -> None:
        root = repo_root(config)
        coverage = _coverage(config, root) if root is not None else None
        html.write(rep, path, root=root, changes=_changes(config), coverage=coverage)

    return html_write


def write_reports(report: Report, settings: Settings, config: pytest.Config) -> None:
    """Write every report file asked for; all are attempted, the failures are joined.

    Only the formats asked for are imported: a run that writes no report file imports none.
    """
    failures: list[str] = []
    paths: list[tuple[Path | None, str]] = [
        (settings.report_json, "json"),
        (settings.report_md, "markdown"),
        (settings.report_sarif, "sarif"),
        (settings.report_gitlab, "gitlab"),
        (settings.junitxml, "junit"),
        (settings.report_html, "html"),
    ]
    for path, kind in paths:
        if path is None:
            continue
        try:
            _writer(kind, config)(report, path)
        except ReportWriteError as exc:
            failures.append(str(exc))
    if failures:
        raise ReportWriteError("; ".join(failures))


def annotations_enabled(mode: str, environ: Mapping[str, str]) -> bool:
    """GitHub workflow annotations: ``auto`` means inside GitHub Actions
    (``GITHUB_ACTIONS=true``)."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    return environ.get("GITHUB_ACTIONS", "").strip().lower() == "true"


def emit_terminal_extras(
    terminalreporter: pytest.TerminalReporter,
    report: Report,
    settings: Settings,
    config: pytest.Config,
) -> None:
    """Output that belongs on stdout beside the checklist (CI annotations)."""
    if not annotations_enabled(settings.github_annotations, os.environ):
        return
    from pytest_pbe.report import github
    from pytest_pbe.report.terminal import terminal_safe

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
