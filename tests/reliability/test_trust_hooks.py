"""Hooks cannot make a built-in verdict better (issue 16, point 4).

A conftest.py committed in the judged change implements ``pytest_pbe_amend_results`` and
tries every way to turn a failing built-in item green: set it passed, mutate the frozen
result in place, swap in a subclass that never blocks, put a passing duplicate first,
switch ``required`` off. Each attempt is refused (the built-in verdict stands, a
``hook-refused`` finding and a report note name the conftest), while stricter verdicts and
third parties' own items go through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_pbe.amend import judge_amendment
from pytest_pbe.model import CheckResult, Finding, Status

EXIT_CHECKS_FAILED = 6

Report = dict[str, Any] | None
CheckOf = Callable[[Report], Callable[[str], dict[str, Any]]]

UNTESTED = "\n\ndef untested(a: int) -> int:\n    return a - 1\n"

HOOK_HEADER = """
import dataclasses
import pytest
from pytest_pbe.model import CheckResult, Finding, Status


@pytest.hookimpl(optionalhook=True)
def pytest_pbe_amend_results(config, results):
"""

ALL_PASSED = (
    HOOK_HEADER
    + """
    results[:] = reversed([
        dataclasses.replace(r, status=Status.PASSED, findings=(), summary="all good")
        for r in results
    ])
"""
)

MUTATED_IN_PLACE = (
    HOOK_HEADER
    + """
    for r in results:
        if r.id == "coverage":
            object.__setattr__(r, "status", Status.PASSED)
            object.__setattr__(r, "findings", ())
            r.metrics["new_code_percent"] = 100.0
"""
)

LENIENT_SUBCLASS = (
    HOOK_HEADER
    + """
    class Lenient(CheckResult):
        @property
        def blocks(self):
            return False

    for n, r in enumerate(results):
        if r.id == "coverage":
            fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
            results[n] = Lenient(**fields)
"""
)

PASSING_DUPLICATE_FIRST = (
    HOOK_HEADER
    + """
    cov = next(r for r in results if r.id == "coverage")
    results.insert(0, dataclasses.replace(cov, status=Status.PASSED, findings=()))
"""
)

NOT_REQUIRED = (
    HOOK_HEADER
    + """
    results[:] = [dataclasses.replace(r, required=False) for r in results]
"""
)

REMOVES_COVERAGE = (
    HOOK_HEADER
    + """
    results[:] = [r for r in results if r.id != "coverage"]
"""
)

STRICTER = (
    HOOK_HEADER
    + """
    for n, r in enumerate(results):
        if r.id == "tests":
            extra = Finding("the release checklist says no", rule="release-freeze")
            results[n] = dataclasses.replace(
                r, status=Status.FAILED, summary="frozen for release",
                findings=r.findings + (extra,),
            )
        if r.id == "extra":
            results[n] = dataclasses.replace(r, status=Status.PASSED, summary="now fine")
"""
)

# A second plugin (registered later, so called first) adds the third party's own item.
ADDS_EXTRA = (
    HOOK_HEADER
    + """
    results.append(CheckResult("extra", "A third party's item", Status.FAILED, "not yet"))
