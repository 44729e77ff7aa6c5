"""Every format can be made later from the JSON report alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_pbe.model import Report
from pytest_pbe.report import gitlab, junit, markdown, sarif
from pytest_pbe.report import json as json_report
from pytest_pbe.report.load import report_from_dict


def test_a_report_read_back_from_json_renders_every_format_identically(
    hostile_report: Report,
) -> None:
    again = report_from_dict(json.loads(json_report.render(hostile_report)))
    assert again == hostile_report
    for render in (markdown.render, sarif.render, gitlab.render, junit.render):
        assert render(again) == render(hostile_report)


def test_the_command_line_writes_the_formats_from_a_json_report(
    hostile_report: Report, tmp_path: Path
) -> None:
    source = tmp_path / "r.json"
    source.write_text(json_report.render(hostile_report), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest_pbe.report", str(source),
            f"--md={tmp_path / 'r.md'}", f"--sarif={tmp_path / 'r.sarif'}",
            f"--gitlab={tmp_path / 'gl.json'}", f"--junitxml={tmp_path / 'j.xml'}",
            f"--html={tmp_path / 'html'}",
        ],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.md").read_bytes().decode() == markdown.render(hostile_report)
    assert (tmp_path / "j.xml").read_bytes().decode() == junit.render(hostile_report)
    assert (tmp_path / "html" / "index.html").is_file()


def test_a_file_that_is_not_a_report_is_refused_with_the_reason(tmp_path: Path) -> None:
    source = tmp_path / "other.json"
    source.write_text('{"schema": "something/else"}', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_pbe.report", str(source), f"--md={tmp_path / 'x.md'}"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "not a pytest-pbe JSON report: schema 'something/else'" in proc.stderr
    assert not (tmp_path / "x.md").exists()
