"""The `lint` item: real ruff with the project's own rule selection, on new code."""

from __future__ import annotations

NEW_LINT = """\


def new_lint(items=[]) -> None:
    unused = 2
"""


def test_it_names_new_ruff_findings_at_their_lines_and_keeps_old_ones_quiet(
    project, write, verify, old_lines
):
    write("src/app/old.py", NEW_LINT, append=True)

    verdict = verify("lint")

    lint = verdict.checks["lint"]
    assert lint["status"] == "failed", lint
    assert verdict.lines("lint") == [
        ("src/app/old.py", 24, 24, "B006"),
        ("src/app/old.py", 25, 25, "F841"),
    ]
    assert lint["metrics"]["not_new"] >= 1  # the old F841 at line 9 (and the old E722)
    assert (
        lint["findings"][0]["url"] == "https://docs.astral.sh/ruff/rules/mutable-argument-default"
    )


def test_file_mode_reports_old_findings_in_changed_files_too(project, write, verify, old_lines):
    write("src/app/old.py", NEW_LINT, append=True)

    verdict = verify("lint", "--pbe-filter", "file")

    lines = {line for _, line, _, _ in verdict.lines("lint")}
    assert {old_lines["lint"], 24, 25} <= lines


def test_it_uses_the_projects_rule_selection(project, write, verify):
    # 'I' (isort) is not selected by the project: unsorted imports are not its concern.
    write("src/app/new.py", "import sys\nimport os\n\nprint(os.sep, sys.argv)\n")

    assert verify("lint").checks["lint"]["status"] == "passed"


def test_it_honours_noqa(project, write, verify):
    write("src/app/new.py", "def f() -> None:\n    unused = 1  # noqa: F841\n")

    assert verify("lint").checks["lint"]["status"] == "passed"


def test_it_honours_the_projects_excludes(project, write, commit, verify):
    # The exclude is the project's standing config, committed: not a loosening under judgement.
    pyproject = project / "pyproject.toml"
    extra = '\n[tool.ruff]\nextend-exclude = ["src/app/generated.py"]\n'
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + extra, encoding="utf-8")
    commit("ruff: exclude the generated module")
    write("src/app/generated.py", "def f() -> None:\n    unused = 1\n")

    lint = verify("lint").checks["lint"]

    assert lint["status"] == "passed", lint


def test_a_syntax_error_is_an_error(project, write, verify):
    write("src/app/new.py", "def broken(:\n    pass\n")

    lint = verify("lint").checks["lint"]

    assert lint["status"] == "error"
    assert "ruff could not parse src/app/new.py:1" in lint["summary"]


def test_a_configuration_ruff_rejects_is_an_error(project, write, verify):
    write("ruff.toml", "[lint]\nselect = ['NOPE1']\n")
    write("src/app/new.py", "X = 1\n")

    verdict = verify("lint")

    lint = verdict.checks["lint"]
    assert lint["status"] == "error", lint
    assert "ruff failed" in lint["summary"]
    assert verdict.result.ret == 7


def test_a_missing_ruff_is_an_error(project, write, verify, monkeypatch, tmp_path):
    monkeypatch.setenv("PBE_RUFF", str(tmp_path / "no-such-ruff"))
    write("src/app/new.py", "X = 1\n")

    lint = verify("lint").checks["lint"]

    assert lint["status"] == "error"
    assert "ruff could not be started" in lint["summary"]


def test_a_hanging_ruff_is_stopped_at_the_timeout_and_is_an_error(
    project, write, verify, monkeypatch, fake_tool
):
    monkeypatch.setenv("PBE_RUFF", fake_tool("sleep 60\n"))
    write("src/app/new.py", "X = 1\n")

    verdict = verify("lint", "-o", "pbe_tool_timeout=1")

    lint = verdict.checks["lint"]
    assert lint["status"] == "error", lint
    assert "did not finish within 1s (pbe_tool_timeout)" in lint["summary"]
    assert verdict.result.duration < 30


def test_the_timeout_counts_from_the_end_of_the_tests_not_from_the_tools_start(
    project, write, verify, monkeypatch, fake_tool, real_ruff
):
    # The tools run at the lowest priority beside the tests: a long session on a busy
    # machine may leave them no CPU at all, so the session gives each its full timeout
    # once the tests are over. Here ruff needs 3s, longer than its 2s timeout, but the
    # tests take 2s: it ends 1s into the wait.
    monkeypatch.setenv("PBE_RUFF", fake_tool(f'sleep 3\nexec {real_ruff} "$@"\n'))
    write("src/app/new.py", "def f() -> None:\n    unused = 1\n")
    write("tests/test_slow.py", "import time\n\n\ndef test_slow():\n    time.sleep(2)\n")

    lint = verify("lint", "-o", "pbe_tool_timeout=2").checks["lint"]

    assert lint["status"] == "failed", lint
    assert [f["rule"] for f in lint["findings"]] == ["F841"]


def test_a_crashing_tool_is_an_error_with_its_message(
    project, write, verify, monkeypatch, fake_tool
):
    monkeypatch.setenv("PBE_RUFF", fake_tool("echo 'panic: something broke' >&2\nexit 101\n"))
    write("src/app/new.py", "X = 1\n")

    lint = verify("lint").checks["lint"]

    assert lint["status"] == "error"
    assert "panic: something broke" in lint["summary"]
