"""Output formats, one module each. They only read the finished ``Report``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pbe.errors import ReportWriteError

if TYPE_CHECKING:
    import pytest

    from pytest_pbe.config import Settings
    from pytest_pbe.model import Report


def write_reports(report: Report, settings: Settings, config: pytest.Config) -> None:
    """Write every report file asked for; all are attempted, the failures are joined."""
    from pytest_pbe.report import json as json_report

    failures: list[str] = []
    writers = [(settings.report_json, json_report.write)]
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
