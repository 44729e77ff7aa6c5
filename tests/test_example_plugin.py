"""The example third-party item in examples/pbe-no-todo, run as a user would load it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLE_SRC = Path(__file__).parent.parent / "examples" / "pbe-no-todo" / "src"


@pytest.fixture
def with_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLE_SRC))


def _verify_with_example(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest --pbe-verify with the example plugin loaded by name, as a user would."""
    return pytester.runpytest_subprocess(
        "-p", "pbe_no_todo", "--pbe-verify", "--pbe-checks", "tests,no-todo",
        "--pbe-report-json", "r.json", *args,
    )  # fmt: skip


@pytest.mark.usefixtures("with_example")
def test_the_example_item_fails_on_a_new_todo_and_ignores_old_ones(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> None:
    (repo / "app.py").write_text("def old():\n    return 1  # TODO: an old one, not ours\n")
    pytester.makepyfile(test_app="from app import old\n\ndef test_old():\n    assert old() == 1\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "old code"], cwd=repo, check=True)
    (repo / "app.py").write_text(
        "def old():\n    return 1  # TODO: an old one, not ours\n\n"
        "def new():\n    return 2  # FIXME: ours\n"
    )

    result = _verify_with_example(pytester, "--pbe-required", "tests,no-todo")

    item = read_json(repo / "r.json")["checks"][-1]
    assert item["id"] == "no-todo"
    assert item["status"] == "failed"
    assert [(f["path"], f["line"], f["rule"]) for f in item["findings"]] == [("app.py", 5, "FIXME")]
    assert result.ret == 6


@pytest.mark.usefixtures("with_example")
def test_the_example_item_passes_and_is_not_required_by_default(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(test_app="def test_ok():\n    assert True\n")
    result = _verify_with_example(pytester)
    item = read_json(repo / "r.json")["checks"][-1]
    assert (item["id"], item["status"], item["required"]) == ("no-todo", "passed", False)
    assert result.ret == 0


@pytest.mark.usefixtures("with_example")
def test_the_example_item_loads_harmlessly_without_pbe_verify(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "pbe_no_todo")
    result.assert_outcomes(passed=1)
    assert "checklist" not in result.stdout.str()


def test_outside_a_git_repository_the_example_item_is_an_error_not_a_pass(
    pytester: pytest.Pytester,
    with_example: None,
    read_json: Callable[[Path], dict[str, Any]],
) -> None:
    pytester.makepyfile(test_app="def test_ok():\n    assert True\n")
    result = _verify_with_example(pytester, "--pbe-required", "tests,no-todo")
    item = read_json(pytester.path / "r.json")["checks"][-1]
    assert item["status"] == "error"
    assert result.ret == 7
