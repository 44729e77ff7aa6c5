"""How the watcher rides each test: two of its hooks a test, and its records only on the
teardown report (the test's own user properties left as the test made them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

CONFTEST = """
import json
import pytest

SEEN = []
CALLS = {}

def pytest_configure(config):
    def before(hook_name, hook_impls, kwargs):
        if hook_name.startswith("pytest_runtest_"):
            for impl in hook_impls:
                if type(impl.plugin).__name__ == "LeakWatcher":
                    CALLS[hook_name] = CALLS.get(hook_name, 0) + 1

    def after(outcome, hook_name, hook_impls, kwargs):
        pass

    config.pluginmanager.add_hookcall_monitoring(before, after)

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    result = yield
    SEEN.append(["after", item.name, [name for name, _ in item.user_properties]])
    return result

def pytest_runtest_logreport(report):
    name = report.nodeid.rsplit("::", 1)[-1]
    SEEN.append([report.when, name, [name for name, _ in report.user_properties]])

def pytest_sessionfinish(session):
    with open("seen.json", "w") as out:
        json.dump({"seen": SEEN, "calls": CALLS}, out)
"""

TESTS = """
def test_records(record_property, tmp_path):
    global KEPT
    record_property("mine", 1)
    KEPT = open(tmp_path / "kept.txt", "w")

def test_clean():
    pass

def test_zz_cleanup():
    KEPT.close()
"""


def test_the_leak_records_ride_the_teardown_report_only(
    pytester: pytest.Pytester, run_leaks: Any
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_hooked=TESTS)
    _result, item = run_leaks()
    [finding] = item["findings"]
    assert finding["message"].startswith("test_hooked.py::test_records leaked: file descriptor")
    data = json.loads((pytester.path / "seen.json").read_text("utf-8"))
    seen = [(entry[0], entry[1], entry[2]) for entry in data["seen"]]
    assert seen[:4] == [
        ("setup", "test_records", []),
        ("call", "test_records", ["mine"]),
        ("teardown", "test_records", ["mine", "pbe_leak"]),
        ("after", "test_records", ["mine"]),  # the item's own, as the test left them
    ]
    assert all(props == [] for _when, name, props in seen if name != "test_records")
    # Per test: the protocol (to open the watch) and the teardown (to close it), nothing
    # at the setup, call and teardown reports.
    assert data["calls"] == {"pytest_runtest_protocol": 3, "pytest_runtest_teardown": 3}
