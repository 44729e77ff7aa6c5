"""Overhead of pytest-pbe when installed but not enabled (target: below 2%).

Compares, interleaved in one run, a plain pytest run with the plugin blocked (``-p no:pbe``)
against the same run with the plugin installed but without ``--pbe-verify``, on a generated
suite and on this project's own spine tests.
"""

from __future__ import annotations

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
    return directory


def _time(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _compare(label: str, cwd: Path, extra: list[str], repeats: int) -> list[dict[str, Any]]:
    off: list[float] = []
    on: list[float] = []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        off.append(_time(["-p", "no:pbe", *extra], cwd))
        on.append(_time(extra, cwd))
    base = f"{label}: plugin blocked (-p no:pbe)"
    return [
        {"name": base, "seconds": statistics.median(off), "baseline": None},
        {
            "name": f"{label}: installed, not enabled",
            "seconds": statistics.median(on),
            "baseline": base,
            "note": "target < 1.02x",
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        suite = _generated_suite(Path(tmp), 500 if quick else 2000)
        rows += _compare(
            "2,000 generated tests" if not quick else "500 generated tests",
            suite,
            [],
            5 if quick else 11,
        )
    if not quick:
        rows += _compare(
            "own suite (tests/test_spine.py)", ROOT, ["tests/test_spine.py", "-p", "no:randomly"], 5
        )
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
