"""pytest-pbe's own threads (tool starters, the parsing child's reader) and their children.

Their child processes (mypy, ruff, bandit, the coverage parsing child) are nobody's leak,
and the watcher does not read them: a snapshot reads ``/proc/self/task/<tid>/children``
only for the threads that may run the tests' code, and for the calling thread only when
it has a child. Every test here runs real processes and real threads.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_pbe.leakwatch import probes

pytestmark = pytest.mark.skipif(
    not probes.CHILDREN_SUPPORTED, reason="needs /proc/self/task/<tid>/children (Linux)"
)

SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]


class Holder:
    """A thread that starts a sleeping child and keeps it until told to stop."""

    def __init__(self, *, own: bool) -> None:
        self.stop = threading.Event()
        self.started = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._run, name="holder", daemon=True)
        if own:
            probes.OWN_THREADS.add(self.thread)
        self.thread.start()
        assert self.started.wait(10), "the holder thread never started its child"

    def _run(self) -> None:
        self.proc = subprocess.Popen(SLEEPER)
        self.started.set()
        self.stop.wait(30)

    @property
    def pid(self) -> bytes:
        assert self.proc is not None
        return str(self.proc.pid).encode()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def holders() -> Iterator[Callable[..., Holder]]:
    made: list[Holder] = []

    def make(*, own: bool) -> Holder:
        holder = Holder(own=own)
        made.append(holder)
        return holder

    yield make
    for holder in made:
        holder.close()


@pytest.fixture
def child() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Children started by the calling (main) thread, killed and waited for afterwards."""
    made: list[subprocess.Popen[bytes]] = []

    def make() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(SLEEPER)
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.kill()
        proc.wait()


def test_a_pytest_pbe_threads_children_are_not_read(holders: Callable[..., Holder]) -> None:
    own = [holders(own=True) for _ in range(3)]
    assert probes.child_pids() == frozenset()
    assert not any(h.pid in (probes.Snapshot.take().children or ()) for h in own)


def test_a_test_threads_child_is_found_beside_pytest_pbe_threads_children(
    holders: Callable[..., Holder],
) -> None:
    own = holders(own=True)
    theirs = holders(own=False)
    assert probes.child_pids() == {theirs.pid}
    assert own.pid not in (probes.child_pids() or ())


def test_a_thread_started_after_the_last_snapshot_is_read(
    holders: Callable[..., Holder],
) -> None:
    holders(own=True)
    assert probes.child_pids() == frozenset()  # the threads of then, chosen and kept
    theirs = holders(own=False)
    assert probes.child_pids() == {theirs.pid}


def test_a_snapshot_taken_on_another_thread_still_reads_the_main_thread(
    holders: Callable[..., Holder], child: Callable[[], subprocess.Popen[bytes]]
) -> None:
    holders(own=True)
    proc = child()
    seen: list[frozenset[bytes] | None] = []
    thread = threading.Thread(target=lambda: seen.append(probes.child_pids()))
    thread.start()
    thread.join()
    assert seen == [{str(proc.pid).encode()}]


def test_a_main_thread_child_is_found_beside_pytest_pbe_threads_children(
    holders: Callable[..., Holder], child: Callable[[], subprocess.Popen[bytes]]
) -> None:
    holders(own=True)
    before = probes.Snapshot.take()
    proc = child()
    after = probes.Snapshot.take()
    assert probes.new_since(before, after, probes.Resources()).children == {proc.pid}


def test_a_child_that_exited_unwaited_is_still_found(
    holders: Callable[..., Holder], child: Callable[[], subprocess.Popen[bytes]]
) -> None:
    holders(own=True)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while b"Z" not in _state(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert probes.child_pids() == {str(proc.pid).encode()}  # a zombie: not waited for
    finally:
        proc.wait()
    assert probes.child_pids() == frozenset()


def test_a_child_whose_thread_ended_is_found_on_the_main_thread(
    holders: Callable[..., Holder],
) -> None:
    holders(own=True)
    started: list[subprocess.Popen[bytes]] = []
    thread = threading.Thread(target=lambda: started.append(subprocess.Popen(SLEEPER)))
    thread.start()
    thread.join()
    # join() returns before the kernel has finished ending the thread; only then does it
    # hand the thread's children over (seen in CI: read too early, the child had no owner).
    task = Path(f"/proc/self/task/{thread.native_id}")
    deadline = time.monotonic() + 10
    while task.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        # The kernel hands it to a live thread of the process: the main thread.
        assert probes.child_pids() == {str(started[0].pid).encode()}
    finally:
        started[0].kill()
        started[0].wait()


def test_a_pytest_pbe_thread_started_meanwhile_is_not_blamed_a_tests_is() -> None:
    stop = threading.Event()
    ours = threading.Thread(target=stop.wait, args=(30,), name="pbe-start", daemon=True)
    theirs = threading.Thread(target=stop.wait, args=(30,), name="theirs", daemon=True)
    probes.OWN_THREADS.add(ours)
    before = probes.Snapshot.take()
    ours.start()
    theirs.start()
    try:
        after = probes.Snapshot.take()
        assert probes.new_since(before, after, probes.Resources()).threads == {theirs}
        assert ours not in after.held().threads
        assert theirs in after.held().threads
    finally:
        stop.set()
        ours.join()
        theirs.join()


def _state(pid: int) -> bytes:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]


