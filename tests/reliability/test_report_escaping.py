"""A hostile commit subject and file name, through a real run, into every report format.

tests/report checks each writer on its own; here the text comes from git and ruff in a
real session and must come out inert in Markdown, HTML, XML, SARIF/GitLab JSON, GitHub
workflow commands and the terminal.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # parses our own report, not foreign input
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SUBJECT = 'feat: <script>alert(1)</script> & "q" ]]> | `x` %0A::error::forged'
FILE = "src/app/<img src=x onerror=alert(2)>,%0A::warning::x.py"
UNTESTED = "import os\n\n\ndef untested() -> int:\n    return 1\n"


@pytest.mark.skipif(not hasattr(ET, "fromstring"), reason="no XML parser")
def test_every_report_format_escapes_a_hostile_subject_and_file_name(
    project: Any,
    check_of: Callable[[Any], Callable[[str], dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project.write(FILE, UNTESTED)
    project.commit(SUBJECT)
    (project.path / "reports").mkdir()
    summary = project.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result, report = project.run(
        "--pbe-report-md", "reports/r.md",
        "--pbe-report-html", "reports/html",
        "--pbe-report-sarif", "reports/r.sarif",
        "--pbe-report-gitlab", "reports/gl.json",
        "--pbe-junitxml", "reports/junit.xml",
        "-o", "pbe_github_annotations=on",
        checks="tests,coverage,tdd,lint",
    )  # fmt: skip
    assert report is not None
    lint = check_of(report)("lint")
    assert FILE in {f["path"] for f in lint["findings"]}, lint
    tdd = check_of(report)("tdd")
    assert tdd["status"] == "failed", tdd
    reports = project.path / "reports"

    # HTML: no live markup from the subject or the name, the text itself still there.
    html = "\n".join(p.read_text(encoding="utf-8") for p in (reports / "html").rglob("*.html"))
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the subject, as text

    # Markdown renders inline HTML: it must not get any (a backslash-escaped '<' is text).
    for text in (reports / "r.md").read_text(encoding="utf-8"), summary.read_text("utf-8"):
        assert not re.search(r"(?<!\\)<(script|img)", text), text
        assert "onerror=alert" in text
    assert "alert\\(1\\)" in (reports / "r.md").read_text(encoding="utf-8")  # the subject

    # XML parses, and gives the text back exactly.
    junit = ET.fromstring((reports / "junit.xml").read_bytes())  # noqa: S314  # our own file
    assert FILE in ET.tostring(junit, encoding="unicode").replace("&lt;", "<").replace("&gt;", ">")

    # JSON formats round-trip the name exactly.
    sarif = json.loads((reports / "r.sarif").read_text(encoding="utf-8"))
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for res in run["results"]
        for loc in res.get("locations", [])
    }
    assert any("onerror" in uri for uri in uris), uris
    gitlab = json.loads((reports / "gl.json").read_text(encoding="utf-8"))
    assert FILE in {issue["location"]["path"] for issue in gitlab}

    # GitHub workflow commands: the only commands are ours, one per line.
    commands = [line for line in result.outlines if line.startswith("::")]
    assert commands, result.outlines
    assert not [c for c in commands if c.startswith(("::error::forged", "::warning::x"))]
    # The name's own '%0A' comes out as '%250A': it cannot become a line break either.
    assert any("%250A%3A%3Awarning%3A%3Ax.py" in command for command in commands), commands
    # The terminal: no raw newline from the name, so no line starts with forged text.
    assert not [line for line in result.outlines if line.startswith(("::error::forged",))]
    assert (reports / "html").is_dir()
    assert not list(Path(project.path).rglob("*alert*"))[1:], "one file named so: the source"
