"""The spine end to end: switching on, the ten items, statuses, exit codes, the JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ReadJson = Callable[[Path], dict[str, Any]]

IDS = [
    "tests",
    "coverage",
    "tdd",
    "types",
    "lint",
    "security",
    "errors",
    "leaks",
    "performance",
    "docs",
]
ONLY_TESTS = ("--pbe-checks", "tests")


def test_without_the_flag_output_and_exit_code_match_a_run_with_the_plugin_disabled(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n\ndef test_bad():\n    assert 0\n")
    with_plugin = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    without = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:pbe"
    )

    def body(lines: list[str]) -> list[str]:
        # The header names the loaded plugins and the footer the time: everything else must match.
        return [
            line for line in lines if not line.startswith(("plugins:", "=")) and " in " not in line
        ]

    assert with_plugin.ret == without.ret == 1
    assert body(with_plugin.outlines) == body(without.outlines)
    assert "pbe verification checklist" not in with_plugin.stdout.str()


def test_without_the_flag_the_engine_is_never_imported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys
        def test_engine_absent():
            loaded = sorted(m for m in sys.modules if m.startswith("pytest_pbe"))
            assert loaded == ["pytest_pbe", "pytest_pbe.hookspecs", "pytest_pbe.options",
                              "pytest_pbe.plugin"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cov")
    result.assert_outcomes(passed=1)


def test_it_reports_all_ten_items_in_the_contract_order(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--pbe-verify", "--pbe-report-json", "report.json")
    data = read_json(repo / "report.json")
    assert [c["id"] for c in data["checks"]] == IDS
    assert data["schema"] == "pytest-pbe/report/v1"
    result.stdout.fnmatch_lines(["*pbe verification checklist*", "[[]PASS*] tests*1 passed*"])


def test_a_failing_test_fails_the_tests_item_and_keeps_pytests_exit_code(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_bad="def test_bad():\n    assert 0\n")
    result = pytester.runpytest("--pbe-verify", *ONLY_TESTS, "--pbe-report-json", "r.json")
    assert result.ret == 1
    tests = read_json(repo / "r.json")["checks"][0]
    assert tests["status"] == "failed"
    assert tests["findings"][0]["rule"] == "failed"
    assert tests["findings"][0]["path"] == "test_bad.py"
    assert read_json(repo / "r.json")["passed"] is False


def test_a_session_that_ran_no_test_is_not_a_pass(repo: Path, pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.skip\ndef test_skipped():\n    pass\n")
    result = pytester.runpytest("--pbe-verify", *ONLY_TESTS)
    assert result.ret == 6
    result.stdout.fnmatch_lines(["*FAIL*tests*no test ran*", "pbe: NOT verified (exit 6)*tests*"])


def test_no_tests_collected_keeps_exit_code_five(repo: Path, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--pbe-verify", *ONLY_TESTS)
    assert result.ret == 5
    result.stdout.fnmatch_lines(["*FAIL*tests*no tests*"])


def test_an_error_in_a_fixture_counts_as_an_error(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.fixture
        def broken():
            yield
            raise RuntimeError("teardown broke")
        def test_uses(broken):
            pass
        """
    )
    pytester.runpytest("--pbe-verify", *ONLY_TESTS, "--pbe-report-json", "r.json")
    tests = read_json(repo / "r.json")["checks"][0]
    assert tests["status"] == "failed"
    assert tests["metrics"]["error"] == 1


def _item_plugin(status: str, *, required: bool = True, raises: bool = False) -> str:
    return f"""
import pytest
from pytest_pbe.checks.base import Check
from pytest_pbe.model import Finding, Status

class Custom(Check):
    id = "custom"
    title = "A team's own rule"
    default_required = {required}

    def evaluate(self, ctx):
        if {raises}:
            raise ValueError("boom")
        return self.result(Status("{status}"), "custom said {status}",
                           findings=[Finding("bad thing", path="a.py", line=3, rule="X1")])

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Custom()]
"""


