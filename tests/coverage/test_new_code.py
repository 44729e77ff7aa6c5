"""The coverage item end to end: real git repositories, real pytest sessions."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Write = Callable[[str, str], Path]
Commit = Callable[[str], str]
RunPbe = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]
ReadJson = Callable[[Path], dict[str, Any]]

PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["."]
testpaths = ["tests"]

[tool.coverage.run]
source = ["app"]
"""


def _project(write: Write, commit: Commit, coverage_config: str = "") -> str:
    write("pyproject.toml", PYPROJECT + coverage_config)
    write("app/__init__.py", "")
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]
        """,
    )
    write(
        "tests/test_users.py",
        """
        from app.users import name

        def test_name():
            assert name({"name": "ann"}) == "ann"
        """,
    )
    return commit("base")


def test_it_passes_when_every_new_line_is_covered(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]

        def greet(user):
            text = "hello " + name(user)
            return text
        """,
    )
    write(
        "tests/test_greet.py",
        """
        from app.users import greet

        def test_greet():
            assert greet({"name": "ann"}) == "hello ann"
        """,
    )
    commit("greet")
    result, item = run_pbe("--pbe-base", base)
    assert item["status"] == "passed", item
    assert item["metrics"]["new_lines"] == 3
    assert item["metrics"]["new_lines_covered"] == 3
    assert item["metrics"]["new_code_percent"] == 100.0
    assert item["metrics"]["total_percent"] > 0
    assert item["findings"] == []
    assert result.ret == 0


