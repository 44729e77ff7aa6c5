"""Markdown, SARIF, GitLab Code Quality and JUnit, each checked against its specification."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_pbe.model import CheckResult, Finding, Report, Severity, Status
from pytest_pbe.report import gitlab, junit, markdown, sarif

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
HOSTILE = 'bad, worse: 100% <script>alert("x")</script> | *bold* [link](http://e.x)\nline2\r%0A'
HOSTILE_PATH = "src/we,ird:dir/50% <b>name</b>.py"


# --- Markdown ---------------------------------------------------------------------------
def test_markdown_escapes_markup_pipes_html_and_newlines(hostile_report: Report) -> None:
    text = markdown.render(hostile_report)
    assert "<script>" not in text
    assert "<b>" not in text
    # Inside <pre> (an HTML block) Markdown is not parsed; everywhere else it is escaped.
    outside_pre = re.sub(r"<pre>.*?</pre>", "", text, flags=re.DOTALL)
    assert "[link](http" not in outside_pre
    assert "\\[link\\]\\(http://e.x\\)" in outside_pre
    assert "\r" not in text
    assert "line2" in text
    for line in text.splitlines():
        if line.startswith("| ") and "E,1:2" in line:
            # Exactly the three cell separators plus the edges: no pipe escaped out of a cell.
            assert line.replace("\\|", "").count("|") == 4
            break
    else:
        pytest.fail("the hostile finding's table row is missing")


def test_markdown_shows_the_checklist_and_the_findings_of_failed_items(
    hostile_report: Report,
) -> None:
    text = markdown.render(hostile_report)
    assert text.startswith("## ❌ pytest-pbe: NOT verified")
    for check_id in ("tests", "lint", "tdd", "types", "docs"):
        assert f"**{check_id}**" in text
    assert "plain message" in text
    assert "\\(commit aaaaaaaaaaaa\\)" in text
    assert "<details><summary>details</summary>" in text
    assert "&lt;script&gt;" in text  # details are HTML-escaped inside <pre>


def test_markdown_with_ten_thousand_findings_stays_under_the_cap_and_says_what_is_left_out(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    findings = [Finding(f"finding number {n} " + "é" * 100, "src/app.py", n) for n in range(10_000)]
    report = make_report(make_check("lint", Status.FAILED, *findings))
    text = markdown.render(report)
    size = len(text.encode("utf-8"))
    assert size <= markdown.DEFAULT_MAX_BYTES
    assert size > markdown.DEFAULT_MAX_BYTES - 10_000  # it filled the room it had
    shown = sum(1 for line in text.splitlines() if line.startswith("| src/app.py:"))
    assert f"_{10_000 - shown} more finding(s) not shown here" in text
    assert 0 < shown < 10_000


def test_markdown_under_a_tiny_cap_still_gives_the_verdict(hostile_report: Report) -> None:
    text = markdown.render(hostile_report, max_bytes=120)
    assert len(text.encode()) <= 120
    assert "NOT verified" in text


# --- SARIF ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def test_sarif_is_valid_against_the_2_1_0_schema(
    hostile_report: Report, sarif_validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    data = sarif.to_sarif(hostile_report, root=tmp_path)
    errors = sorted(sarif_validator.iter_errors(data), key=str)
    assert not errors, "\n".join(str(e) for e in errors[:3])
    assert data["version"] == "2.1.0"


def test_the_schema_check_catches_an_invalid_sarif_log(
    hostile_report: Report, sarif_validator: jsonschema.protocols.Validator
) -> None:
    data = sarif.to_sarif(hostile_report)
    data["runs"][0]["results"][0]["level"] = "fatal"
    assert list(sarif_validator.iter_errors(data))


def test_sarif_has_what_github_code_scanning_requires(hostile_report: Report) -> None:
    run = sarif.to_sarif(hostile_report)["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert all(
        rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        for rule in rules.values()
    )
    assert len(run["results"]) == 3
    for result in run["results"]:
        assert result["ruleId"] in rules
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert not artifact["uri"].startswith(("/", "file:"))
        assert location["physicalLocation"]["region"]["startLine"] >= 1
        assert len(result["partialFingerprints"][sarif.FINGERPRINT_KEY]) == 64
    hostile = next(r for r in run["results"] if r["ruleId"] == "pbe/lint/E,1:2")
    assert hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "src/we%2Cird%3Adir/50%25%20%3Cb%3Ename%3C/b%3E.py"
    )
    assert hostile["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "endLine": 5}
    assert hostile["message"]["text"] == HOSTILE
    # The item that errored without a finding is a notification, not a location-less result.
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["mypy crashed: <boom>"]


def test_sarif_fingerprints_survive_moved_lines_and_separate_duplicates(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    def fingerprints(*findings: Finding) -> list[str]:
        run = sarif.to_sarif(make_report(make_check("lint", Status.FAILED, *findings)))["runs"][0]
        return [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]]

    before = fingerprints(Finding("x", "a.py", 3, rule="E1"))
    after = fingerprints(Finding("x", "a.py", 30, rule="E1"))
    assert before == after
    twins = fingerprints(Finding("x", "a.py", 3, rule="E1"), Finding("x", "a.py", 9, rule="E1"))
    assert len(set(twins)) == 2


# --- GitLab Code Quality ----------------------------------------------------------------
def test_gitlab_issues_carry_the_required_fields(hostile_report: Report) -> None:
    issues = gitlab.to_gitlab(hostile_report)
    assert len(issues) == 3
    for issue in issues:
        assert isinstance(issue["description"], str)
        assert issue["description"]
        assert isinstance(issue["check_name"], str)
        assert issue["check_name"]
        assert issue["severity"] in gitlab.SEVERITIES
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["location"]["lines"]["begin"] >= 1
    hostile = next(i for i in issues if i["check_name"] == "pbe/lint/E,1:2")
    assert hostile["location"] == {"path": HOSTILE_PATH, "lines": {"begin": 3, "end": 5}}
    assert hostile["severity"] == "major"
    warning = next(i for i in issues if i["check_name"] == "pbe/lint/F401")
    assert warning["severity"] == "minor"


def test_gitlab_fingerprints_are_unique_per_finding_even_for_identical_findings(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    same = [Finding("duplicate", "a.py", 1, rule="R") for _ in range(50)]
    other = [Finding(f"m{n}", f"f{n % 7}.py", n) for n in range(500)]
    report = make_report(
        make_check("lint", Status.FAILED, *same, *other),
        make_check("security", Status.FAILED, *same),
    )
    issues = gitlab.to_gitlab(report)
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(fingerprints) == 600
    assert len(set(fingerprints)) == 600
    assert {i["severity"] for i in issues if i["check_name"].startswith("pbe/security")} == {
        "critical"
    }
    # And stable: the same report gives the same fingerprints.
    assert fingerprints == [i["fingerprint"] for i in gitlab.to_gitlab(report)]


def test_gitlab_report_is_a_json_list(hostile_report: Report) -> None:
    data: Any = json.loads(gitlab.render(hostile_report))
    assert isinstance(data, list)


def test_severity_info_findings_are_info_in_gitlab(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(
        make_check("tdd", Status.PASSED, Finding("note", "a.py", 1, severity=Severity.INFO))
    )
    assert [i["severity"] for i in gitlab.to_gitlab(report)] == ["info"]


# --- JUnit ------------------------------------------------------------------------------
def test_junit_parses_back_with_one_testcase_per_item(hostile_report: Report) -> None:
    root = ET.fromstring(  # noqa: S314  # our own output, parsed back
        junit.render(hostile_report).encode("utf-8")
    )
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {case.get("name", "").split(":")[0]: case for case in suite.findall("testcase")}
    assert list(cases) == ["tests", "lint", "tdd", "types", "docs"]
    assert suite.get("tests") == "5"
    assert suite.get("failures") == "2"
    assert suite.get("errors") == "1"
    assert suite.get("skipped") == "1"
    assert list(cases["tests"]) == []
    failure = cases["lint"].find("failure")
    assert failure is not None
    assert failure.get("message") == HOSTILE  # escaped for XML, read back intact
    assert HOSTILE_PATH in (failure.text or "")
    assert "plain message" in (failure.text or "")
    error = cases["types"].find("error")
    assert error is not None
    assert error.get("message") == "mypy crashed: <boom>"
    assert cases["docs"].find("skipped") is not None


def test_junit_replaces_characters_xml_cannot_carry(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(
        make_check("lint", Status.FAILED, Finding("bell\x07 nul\x00 esc\x1b", "a.py", 1))
    )
    root = ET.fromstring(  # noqa: S314  # our own output, parsed back
        junit.render(report).encode("utf-8")
    )
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert "bell\ufffd nul\ufffd esc\ufffd" in (failure.text or "")


def test_a_failed_item_that_is_not_required_does_not_count_as_a_junit_failure(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(
        make_check("docs", Status.FAILED, required=False, summary="no attestation")
    )
    root = ET.fromstring(  # noqa: S314  # our own output, parsed back
        junit.render(report).encode("utf-8")
    )
    skipped = root.find("testsuite/testcase/skipped")
    assert skipped is not None
    assert skipped.get("message") == "failed (not required): no attestation"
    assert root.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]


# --- every format end to end --------------------------------------------------------------
def test_every_report_file_is_written_from_one_session(
    repo: Path,
    pytester: pytest.Pytester,
    probe: Callable[..., Path],
    read_json: Callable[[Path], dict[str, Any]],
    sarif_validator: jsonschema.protocols.Validator,
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    probe([{"message": HOSTILE, "path": "src/app.py", "line": 2, "rule": "R1"}])
    out = repo / "out"
    out.mkdir()
    result = pytester.runpytest_subprocess(
        "--pbe-verify",
        "--pbe-checks", "tests,probe",
        "--pbe-report-json", "out/r.json",
        "--pbe-report-md", "out/r.md",
        "--pbe-report-sarif", "out/r.sarif",
        "--pbe-report-gitlab", "out/gl.json",
        "--pbe-junitxml", "out/junit.xml",
        "--pbe-report-html", "out/html",
    )  # fmt: skip
    assert result.ret == 6
    assert read_json(out / "r.json")["passed"] is False
    assert "pytest-pbe: NOT verified" in (out / "r.md").read_text(encoding="utf-8")
    log = json.loads((out / "r.sarif").read_text(encoding="utf-8"))
    assert not list(sarif_validator.iter_errors(log))
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    assert (
        json.loads((out / "gl.json").read_text(encoding="utf-8"))[0]["location"]["path"]
        == "src/app.py"
    )
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")  # noqa: S314
    assert suite is not None
    assert suite.get("failures") == "1"
    assert "<!DOCTYPE html>" in (out / "html" / "index.html").read_text(encoding="utf-8")
    assert not [p.name for p in out.rglob("*.tmp")]


def test_an_unwritable_report_path_fails_the_run_and_the_other_reports_are_still_written(
    repo: Path, pytester: pytest.Pytester, probe: Callable[..., Path]
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    probe(status="passed")
    (repo / "blocked").mkdir()
    (repo / "blocked" / "r.md").mkdir()  # a directory where the file should go
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,probe",
        "--pbe-report-md", "blocked/r.md", "--pbe-junitxml", "junit.xml",
    )  # fmt: skip
    assert result.ret == 7
    result.stdout.fnmatch_lines(["*cannot write the Markdown report to*"])
    assert (repo / "junit.xml").is_file()
