"""An interrupted session is reported as incomplete, never as judged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_a_keyboard_interrupt_marks_the_report_incomplete_and_judges_nothing(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(
        test_a="def test_first():\n    assert True\n\n"
        "def test_interrupt():\n    raise KeyboardInterrupt\n\n"
        "def test_never_reached():\n    assert True\n"
    )
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,docs", "--pbe-report-json", "r.json"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    report = read_json(repo / "r.json")
    assert report["complete"] is False
    assert report["passed"] is False
    statuses = {c["id"]: (c["status"], c["summary"]) for c in report["checks"]}
    assert statuses["tests"][0] == "error"
    assert statuses["tests"][1].startswith("session interrupted")
    assert statuses["docs"] == (
        "error",
        "session interrupted before the tests finished: not judged",
    )
    result.stdout.fnmatch_lines(["*NOT verified (exit 2)*interrupted*incomplete*"])


@pytest.mark.parametrize(
    "extra",
    [["-p", "no:cacheprovider"], ["--lf"], ["-n", "2"], ["-n", "4"], ["-p", "no:terminal"]],
)
def test_common_pytest_modes_still_produce_a_complete_report(
    repo: Path,
    pytester: pytest.Pytester,
    read_json: Callable[[Path], dict[str, Any]],
    extra: list[str],
) -> None:
    pytester.makepyfile(test_a="\n".join(f"def test_{n}():\n    assert True\n" for n in range(6)))
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests", "--pbe-report-json", "r.json", *extra
    )
    report = read_json(repo / "r.json")
    tests = report["checks"][0]
    assert (report["complete"], tests["status"], tests["metrics"]["passed"]) == (True, "passed", 6)
    assert result.ret == 0