def test_it_reports_uncovered_new_lines_as_one_finding_per_run(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]

        def greet(user):
            if not user:
                raise ValueError("no user")
            text = "hello " + name(user)
            return text

        def unused(a, b):
            c = a + b
            return c
        """,
    )
    commit("greet")
    result, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "failed"
    findings = [(f["path"], f["line"], f["end_line"], f["rule"]) for f in item["findings"]]
    assert findings == [
        ("app/users.py", 5, 8, "uncovered"),
        ("app/users.py", 11, 12, "uncovered"),
    ]
    assert item["findings"][0]["message"] == "new lines 5-8 are not executed by any test"
    assert item["metrics"]["new_lines"] == 8
    assert item["metrics"]["new_lines_covered"] == 2  # the two `def` lines run at import
    assert item["metrics"]["new_code_percent"] == 25.0
    assert item["metrics"]["files"]["app/users.py"]["new_lines"] == 8
    assert result.ret == 6
    result.stdout.fnmatch_lines(["*app/users.py:5-8*"])


def test_a_change_to_a_continuation_line_counts_its_statement_once(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    write(
        "app/calc.py",
        """
        def total(items):
            return sum(
                item
                for item in items
            )

        def never(items):
            return max(
                items,
            )
        """,
    )
    base = _project(write, commit)
    # Only the continuation lines change: each statement counts once, by its first line.
    write(
        "app/calc.py",
        """
        def total(items):
            return sum(
                item * 1
                for item in items
            )

        def never(items):
            return max(
                items, default=0,
            )
        """,
    )
    write(
        "tests/test_calc.py",
        "from app.calc import total\n\ndef test_total():\n    assert total([1]) == 1\n",
    )
    commit("tweak")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["metrics"]["new_lines"] == 2
    assert item["metrics"]["new_lines_covered"] == 1
    assert [(f["line"], f["end_line"]) for f in item["findings"]] == [(8, 10)]
    assert item["findings"][0]["message"] == "new lines 8-10 are not executed by any test"


def test_excluded_lines_never_count(write: Write, commit: Commit, run_pbe: RunPbe) -> None:
    base = _project(
        write,
        commit,
        '\n[tool.coverage.report]\nexclude_also = ["if TYPE_CHECKING:", "def __repr__"]\n',
    )
    write(
        "app/users.py",
        """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            import os

        def name(user):
            return user["name"]

        def debug():  # pragma: no cover
            print("debug")

        class User:
            def __repr__(self):
                return "User()"
        """,
    )
    # The new "# pragma: no cover" is what this test is about: acknowledged, not silent.
    commit("excluded\n\nPBE-Loosen: coverage: debug() is excluded from coverage on purpose")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "passed", item
    # The typing import and the class line; the excluded blocks and their bodies never count.
    assert item["metrics"]["new_lines"] == 2
    assert item["metrics"]["new_code_percent"] == 100.0
    assert item["metrics"]["loosenings_acknowledged"] == 1


def test_a_new_module_no_test_imports_counts_as_uncovered_and_says_why(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write("app/orphan.py", "def lonely():\n    return 1\n\nVALUE = lonely()\n")
    commit("orphan")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "failed"
    assert item["metrics"]["new_lines"] == 3
    assert item["metrics"]["new_lines_covered"] == 0
    assert item["metrics"]["files"]["app/orphan.py"]["measured"] is False
    assert item["metrics"]["files"]["app/orphan.py"]["reason"] == "never imported by a test"
    (finding,) = item["findings"]
    assert (finding["path"], finding["line"], finding["end_line"]) == ("app/orphan.py", 1, 4)
    assert finding["message"].endswith("(never imported by a test)")


def test_a_file_outside_the_configured_source_counts_as_uncovered(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write("tools/helper.py", "def helps():\n    return 2\n")
    write(
        "tests/test_helper.py",
        "from tools.helper import helps\n\ndef test_it():\n    assert helps() == 2\n",
    )
    commit("tools")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    entry = item["metrics"]["files"]["tools/helper.py"]
    assert entry["measured"] is False
    assert entry["reason"] == "outside [tool.coverage.run] source"
    assert item["metrics"]["new_lines_covered"] == 0
    assert item["status"] == "failed"


def test_omitted_files_are_not_judged(write: Write, commit: Commit, run_pbe: RunPbe) -> None:
    base = _project(write, commit, 'omit = ["app/generated_*.py"]\n')
    write("app/generated_api.py", "def api():\n    return 3\n")
    commit("generated")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "passed", item
    assert item["metrics"]["new_code_percent"] is None
    assert item["summary"].startswith("no new executable code")


def test_only_source_files_are_judged_not_tests(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write(
        "tests/test_more.py", "def test_more():\n    assert True\n\ndef helper():\n    return 1\n"
    )
    commit("tests only")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "passed"
    assert item["metrics"]["new_code_percent"] is None
    assert item["metrics"]["new_lines"] == 0


def test_partly_taken_branches_count_as_partly_covered(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit, "branch = true\n")
    write(
        "app/users.py",
        """
        def name(user):
            return user["name"]

        def label(user):
            if user.get("admin"):
                return "admin"
            return "user"
        """,
    )
    write(
        "tests/test_label.py",
        "from app.users import label\n\ndef test_it():\n    assert label({}) == 'user'\n",
    )
    commit("label")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    metrics = item["metrics"]
    assert metrics["branch"] is True
    assert metrics["new_lines"] == 4
    assert metrics["new_lines_partial"] == 1
    assert metrics["new_lines_covered"] == 2  # def, return "user"
    # def 1 + if 1/2 + return "admin" 0 + return "user" 1 = 2.5 of 4
    assert metrics["new_code_percent"] == 62.5
    rules = sorted((f["rule"], f["line"]) for f in item["findings"])
    assert rules == [("partial", 5), ("uncovered", 6)]
    partial = next(f for f in item["findings"] if f["rule"] == "partial")
    assert partial["message"] == "new line 5 is only partly covered: it never jumped to line 6"


def test_it_never_rounds_up_across_the_threshold(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    body = "".join(f"def f{n}():\n    return {n}\n\n" for n in range(2000))
    write("app/many.py", body + "def missed():\n    return -1\n")
    write(
        "tests/test_many.py",
        "import app.many as m\n\ndef test_all():\n"
        + "".join(f"    assert m.f{n}() == {n}\n" for n in range(2000)),
    )
    commit("many")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["metrics"]["new_lines"] == 4002
    assert item["metrics"]["new_lines_covered"] == 4001
    assert item["metrics"]["new_code_percent"] == 99.97
    assert item["status"] == "failed"

    # 4001/4002 = 99.97501...%: enough for 99.975, not for 99.98 (no rounding either way).
    _, item = run_pbe(
        "--pbe-base", base, "--pbe-total-coverage", "0", "--pbe-new-code-coverage", "99.975"
    )
    assert item["status"] == "passed"
    _, item = run_pbe(
        "--pbe-base", base, "--pbe-total-coverage", "0", "--pbe-new-code-coverage", "99.98"
    )
    assert item["status"] == "failed"


def test_a_changed_file_coverage_cannot_parse_ends_in_error_not_a_pass(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    base = _project(write, commit)
    write("app/broken.py", "def oops(:\n    pass\n")
    commit("broken")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "error"
    assert "app/broken.py" in item["summary"]


def test_per_path_thresholds_judge_each_matching_file_on_its_own(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    # The per-path rules are the base's (set up there, they are not a loosening of the
    # change); each run below keeps them or tightens them.
    ini = "[pytest]\npythonpath = .\ntestpaths = tests\npbe_coverage_paths =\n"
    write("pytest.ini", ini + "    app/** = 90\n    app/scripts/*.py = 70\n")
    base = _project(write, commit)
    write("app/scripts/tool.py", "def run():\n    return 1\n\ndef other():\n    return 2\n")
    write("tests/test_tool.py", "from app.scripts.tool import run\n\ndef test_run():\n    run()\n")
    commit("tool")
    # tool.py: 3 of 4 new lines covered (75%): enough for its own 70%, not for the default 100%.
    write("pytest.ini", "[pytest]\npythonpath = .\ntestpaths = tests\n")  # no per-path rules
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "failed"
    write("pytest.ini", ini + "    app/** = 90\n    app/scripts/*.py = 70\n")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "passed", item
    assert item["metrics"]["files"]["app/scripts/tool.py"]["threshold"] == 70
    write("pytest.ini", ini + "    app/scripts/*.py = 80\n")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "failed"
    assert "app/scripts/tool.py: 75% of new lines covered (need 80%" in item["summary"]


def test_the_summary_says_every_path_meets_its_threshold_when_per_path_rules_pass(
    write: Write, commit: Commit, run_pbe: RunPbe
) -> None:
    # The per-path rule is the base's: set up there, it is not a loosening of the change.
    ini = "[pytest]\npythonpath = .\ntestpaths = tests\npbe_coverage_paths =\n"
    write("pytest.ini", ini + "    app/scripts/*.py = 70\n")
    base = _project(write, commit)
    write("app/scripts/tool.py", "def run():\n    return 1\n\ndef other():\n    return 2\n")
    write("tests/test_tool.py", "from app.scripts.tool import run\n\ndef test_run():\n    run()\n")
    commit("tool")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "passed", item
    # 75% overall: the default 100% does not apply to these lines, so it is not claimed.
    assert item["summary"].startswith(
        "75% of 4 new lines covered; every path meets its threshold (pbe_coverage_paths)"
    )
    assert "need 100%" not in item["summary"]
    # Files no glob matches are held to pbe_new_code_coverage, and the summary says so.
    write("app/more.py", "def more():\n    return 1\n")
    commit("more")
    _, item = run_pbe("--pbe-base", base, "--pbe-total-coverage", "0")
    assert item["status"] == "failed"
    assert "outside pbe_coverage_paths: 0% of 2 new lines covered (need 100%)" in item["summary"]


def test_per_path_globs_also_match_paths_relative_to_a_service_rootdir(
    commit: Commit,
    pytester: pytest.Pytester,
    repo: Path,
    read_json: ReadJson,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A service's own config (rootdir services/billing) names its own paths.
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    example = Path(__file__).resolve().parents[2] / "examples" / "monorepo"
    shutil.copytree(example, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    with (repo / ".gitignore").open("a") as ignore:
        ignore.write("runpytest-current\n")
    commit("two services")
    monkeypatch.chdir(repo / "services" / "billing")  # pytest's rootdir: the service
    legacy = "services/billing/src/billing/legacy/csv_export.py"
    for glob in ("src/billing/legacy/** = 50", "services/billing/src/billing/legacy/** = 50"):
        report = repo / "r.json"
        report.unlink(missing_ok=True)  # an existing path argument would move pytest's rootdir
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--pbe-verify", "--pbe-checks", "tests,coverage",
            "--pbe-base", base, "--pbe-report-json", str(report),
            "-o", f"pbe_coverage_paths={glob}",
        )  # fmt: skip
        item = next(c for c in read_json(report)["checks"] if c["id"] == "coverage")
        assert item["metrics"]["files"][legacy]["threshold"] == 50, glob
        assert item["metrics"]["files"][legacy]["new_code_percent"] < 100
        assert item["status"] == "passed", (glob, result.stdout.str())
