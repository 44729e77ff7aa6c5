"""Fault injection: every way an item can fail to judge ends in ``error``, never ``passed``.

Each case stages one failure for real (a fake tool, a fake or missing git, a corrupt data
file, a check that raises), runs ``pytest --pbe-verify`` end to end, and asserts the item's
exact status and one-line message, the exit status (7: a required item in error), and
that no traceback reaches the user unless ``--pbe-debug`` asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXIT_CHECKS_ERROR = 7
NOT_JSON = "Expecting value: line 1 column 1 (char 0)) (exit 1)"

Report = dict[str, Any] | None
CheckOf = Callable[[Report], Callable[[str], dict[str, Any]]]


def assert_no_traceback(result: pytest.RunResult) -> None:
    text = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in text, text
    assert "INTERNALERROR" not in text, text


def assert_error(
    result: pytest.RunResult, report: Report, check_of: CheckOf, check_id: str, summary: str
) -> dict[str, Any]:
    """The item is a required ``error`` with this summary, and the run fails with 7."""
    got = check_of(report)(check_id)
    assert (got["status"], got["required"]) == ("error", True), got
    assert got["summary"] == summary, got["summary"]
    assert "\n" not in got["summary"]
    assert report is not None
    assert report["passed"] is False
    assert result.ret == EXIT_CHECKS_ERROR, result.stdout.str()
    assert_no_traceback(result)
    return got


# --- git -------------------------------------------------------------------------------------


def test_git_missing_from_path_is_an_error(
    project: Any, check_of: CheckOf, monkeypatch: pytest.MonkeyPatch, fakes: Path
) -> None:
    empty = fakes / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result, report = project.run(checks="tests,coverage,lint")
    message = "git is not installed or not on PATH; install git to judge new code"
    assert_error(result, report, check_of, "coverage", message)
    assert_error(result, report, check_of, "lint", message)
    assert check_of(report)("tests")["status"] == "passed"


def test_git_refusing_every_command_is_an_error(
    project: Any, check_of: CheckOf, fake_git: Callable[[str], Path]
) -> None:
    fake_git('echo "fatal: unable to read the object store" >&2\nexit 128')
    result, report = project.run(checks="tests,coverage,tdd")
    message = "git rev-parse failed: fatal: unable to read the object store"
    assert_error(result, report, check_of, "coverage", message)
    assert_error(result, report, check_of, "tdd", message)


def test_git_failing_only_for_the_log_is_an_error_of_the_tdd_item(
    project: Any, check_of: CheckOf, fake_git: Callable[[str], Path]
) -> None:
    fake_git(
        'for a in "$@"; do if [ "$a" = log ]; then\n'
        '  echo "fatal: bad object" >&2; exit 128\n'
        'fi; done\nexec "$REAL_GIT" "$@"'
    )
    result, report = project.run(checks="tests,tdd")
    assert_error(result, report, check_of, "tdd", "git log failed: fatal: bad object")


def test_git_printing_garbage_is_an_error_not_a_pass(
    project: Any, check_of: CheckOf, fake_git: Callable[[str], Path]
) -> None:
    fake_git(
        'for a in "$@"; do if [ "$a" = diff ]; then printf ":garbage\\0"; exit 0; fi; done\n'
        'exec "$REAL_GIT" "$@"'
    )
    result, report = project.run(checks="tests,coverage")
    assert_error(result, report, check_of, "coverage", "unexpected git --raw record: b':garbage'")


def test_a_tree_that_cannot_be_read_is_an_error_of_replay(
    project: Any, check_of: CheckOf, fake_git: Callable[[str], Path]
) -> None:
    # The replay's tree is written from its own git ls-tree (no checkout): git failing there.
    fake_git(
        'case " $* " in *" ls-tree "*" --end-of-options "*)\n'
        '  echo "fatal: not a tree object" >&2; exit 128;;\n'
        'esac\nexec "$REAL_GIT" "$@"'
    )
    result, report = project.run("--pbe-tdd", "replay", checks="tests,tdd")
    assert_error(result, report, check_of, "tdd", "git ls-tree failed: fatal: not a tree object")


# --- tools -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "check_id", "tool"),
    [
        ("PBE_MYPY", "types", "mypy"),
        ("PBE_RUFF", "lint", "ruff"),
        ("PBE_BANDIT", "security", "bandit"),
    ],
)
def test_a_missing_tool_is_an_error(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fakes: Path,
    variable: str,
    check_id: str,
    tool: str,
) -> None:
    missing = fakes / "not-installed"
    monkeypatch.setenv(variable, str(missing))
    result, report = project.run(checks=f"tests,{check_id}")
    assert_error(
        result,
        report,
        check_of,
        check_id,
        f"{tool} could not be started ({str(missing)!r}: No such file or directory); "
        f"install it (pip install {tool}) or fix {variable}",
    )


def test_a_crashing_tool_is_an_error_with_its_last_traceback_line(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fake_tool: Callable[[str, str], Path],
) -> None:
    ruff = fake_tool(
        "ruff",
        'sys.stderr.write(\'Traceback (most recent call last):\\n  File "x"\\n'
        "RuntimeError: ruff exploded\\n')\nsys.exit(2)",
    )
    monkeypatch.setenv("PBE_RUFF", str(ruff))
    result, report = project.run(checks="tests,lint")
    got = assert_error(
        result,
        report,
        check_of,
        "lint",
        f"ruff failed (exit 2): RuntimeError: ruff exploded; run '{ruff} check --output-format "
        "json --no-fix --force-exclude ...' to see it all",
    )
    assert "RuntimeError" in got["summary"]


def test_a_tool_killed_by_a_signal_is_an_error(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fake_tool: Callable[[str, str], Path],
) -> None:
    bandit = fake_tool("bandit", "import signal\nos.kill(os.getpid(), signal.SIGKILL)")
    monkeypatch.setenv("PBE_BANDIT", str(bandit))
    result, report = project.run(checks="tests,security")
    assert_error(
        result,
        report,
        check_of,
        "security",
        f"bandit failed (exit -9): no message; run '{bandit} -f json -q -- src/app/calc.py ...' "
        "to see it all",
    )


def test_a_tool_that_times_out_is_stopped_and_an_error(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fake_tool: Callable[[str, str], Path],
) -> None:
    mypy = fake_tool("mypy", "time.sleep(60)")
    monkeypatch.setenv("PBE_MYPY", str(mypy))
    result, report = project.run("-o", "pbe_tool_timeout=1", checks="tests,types")
    assert_error(
        result,
        report,
        check_of,
        "types",
        "mypy did not finish within 1s (pbe_tool_timeout) and was stopped; raise "
        f"pbe_tool_timeout, or run '{mypy} --output json --error-summary -- src/app/calc.py "
        "tests/test_calc.py' yourself to see why it is slow",
    )


@pytest.mark.parametrize(
    ("variable", "check_id", "output", "summary_start"),
    [
        (
            "PBE_RUFF",
            "lint",
            "<html>not json",
            f"ruff printed output that is not JSON ({NOT_JSON}",
        ),
        ("PBE_RUFF", "lint", '{"a": 1}', "ruff printed no JSON list of findings (exit 1)"),
        ("PBE_RUFF", "lint", "", "ruff printed no JSON list of findings (exit 1)"),
        (
            "PBE_BANDIT",
            "security",
            "\xff garbage",
            f"bandit printed output that is not JSON ({NOT_JSON}",
        ),
        ("PBE_BANDIT", "security", "[1, 2]", "bandit failed (exit 1)"),
        ("PBE_MYPY", "types", "{not json", "mypy printed output that is not JSON ('{not json'"),
        ("PBE_MYPY", "types", "", "mypy exited 1 with 0 characters on stdout: it did not"),
    ],
)
def test_unparseable_tool_output_is_an_error(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fake_tool: Callable[[str, str], Path],
    variable: str,
    check_id: str,
    output: str,
    summary_start: str,
) -> None:
    tool = fake_tool("tool", f"sys.stdout.write({output!r})\nsys.exit(1)")
    monkeypatch.setenv(variable, str(tool))
    result, report = project.run(checks=f"tests,{check_id}")
    got = check_of(report)(check_id)
    assert (got["status"], got["required"]) == ("error", True), got
    assert got["summary"].startswith(summary_start), got["summary"]
    assert result.ret == EXIT_CHECKS_ERROR
    assert_no_traceback(result)


@pytest.mark.parametrize(
    "records",
    [
        '[{"code": "F401", "filename": 7, "location": "row"}]',
        '[{"code": "F401", "filename": "src/app/calc.py", "location": {"row": "x"}}]',
        "[1, 2, 3]",
        '[{"code": ["E1"], "filename": null}]',
    ],
)
def test_ruff_json_of_the_wrong_shape_is_an_error(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fake_tool: Callable[[str, str], Path],
    records: str,
) -> None:
    ruff = fake_tool("ruff", f"sys.stdout.write({records!r})\nsys.exit(1)")
    monkeypatch.setenv("PBE_RUFF", str(ruff))
    result, report = project.run(checks="tests,lint")
    got = check_of(report)("lint")
    assert got["status"] == "error", got
    assert got["summary"].startswith("ruff printed findings of an unexpected shape"), got
    assert result.ret == EXIT_CHECKS_ERROR
    assert_no_traceback(result)


# --- coverage data, internal errors -----------------------------------------------------------


def test_a_corrupt_coverage_configuration_is_an_error_of_the_coverage_item(
    project: Any, check_of: CheckOf
) -> None:
    project.write(".coveragerc", "[run]\nbranch = maybe\n")
    result, report = project.run(checks="tests,coverage,errors")
    message = (
        "coverage.py could not start: Couldn't read config file .coveragerc: Not a boolean: "
        "maybe; fix the coverage configuration"
    )
    assert_error(result, report, check_of, "coverage", message)
    assert_error(result, report, check_of, "errors", message)
    assert check_of(report)("tests")["status"] == "passed"


def test_a_corrupt_coverage_configuration_does_not_break_items_that_do_not_measure(
    project: Any, check_of: CheckOf
) -> None:
    project.write(".coveragerc", "[run]\nbranch = maybe\n")
    result, report = project.run(checks="tests,docs")
    assert check_of(report)("tests")["status"] == "passed"
    assert result.ret == 0
    assert_no_traceback(result)


def test_a_corrupt_coverage_data_file_left_behind_is_never_read(
    project: Any, check_of: CheckOf
) -> None:
    (project.path / ".coverage").write_bytes(b"this is not a sqlite database\x00\xff" * 50)
    result, report = project.run("-o", "pbe_total_coverage=0", checks="tests,coverage")
    got = check_of(report)("coverage")
    assert got["status"] == "passed", got
    assert (got["metrics"]["new_lines"], got["metrics"]["new_lines_covered"]) == (2, 2)
    assert result.ret == 0
    assert_no_traceback(result)


BROKEN_CHECK = """
import pytest
from pytest_pbe.checks.base import Check


