"""The `leaks` item end to end: real leaks in real pytest sessions, attributed per test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_pbe.checks.leaks import is_ignored

Blamed = Callable[[dict[str, Any]], dict[str, set[str]]]

LEAKY_SUITE = """
import asyncio, gc, socket, subprocess, sys, threading
import pytest

STOP = threading.Event()
PROCESSES = []

def test_file(tmp_path):
    handle = open(tmp_path / "x.txt", "w")
    handle.write("x")

def test_socket():
    sock = socket.socket()

def test_thread():
    threading.Thread(target=STOP.wait, args=(30,), name="sleeper", daemon=True).start()

def test_process():
    PROCESSES.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))

def test_pending_task():
    loop = asyncio.new_event_loop()
    task = loop.create_task(asyncio.sleep(10))
    loop.close()
    del task
    gc.collect()

def test_coroutine():
    async def never():
        pass
    never()

def test_descriptor(tmp_path):
    global KEPT
    KEPT = open(tmp_path / "kept.txt", "w")

def test_unraisable():
    class Bad:
        def __del__(self):
            raise ValueError("in __del__")
    Bad()

def test_thread_exception():
    def boom():
        raise RuntimeError("thread boom")
    thread = threading.Thread(target=boom)
    thread.start()
    thread.join()

def test_clean(tmp_path):
    with open(tmp_path / "y.txt", "w") as handle:
        handle.write("y")
    worker = threading.Thread(target=lambda: None)
    worker.start()
    worker.join()
    subprocess.run([sys.executable, "-c", "pass"], check=True)

def test_zz_cleanup():
    STOP.set()
    for process in PROCESSES:
        process.kill()
        process.wait()
    KEPT.close()
