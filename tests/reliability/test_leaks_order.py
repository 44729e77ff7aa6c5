"""The leaks item under pytest-randomly: a module fixture's thread is blamed on the test
that set the fixture up, whatever order the tests run in (its leak surfaces at the module's
end, in the last test's teardown, and travels with the name of its owner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = """
import threading
import pytest

@pytest.fixture(scope="module")
def server():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="server", daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join()

@pytest.fixture(scope="module")
def sloppy():
    stop = threading.Event()
    threading.Thread(target=stop.wait, args=(30,), name="sloppy", daemon=True).start()
    yield
"""
TESTS = {
    "first": "def test_first(server):\n    assert server.is_alive()\n",
    "second": "def test_second(server):\n    assert server.is_alive()\n",
    "sloppy": "def test_uses_sloppy(sloppy):\n    pass\n",
}


@pytest.mark.parametrize(
    "order",
    [
        ("first", "second", "sloppy"),
        ("first", "sloppy", "second"),
        ("sloppy", "first", "second"),
    ],
)
def test_a_module_fixtures_thread_is_blamed_on_the_test_that_set_it_up(
    pytester: pytest.Pytester, order: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_fixture=FIXTURES + "\n\n".join(TESTS[n] for n in order))
    pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,leaks", "--pbe-report-json", "r.json",
        "-p", "no:randomly", "-p", "no:cacheprovider",
    )  # fmt: skip
    report: dict[str, Any] = json.loads(Path(pytester.path / "r.json").read_text("utf-8"))
    leaks = next(c for c in report["checks"] if c["id"] == "leaks")
    [finding] = leaks["findings"]
    assert finding["message"].startswith("test_fixture.py::test_uses_sloppy leaked: "), finding