class Broken(Check):
    id = "broken"
    title = "A check with a bug"

    def evaluate(self, ctx):
        return {}["missing"]


@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Broken()]
"""


def test_an_internal_exception_is_an_error_without_a_traceback(
    project: Any, check_of: CheckOf
) -> None:
    project.write("conftest.py", BROKEN_CHECK)
    result, report = project.run(checks="tests,broken")
    assert_error(
        result,
        report,
        check_of,
        "broken",
        "internal error: KeyError: 'missing' (run with --pbe-debug for the traceback)",
    )


def test_pbe_debug_shows_the_traceback_of_an_internal_exception(
    project: Any, check_of: CheckOf
) -> None:
    project.write("conftest.py", BROKEN_CHECK)
    result, report = project.run("--pbe-debug", "-v", checks="tests,broken")
    got = check_of(report)("broken")
    assert (got["status"], got["summary"]) == ("error", "internal error: KeyError: 'missing'")
    assert any(line.startswith("Traceback") for line in got["details"]), got["details"]
    assert result.ret == EXIT_CHECKS_ERROR
    result.stdout.fnmatch_lines(["*Traceback*", "*KeyError*"])


def test_an_unwritable_report_fails_the_run_with_a_one_line_reason(
    project: Any, check_of: CheckOf
) -> None:
    (project.path / "reports" / "r.md").mkdir(parents=True)  # a directory in the way
    result, report = project.run("--pbe-report-md", "reports/r.md", checks="tests")
    assert check_of(report)("tests")["status"] == "passed"
    assert result.ret == EXIT_CHECKS_ERROR
    assert_no_traceback(result)
    result.stdout.fnmatch_lines(["*cannot write*reports/r.md*"])


def test_a_not_required_item_in_error_does_not_fail_the_run(
    project: Any, check_of: CheckOf, monkeypatch: pytest.MonkeyPatch, fakes: Path
) -> None:
    monkeypatch.setenv("PBE_RUFF", os.fspath(fakes / "nope"))
    result, report = project.run("--pbe-required", "tests", checks="tests,lint")
    got = check_of(report)("lint")
    assert (got["status"], got["required"]) == ("error", False)
    assert result.ret == 0
