"""The `errors` item, dynamic part: new except handlers no test entered (shared coverage)."""

from __future__ import annotations

HANDLERS = """\
def parse(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def divide(a: int, b: int) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return 0.0
"""

TESTS = """\
from app.handlers import divide, parse


def test_parse_rejects_words():
    assert parse("x") == -1


def test_divide():
    assert divide(4, 2) == 2.0
"""

# A conftest that throws the shared coverage measurement away: coverage is unavailable.
NO_COVERAGE = """\
import pytest

from pytest_pbe.engine import VERIFIER_KEY
from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    verifier = session.config.stash.get(VERIFIER_KEY, None)
    if verifier is not None:
        del verifier.ctx.stash[COVERAGE_MEASUREMENT]
"""


def test_it_names_new_handlers_that_no_test_entered(project, write, verify):
    write("src/app/handlers.py", HANDLERS)
    write("tests/test_handlers.py", TESTS)

    errors = verify("errors").checks["errors"]

    assert errors["status"] == "failed", errors
    unexercised = [
        (f["path"], f["line"], f["end_line"])
        for f in errors["findings"]
        if f["rule"] == "unexercised-handler"
    ]
    assert unexercised == [("src/app/handlers.py", 11, 12)]
    assert "error path never exercised" in errors["findings"][-1]["message"]
    assert "1 of 2 new except handlers never entered by a test" in errors["summary"]


def test_it_passes_when_every_new_handler_was_entered(project, write, verify):
    write("src/app/handlers.py", HANDLERS)
    write(
        "tests/test_handlers.py",
        TESTS + "\n\ndef test_divide_by_zero():\n    assert divide(1, 0) == 0.0\n",
    )

    errors = verify("errors").checks["errors"]

    assert errors["status"] == "passed", errors
    assert errors["metrics"]["handlers_never_entered"] == 0


def test_a_handler_in_a_module_no_test_imported_was_never_entered(project, write, verify):
    write("src/app/handlers.py", HANDLERS)

    errors = verify("errors").checks["errors"]

    assert errors["status"] == "failed", errors
    assert [f["line"] for f in errors["findings"] if f["rule"] == "unexercised-handler"] == [
        4,
        11,
    ]


def test_without_coverage_it_still_reports_static_findings_and_ends_in_error(
    project, write, verify
):
    write("conftest.py", NO_COVERAGE)
    write(
        "src/app/handlers.py",
        HANDLERS + "\n\ndef bare() -> None:\n    try:\n        parse('1')\n    except:\n"
        "        pass\n",
    )
    write("tests/test_handlers.py", TESTS)

    verdict = verify("coverage,errors")

    errors = verdict.checks["errors"]
    assert errors["status"] == "error", errors
    assert "could not judge whether 3 new except handlers were ever entered" in errors["summary"]
    assert {f["rule"] for f in errors["findings"]} == {"E722", "S110"}
    assert verdict.result.ret == 7


def test_without_coverage_and_the_coverage_item_off_it_judges_statically(project, write, verify):
    write("conftest.py", NO_COVERAGE)
    write("src/app/handlers.py", HANDLERS)
    write("tests/test_handlers.py", TESTS)

    errors = verify("errors", "--pbe-skip", "coverage").checks["errors"]

    assert errors["status"] == "passed", errors
    assert "the coverage item is switched off" in errors["summary"]