@pytest.mark.parametrize(
    ("status", "required", "exit_code"),
    [
        ("passed", True, 0),
        ("skipped", True, 0),
        ("failed", True, 6),
        ("error", True, 7),
        ("failed", False, 0),
        ("error", False, 0),
    ],
)
def test_exit_status_follows_required_items(
    read_json: ReadJson,
    repo: Path,
    pytester: pytest.Pytester,
    status: str,
    required: bool,
    exit_code: int,
) -> None:
    pytester.makeconftest(_item_plugin(status, required=required))
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(
        "--pbe-verify", "--pbe-checks", "tests,custom", "--pbe-report-json", "r.json"
    )
    assert result.ret == exit_code
    data = read_json(repo / "r.json")
    assert [c["id"] for c in data["checks"]] == [*IDS, "custom"]
    custom = data["checks"][-1]
    assert (custom["status"], custom["required"]) == (status, required)
    assert data["passed"] is (exit_code == 0)


def test_an_item_that_raises_ends_in_error_with_the_reason_and_fails_the_run(
    repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(_item_plugin("passed", raises=True))
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--pbe-verify", "--pbe-checks", "tests,custom")
    assert result.ret == 7
    result.stdout.fnmatch_lines(["*ERROR*custom*internal error: ValueError: boom*--pbe-debug*"])
    assert "Traceback" not in result.stdout.str()
    debug = pytester.runpytest("--pbe-verify", "--pbe-checks", "tests,custom", "--pbe-debug")
    debug.stdout.fnmatch_lines(["*Traceback*", "*ValueError: boom*"])


def test_pbe_required_makes_docs_required_and_drops_others(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(_item_plugin("failed"))
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(
        "--pbe-verify",
        "--pbe-checks",
        "tests,custom,docs",
        "--pbe-required",
        "tests,docs",
        "--pbe-report-json",
        "r.json",
    )
    data = read_json(repo / "r.json")
    required = {c["id"]: c["required"] for c in data["checks"]}
    assert required["docs"] is True
    assert required["custom"] is False
    assert required["coverage"] is False
    assert result.ret in (0, 6, 7)  # docs' own verdict decides; custom no longer does
    assert data["checks"][-1]["status"] == "failed"


BACKGROUND_START = """
import os, sys, threading, time
import pytest
from pytest_pbe.checks.base import Check
from pytest_pbe.model import Status

if os.environ.get("OTHER_MONITORING_TOOL"):  # as if someone measured with sys.monitoring
    sys.monitoring.use_tool_id(4, "another tool")

class Slow(Check):
    id = "slow"
    title = "Starts in the background"
    start_in_background = True
    def start(self, ctx):
        self.thread = threading.current_thread() is not threading.main_thread()
        # Collection imports the test module (which writes the flag) while this runs.
        flag = ctx.rootdir / "collected.flag"
        deadline = time.monotonic() + float(os.environ.get("FLAG_WAIT", "10"))
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.beside_collection = flag.exists()
        time.sleep(0.3)  # still going when collection ends
        self.done = True
        (ctx.rootdir / "slow.done").write_text("done")
    def evaluate(self, ctx):
        ok = getattr(self, "done", False) and self.thread
        return self.result(
            Status.PASSED if ok else Status.FAILED,
            f"beside_collection={self.beside_collection}",
        )

class Plain(Check):
    id = "plain"
    title = "Starts on the main thread"
    def start(self, ctx):
        self.main = threading.current_thread() is threading.main_thread()
    def evaluate(self, ctx):
        return self.result(Status.PASSED if self.main else Status.FAILED, f"main={self.main}")

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Slow(), Plain()]
"""

FLAG_AND_WAIT = (
    "import pathlib\n\npathlib.Path('collected.flag').write_text('imported')\n\n"
    "def test_the_start_was_over_when_this_test_ran():\n"
    "    assert pathlib.Path('slow.done').exists()\n"
)


def test_a_background_start_runs_on_a_thread_beside_collection_and_ends_before_the_first_test(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    # Built-in items start git and their tools this way; a third-party item opts in. It
    # runs while pytest collects, and is over before the first test runs.
    pytester.makeconftest(BACKGROUND_START)
    pytester.makepyfile(FLAG_AND_WAIT)
    result = pytester.runpytest(
        "--pbe-verify", "--pbe-checks", "tests,slow,plain", "--pbe-report-json", "r.json"
    )
    checks = {c["id"]: c for c in read_json(repo / "r.json")["checks"]}
    assert checks["slow"]["status"] == "passed", checks["slow"]
    assert checks["slow"]["summary"] == "beside_collection=True"
    assert checks["plain"]["status"] == "passed", checks["plain"]
    assert result.ret == 0


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring is Python 3.12+")
def test_under_a_sys_monitoring_tool_the_background_starts_end_before_collection(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sys.monitoring tool (coverage.py's sysmon core) sees every thread: ours cannot be
    # kept out of it, so they do not run while collection imports the project.
    monkeypatch.setenv("OTHER_MONITORING_TOOL", "1")
    monkeypatch.setenv("FLAG_WAIT", "1")
    pytester.makeconftest(BACKGROUND_START)
    pytester.makepyfile(FLAG_AND_WAIT)
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,slow,plain", "--pbe-report-json", "r.json"
    )
    checks = {c["id"]: c for c in read_json(repo / "r.json")["checks"]}
    assert checks["slow"]["summary"] == "beside_collection=False", checks["slow"]
    assert result.ret == 0


UNTRACED_START = """
import sys
import pytest
from pytest_pbe.checks.base import Check
from pytest_pbe.model import Status

class Untraced(Check):
    id = "untraced"
    title = "Starts untraced"
    needs = frozenset({"coverage"})
    start_in_background = True
    def start(self, ctx):
        self.tracer = repr(sys.gettrace())
    def evaluate(self, ctx):
        ok = self.tracer == "None"
        return self.result(Status.PASSED if ok else Status.FAILED, f"tracer={self.tracer}")

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Untraced()]
"""


def test_a_background_start_is_not_traced_by_coverage(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    # Our own threads run no project code: traced, they cost coverage.py's tracer for
    # nothing, and its tracer, on meeting a changed sys.path, re-imports the measured
    # packages in a window that can make a concurrent import of the project fail.
    # Not even for a moment: coverage.py never installs a tracer in a thread of ours, so
    # the main thread's is the only one when the tests run (they start no thread).
    pytester.makeconftest(UNTRACED_START)
    pytester.makepyfile(
        "import pathlib\nimport coverage\n\n"
        "def test_count_the_tracers():\n"
        "    tracers = coverage.Coverage.current()._collector.tracers\n"
        "    pathlib.Path('tracers.txt').write_text(str(len(tracers)))\n"
    )
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,coverage,tdd,untraced", "--pbe-report-json", "r.json"
    )
    checks = {c["id"]: c for c in read_json(repo / "r.json")["checks"]}
    assert checks["coverage"]["status"] != "error", checks["coverage"]
    assert checks["untraced"]["status"] == "passed", checks["untraced"]["summary"]
    assert (repo / "tracers.txt").read_text() == "1"
    assert result.ret in (0, 6)


def test_findings_are_capped_in_the_terminal_and_complete_with_verbose(
    repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        """
import pytest
from pytest_pbe.checks.base import Check
from pytest_pbe.model import Finding, Status

class Many(Check):
    id = "many"
    title = "Many findings"
    def evaluate(self, ctx):
        return self.result(Status.FAILED, "25 problems",
            findings=[Finding(f"problem {n}", path="m.py", line=n) for n in range(1, 26)])

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Many()]
"""
    )
    pytester.makepyfile("def test_ok():\n    pass\n")
    quiet = pytester.runpytest("--pbe-verify", "--pbe-checks", "tests,many")
    quiet.stdout.fnmatch_lines(["*m.py:10  problem 10", "*... 15 more*"])
    assert "problem 11" not in quiet.stdout.str()
    verbose = pytester.runpytest("--pbe-verify", "--pbe-checks", "tests,many", "-v")
    verbose.stdout.fnmatch_lines(["*m.py:25  problem 25"])


def test_the_amend_hook_can_change_a_result_but_not_remove_a_builtin(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        """
import dataclasses
import pytest

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_amend_results(config, results):
    results[:] = [dataclasses.replace(r, summary=r.summary + " (amended)") for r in results
                  if r.id != "docs"]

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_report(config, report):
    print("REPORT SEEN", len(report.checks))
"""
    )
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--pbe-verify", *ONLY_TESTS, "-s", "--pbe-report-json", "r.json")
    data = read_json(repo / "r.json")
    assert [c["id"] for c in data["checks"]] == IDS
    assert data["checks"][0]["summary"].endswith("(amended)")
    docs = data["checks"][-1]
    assert docs["status"] == "error"
    assert "removed by a pytest_pbe_amend_results hook" in docs["summary"]
    result.stdout.fnmatch_lines(["*REPORT SEEN 10"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-o", "pbe_new_code_coverage=lots"],
            "*pbe_new_code_coverage: expected a percentage*'lots'*",
        ),
        (
            ["--pbe-new-code-coverage", "101"],
            "*--pbe-new-code-coverage: expected a percentage*'101'*",
        ),
        (["--pbe-checks", "tests,nonsense"], "*--pbe-checks: unknown checklist item 'nonsense'*"),
        (["-o", "pbe_required=typo"], "*pbe_required: unknown checklist item 'typo'*"),
        (["--pbe-filter", "some"], "*--pbe-filter: expected one of added, file, all, got 'some'*"),
        (["--pbe-tdd", "maybe"], "*--pbe-tdd: expected one of order, strict, replay, off*"),
        (["-o", "pbe_max_test_seconds=-1"], "*pbe_max_test_seconds: expected a positive number*"),
        (["--pbe-base=--upload-pack=evil"], "*refusing base '--upload-pack=evil'*"),
        (
            ["--pbe-report-json", "no/such/dir/r.json"],
            "*--pbe-report-json: cannot write*does not exist*",
        ),
        (["-o", "pbe_coverage_paths=src/*"], "*pbe_coverage_paths: expected 'glob = percent'*"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_option_and_value(
    repo: Path, pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--pbe-verify", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_the_flag_wins_over_the_ini_option(repo: Path, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npbe_checks = nonsense\n")
    pytester.makepyfile("def test_ok():\n    pass\n")
    assert pytester.runpytest("--pbe-verify").ret == pytest.ExitCode.USAGE_ERROR
    assert pytester.runpytest("--pbe-verify", "--pbe-checks", "tests").ret == 0


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("pytest.ini", "[pytest]\npbe_checks = tests\npbe_verify = true\n"),
        ("tox.ini", "[pytest]\npbe_checks = tests\npbe_verify = true\n"),
        ("setup.cfg", "[tool:pytest]\npbe_checks = tests\npbe_verify = true\n"),
        (
            "pyproject.toml",
            '[tool.pytest.ini_options]\npbe_checks = ["tests"]\npbe_verify = true\n',
        ),
    ],
)
def test_settings_are_read_from_every_pytest_config_file(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester, filename: str, content: str
) -> None:
    (repo / filename).write_text(content)
    # Committed at the base: the same settings in the judged change would be loosenings.
    subprocess.run(["git", "add", filename], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "settings"], cwd=repo, check=True)
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--pbe-report-json", "r.json")
    statuses = {c["id"]: c["status"] for c in read_json(repo / "r.json")["checks"]}
    assert statuses["tests"] == "passed"
    assert statuses["coverage"] == "skipped"
    assert result.ret == 0


def test_an_unwritable_report_path_is_a_clear_error_and_a_nonzero_exit(
    repo: Path, pytester: pytest.Pytester
) -> None:
    target = repo / "locked"
    target.mkdir()
    (target / "r.json").mkdir()  # a directory where the file should go: cannot be replaced
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--pbe-verify", *ONLY_TESTS, "--pbe-report-json", "locked/r.json")
    assert result.ret == 7
    result.stdout.fnmatch_lines(["*cannot write the JSON report to*r.json*"])
    assert "Traceback" not in result.stdout.str()


def test_the_json_report_is_complete_and_written_atomically(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.runpytest("--pbe-verify", *ONLY_TESTS, "--pbe-report-json", "r.json")
    data = read_json(repo / "r.json")
    assert set(data) >= {"schema", "passed", "base", "head", "checks"}
    for check in data["checks"]:
        assert set(check) >= {"id", "title", "status", "required", "summary", "metrics", "findings"}
    assert [p.name for p in repo.iterdir() if p.name.startswith(".r.json")] == []


def test_the_sessions_heap_is_frozen_for_the_collector_only_while_pbe_sets_up_and_judges(
    repo: Path, pytester: pytest.Pytester
) -> None:
    # Setting up (importing the plugin) and judging allocate a lot; the full collections
    # that triggers would walk every object the session has (hundreds of milliseconds on a
    # big suite; 25 ms at set-up on the bench project). They are set aside, then put back.
    pytester.makeconftest(
        """
import gc, json
import pytest

seen = {"at start": gc.get_freeze_count()}

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    seen["while setting up"] = gc.get_freeze_count()
    return []

def pytest_sessionstart(session):
    seen["at session start"] = gc.get_freeze_count()

def pytest_runtest_call(item):
    seen["during the tests"] = gc.get_freeze_count()

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_amend_results(config, results):
    seen["while judging"] = gc.get_freeze_count()

def pytest_unconfigure(config):
    seen["after"] = gc.get_freeze_count()
    with open("seen.json", "w") as f:
        json.dump(seen, f)
"""
    )
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.runpytest_subprocess("--pbe-verify", "--pbe-checks", "tests")
    seen = json.loads((repo / "seen.json").read_text())
    # Python 3.12 starts with a few hundred frozen, which a later unfreeze releases too.
    assert seen["while setting up"] > seen["at start"] + 1000
    assert seen["at session start"] <= seen["at start"]
    assert seen["during the tests"] <= seen["at start"]
    assert seen["while judging"] > seen["at start"] + 1000
    assert seen["after"] <= seen["at start"]


JUDGED_LAST = """
import pytest
from pytest_pbe.checks.base import Check
from pytest_pbe.model import Status

ORDER = []

class Waits(Check):
    id = "waits"
    title = "Waits for work done beside the others' judging"
    judged_last = True
    def evaluate(self, ctx):
        ORDER.append(self.id)
        return self.result(Status.PASSED, " ".join(ORDER))

class Quick(Check):
    id = "quick"
    title = "Judged in its turn"
    def evaluate(self, ctx):
        ORDER.append(self.id)
        return self.result(Status.PASSED, " ".join(ORDER))

@pytest.hookimpl(optionalhook=True)
def pytest_pbe_register_checks(config):
    return [Waits(), Quick()]
"""


def test_an_item_judged_last_is_judged_after_the_others_and_listed_in_its_place(
    read_json: ReadJson, repo: Path, pytester: pytest.Pytester
) -> None:
    # The coverage item waits for the total the parsing child computes while the other
    # items are judged; the checklist keeps the contract's order all the same.
    pytester.makeconftest(JUDGED_LAST)
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.runpytest(
        "--pbe-verify", "--pbe-checks", "tests,waits,quick", "--pbe-report-json", "r.json"
    )
    checks = read_json(repo / "r.json")["checks"]
    ids = [c["id"] for c in checks]
    assert ids.index("waits") < ids.index("quick")
    by_id = {c["id"]: c for c in checks}
    assert by_id["quick"]["summary"] == "quick"
    assert by_id["waits"]["summary"] == "quick waits"
