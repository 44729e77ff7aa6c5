"""pytest --pbe-verify against the floor and against today's sequential pipeline.

On a generated project (about 150 modules, 18,000 lines, a 15-module change on a feature
branch), with warm caches (each command runs once before timing), interleaved in one run:

* floor: ``coverage run -m pytest`` -- the tests with coverage and nothing else;
* sequential: what users wire up today, one after another: ``pytest --cov --cov-report=xml``,
  ``diff-cover``, ``mypy``, ``ruff check``, ``bandit -r``;
* pbe: ``pytest --pbe-verify`` (mypy, ruff and bandit run beside the tests).

Targets: pbe <= 1.10x the floor and <= 0.70x the sequential pipeline.

Usage: python benchmarks/bench_tools.py [--quick] [--keep DIR]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
MODULES = 150
CHANGED = 15
BLOCKS = 6  # function blocks per module: about 120 lines each

PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.coverage.run]
source = ["gen"]
branch = true

[tool.mypy]
files = ["src"]
python_version = "3.10"
check_untyped_defs = true

[tool.ruff.lint]
select = ["E", "F", "B", "UP"]

[tool.bandit]
exclude_dirs = ["tests"]
"""


def _block(module: int, n: int) -> str:
    return f'''

def parse_{module}_{n}(text: str) -> int:
    """Parse a number, -1 when it is not one."""
    try:
        return int(text)
    except ValueError:
        return -1


def accumulate_{module}_{n}(values: list[int]) -> int:
    total = 0
    for value in values:
        if value % 2:
            total += value * {n + 1}
        else:
            total -= value // 2
    return total
'''


def _module(module: int, blocks: int) -> str:
    head = f'''"""Generated module {module}."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Record{module}:
    key: str
    value: int

    def scaled(self, factor: int) -> int:
        return self.value * factor
'''
    return head + "".join(_block(module, n) for n in range(blocks))


def _tests(module: int, blocks: int) -> str:
    lines = [f"from gen.mod{module} import *  # noqa: F403\n"]
    for n in range(blocks):
        lines.append(
            f"\n\ndef test_{module}_{n}():\n"
            f"    assert parse_{module}_{n}('12') == 12  # noqa: F405\n"
            f"    assert parse_{module}_{n}('x') == -1  # noqa: F405\n"
            f"    assert accumulate_{module}_{n}(list(range(400))) != 0.5  # noqa: F405\n"
        )
    return "".join(lines)


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def make_project(root: Path, modules: int = MODULES, changed: int = CHANGED) -> Path:
    (root / "src" / "gen").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text(
        ".pytest_cache/\n__pycache__/\n.mypy_cache/\n.ruff_cache/\n.coverage*\ncoverage.xml\n*.json\n"
    )
    (root / "src" / "gen" / "__init__.py").write_text("")
    for module in range(modules):
        (root / "src" / "gen" / f"mod{module}.py").write_text(_module(module, BLOCKS))
        (root / "tests" / f"test_mod{module}.py").write_text(_tests(module, BLOCKS))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "feature")
    for module in range(0, modules, modules // changed)[:changed]:
        (root / "tests" / f"test_mod{module}.py").write_text(_tests(module, BLOCKS + 1))
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"test for the new function of module {module}")
        (root / "src" / "gen" / f"mod{module}.py").write_text(_module(module, BLOCKS + 1))
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"new function in module {module}")
    return root


def _run(argv: list[str], cwd: Path) -> None:
    subprocess.run(
        argv,
        cwd=cwd,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
    )


def _py(*args: str) -> list[str]:
    return [sys.executable, *args]


PYTEST = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly")

COMMANDS: dict[str, list[list[str]]] = {
    "floor": [_py("-m", "coverage", "run", *PYTEST)],
    "sequential": [
        _py(*PYTEST, "--cov=gen", "--cov-report=xml"),
        [str(BIN / "diff-cover"), "coverage.xml", "--compare-branch=main"],
        _py("-m", "mypy"),
        [str(BIN / "ruff"), "check"],
        _py("-m", "bandit", "-q", "-c", "pyproject.toml", "-r", "src"),
    ],
    "pbe": [_py(*PYTEST, "--pbe-verify", "--pbe-report-json", "pbe.json")],
    # The same without the four static-analysis items: their marginal cost.
    "pbe-no-tools": [
        _py(*PYTEST, "--pbe-verify", "--pbe-skip", "types,lint,security,errors"),
    ],
}


def _time(name: str, cwd: Path) -> float:
    started = time.perf_counter()
    for argv in COMMANDS[name]:
        _run(argv, cwd)
    return time.perf_counter() - started


def run(quick: bool) -> list[dict[str, Any]]:
    repeats = 3 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "project")
        return measure(root, repeats)


def measure(root: Path, repeats: int) -> list[dict[str, Any]]:
    for name in COMMANDS:  # warm every cache (mypy's, ruff's, the bytecode) once
        _time(name, root)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):  # interleaved, so drift on a shared machine hits all alike
        for name in COMMANDS:
            times[name].append(_time(name, root))
    lines = sum(len(p.read_text().splitlines()) for p in (root / "src").rglob("*.py"))
    label = f"{MODULES} modules, {lines} lines, {CHANGED} changed"
    floor = f"{label}: coverage run -m pytest (floor)"
    sequential = f"{label}: pytest --cov, diff-cover, mypy, ruff, bandit (sequential)"
    pbe = f"{label}: pytest --pbe-verify"
    return [
        {"name": floor, "seconds": statistics.median(times["floor"]), "baseline": None},
        {
            "name": sequential,
            "seconds": statistics.median(times["sequential"]),
            "baseline": floor,
        },
        {
            "name": pbe,
            "seconds": statistics.median(times["pbe"]),
            "baseline": floor,
            "note": "target <= 1.10x the floor",
        },
        {
            "name": pbe + " vs sequential",
            "seconds": statistics.median(times["pbe"]),
            "baseline": sequential,
            "note": "target <= 0.70x the sequential pipeline",
        },
        {
            "name": f"{label}: pytest --pbe-verify without types,lint,security,errors",
            "seconds": statistics.median(times["pbe-no-tools"]),
            "baseline": floor,
            "note": "the other items alone; pbe minus this is the tools' marginal cost",
        },
    ]


def main() -> int:
    quick = "--quick" in sys.argv
    if "--keep" in sys.argv:
        target = Path(sys.argv[sys.argv.index("--keep") + 1])
        if target.exists():
            shutil.rmtree(target)
        root = make_project(target)
        rows = measure(root, 3 if quick else 7)
    else:
        rows = run(quick)
    by_name = {row["name"]: row for row in rows}
    for row in rows:
        base = by_name.get(row["baseline"]) if row["baseline"] else None
        ratio = f"  {row['seconds'] / base['seconds']:.3f}x" if base else ""
        print(f"{row['seconds']:8.3f}s{ratio:>10}  {row['name']}  {row.get('note', '')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