"""


def test_it_attributes_each_kind_of_leak_to_the_test_that_made_it(
    pytester: pytest.Pytester, run_leaks: Any, blamed: Blamed
) -> None:
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    result, item = run_leaks()
    assert item["status"] == "failed"
    assert blamed(item) == {
        "test_file": {"resource-warning"},
        "test_socket": {"resource-warning"},
        "test_thread": {"thread"},
        "test_process": {"process"},
        "test_pending_task": {"task", "coroutine"},
        "test_coroutine": {"coroutine"},
        "test_descriptor": {"fd"},
        "test_unraisable": {"unraisable"},
        "test_thread_exception": {"thread-exception"},
    }
    by_rule = {f["rule"]: f for f in item["findings"]}
    assert by_rule["thread"]["path"] == "test_leaky.py"
    assert by_rule["thread"]["line"] == 14
    assert "'sleeper'" in by_rule["thread"]["message"]
    assert "child process pid" in by_rule["process"]["message"]
    assert "kept.txt" in by_rule["fd"]["message"]
    assert "PYTHONTRACEMALLOC" in by_rule["resource-warning"]["message"]
    assert item["metrics"]["tests_watched"] == 11
    # Not failures of the tests themselves: the suite still passes.
    result.assert_outcomes(passed=11, warnings=result.parseoutcomes()["warnings"])
    result.stdout.fnmatch_lines(["*FAIL*leaks*leak(s) in 9 test(s)*"])


def test_it_names_where_the_resource_was_created_under_tracemalloc(
    pytester: pytest.Pytester, run_leaks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_alloc="""
        def make(path):
            return open(path, "w")

        def test_file(tmp_path):
            handle = make(tmp_path / "x.txt")
        """
    )
    monkeypatch.setenv("PYTHONTRACEMALLOC", "10")
    _, item = run_leaks()
    [finding] = item["findings"]
    assert "(created at test_alloc.py:2)" in finding["message"]
    assert "unclosed file" in finding["message"]


def test_a_clean_suite_passes_and_keeps_the_users_warning_filters(
    pytester: pytest.Pytester, run_leaks: Any
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error::UserWarning\n")
    pytester.makepyfile(
        test_clean="""
        import warnings, pytest

        def test_reads(tmp_path):
            (tmp_path / "a").write_text("a")
            assert (tmp_path / "a").read_text() == "a"

        def test_user_filter_still_errors():
            with pytest.raises(UserWarning):
                warnings.warn("still an error", UserWarning)
        """
    )
    result, item = run_leaks(subprocess=False)
    result.assert_outcomes(passed=2)
    assert item["status"] == "passed", item
    assert item["summary"].startswith("no leaks in 2 tests")


def test_resource_warnings_stay_warnings_not_failures(
    pytester: pytest.Pytester, run_leaks: Any
) -> None:
    pytester.makepyfile(
        test_rw="""
        def test_leaks_a_file(tmp_path):
            open(tmp_path / "x", "w")
        """
    )
    result, item = run_leaks(subprocess=False)
    assert result.parseoutcomes()["passed"] == 1
    assert "failed" not in result.parseoutcomes()
    assert item["metrics"]["by_kind"] == {"resource-warning": 1}
    result.stdout.fnmatch_lines(["*ResourceWarning: unclosed file*"])


def test_the_allowlist_accepts_known_leaks_by_kind_or_test_id(
    pytester: pytest.Pytester, repo: Path, run_leaks: Any, blamed: Blamed
) -> None:
    # The allowlist is the project's standing config, in the base: not a loosening under judgement.
    pytester.makeini(
        "[pytest]\npbe_leaks_ignore =\n    coroutine\n    test_allow.py::test_accepted\n"
    )
    for args in (["add", "-A"], ["commit", "-qm", "the leaks allowlist"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    pytester.makepyfile(
        test_allow="""
        import warnings

        def test_accepted(tmp_path):
            open(tmp_path / "a", "w")

        def test_reported(tmp_path):
            open(tmp_path / "b", "w")

        def test_coroutine():
            async def never():
                pass
            never()
        """
    )
    _, item = run_leaks(subprocess=False)
    assert blamed(item) == {"test_reported": {"resource-warning"}}
    assert item["metrics"]["ignored"] == 2
    assert "2 accepted by pbe_leaks_ignore" in item["summary"]


def test_the_allowlist_patterns() -> None:
    assert is_ignored(["thread"], "t.py::test_a", "thread")
    assert not is_ignored(["thread"], "t.py::test_a", "fd")
    assert is_ignored(["t.py::test_*"], "t.py::test_a", "fd")
    assert is_ignored(["fd:t.py::test_a"], "t.py::test_a", "fd")
    assert not is_ignored(["fd:t.py::test_a"], "t.py::test_a", "thread")
    assert not is_ignored(["fd:t.py::test_a"], "t.py::test_b", "fd")
    assert not is_ignored([], "t.py::test_a", "fd")


def test_under_xdist_leaks_are_attributed_to_the_right_tests(
    pytester: pytest.Pytester, run_leaks: Any, blamed: Blamed
) -> None:
    pytester.makepyfile(
        test_one="""
        import threading
        STOP = threading.Event()

        def test_thread_leak():
            threading.Thread(target=STOP.wait, args=(30,), name="left", daemon=True).start()

        def test_one_clean():
            pass
        """,
        test_two="""
        def test_file_leak(tmp_path):
            open(tmp_path / "f", "w")

        def test_two_clean():
            pass
        """,
    )
    result, item = run_leaks("-n", "2")
    result.stdout.fnmatch_lines(["*2 workers*"])
    assert blamed(item) == {"test_thread_leak": {"thread"}, "test_file_leak": {"resource-warning"}}
    assert item["metrics"]["tests_watched"] == 4


def test_a_wider_fixtures_thread_is_its_own_not_the_first_tests(
    pytester: pytest.Pytester, run_leaks: Any, blamed: Blamed
) -> None:
    pytester.makepyfile(
        test_fixture="""
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

        def test_first(server):
            assert server.is_alive()

        def test_second(server):
            assert server.is_alive()

        def test_uses_sloppy(sloppy):
            pass
        """
    )
    _, item = run_leaks()
    assert blamed(item) == {"test_uses_sloppy": {"thread"}}
    [finding] = item["findings"]
    assert "module-scoped fixture 'sloppy'" in finding["message"]


def test_no_test_ran_means_nothing_was_watched(pytester: pytest.Pytester, run_leaks: Any) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.skip\ndef test_skipped():\n    pass\n")
    _, item = run_leaks(subprocess=False)
    # A skipped test still goes through setup and teardown: watched, and clean.
    assert item["status"] == "passed"
    assert item["metrics"]["tests_watched"] == 1


def test_new_leaks_are_found_while_older_ones_are_still_held(
    pytester: pytest.Pytester, run_leaks: Any, blamed: Blamed
) -> None:
    # test_b closes test_a's descriptor and opens one of its own (the count stays the
    # same), and starts a process while test_a's is still running: both are test_b's.
    pytester.makepyfile(
        test_held="""
        import os, subprocess, sys
        HELD = {}

        def sleeper():
            return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

        def test_a(tmp_path):
            HELD["fd"] = os.open(tmp_path / "a", os.O_CREAT | os.O_WRONLY)
            HELD["a"] = sleeper()

        def test_b(tmp_path):
            HELD["fd2"] = os.open(tmp_path / "b", os.O_CREAT | os.O_WRONLY)
            os.close(HELD.pop("fd"))
            HELD["b"] = sleeper()

        def test_c():
            pass

        def test_zz_cleanup():
            os.close(HELD.pop("fd2"))
            for name in ("a", "b"):
                HELD[name].kill()
                HELD[name].wait()
        """
    )
    _, item = run_leaks()
    assert blamed(item) == {"test_a": {"fd", "process"}, "test_b": {"fd", "process"}}


def test_the_users_own_resource_warning_filter_still_decides(
    pytester: pytest.Pytester, run_leaks: Any
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    ignore::ResourceWarning\n")
    pytester.makepyfile(
        test_quiet="""
        import pytest

        def test_ignored_by_the_user(tmp_path):
            open(tmp_path / "x", "w")

        @pytest.mark.filterwarnings("default::ResourceWarning")
        def test_shown_by_its_mark(tmp_path):
            open(tmp_path / "y", "w")
        """
    )
    result, item = run_leaks(subprocess=False)
    result.assert_outcomes(passed=2, warnings=1)
    assert [f["message"].split(" leaked: ")[0] for f in item["findings"]] == [
        "test_quiet.py::test_shown_by_its_mark"
    ]


def test_the_watcher_leaves_the_warning_filters_as_it_found_them(
    pytester: pytest.Pytester, run_leaks: Any
) -> None:
    import warnings

    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    before = list(warnings.filters)
    _, item = run_leaks(subprocess=False)
    assert item["status"] == "passed"
    assert warnings.filters == before
