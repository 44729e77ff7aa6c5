"""The `types` item: real mypy on a real project, judged on new code only."""

from __future__ import annotations

import pytest

NEW_TYPE_ERRORS = """\


def new_types(x: int) -> str:
    return x


def new_call() -> int:
    return len(5)
"""


def test_it_names_new_mypy_errors_at_their_lines_and_keeps_old_ones_quiet(
    project, write, verify, old_lines
):
    write("src/app/old.py", NEW_TYPE_ERRORS, append=True)

    verdict = verify("types")

    types = verdict.checks["types"]
    assert types["status"] == "failed", types
    assert verdict.lines("types") == [
        ("src/app/old.py", 25, 25, "return-value"),
        ("src/app/old.py", 29, 29, "arg-type"),
    ]
    assert types["metrics"]["not_new"] == 1
    assert "2 mypy errors on new lines" in types["summary"]
    assert types["findings"][0]["url"].startswith("https://mypy.readthedocs.io/")
    assert verdict.result.ret == 6


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("added", {("src/app/old.py", 25)}),
        ("file", {("src/app/old.py", 5), ("src/app/old.py", 25)}),
        ("all", {("src/app/old.py", 5), ("src/app/old.py", 25), ("src/app/other.py", 5)}),
    ],
)
def test_the_filter_mode_decides_which_errors_count(project, write, commit, verify, mode, expected):
    # An old error in a module the change does not touch: only 'all' reports it.
    write("src/app/other.py", "\n\n\ndef other() -> int:\n    return 'x'\n")
    commit("old error elsewhere")
    write("src/app/old.py", NEW_TYPE_ERRORS.replace("return len(5)", "return 0"), append=True)

    verdict = verify("types", "--pbe-filter", mode)

    assert verdict.checks["types"]["status"] == "failed"
    assert {(path, line) for path, line, _, _ in verdict.lines("types")} == expected
    assert verdict.checks["types"]["metrics"]["filter"] == mode


def test_it_passes_when_new_code_type_checks(project, write, verify):
    write("src/app/new.py", "def fine(x: int) -> str:\n    return str(x)\n")

    verdict = verify("types")

    types = verdict.checks["types"]
    assert types["status"] == "passed", types
    assert types["findings"] == []
    assert "1 more on old code, not counted" in types["summary"]


def test_it_honours_a_type_ignore_with_its_code(project, write, verify):
    write(
        "src/app/new.py",
        "def ignored(x: int) -> str:\n    return x  # type: ignore[return-value]\n",
    )

    assert verify("types").checks["types"]["status"] == "passed"


def test_it_skips_when_no_new_python_code(project, write, verify):
    write("README.md", "# docs only\n")

    types = verify("types").checks["types"]

    assert types["status"] == "skipped"
    assert types["summary"] == "no new Python code"


def test_it_skips_new_code_outside_mypys_configured_files(project, write, verify):
    write("scripts/tool.py", "def bad() -> str:\n    return 1\n")

    types = verify("types").checks["types"]

    assert types["status"] == "skipped"
    assert "no new Python code that mypy checks (files = src" in types["summary"]


def test_a_broken_mypy_config_is_an_error_never_a_pass(project, write, verify):
    write("mypy.ini", "[mypy]\nfiles = src\nstrict = maybe\n")
    write("src/app/new.py", "def fine(x: int) -> str:\n    return str(x)\n")

    verdict = verify("types")

    types = verdict.checks["types"]
    assert types["status"] == "error", types
    assert "strict: Not a boolean: maybe" in types["summary"]
    assert verdict.result.ret == 7


def test_a_syntax_error_in_new_code_is_an_error(project, write, verify):
    write("src/app/new.py", "def broken(:\n    pass\n")

    types = verify("types").checks["types"]

    assert types["status"] == "error"
    assert "src/app/new.py:1" in types["summary"]
    assert "fix the syntax error" in types["summary"]


def test_a_missing_mypy_is_an_error(project, write, verify, monkeypatch, tmp_path):
    monkeypatch.setenv("PBE_MYPY", str(tmp_path / "no-such-mypy"))
    write("src/app/new.py", "def fine(x: int) -> str:\n    return str(x)\n")

    types = verify("types").checks["types"]

    assert types["status"] == "error"
    assert "mypy could not be started" in types["summary"]
    assert "no-such-mypy" in types["summary"]
