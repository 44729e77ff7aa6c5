"""Trust, point 2: a loosening committed in the judged range is never silent.

Each test commits a loosening on the feature branch of a real project and runs a real
``pytest --pbe-verify`` session: without a ``PBE-Loosen:`` trailer the item it weakens
fails with a finding naming the setting and the file; with one the item is judged as
loosened and the report lists the loosening as acknowledged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_pbe.report.__main__ import main as report_main

Report = dict[str, Any]
Project = Any  # tests/reliability/conftest.py's Project
PYTEST_INI = "[pytest]\npythonpath = src\ntestpaths = tests\n"  # the project's own


def item(report: Report | None, check_id: str) -> dict[str, Any]:
    assert report is not None, "no JSON report was written"
    found: dict[str, Any] = next(c for c in report["checks"] if c["id"] == check_id)
    return found


def _loosened(project: Project, ini_lines: str, *, trailer: str = "") -> None:
    project.write("pytest.ini", PYTEST_INI + ini_lines)
    message = "chore: settings"
    if trailer:
        message += f"\n\nPBE-Loosen: {trailer}"
    project.commit(message)


def _refused(
    report: Report | None, check_id: str, setting: str, *, unjudgeable: bool = False
) -> dict[str, Any]:
    found = item(report, check_id)
    # An item that could not judge what is left stays in error, with the loosening named.
    assert found["status"] == ("error" if unjudgeable else "failed"), found
    assert found["required"] is True
    assert setting in found["summary"], found["summary"]
    assert f"PBE-Loosen: {check_id}:" in found["summary"]
    named = [f for f in found["findings"] if f["rule"] in ("loosening", "suppression")]
    assert named, found["findings"]
    assert all(f["severity"] == "error" for f in named)
    assert report is not None
    listed = [x for x in report["loosenings"] if x["item"] == check_id]
    assert listed
    assert not any(x["acknowledged"] for x in listed)
    return found


# (the base's extra ini lines, the change's, the item weakened, the setting named)
INI_VECTORS = [
    ("", "pbe_exclude = src/app/calc.py\n", "coverage", "pbe_exclude"),
    ("pbe_include = src\n", "pbe_include = src/app/__init__.py\n", "coverage", "pbe_include"),
    ("", "pbe_skip = coverage\n", "coverage", "pbe_skip"),
    ("", "addopts = --pbe-skip=coverage\n", "coverage", "pbe_skip"),
    ("", "pbe_required = tests\n", "coverage", "pbe_required"),
    ("", "pbe_new_code_coverage = 50\n", "coverage", "pbe_new_code_coverage"),
    ("pbe_total_coverage = 90\n", "pbe_total_coverage = 80\n", "coverage", "pbe_total_coverage"),
    ("", "pbe_coverage_paths = src/app/** = 10\n", "coverage", "pbe_coverage_paths"),
    ("", "pbe_test_files = test_*.py calc.py\n", "coverage", "pbe_test_files"),
    ("", "python_files = test_*.py calc.py\n", "coverage", "python_files"),
    ("", "pbe_include_uncommitted = false\n", "coverage", "pbe_include_uncommitted"),
    ("", "pbe_tdd = off\n", "tdd", "pbe_tdd"),
    ("", "pbe_tdd_exclude = src/app/*\n", "tdd", "pbe_tdd_exclude"),
    ("", "pbe_generated_markers = def \n", "tdd", "pbe_generated_markers"),
    ("pbe_filter = file\n", "pbe_filter = added\n", "lint", "pbe_filter"),
    ("", "pbe_bandit_severity = high\n", "security", "pbe_bandit_severity"),
    ("", "pbe_bandit_confidence = high\n", "security", "pbe_bandit_confidence"),
    ("", "pbe_leaks_ignore = *\n", "leaks", "pbe_leaks_ignore"),
    ("", "pbe_max_test_seconds = 500\n", "performance", "pbe_max_test_seconds"),
    ("pbe_max_session_seconds = 60\n", "", "performance", "pbe_max_session_seconds"),
    ("", "pbe_benchmark_regression = 90\n", "performance", "pbe_benchmark_regression"),
]


@pytest.mark.parametrize(
    ("before", "after", "check_id", "setting"),
    INI_VECTORS,
    ids=[f"{v[3]}-{n}" for n, v in enumerate(INI_VECTORS)],
)
def test_pbe_setting_loosened_without_trailer_fails_its_item(
    project: Project, before: str, after: str, check_id: str, setting: str
) -> None:
    if before:  # the stricter setting is the base's own
        project.git("checkout", "-q", "main")
        _loosened(project, before)
        project.base = project.git("rev-parse", "HEAD")
        project.git("checkout", "-q", "feature")
        project.git("rebase", "-q", "main")
    _loosened(project, after)  # the change's own lines replace the base's
    _, report = project.run(checks=f"tests,{check_id}")
    found = _refused(report, check_id, setting)
    assert any("pytest.ini" in f["message"] for f in found["findings"])


def test_pbe_checks_narrowed_in_the_ini_fails_the_items_it_left_out(project: Project) -> None:
    # Run without --pbe-checks: that flag on the trusted command line would outrank it.
    _loosened(project, "pbe_checks = tests\n")
    others = "tdd,types,lint,security,errors,leaks,performance,docs"
    result = project.pytester.runpytest_subprocess(
        "--pbe-verify", f"--pbe-base={project.base}", "--pbe-skip", others,
        "--pbe-report-json", "r.json", "-p", "no:cacheprovider", timeout=300,
    )  # fmt: skip
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    _refused(report, "coverage", "pbe_checks")
    assert result.ret == 6


def test_pbe_setting_loosened_with_trailer_is_listed_as_acknowledged(
    project: Project,
) -> None:
    _loosened(project, "pbe_exclude = src/app/calc.py\n", trailer="coverage: calc is generated now")
    result, report = project.run("--pbe-report-md", "r.md", checks="tests,coverage")
    coverage = item(report, "coverage")
    assert coverage["status"] in ("passed", "skipped"), coverage
    assert coverage["metrics"]["loosenings_acknowledged"] == 1
    markdown = (project.path / "r.md").read_text(encoding="utf-8")
    assert "Acknowledged loosenings (1)" in markdown
    assert report_main([str(project.path / "r.json"), "--md", str(project.path / "again.md")]) == 0
    assert (project.path / "again.md").read_text(encoding="utf-8") == markdown
    assert report is not None
    assert report["loosenings"] == [
        {
            "item": "coverage",
            "setting": "pbe_exclude",
            "path": "pytest.ini",
            "line": None,
            "message": (
                "pbe_exclude in pytest.ini loosened: [] (none) at the merge-base, "
                "[src/app/calc.py] now"
            ),
            "blanket": True,
            "acknowledged": True,
            "reason": "calc is generated now",
        }
    ]
    result.stdout.fnmatch_lines(
        [
            "acknowledged loosenings (1):",
            "*coverage*pbe_exclude*(PBE-Loosen: calc is generated now)",
        ]
    )
    assert result.ret == 0


def test_a_trailer_for_another_item_acknowledges_nothing(project: Project) -> None:
    _loosened(project, "pbe_exclude = src/app/calc.py\n", trailer="lint: not this one")
    _, report = project.run(checks="tests,coverage")
    _refused(report, "coverage", "pbe_exclude")


def test_a_stricter_setting_is_no_loosening(project: Project) -> None:
    _loosened(
        project,
        "pbe_total_coverage = 95\npbe_tool_timeout = 30\npbe_filter = all\n"
        "pbe_coverage_paths = src/** = 100\n",
    )
    result, report = project.run(checks="tests,coverage")
    assert item(report, "coverage")["status"] == "passed"
    assert report is not None
    assert report["loosenings"] == []
    assert result.ret == 0


def test_the_trusted_command_line_outranks_a_committed_setting(project: Project) -> None:
    _loosened(project, "pbe_new_code_coverage = 50\n")
    _, report = project.run("--pbe-new-code-coverage=100", checks="tests,coverage")
    assert item(report, "coverage")["status"] == "passed"
    assert report is not None
    assert report["loosenings"] == []


def test_uncommitted_loosening_is_acknowledged_by_the_command_line_only(
    project: Project,
) -> None:
    project.write("pytest.ini", PYTEST_INI + "pbe_exclude = src/app/calc.py\n")
    _, report = project.run(checks="tests,coverage")
    _refused(report, "coverage", "pbe_exclude")
    result, report = project.run(
        "--pbe-loosen", "coverage: local experiment", checks="tests,coverage"
    )
    assert item(report, "coverage")["status"] in ("passed", "skipped")
    assert report is not None
    assert [x["reason"] for x in report["loosenings"]] == ["local experiment"]
    assert result.ret == 0


def test_a_loosening_setting_moved_to_a_new_config_file_is_seen(project: Project) -> None:
    # pyproject.toml at the base holds no pytest settings; the change adds them there and
    # removes pytest.ini, so pytest reads pyproject.toml now.
    project.git("rm", "-q", "pytest.ini")
    project.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\npythonpath = ["src"]\ntestpaths = ["tests"]\n'
        'pbe_exclude = ["src/app/calc.py"]\n',
    )
    project.commit("chore: pyproject")
    _, report = project.run(checks="tests,coverage")
    found = _refused(report, "coverage", "pbe_exclude")
    assert any("pyproject.toml" in f["message"] for f in found["findings"])


# --- suppressions on new lines ------------------------------------------------------------
BLANKET = (
    "\n\ndef triple(a: int) -> int:  # pragma: no cover\n"
    "    value: int = 'x' * a  # type: ignore\n"
    "    import os, sys  # noqa\n"
    "    assert a  # nosec\n"
    "    return value\n"
)


def test_blanket_suppressions_on_new_lines_fail_their_items(project: Project) -> None:
    project.append("src/app/calc.py", BLANKET)
    project.commit("feat: triple")
    _, report = project.run(checks="tests,coverage,types,lint,security")
    for check_id, name in [
        ("coverage", "# pragma: no cover"),
        ("types", "# type: ignore"),
        ("lint", "# noqa"),
        ("security", "# nosec"),
    ]:
        found = _refused(report, check_id, name)
        assert found["metrics"]["suppressions_added"] == 1
        assert any(f["path"] == "src/app/calc.py" for f in found["findings"])


CODED = (
    "\n\ndef triple(a: int) -> int:\n"
    "    value: int = 'x' * a  # type: ignore[assignment]\n"
    "    import os  # noqa: F401\n"
    "    assert a  # nosec B101\n"
    "    return value\n"
)
CODED_TEST = "\n\ndef test_triple():\n    from app.calc import triple\n\n    triple(1)\n"


def test_suppressions_naming_rule_codes_are_counted_and_listed(project: Project) -> None:
    project.append("tests/test_calc.py", CODED_TEST)
    project.commit("test: triple")
    project.append("src/app/calc.py", CODED)
    project.commit("feat: triple")
    _, report = project.run(checks="tests,types,lint,security")
    for check_id in ("types", "lint", "security"):
        found = item(report, check_id)
        assert found["status"] == "passed", found
        assert found["metrics"]["suppressions_added"] == 1
        warned = [f for f in found["findings"] if f["rule"] == "suppression"]
        assert [(f["severity"], f["line"]) for f in warned] == [("warning", warned[0]["line"])]
        assert warned[0]["path"] == "src/app/calc.py"


def test_blanket_suppression_with_trailer_is_acknowledged(project: Project) -> None:
    project.append(
        "src/app/calc.py", "\n\ndef debug_only() -> None:  # pragma: no cover\n    print(1)\n"
    )
    project.commit("feat: debug hook\n\nPBE-Loosen: coverage: debugging aid, never shipped")
    result, report = project.run(checks="tests,coverage")
    coverage = item(report, "coverage")
    assert coverage["status"] == "passed", coverage
    assert coverage["metrics"]["suppressions_added"] == 1
    assert report is not None
    assert [(x["setting"], x["acknowledged"]) for x in report["loosenings"]] == [
        ("# pragma: no cover", True)
    ]
    result.stdout.fnmatch_lines(["*coverage*# pragma: no cover*(PBE-Loosen: debugging aid*"])


def test_a_suppression_on_an_old_line_is_not_the_change_s(project: Project) -> None:
    project.git("checkout", "-q", "main")
    project.write("src/app/old.py", "import os  # noqa\n")
    project.commit("old noqa")
    project.base = project.git("rev-parse", "HEAD")
    project.git("checkout", "-q", "feature")
    project.git("rebase", "-q", "main")
    _, report = project.run(checks="tests,lint")
    assert item(report, "lint")["status"] == "passed"
    assert report is not None
    assert report["loosenings"] == []


# --- a source module renamed into a test file ---------------------------------------------
def test_source_module_renamed_to_a_test_file_fails_coverage_and_tdd(project: Project) -> None:
    project.git("checkout", "-q", "main")
    project.write("src/app/helpers.py", "def unused(a: int) -> int:\n    return a - 1\n")
    project.commit("helpers")
    project.base = project.git("rev-parse", "HEAD")
    project.git("checkout", "-q", "feature")
    project.git("rebase", "-q", "main")
    project.git("mv", "src/app/helpers.py", "src/app/test_helpers.py")
    project.commit("move helpers")
    _, report = project.run(checks="tests,coverage,tdd")
    for check_id in ("coverage", "tdd"):
        found = _refused(report, check_id, "renamed")
        assert any(f["path"] == "src/app/test_helpers.py" for f in found["findings"])


@pytest.mark.parametrize(
    "importer",
    ["from app.tests.logic import double\n", "from .tests.logic import double\n",
     "from .tests import logic\n", "import app.tests.logic\n"],
)  # fmt: skip
def test_code_in_a_test_directory_that_source_imports_fails_coverage_and_tdd(
    project: Project, importer: str
) -> None:
    # A directory named tests is test code (factories, utils): production code kept there,
    # and imported by the package, would be judged by nothing.
    project.write("src/app/tests/__init__.py", "")
    project.write("src/app/tests/logic.py", "def double(a: int) -> int:\n    return a * 2\n")
    project.write("src/app/uses.py", importer)
    project.commit("logic")
    _, report = project.run(checks="tests,coverage,tdd")
    for check_id in ("coverage", "tdd"):
        found = _refused(report, check_id, "which is judged as test code")
        assert any(f["path"] == "src/app/tests/logic.py" for f in found["findings"]), found


def test_test_helpers_only_tests_import_are_no_loosening(project: Project) -> None:
    project.write("tests/utils/factories.py", "def make() -> int:\n    return 1\n")
    project.write("src/app/plain.py", "import os\n")
    project.commit("factories")
    _, report = project.run(checks="tests,coverage,tdd")
    assert report is not None
    assert report["loosenings"] == []


# --- the tools' own configuration ---------------------------------------------------------
PYPROJECT = '[project]\nname = "app"\nversion = "0"\n'

# (file, the base's content or None, the change's, the item weakened, the setting named)
TOOL_VECTORS = [
    (".coveragerc", None, "[run]\nomit = src/app/calc.py\n", "coverage", "run.omit"),
    (
        "pyproject.toml",
        PYPROJECT,
        PYPROJECT + '[tool.coverage.report]\nexclude_also = ["def double"]\n',
        "coverage",
        "exclude_also",
    ),
    (
        "setup.cfg",
        None,
        "[coverage:report]\nexclude_lines =\n    return\n",
        "coverage",
        "coverage:report.exclude_lines",
    ),
    (".coveragerc", None, "[report]\npartial_branches = if\n", "coverage", "partial_branches"),
    (".coveragerc", "[run]\nsource = src\n", "[run]\nsource = src/nothing\n", "coverage", "source"),
    (".coveragerc", "[run]\nbranch = true\n", "[run]\nbranch = false\n", "coverage", "branch"),
    (
        ".coveragerc",
        "[report]\nfail_under = 90\n",
        "[report]\nfail_under = 10\n",
        "coverage",
        "fail_under",
    ),
    ("mypy.ini", None, "[mypy]\nignore_errors = True\n", "types", "mypy.ignore_errors"),
    (
        "setup.cfg",
        None,
        "[mypy-app.*]\nignore_errors = True\n",
        "types",
        "mypy-app.*.ignore_errors",
    ),
    (
        "pyproject.toml",
        PYPROJECT,
        PYPROJECT + '[[tool.mypy.overrides]]\nmodule = "app.*"\nignore_errors = true\n',
        "types",
        "overrides.app.*.ignore_errors",
    ),
    (
        "pyproject.toml",
        PYPROJECT,
        PYPROJECT + '[tool.mypy]\ndisable_error_code = ["assignment"]\n',
        "types",
        "disable_error_code",
    ),
    ("mypy.ini", "[mypy]\nstrict = True\n", "[mypy]\nstrict = False\n", "types", "mypy.strict"),
    ("mypy.ini", None, "[mypy]\nfollow_imports = skip\n", "types", "follow_imports"),
    ("mypy.ini", None, "[mypy]\nexclude = src/\n", "types", "mypy.exclude"),
    ("ruff.toml", None, 'extend-exclude = ["src/app/calc.py"]\n', "lint", "extend_exclude"),
    (
        "pyproject.toml",
        PYPROJECT,
        PYPROJECT + '[tool.ruff.lint]\nignore = ["F401"]\n',
        "lint",
        "lint.ignore",
    ),
    (
        "ruff.toml",
        None,
        '[lint.per-file-ignores]\n"src/**" = ["F"]\n',
        "lint",
        "lint.per_file_ignores.src/**",
    ),
    (
        "ruff.toml",
        '[lint]\nselect = ["E", "F"]\n',
        '[lint]\nselect = ["E"]\n',
        "lint",
        "lint.select",
    ),
    (
        "pyproject.toml",
        PYPROJECT,
        PYPROJECT + '[tool.bandit]\nskips = ["B101"]\n',
        "security",
        "skips",
    ),
    (
        "pyproject.toml",
        PYPROJECT,
        PYPROJECT + '[tool.bandit]\nexclude_dirs = ["src"]\n',
        "security",
        "exclude_dirs",
    ),
]


def _on_base(project: Project, path: str, text: str) -> None:
    """``text`` committed at the base; the feature branch rebased onto it."""
    project.git("checkout", "-q", "main")
    project.write(path, text)
    project.git("add", "-f", path)  # .coveragerc is ignored by the fixture's .gitignore
    project.commit(f"base: {path}")
    project.base = project.git("rev-parse", "HEAD")
    project.git("checkout", "-q", "feature")
    project.git("rebase", "-q", "main")


@pytest.mark.parametrize(
    ("path", "before", "after", "check_id", "setting"),
    TOOL_VECTORS,
    ids=[f"{v[0]}-{v[4]}" for v in TOOL_VECTORS],
)
def test_tool_setting_loosened_without_trailer_fails_its_item(
    project: Project, path: str, before: str | None, after: str, check_id: str, setting: str
) -> None:
    if before is not None:
        _on_base(project, path, before)
    project.write(path, after)
    project.git("add", "-f", path)
    project.commit(f"chore: {path}")
    _, report = project.run(checks=f"tests,{check_id}")
    # coverage.py measures nothing under a source that matches no file: no figures at all.
    found = _refused(report, check_id, setting, unjudgeable=setting == "source")
    assert any(f["path"] == path for f in found["findings"])


def test_tool_setting_loosened_with_trailer_is_acknowledged(project: Project) -> None:
    project.write("mypy.ini", "[mypy]\nignore_errors = True\n")
    project.commit("chore: mypy\n\nPBE-Loosen: types: vendored stubs are wrong")
    result, report = project.run(checks="tests,types")
    types = item(report, "types")
    assert types["status"] == "passed", types
    assert report is not None
    assert [(x["item"], x["setting"], x["reason"]) for x in report["loosenings"]] == [
        ("types", "mypy.ignore_errors", "vendored stubs are wrong")
    ]
    result.stdout.fnmatch_lines(["*types*mypy.ignore_errors*(PBE-Loosen: vendored stubs*"])


def test_a_stricter_tool_setting_is_no_loosening(project: Project) -> None:
    _on_base(project, "ruff.toml", '[lint]\nselect = ["E"]\n')
    project.write("ruff.toml", '[lint]\nselect = ["E", "F"]\nignore = []\n')
    project.write(".coveragerc", "[run]\nbranch = true\n")
    project.git("add", "-f", ".coveragerc")
    project.commit("chore: stricter")
    _, report = project.run(checks="tests,coverage,lint")
    assert report is not None
    assert report["loosenings"] == []
    assert item(report, "coverage")["status"] == "passed"


def test_an_unparsable_tool_config_ends_in_error_not_a_pass(project: Project) -> None:
    project.write("ruff.toml", "select = [\n")
    project.commit("chore: broken ruff.toml")
    _, report = project.run(checks="tests,coverage")
    coverage = item(report, "coverage")
    assert coverage["status"] == "error", coverage
    assert "ruff.toml" in coverage["summary"]
