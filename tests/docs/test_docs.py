"""The `docs` item: an attestation read from commit trailers and the --pbe-docs declaration."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ReadJson = Callable[[Path], dict[str, Any]]


def _commit(repo: Path, name: str, message: str) -> str:
    (repo / name).write_text("x = 1\n")
    subprocess.run(["git", "add", name], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True)
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _docs(pytester: pytest.Pytester, read_json: ReadJson, *args: str) -> tuple[Any, dict[str, Any]]:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--pbe-verify", "--pbe-checks", "tests,docs",
        "--pbe-report-json", "r.json", *args,
    )  # fmt: skip
    report = read_json(pytester.path / "r.json")
    return result, next(c for c in report["checks"] if c["id"] == "docs")


@pytest.fixture
def base(repo: Path) -> str:
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    )
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    return out.stdout.strip()


def _commit_all(repo: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True)


def test_an_attested_range_passes_and_says_what_was_attested(
    repo: Path, base: str, pytester: pytest.Pytester, read_json: ReadJson
) -> None:
    _commit(
        repo,
        "a.py",
        "Add a\n\nDocs-Consulted: https://docs.python.org/3/library/asyncio.html\n"
        "Docs-Consulted: PEP 8",
    )
    _commit(repo, "b.py", "Tidy b")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    _commit_all(repo, "Add test")
    result, item = _docs(pytester, read_json, "--pbe-base", base)
    assert item["status"] == "passed", item
    assert "asyncio.html" in item["summary"]
    assert "PEP 8" in item["summary"]
    assert "an attestation, not a measurement" in item["summary"]
    assert item["required"] is False
    assert item["metrics"]["attestations"] == 2
    assert item["metrics"]["unattested_commits"] == 2
    assert {f["rule"] for f in item["findings"]} == {"unattested"}
    assert result.ret == 0


def test_an_unattested_range_fails_but_is_not_required_by_default(
    repo: Path, base: str, pytester: pytest.Pytester, read_json: ReadJson
) -> None:
    sha = _commit(repo, "a.py", "Add a")
    result, item = _docs(pytester, read_json, "--pbe-base", base)
    assert item["status"] == "failed"
    assert "nothing attested (an attestation, not a measurement)" in item["summary"]
    assert "--pbe-docs" in item["summary"]
    assert item["findings"][0]["commit"] == sha
    assert result.ret == 0  # not required
    required = pytester.runpytest(
        "-p", "no:cacheprovider", "--pbe-verify", "--pbe-checks", "tests,docs",
        "--pbe-base", base, "--pbe-required", "tests,docs",
    )  # fmt: skip
    assert required.ret == 6


def test_the_declaration_attests_the_uncommitted_work(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson
) -> None:
    (repo / "new.py").write_text("y = 2\n")
    _, unattested = _docs(pytester, read_json, "--pbe-base", "main")
    assert unattested["status"] == "failed"
    assert "uncommitted work has no pbe_docs" in unattested["summary"]
    _, attested = _docs(pytester, read_json, "--pbe-base", "main", "--pbe-docs", "the pytest docs")
    assert attested["status"] == "passed"
    assert "the pytest docs (declared)" in attested["summary"]


def test_the_declaration_can_live_in_the_ini_file(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson
) -> None:
    pytester.makeini("[pytest]\npbe_docs =\n    coverage.py API\n    pytest hooks\n")
    _, item = _docs(pytester, read_json, "--pbe-base", "main")
    assert item["status"] == "passed"
    assert "coverage.py API (declared); pytest hooks (declared)" in item["summary"]


def test_without_git_it_is_an_error_never_a_pass(
    pytester: pytest.Pytester, read_json: ReadJson
) -> None:
    _, item = _docs(pytester, read_json, "--pbe-docs", "anything")
    assert item["status"] == "error"
