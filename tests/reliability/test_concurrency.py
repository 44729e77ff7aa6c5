"""Same project, same verdict: xdist, pytest-cov, pytest-randomly, no cache, --lf.

Every mode must give the statuses and key metrics of the plain run (the report is never
silently different), or mark itself incomplete.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

MORE_CODE = (
    "\n\ndef halve(a: int) -> float:\n    return a / 2\n"
    "\n\ndef never_called(a: int) -> int:\n    return a - 1\n"
)
MORE_TESTS = "".join(
    f"\n\ndef test_halve_{n}():\n    from app.calc import halve\n\n"
    f"    assert halve({2 * n}) == {n}\n"
    for n in range(6)
)

KEY_METRICS = {
    "tests": ("passed", "failed"),
    "coverage": ("new_lines", "new_lines_covered", "new_code_percent"),
    "tdd": ("commits", "violations"),
    "lint": ("files", "findings"),
    "errors": ("findings",),
    "leaks": (),
    "performance": (),
}

# The modes in groups, each group against its own plain run: one session too many per
# group keeps each test well inside the per-test time budget.
MODE_GROUPS: dict[str, dict[str, list[str]]] = {
    "xdist -n 2": {"xdist -n 2": ["-n", "2"]},
    "xdist -n 4": {"xdist -n 4": ["-n", "4"]},
    "pytest-cov + xdist": {
        "pytest-cov + xdist": ["--cov=app", "--cov-report=", "--cov-context=test", "-n", "2"],
    },
    "pytest-cov": {
        "pytest-cov": ["--cov=app", "--cov-report=", "--cov-context=test"],
    },
    "order and cache": {
        "pytest-randomly": ["-p", "no:cacheprovider", "-p", "randomly", "--randomly-seed=4242"],
        "no cacheprovider": ["-p", "no:cacheprovider"],
        "--lf": ["--lf"],
    },
}


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"passed": report["passed"], "complete": report["complete"]}
    for check in report["checks"]:
        metrics = {k: check["metrics"].get(k) for k in KEY_METRICS.get(check["id"], ())}
        out[check["id"]] = (check["status"], metrics)
    return out


def _halve(project: Any) -> None:
    project.write("tests/test_halve.py", MORE_TESTS)
    project.commit("test: halve")
    project.append("src/app/calc.py", MORE_CODE)
    project.commit("feat: halve")


def _run(project: Any, *extra: str) -> tuple[int, dict[str, Any]]:
    report = project.path / "r.json"
    report.unlink(missing_ok=True)
    # pytest-randomly is off unless the mode asks for it (then with a fixed seed).
    fixed_order = [] if "randomly" in extra else ["-p", "no:randomly"]
    result = project.pytester.runpytest_subprocess(
        "--pbe-verify", f"--pbe-base={project.base}", "--pbe-report-json", "r.json",
        "--pbe-checks", ",".join(KEY_METRICS), *fixed_order, *extra,
        timeout=300,
    )  # fmt: skip
    return result.ret, verdict(json.loads(report.read_text(encoding="utf-8")))


@pytest.mark.parametrize("group", list(MODE_GROUPS))
def test_every_concurrency_mode_gives_the_plain_runs_verdict(project: Any, group: str) -> None:
    _halve(project)
    plain_ret, plain = _run(project)
    assert plain["coverage"] == (
        "failed",
        {"new_lines": 6, "new_lines_covered": 5, "new_code_percent": 83.33},
    ), plain
    assert plain["tests"] == ("passed", {"passed": 8, "failed": 0}), plain
    assert plain["complete"] is True
    differences = {}
    for name, extra in MODE_GROUPS[group].items():
        ret, got = _run(project, *extra)
        if (ret, got) != (plain_ret, plain):
            differences[name] = (ret, got)
    assert differences == {}, json.dumps({"plain": (plain_ret, plain), **differences}, indent=1)


def test_pytest_cov_without_contexts_differs_only_in_the_tdd_mapping(project: Any) -> None:
    # pytest-cov without per-test contexts: tdd falls back to names, and says so; the
    # rest of the verdict is the same.
    _halve(project)
    _, plain = _run(project)
    _, got = _run(project, "--cov=app", "--cov-report=")
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    tdd = next(c for c in report["checks"] if c["id"] == "tdd")
    assert tdd["summary"].endswith(
        "(mapping: test naming and imports (pytest-cov measured without --cov-context=test; "
        "add it for the per-test mapping))"
    ), tdd["summary"]
    assert {k: v for k, v in got.items() if k not in ("tdd", "passed")} == {
        k: v for k, v in plain.items() if k not in ("tdd", "passed")
    }


def test_xdist_with_an_interrupt_marks_the_report_incomplete(project: Any) -> None:
    project.write(
        "tests/test_stop.py",
        "def test_stop():\n    raise KeyboardInterrupt\n\n\ndef test_after():\n    assert True\n",
    )
    project.commit("test: stop")
    result, report = project.run("-n", "2", checks="tests,coverage,lint")
    assert report is not None
    assert report["complete"] is False
    assert report["passed"] is False
    statuses = {c["id"]: (c["status"], c["summary"]) for c in report["checks"]}
    assert statuses["coverage"] == (
        "error",
        "session interrupted before the tests finished: not judged",
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