"""
)


def _attack(project: Any, conftest: str) -> tuple[pytest.RunResult, Report]:
    """An uncovered function and the hook, committed in the judged change."""
    project.append("src/app/calc.py", UNTESTED)
    project.write("conftest.py", conftest)
    project.commit("feat: untested, and a conftest")
    return project.run(checks="tests,coverage")


def _assert_refused(
    result: pytest.RunResult, report: Report, check_of: CheckOf, attempt: str
) -> dict[str, Any]:
    coverage = check_of(report)("coverage")
    assert (coverage["status"], coverage["required"]) == ("failed", True), coverage
    rules = [f["rule"] for f in coverage["findings"]]
    assert "uncovered" in rules
    refused = [f for f in coverage["findings"] if f["rule"] == "hook-refused"]
    assert len(refused) == 1, coverage["findings"]
    message = refused[0]["message"]
    assert "pytest_pbe_amend_results in conftest.py tried to" in message, message
    assert attempt in message, message
    assert report is not None
    assert report["passed"] is False
    assert any(
        "conftest.py" in note and "built-in item coverage" in note and "refused" in note
        for note in report["notes"]
    ), report["notes"]
    assert result.ret == EXIT_CHECKS_FAILED, result.stdout.str()
    return coverage


def test_a_conftest_setting_every_result_passed_is_refused(project: Any, check_of: CheckOf) -> None:
    result, report = _attack(project, ALL_PASSED)
    _assert_refused(result, report, check_of, "improve its status from failed to passed")
    assert report is not None
    assert [c["id"] for c in report["checks"]][:2] == ["tests", "coverage"]
    result.stdout.fnmatch_lines(["*pytest_pbe_amend_results in conftest.py tried to change*"])


def test_mutating_the_frozen_result_in_place_is_refused(project: Any, check_of: CheckOf) -> None:
    result, report = _attack(project, MUTATED_IN_PLACE)
    coverage = _assert_refused(result, report, check_of, "improve its status")
    assert coverage["metrics"]["new_code_percent"] < 100


def test_a_result_subclass_that_never_blocks_is_refused(project: Any, check_of: CheckOf) -> None:
    result, report = _attack(project, LENIENT_SUBCLASS)
    _assert_refused(result, report, check_of, "replace it with Lenient")


def test_a_passing_duplicate_put_first_is_refused(project: Any, check_of: CheckOf) -> None:
    result, report = _attack(project, PASSING_DUPLICATE_FIRST)
    _assert_refused(result, report, check_of, "improve its status from failed to passed")
    assert report is not None
    assert [c["id"] for c in report["checks"]].count("coverage") == 1


def test_switching_required_off_is_refused(project: Any, check_of: CheckOf) -> None:
    result, report = _attack(project, NOT_REQUIRED)
    _assert_refused(result, report, check_of, "make it not required")


def test_removing_a_builtin_names_the_plugin(project: Any, check_of: CheckOf) -> None:
    result, report = _attack(project, REMOVES_COVERAGE)
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "error", coverage
    assert coverage["summary"] == (
        "removed by a pytest_pbe_amend_results hook (conftest.py): not judged"
    )
    assert result.ret != 0


def test_stricter_verdicts_and_third_party_items_go_through(
    project: Any, check_of: CheckOf
) -> None:
    project.write("tests/conftest.py", ADDS_EXTRA)
    project.write("conftest.py", STRICTER)
    project.commit("a release freeze")
    result, report = project.run(checks="tests")
    tests = check_of(report)("tests")
    assert (tests["status"], tests["summary"]) == ("failed", "frozen for release")
    assert [f["rule"] for f in tests["findings"]] == ["release-freeze"]
    extras = [c for c in (report or {})["checks"] if c["id"] == "extra"]
    assert [(c["status"], c["summary"]) for c in extras] == [("passed", "now fine")]
    assert not any("hook" in note for note in (report or {})["notes"])
    assert result.ret == EXIT_CHECKS_FAILED


# --- the strictness rule itself ----------------------------------------------------------

ORDER = [Status.PASSED, Status.SKIPPED, Status.FAILED, Status.ERROR]


def _result(status: Status, **changes: Any) -> CheckResult:
    finding = Finding("new line 3 is not executed by any test", "src/a.py", 3, rule="uncovered")
    fields: dict[str, Any] = {
        "id": "coverage",
        "title": "New code is covered by tests",
        "status": status,
        "summary": "50% of 2 new lines covered",
        "metrics": {"new_lines": 2},
        "findings": (finding,),
    }
    fields.update(changes)
    return CheckResult(**fields)


@pytest.mark.parametrize("before", ORDER)
@pytest.mark.parametrize("after", ORDER)
def test_a_status_may_move_only_towards_error(before: Status, after: Status) -> None:
    out, notes = judge_amendment("plug", [_result(before)], [_result(after)])
    allowed = ORDER.index(after) >= ORDER.index(before)
    assert out[0].status == (after if allowed else before)
    assert [f.rule for f in out[0].findings][1:] == ([] if allowed else ["hook-refused"])
    assert len(notes) == (0 if allowed else 1)


@pytest.mark.parametrize(
    ("changes", "attempt"),
    [
        ({"findings": ()}, "drop its findings"),
        ({"metrics": {"new_lines": 0}}, "change its metrics (new_lines)"),
        ({"metrics": {}}, "change its metrics (new_lines)"),
        ({"summary": "all covered"}, "rewrite its summary or details"),
        ({"title": "Something else"}, "change its title"),
        ({"required": False}, "make it not required"),
    ],
)
def test_other_improvements_are_refused(changes: dict[str, Any], attempt: str) -> None:
    before = _result(Status.FAILED)
    out, notes = judge_amendment("plug", [before], [_result(Status.FAILED, **changes)])
    assert out[0].findings[:1] == before.findings
    assert out[0].findings[1].rule == "hook-refused"
    assert attempt in out[0].findings[1].message
    assert (out[0].summary, out[0].metrics, out[0].required) == (
        before.summary,
        before.metrics,
        True,
    )
    assert notes == [
        f"pytest_pbe_amend_results in plug tried to change built-in item coverage ({attempt}): "
        "refused, the built-in verdict stands"
    ]


def test_adding_to_words_metrics_and_findings_is_accepted() -> None:
    before = _result(Status.FAILED)
    extra = Finding("also this", rule="house-rule")
    after = _result(
        Status.FAILED,
        summary=before.summary + " (see the runbook)",
        metrics={"new_lines": 2, "house": 1},
        findings=(*before.findings, extra),
        details=("runbook: https://example.invalid/runbook",),
    )
    out, notes = judge_amendment("plug", [before], [after])
    assert (out, notes) == ([after], [])


# --- a deleted test is named by tdd, and its code judged without it (point 2) ------------

ADD_ONLY_DOUBLE_TESTED = (
    "from app.calc import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
)
ADD_EMPTIED = (
    "from app.calc import add, double\n\n\ndef test_add():\n    pass\n\n\n"
    "def test_double():\n    assert double(2) == 4\n"
)
# Names and imports only: pytest-cov without --cov-context=test records no per-test data.
NAMES_MAPPING = ("--cov=src", "--cov-report=")


def _break_add(project: Any, test_file: str | None) -> None:
    """One commit that breaks ``add`` and deletes (or empties) the test that checked it."""
    calc = project.path / "src/app/calc.py"
    calc.write_text(calc.read_text(encoding="utf-8").replace("a + b", "a - b"), encoding="utf-8")
    if test_file is None:  # the whole file goes; double's test moves to a file of its own
        (project.path / "tests/test_calc.py").unlink()
        project.write("tests/test_double.py", ADD_ONLY_DOUBLE_TESTED)
    else:
        project.write("tests/test_calc.py", test_file)
    project.commit("refactor: tidy add")


def _lost(tdd: dict[str, Any]) -> list[str]:
    return [f["message"] for f in tdd["findings"] if f["rule"] == "deleted-test"]


@pytest.mark.parametrize(
    ("test_file", "what"),
    [
        (ADD_ONLY_DOUBLE_TESTED, "tests/test_calc.py::test_add was deleted"),
        (ADD_EMPTIED, "tests/test_calc.py::test_add no longer uses add"),
    ],
    ids=["deleted", "emptied"],
)
def test_breaking_a_function_and_deleting_its_test_is_no_refactor(
    project: Any, check_of: CheckOf, test_file: str, what: str
) -> None:
    _break_add(project, test_file)
    result, report = project.run(*NAMES_MAPPING, checks="tests,tdd")
    tdd = check_of(report)("tdd")
    assert tdd["metrics"]["mapping"] == "names", tdd
    assert tdd["status"] == "failed", tdd
    assert tdd["details"][-1].split()[1] == "untested", tdd["details"]
    [untested] = [f for f in tdd["findings"] if f["rule"] == "untested"]
    assert (untested["path"], untested["line"]) == ("src/app/calc.py", 2)
    [lost] = _lost(tdd)
    assert lost.startswith(f"{what} in the range; it exercised add of src/app/calc.py"), lost
    assert tdd["metrics"]["lost_tests"] == 1
    assert result.ret == EXIT_CHECKS_FAILED


def test_a_deleted_test_file_is_named_under_per_test_coverage(
    project: Any, check_of: CheckOf
) -> None:
    _break_add(project, None)
    result, report = project.run(checks="tests,tdd")
    tdd = check_of(report)("tdd")
    assert tdd["metrics"]["mapping"] == "coverage", tdd
    assert tdd["status"] == "failed", tdd
    assert _lost(tdd) == [
        "tests/test_calc.py::test_add was deleted in the range; it exercised add of "
        f"src/app/calc.py, changed in {project.git('rev-parse', 'HEAD')[:7]} 'refactor: tidy add', "
        "which is judged without it (untested): keep a test that would notice add breaking",
    ]
    assert result.ret == EXIT_CHECKS_FAILED


def test_another_test_still_exercising_the_code_keeps_it_tested(
    project: Any, check_of: CheckOf
) -> None:
    project.write(
        "tests/test_sums.py",
        "from app.calc import add\n\n\ndef test_sum_of_two():\n    assert add(2, 2) == 0\n",
    )
    project.commit("test: sums (written for the new add)")
    _break_add(project, ADD_ONLY_DOUBLE_TESTED)
    result, report = project.run(checks="tests,tdd")
    tdd = check_of(report)("tdd")
    assert tdd["status"] == "passed", tdd
    [lost] = _lost(tdd)
    assert "(test-first)" in lost, lost
    assert result.ret == 0


def test_a_test_deleted_in_the_uncommitted_work_is_named(project: Any, check_of: CheckOf) -> None:
    project.write(
        "tests/test_more.py",
        "from app.calc import add\n\n\ndef test_more():\n    assert add(2, 3) == 5\n",
    )
    project.commit("test: more")
    project.base = project.git("rev-parse", "HEAD")
    _break_add(project, ADD_ONLY_DOUBLE_TESTED)
    # Uncommitted, a deletion only: no line git could show as added.
    (project.path / "tests/test_more.py").unlink()
    result, report = project.run(checks="tests,tdd")
    tdd = check_of(report)("tdd")
    assert tdd["status"] == "failed", tdd
    assert sorted(m.split(" in the range")[0] for m in _lost(tdd)) == [
        "tests/test_calc.py::test_add was deleted",
        "tests/test_more.py::test_more was deleted",
    ]
    assert result.ret == EXIT_CHECKS_FAILED


REPORT_REWRITTEN = """
import dataclasses
import pytest
from pytest_pbe.model import Status


@pytest.hookimpl(optionalhook=True)
def pytest_pbe_report(config, report):
    checks = tuple(dataclasses.replace(c, status=Status.PASSED, findings=()) for c in report.checks)
    object.__setattr__(report, "checks", checks)
"""


def test_a_report_hook_cannot_rewrite_the_verdict(project: Any, check_of: CheckOf) -> None:
    # pytest_pbe_report reads the finished report: what it does to its copy changes neither
    # the files written nor the exit status.
    result, report = _attack(project, REPORT_REWRITTEN)
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "failed", coverage
    assert report is not None
    assert report["passed"] is False
    assert result.ret == EXIT_CHECKS_FAILED, result.stdout.str()