# --- end to end: a real pytest session under --pbe-verify -------------------------------
OWN_THREAD_PLUGIN = """
import subprocess, sys, threading
from pytest_pbe.leakwatch.probes import OWN_THREADS

SPAWN = threading.Event()
SPAWNED = threading.Event()
STOP = threading.Event()
HELD = []

def _serve():
    # Like pytest-pbe's tool starters: starts its children while the tests run.
    HELD.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
    SPAWN.wait(30)
    HELD.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
    SPAWNED.set()
    STOP.wait(30)
    for proc in HELD:
        proc.kill()
        proc.wait()

def pytest_sessionstart(session):
    thread = threading.Thread(target=_serve, name="pbe-fake-tools", daemon=True)
    OWN_THREADS.add(thread)
    thread.start()

def pytest_unconfigure(config):
    STOP.set()
"""

OWN_THREAD_SUITE = """
import subprocess, sys, threading
import pytest
import own_thread_plugin as plugin

STOP = threading.Event()
KEPT = []

def _sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

def test_our_thread_starts_a_tool_meanwhile():
    plugin.SPAWN.set()
    assert plugin.SPAWNED.wait(30)

def test_clean():
    pass

def test_thread_starts_and_keeps_a_child():
    def run():
        KEPT.append(_sleeper())
        STOP.wait(30)
    threading.Thread(target=run, name="keeper", daemon=True).start()
    while not KEPT:
        pass

def test_main_thread_leaves_a_child():
    KEPT.append(_sleeper())

def test_zz_cleanup():
    STOP.set()
    for proc in KEPT:
        proc.kill()
        proc.wait()
"""


def test_children_of_pytest_pbes_threads_are_nobodys_leak_and_the_tests_still_are(
    repo: Path,
    pytester: pytest.Pytester,
    run_leaks: Any,
    blamed: Callable[[dict[str, Any]], dict[str, set[str]]],
) -> None:
    pytester.makepyfile(own_thread_plugin=OWN_THREAD_PLUGIN, test_suite=OWN_THREAD_SUITE)
    _, item = run_leaks("-p", "own_thread_plugin")
    assert blamed(item) == {
        "test_thread_starts_and_keeps_a_child": {"thread", "process"},
        "test_main_thread_leaves_a_child": {"process"},
    }


REGISTERED_SUITE = """
import threading
from pytest_pbe.leakwatch.probes import OWN_THREADS

def test_pytest_pbes_threads_are_registered():
    ours = [t for t in threading.enumerate() if t.name.startswith("pbe-")]
    assert {t.name for t in ours} >= {"pbe-start", "pbe-parse"}
    assert all(t in OWN_THREADS for t in ours), [t.name for t in ours if t not in OWN_THREADS]
"""


def test_the_tool_starters_and_the_parsing_reader_are_pytest_pbes_own(
    repo: Path, pytester: pytest.Pytester, read_json: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(mod="def f():\n    return 1\n")
    subprocess.run(["git", "add", "mod.py"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "mod"], cwd=repo, check=True)
    pytester.makepyfile(
        mod="def f():\n    return 2\n",
        test_registered=REGISTERED_SUITE + "\nimport mod\n\ndef test_f():\n    mod.f()\n",
    )
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--pbe-verify",
        "--pbe-checks", "tests,coverage,lint,leaks", "--pbe-report-json", "r.json",
    )  # fmt: skip
    report = read_json(repo / "r.json")
    tests = next(c for c in report["checks"] if c["id"] == "tests")
    assert tests["status"] == "passed", tests
