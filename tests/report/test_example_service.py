"""The example service and its demo run in the test suite, so they cannot rot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user-service"

pytest.importorskip("fastapi", reason="the example service needs fastapi (pip install -e .[test])")
pytest.importorskip("sqlalchemy", reason="the example service needs sqlalchemy")
pytest.importorskip("httpx", reason="the example service's tests need httpx")


def test_the_example_services_own_tests_pass(pytester: pytest.Pytester) -> None:
    shutil.copytree(
        EXAMPLE, pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("demo.py")
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=11)


def test_the_demo_shows_a_red_checklist_then_a_green_one(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), "--report-dir", str(reports)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "as expected: red (exit " in output
    red = json.loads((reports / "red" / "report.json").read_text(encoding="utf-8"))
    green = json.loads((reports / "green" / "report.json").read_text(encoding="utf-8"))
    assert red["passed"] is False
    assert green["passed"] is True
    failed = [c for c in red["checks"] if c["status"] == "failed"]
    assert failed, "the red run failed no item"
    named = {f["path"] for c in failed for f in c["findings"]}
    assert "src/user_service/export.py" in named
    assert {c["status"] for c in green["checks"] if c["required"]} <= {"passed", "skipped"}
    assert "src/user_service/export.py" in (reports / "red" / "index.html").read_text(
        encoding="utf-8"
    )


def test_the_demo_says_when_it_cannot_run(tmp_path: Path) -> None:
    # No git on PATH: the demo cannot build its history, and says so with exit status 2.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": str(bin_dir)}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "git is not installed" in proc.stderr
