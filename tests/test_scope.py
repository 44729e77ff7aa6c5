"""New code is judged per pytest project: a run from a subdirectory judges only its part."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def monorepo(repo: Path) -> Path:
    """Two services, each with its own pytest configuration, in one repository."""
    for name in ("billing", "users"):
        service = repo / "services" / name
        (service / "tests").mkdir(parents=True)
        (service / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
        (service / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "two services")
    for name in ("billing", "users"):
        (repo / "services" / name / f"{name}.py").write_text("VALUE = 1\n")
    return repo


ServiceRun = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]


@pytest.fixture
def run_service(
    monorepo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> ServiceRun:
    """``run_service(name, *args)``: pytest --pbe-verify with that service as its rootdir."""

    def run(name: str, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
        service = monorepo / "services" / name
        pytester.chdir()
        result = pytester.runpytest_subprocess(
            str(service), "--rootdir", str(service), "-c", str(service / "pytest.ini"),
            "--pbe-verify", "--pbe-report-json", str(monorepo / "r.json"), *args,
        )  # fmt: skip
        return result, read_json(monorepo / "r.json")

    return run


def test_a_run_from_a_service_judges_only_that_services_new_code(run_service: ServiceRun) -> None:
    result, report = run_service("billing", "--pbe-checks", "tests")
    assert result.ret == 0
    assert report["head"]["sha"] is not None
    assert report["scope"] == {
        "path": "services/billing",
        "files": ["services/billing/billing.py"],
        "outside": 1,
    }
    result.stdout.fnmatch_lines(
        ["*1 changed file is outside services/billing, left to its own run*"]
    )


def test_failing_tests_are_named_by_repository_path_when_run_from_a_subdirectory(
    monorepo: Path, run_service: ServiceRun
) -> None:
    tests = monorepo / "services" / "users" / "tests"
    (tests / "test_bad.py").write_text("def test_bad():\n    assert False\n")
    _, report = run_service("users", "--pbe-checks", "tests")
    finding = report["checks"][0]["findings"][0]
    assert (finding["path"], finding["line"]) == ("services/users/tests/test_bad.py", 1)


def test_slow_tests_are_named_by_repository_path_when_run_from_a_subdirectory(
    monorepo: Path, run_service: ServiceRun
) -> None:
    tests = monorepo / "services" / "users" / "tests"
    (tests / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(0.3)\n")
    _, report = run_service(
        "users", "--pbe-checks", "tests,performance", "-o", "pbe_max_test_seconds=0.1"
    )
    [finding] = report["checks"][8]["findings"]
    assert (finding["path"], finding["line"]) == ("services/users/tests/test_slow.py", 3)
