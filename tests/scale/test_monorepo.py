"""The monorepo example: each service runs its own `pytest --pbe-verify` and judges its part."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Git = Callable[..., str]
RunService = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]

BILLING_LEGACY = "services/billing/src/billing/legacy/csv_export.py"


def _item(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    item: dict[str, Any] = next(c for c in report["checks"] if c["id"] == check_id)
    return item


def test_each_service_judges_only_its_own_part_of_the_change(
    monorepo: str, run_service: RunService
) -> None:
    # users: its empty migrations/__init__.py adds no line; the README is outside both.
    for name, own, other in (("billing", 7, 7), ("users", 6, 8)):
        result, report = run_service(name, "--pbe-base", monorepo)
        assert result.ret == 0, result.stdout.str()
        assert report["scope"]["path"] == f"services/{name}"
        assert len(report["scope"]["files"]) == own
        assert all(p.startswith(f"services/{name}/") for p in report["scope"]["files"])
        assert report["scope"]["outside"] == other
        result.stdout.fnmatch_lines([f"*{other} changed files are outside services/{name}, left*"])
        files = _item(report, "coverage")["metrics"]["files"]
        assert files, "no file judged"
        assert all(path.startswith(f"services/{name}/src/") for path in files)


def test_findings_of_a_service_run_name_repository_relative_paths(
    monorepo: str, run_service: RunService, repo: Path, git: Git
) -> None:
    names = repo / "services/users/src/users/names.py"
    shout = "\n\ndef shout(name: str) -> str:\n    return name.upper()\n"
    names.write_text(names.read_text() + shout)
    git("commit", "-qam", "shout, untested")
    result, report = run_service("users", "--pbe-base", monorepo)
    assert result.ret == 6
    findings = _item(report, "coverage")["findings"]
    assert {f["path"] for f in findings} <= {
        "services/users/src/users/names.py",
        "services/users/src/users/migrations/m0002_normalize_names.py",  # within its 60%
    }
    assert ("services/users/src/users/names.py", 17) in [(f["path"], f["line"]) for f in findings]
    result.stdout.fnmatch_lines(["*services/users/src/users/names.py:17  uncovered: new line 17*"])
    # The other service's run is not affected by it.
    result, _ = run_service("billing", "--pbe-base", monorepo)
    assert result.ret == 0


def test_a_per_path_threshold_lets_the_legacy_exporter_pass_below_100_percent(
    monorepo: str, run_service: RunService
) -> None:
    result, report = run_service("billing", "--pbe-base", monorepo)
    coverage = _item(report, "coverage")
    legacy = coverage["metrics"]["files"][BILLING_LEGACY]
    assert legacy["threshold"] == 50
    assert legacy["new_code_percent"] < 100
    assert coverage["status"] == "passed"
    # Without the service's pbe_coverage_paths, the same change fails the 100% default.
    result, report = run_service("billing", "--pbe-base", monorepo, "-o", "pbe_coverage_paths=")
    assert result.ret == 6
    assert _item(report, "coverage")["status"] == "failed"


def test_the_most_specific_glob_wins_over_a_broader_one(
    monorepo: str, run_service: RunService
) -> None:
    # services/** = 100 is broader than the service's own legacy glob: the legacy rule stays.
    ini = "pbe_coverage_paths=services/** = 100\nservices/billing/src/billing/legacy/** = 50"
    _, report = run_service("billing", "--pbe-base", monorepo, "-o", ini)
    files = _item(report, "coverage")["metrics"]["files"]
    assert files[BILLING_LEGACY]["threshold"] == 50
    assert files["services/billing/src/billing/invoices.py"]["threshold"] == 100
