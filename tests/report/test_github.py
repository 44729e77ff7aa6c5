"""GitHub Actions: workflow-command annotations (escaped, capped) and the step summary."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_pbe.model import CheckResult, Finding, Report, Severity, Status
from pytest_pbe.report import annotations_enabled, github

HOSTILE = 'bad, worse: 100% <script>alert("x")</script> | *bold* [link](http://e.x)\nline2\r%0A'
HOSTILE_PATH = "src/we,ird:dir/50% <b>name</b>.py"


def unescape(text: str) -> str:
    """The runner's reading of an escaped value (actions/runner's unescape order)."""
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse(command: str) -> tuple[str, dict[str, str], str]:
    """Split ``::level k=v,k=v::message`` the way the runner does (on unescaped , and :)."""
    assert command.startswith("::")
    head, message = command[2:].split("::", 1)
    level, _, props = head.partition(" ")
    values = {}
    for pair in props.split(","):
        key, _, value = pair.partition("=")
        values[key] = unescape(value)
    return level, values, unescape(message)


def test_it_escapes_percent_newlines_commas_and_colons_as_the_runner_reads_them(
    hostile_report: Report,
) -> None:
    commands = github.workflow_commands(hostile_report)
    lint = next(c for c in commands if "E%2C1%3A2" in c)
    assert "\n" not in lint
    assert "\r" not in lint
    level, props, message = parse(lint)
    assert level == "error"
    assert props["file"] == HOSTILE_PATH
    assert props["line"] == "3"
    assert props["endLine"] == "5"
    assert props["title"] == "pbe lint: E,1:2"
    assert message == HOSTILE


def test_levels_follow_severity_and_whether_the_item_blocks(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(
        make_check(
            "lint",
            Status.FAILED,
            Finding("e", "a.py", 1),
            Finding("w", "a.py", 2, severity=Severity.WARNING),
        ),
        make_check("docs", Status.FAILED, Finding("d", "b.py", 1), required=False),
        make_check("security", Status.PASSED, Finding("i", "c.py", 1, severity=Severity.INFO)),
    )
    levels = {parse(c)[2]: parse(c)[0] for c in github.workflow_commands(report)}
    assert levels == {"e": "error", "w": "warning", "d": "warning", "i": "notice"}


def test_an_item_failing_without_findings_is_annotated_with_its_summary(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(make_check("coverage", Status.FAILED, summary="total 70% (need 80%)"))
    (command,) = github.workflow_commands(report)
    assert parse(command) == ("error", {"title": "pbe coverage"}, "total 70% (need 80%)")


def test_it_caps_at_githubs_limits_keeping_the_most_important_and_notes_the_rest(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    warnings = [Finding(f"w{n}", "a.py", n, severity=Severity.WARNING) for n in range(1, 30)]
    errors = [Finding(f"e{n}", "a.py", n) for n in range(1, 30)]
    # Warnings come first in the report; errors must still be the ones shown first.
    report = make_report(
        make_check("docs", Status.FAILED, *warnings, required=False),
        make_check("lint", Status.FAILED, *errors),
    )
    commands = [parse(c) for c in github.workflow_commands(report)]
    by_level = {
        lv: [m for level, _, m in commands if level == lv] for lv in ("error", "warning", "notice")
    }
    assert by_level["error"] == [f"e{n}" for n in range(1, 11)]
    assert len(by_level["warning"]) == 10
    (note,) = by_level["notice"]
    assert "19 error(s), 19 warning(s) not annotated" in note
    assert commands[0][0] == "error"


def test_the_per_job_limit_is_respected_too(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(
        make_check("lint", Status.FAILED, *[Finding(f"e{n}", "a.py", n) for n in range(5)])
    )
    commands = github.workflow_commands(report, per_level=10, per_job=3)
    assert len(commands) == 3
    assert "3 error(s) not annotated" in commands[-1]


@pytest.mark.parametrize(
    ("mode", "env", "expected"),
    [
        ("auto", {"GITHUB_ACTIONS": "true"}, True),
        ("auto", {}, False),
        ("auto", {"GITHUB_ACTIONS": "false"}, False),
        ("on", {}, True),
        ("off", {"GITHUB_ACTIONS": "true"}, False),
    ],
)
def test_annotations_switch_on_automatically_inside_github_actions(
    mode: str, env: dict[str, str], expected: bool
) -> None:
    assert annotations_enabled(mode, env) is expected


def test_the_step_summary_is_appended_and_stays_under_one_mebibyte(
    tmp_path: Path, make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n" + "x" * (github.STEP_SUMMARY_LIMIT - 200_000))
    findings = [Finding(f"finding {n} " + "y" * 80, "src/app.py", n) for n in range(1, 10_001)]
    github.append_step_summary(make_report(make_check("lint", Status.FAILED, *findings)), summary)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n")
    assert summary.stat().st_size < github.STEP_SUMMARY_LIMIT
    assert "pytest-pbe: NOT verified" in text
    assert "more finding(s) not shown here" in text


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_inside_github_actions_it_annotates_with_repo_relative_paths_from_a_subdirectory(
    repo: Path,
    pytester: pytest.Pytester,
    probe: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    service = repo / "services" / "api"
    service.mkdir(parents=True)
    (service / "pytest.ini").write_text("[pytest]\n")
    (service / "test_ok.py").write_text("def test_ok():\n    pass\n")
    probe(
        [
            {
                "message": "new lines 2-3 are not run, 100%",
                "path": "services/api/app.py",
                "line": 2,
                "end_line": 3,
                "rule": "uncovered",
            }
        ],
        where=service,
    )
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(service)
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,probe", "-p", "no:cacheprovider"
    )
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [
            "::error file=services/api/app.py,line=2,endLine=3,title=pbe probe%3A uncovered::"
            "new lines 2-3 are not run, 100%25"
        ]
    )
    text = summary.read_text(encoding="utf-8")
    assert "pytest-pbe: NOT verified" in text
    assert "| services/api/app.py:2\\-3 | uncovered |" in text


def test_outside_github_actions_nothing_is_annotated(
    repo: Path, pytester: pytest.Pytester, probe: Callable[..., Path]
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    probe([{"message": "m", "path": "a.py", "line": 1}])
    result = pytester.runpytest_subprocess("--pbe-verify", "--pbe-checks", "tests,probe")
    assert "::error" not in result.stdout.str()


def test_the_off_setting_wins_over_github_actions(
    repo: Path,
    pytester: pytest.Pytester,
    probe: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    pytester.makeini("[pytest]\npbe_github_annotations = off\n")
    pytester.makepyfile("def test_ok():\n    pass\n")
    probe([{"message": "m", "path": "a.py", "line": 1}])
    result = pytester.runpytest_subprocess("--pbe-verify", "--pbe-checks", "tests,probe")
    assert "::error" not in result.stdout.str()
