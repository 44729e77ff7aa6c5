"""Overhead of the ``leaks`` item's per-test watcher (target: below 5%).

Compares, interleaved in one run, ``--pbe-verify`` with only the ``tests`` item against
the same run with ``tests,leaks`` (so the only difference is the leak watcher), on a
generated suite of fast tests and on this project's own spine tests.

Run alone: ``python benchmarks/bench_leaks.py [--quick]``.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tests = 500 if quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        suite = _generated_suite(Path(tmp), tests)
        rows += _compare(f"{tests:,} generated tests", suite, [], 3 if quick else 11)
    if not quick:
        rows += _compare(
            "own suite (tests/test_spine.py)", ROOT, ["tests/test_spine.py", "-p", "no:randomly"], 5
        )
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
