"""The session facts recorded from every report beside the leak watcher: each test's outcome
from its three reports, its durations and its place, and the leak records its teardown
report carries (the ``leaks`` item reads them from there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SUITE = """
import threading
import pytest

STOP = threading.Event()

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup breaks")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown breaks")

def test_passes():
    pass

def test_fails():
    assert False

def test_setup_error(broken_setup):
    pass

def test_teardown_error(broken_teardown):
    pass

def test_fails_and_teardown_error(broken_teardown):
    assert False

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

def test_skips_inside():
    pytest.skip("inside")

@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False

@pytest.mark.xfail(reason="known", run=False)
def test_xfail_not_run():
    pass

@pytest.mark.xfail(reason="fixed meanwhile")
def test_xpasses():
    pass

@pytest.mark.xfail(reason="fixed meanwhile", strict=True)
def test_xpasses_strictly():
    pass

def test_leaks_a_thread():
    threading.Thread(target=STOP.wait, args=(30,), name="kept", daemon=True).start()

def test_zz_cleanup():
    STOP.set()
"""


def test_each_tests_outcome_comes_from_its_three_reports(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(test_facts=SUITE)
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--pbe-verify",
        "--pbe-checks", "tests,leaks,performance", "--pbe-report-json", "r.json",
    )  # fmt: skip
    report = read_json(repo / "r.json")
    checks = {c["id"]: c for c in report["checks"]}
    metrics = checks["tests"]["metrics"]
    assert {k: metrics[k] for k in metrics if k != "collection_errors"} == {
        "ran": 11,
        "passed": 3,  # passes, leaks_a_thread (its leak is the leaks item's), zz_cleanup
        "failed": 2,  # fails, xpasses_strictly (a strict xpass is reported failed)
        "error": 3,  # setup_error, teardown_error, fails_and_teardown_error
        "skipped": 2,  # skipped (in setup), skips_inside (in the call)
        "xfailed": 2,  # xfails (in the call), xfail_not_run (in setup)
        "xpassed": 1,
    }
    outcomes = {
        f["message"].split("::")[1].split(" ")[0]: f["rule"] for f in checks["tests"]["findings"]
    }
    assert outcomes == {
        "test_fails": "failed",
        "test_setup_error": "error",
        "test_teardown_error": "error",
        "test_fails_and_teardown_error": "error",
        "test_xpasses_strictly": "failed",
    }
    leaks = checks["leaks"]
    [finding] = leaks["findings"]
    assert finding["message"].startswith("test_facts.py::test_leaks_a_thread leaked: ")
    assert (finding["path"], finding["line"]) == ("test_facts.py", 53)  # the test's def
    assert leaks["metrics"]["tests_watched"] == 13
