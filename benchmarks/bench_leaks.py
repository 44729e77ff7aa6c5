"""Overhead of the ``leaks`` item's per-test watcher (target: below 5%).

Compares, interleaved in one run, ``--pbe-verify`` with only the ``tests`` item against
the same run with ``tests,leaks`` (so the only difference is the leak watcher), on a
generated suite of fast tests and on this project's own spine tests.

On a machine shared with other work the whole-run ratios swing by several percent from
run to run (the same configuration alone varies by 20%), so a third measurement is added
that noise hardly moves: the watcher's own work for one test (its hooks and probes,
driven directly, best of several repetitions), set against what a no-op test costs.

Run alone: ``python benchmarks/bench_leaks.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).parent.parent


def _generated_suite(directory: Path, tests: int) -> Path:
    for module in range(tests // 50):
        body = "".join(f"def test_{n}():\n    assert {n} == {n}\n\n" for n in range(50))
        (directory / f"test_gen_{module}.py").write_text(body)
    (directory / "pytest.ini").write_text("[pytest]\n")
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    return directory


def _time(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the pytest process): CPU time resists a busy machine."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pbe-verify", *args],
        cwd=cwd,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu


def _compare(label: str, cwd: Path, extra: list[str], repeats: int) -> list[dict[str, Any]]:
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        off.append(_time(["--pbe-checks", "tests", *extra], cwd))
        on.append(_time(["--pbe-checks", "tests,leaks", *extra], cwd))
    rows = []
    for index, unit in enumerate(("wall", "CPU")):
        base = f"{label}: --pbe-checks tests ({unit})"
        rows += [
            {"name": base, "seconds": statistics.median(t[index] for t in off), "baseline": None},
            {
                "name": f"{label}: --pbe-checks tests,leaks ({unit})",
                "seconds": statistics.median(t[index] for t in on),
                "baseline": base,
                "note": "target < 1.05x",
            },
        ]
    return rows


def _watcher_per_test(repeats: int) -> float:
    """Seconds the watcher spends on one clean test: its protocol and teardown hooks and
    its probes, called directly (pluggy's dispatch, ~1.4 µs a wrapper, aside)."""
    from types import SimpleNamespace

    from pytest_pbe.leakwatch import LeakWatcher

    watcher = LeakWatcher(cast(Any, SimpleNamespace(rootpath=ROOT)))
    item = cast(Any, SimpleNamespace(nodeid="test_gen.py::test_0", user_properties=[]))

    def one_test() -> None:
        protocol = watcher.pytest_runtest_protocol(item, None)
        next(protocol)
        teardown = watcher.pytest_runtest_teardown(item)
        next(teardown)
        with contextlib.suppress(StopIteration):
            teardown.send(None)
        with contextlib.suppress(StopIteration):
            next(protocol)

    number = 5000
    best = min(timeit.repeat(one_test, number=number, repeat=repeats)) / number
    if watcher.watched != number * repeats:
        raise SystemExit(f"the direct watcher run watched {watcher.watched} tests")
    if item.user_properties:
        raise SystemExit(f"the direct watcher run found leaks: {item.user_properties!r}")
    return best


@contextlib.contextmanager
def _tools_beside(count: int) -> Iterator[None]:
    """What pytest-pbe has running beside the tests: its starter threads (registered in
    ``OWN_THREADS``), each holding a child process (the tools, the parsing child)."""
    import threading

    from pytest_pbe.leakwatch.probes import OWN_THREADS

    stop = threading.Event()
    children: list[subprocess.Popen[bytes]] = []
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]

    def hold(started: threading.Event) -> None:
        children.append(subprocess.Popen(sleeper))  # our own interpreter, no shell
        started.set()
        stop.wait()

    threads = []
    for _ in range(count):
        started = threading.Event()
        thread = threading.Thread(target=hold, args=(started,), name="pbe-start", daemon=True)
        OWN_THREADS.add(thread)
        thread.start()
        started.wait()
        threads.append(thread)
    try:
        yield
    finally:
        stop.set()
        for child in children:
            child.kill()
            child.wait()
        for thread in threads:
            thread.join()


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tests = 500 if quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        suite = _generated_suite(Path(tmp), tests)
        rows += _compare(f"{tests:,} generated tests", suite, [], 3 if quick else 15)
    per_test_cpu = rows[2]["seconds"] / tests  # whole-run CPU (start-up included) / tests
    watcher = _watcher_per_test(3 if quick else 7)
    rows.append(
        {
            "name": f"leak watcher's own work for {tests:,} clean tests (direct)",
            "seconds": watcher * tests,
            "baseline": None,
            "note": f"{watcher * 1e6:.1f} µs a test = {watcher / per_test_cpu:.1%} of the "
            f"{per_test_cpu * 1e6:.0f} µs CPU a generated test costs in the run above",
        }
    )
    with _tools_beside(7):
        beside = _watcher_per_test(3 if quick else 7)
    rows.append(
        {
            "name": f"leak watcher's own work for {tests:,} clean tests, tools running (direct)",
            "seconds": beside * tests,
            "baseline": f"leak watcher's own work for {tests:,} clean tests (direct)",
            "note": f"{beside * 1e6:.1f} µs a test beside 7 pytest-pbe threads each holding a "
            "child (their children are not read): target close to the quiet figure",
        }
    )
    if not quick:
        rows += _compare(
            "own suite (tests/test_spine.py)", ROOT, ["tests/test_spine.py", "-p", "no:randomly"], 5
        )
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
