"""The HTML report: checklist, changed files with their new lines marked, the TDD timeline.

Checked as text and, where Debian's chromium is installed, in a real headless browser.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_pbe.model import CheckResult, Finding, Report, Status
from pytest_pbe.report import html as html_report

HOSTILE_SUBJECT = '<script>document.title="PWNED"</script> & "quotes"'
HOSTILE_FILE = "<img src=x onerror=document.title=1>.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_page_is_self_contained_and_forbids_scripts(hostile_report: Report) -> None:
    page = html_report.render(hostile_report)
    assert html_report.CSP in page
    assert "default-src 'none'" in page
    assert not re.search(r"<script|<link|<iframe|src=[\"']?http", page, re.IGNORECASE)


def test_every_value_is_escaped(hostile_report: Report) -> None:
    page = html_report.render(hostile_report)
    assert "<script>alert" not in page
    assert "<b>name</b>" not in page
    assert html.escape('<script>alert("x")</script>', quote=True) in page


def test_the_tdd_timeline_is_a_picture_with_violations_in_red(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    good, bad = "1" * 40, "2" * 40
    tdd = make_check(
        "tdd",
        Status.FAILED,
        Finding("code before its test", "src/app.py", 3, commit=bad),
        details=(f"{good[:10]} test: add the failing test", f"{bad[:10]} {HOSTILE_SUBJECT}"),
    )
    page = html_report.render(make_report(tdd))
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count("<circle") == 2
    assert 'class="good"' in svg
    assert 'class="bad"' in svg
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_without_a_tdd_verdict_the_timeline_says_why(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    page = html_report.render(
        make_report(make_check("tdd", Status.SKIPPED, summary="not implemented yet"))
    )
    assert "tdd item skipped: not implemented yet" in page
    assert "<svg" not in page


@pytest.fixture
def html_page(repo: Path, pytester: pytest.Pytester, probe: Callable[..., Path]) -> Path:
    """A real session on a feature branch: a covered file, an uncovered one, hostile names."""
    src = repo / "src"
    src.mkdir()
    (src / "app.py").write_text("def old():\n    return 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "app")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "test_app.py").write_text("def test_new():\n    pass\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "test: the new behaviour")
    (src / "app.py").write_text(
        textwrap.dedent(
            """\
            def old():
                return 1


            def new(x):
                if x:
                    return 2
                return 3
            """
        )
    )
    (src / HOSTILE_FILE).write_text("VALUE = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", HOSTILE_SUBJECT)
    probe(
        [
            {"message": "new lines 7-8 are not executed by any test", "path": "src/app.py",
             "line": 7, "end_line": 8, "rule": "uncovered"},
            {"message": f"odd name {HOSTILE_SUBJECT}", "path": f"src/{HOSTILE_FILE}", "line": 1,
             "rule": "N999"},
        ]
    )  # fmt: skip
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,coverage,tdd,probe", "--pbe-base", "main",
        "--pbe-report-html", "report", "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == 6, result.stdout.str()
    return repo / "report" / "index.html"


def test_changed_files_show_their_new_lines_marked_with_findings_inline(html_page: Path) -> None:
    page = html_page.read_text(encoding="utf-8")
    checklist, files = page.index('id="checklist"'), page.index('id="files"')
    assert checklist < page.index('id="timeline"') < files
    app = page[page.index("<code>src/app.py</code>", files) :]
    app = app[: app.index("</details>")]
    assert '<tr class="uncovered" id="src/app.py-L7">' in app
    assert '<tr class="uncovered" id="src/app.py-L8">' in app
    assert '<tr class="context" id="src/app.py-L2">' in app
    # The test file ran under coverage: its new lines are marked covered.
    test = page[page.index("<code>test_app.py</code>", files) :]
    test = test[: test.index("</details>")]
    assert '<tr class="covered" id="test_app.py-L2">' in test
    hostile = html.escape(f"src/{HOSTILE_FILE}", quote=True)
    assert f"<code>{hostile}</code>" in page
    assert '<tr class="note">' in page
    assert "<img" not in page
    assert "<script>document" not in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_page_renders_in_a_real_browser_and_no_injected_script_runs(
    html_page: Path, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    flags = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    url = html_page.resolve().as_uri()
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run(
        [*flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    ).stdout
    assert '<h1 class="bad" id="verdict">' in dom
    assert "<title>pytest-pbe: NOT verified</title>" in dom  # no injected script renamed it
    assert "<img" not in dom
    assert "<script" not in dom
    # The timeline draws the range's two commits and the uncommitted work (the probe's conftest).
    assert dom.count("<circle") == 3
    shot = Path(os.environ.get("PYTEST_PBE_HTML_SCREENSHOT", tmp_path / "report.png"))
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,2000", url],
        capture_output=True, timeout=120, env=env, check=True,
    )  # fmt: skip
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a blank page compresses to a few kilobytes
