"""The coverage item's judging step on 2,000 changed files, against diff-cover on the same diff.

Builds a throwaway git repository of N generated modules, changes every file between a base
and a head commit, measures real coverage data for it in-process (coverage.py), writes the
Cobertura XML that diff-cover reads, then times, interleaved:

* ``judge (analysed)``: the judging step alone (files already analysed): the target row;
* ``analyse+judge``: coverage.py's analysis of every changed file, then the judging;
* ``git+analyse+judge``: the same plus our git layer computing the new lines;
* ``diff-cover``: diff-cover in-process on the same XML and diff (git diff + XML + report).

Also times a pytest session with and without per-test contexts (the cost of recording
which test ran which line). Run alone: ``python benchmarks/bench_coverage.py [--quick]``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FUNCS = 10


def _module(n: int, changed: bool) -> str:
    out = []
    for k in range(FUNCS):
        out.append(f"def f{n}_{k}(x):\n    if x > 0:\n        y = x + 1\n")
        if changed and k % 2 == 0:
            out.append("        y = y * 2\n")
        out.append("    else:\n        y = x - 1\n    return y\n\n")
    return "".join(out)


def _git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _build(root: Path, files: int) -> str:
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for n in range(files):
        (pkg / f"m{n}.py").write_text(_module(n, changed=False))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    base = _git(root, "rev-parse", "HEAD")
    for n in range(files):
        (pkg / f"m{n}.py").write_text(_module(n, changed=True))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "head")
    return base


def _measure(root: Path, files: int) -> Any:
    import coverage

    cov = coverage.Coverage(data_file=None, source=[str(root / "pkg")], config_file=False)
    sys.path.insert(0, str(root))
    cov.start()
    try:
        for n in range(files):
            module = importlib.import_module(f"pkg.m{n}")
            for k in range(0, FUNCS, 2 if n % 3 else 1):
                getattr(module, f"f{n}_{k}")(1)
    finally:
        cov.stop()
        sys.path.remove(str(root))
    with contextlib.chdir(root):
        cov.xml_report(outfile=str(root / "coverage.xml"))
    return cov


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _judging_rows(files: int, repeat: int) -> list[dict[str, Any]]:
    from diff_cover import diff_cover_tool

    from pytest_pbe.checks.coverage import CoverageCheck, PathThresholds, judge
    from pytest_pbe.git import Classifier, Repository, collect_changes
    from pytest_pbe.git.base import resolve_base
    from pytest_pbe.measure.coverage import _measured

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        base = _build(root, files)
        cov = _measure(root, files)
        repo = Repository(root)
        revision = resolve_base(repo, explicit=base, environ={}, allow_fetch=False)
        changes = collect_changes(repo, revision, classifier=Classifier())
        sources = [(f.path, f.lines) for f in changes.files if f.kind == "source"]
        assert len(sources) == files, (len(sources), files)
        check = CoverageCheck()

        def verdict(measured: Any, pairs: list[tuple[str, Any]]) -> Any:
            result = judge(pairs, measured, root, PathThresholds(()))
            return check.build(result, 90.0, new_threshold=100.0, total_threshold=80.0)

        analysed = _measured(cov, cov.get_data(), contexts=False, origin="bench")
        for path, _ in sources:
            analysed.file(root / path)
        ours = verdict(analysed, sources)

        def judge_only() -> None:
            verdict(analysed, sources)

        def analyse_and_judge() -> None:
            verdict(_measured(cov, cov.get_data(), contexts=False, origin="bench"), sources)

        def git_analyse_judge() -> None:
            fresh = collect_changes(repo, revision, classifier=Classifier())
            pairs = [(f.path, f.lines) for f in fresh.files if f.kind == "source"]
            verdict(_measured(cov, cov.get_data(), contexts=False, origin="bench"), pairs)

        def diff_cover() -> None:
            with contextlib.chdir(root):
                diff_cover_tool.main(
                    [
                        "diff-cover",
                        "coverage.xml",
                        "--compare-branch",
                        base,
                        "-q",
                        "--fail-under",
                        "0",
                    ]
                )

        def xml_and_diff_cover() -> None:
            with contextlib.chdir(root):
                cov.xml_report(outfile=str(root / "coverage2.xml"))
                diff_cover_tool.main(
                    [
                        "diff-cover",
                        "coverage2.xml",
                        "--compare-branch",
                        base,
                        "-q",
                        "--fail-under",
                        "0",
                    ]
                )

        rows = {"judge": 0.0, "analyse": 0.0, "git": 0.0, "dc": 0.0, "xmldc": 0.0}
        samples: dict[str, list[float]] = {k: [] for k in rows}
        for _ in range(repeat):  # interleaved, so that machine noise hits all alike
            for key, fn in (
                ("judge", judge_only),
                ("analyse", analyse_and_judge),
                ("git", git_analyse_judge),
                ("dc", diff_cover),
                ("xmldc", xml_and_diff_cover),
            ):
                samples[key].append(_median(fn, 1))
        med = {k: statistics.median(v) for k, v in samples.items()}
        note = f"{files} files, {ours.metrics['new_lines']} new statements"
        return [
            {
                "name": f"diff-cover, {files} changed files",
                "seconds": med["dc"],
                "baseline": None,
                "note": "git diff + XML + report, in-process",
            },
            {
                "name": f"judge (analysed), {files} changed files",
                "seconds": med["judge"],
                "baseline": f"diff-cover, {files} changed files",
                "note": note,
            },
            {
                "name": f"coverage xml + diff-cover, {files} changed files",
                "seconds": med["xmldc"],
                "baseline": None,
                "note": "diff-cover end to end: the XML report parses every file too",
            },
            {
                "name": f"analyse+judge, {files} changed files",
                "seconds": med["analyse"],
                "baseline": f"coverage xml + diff-cover, {files} changed files",
                "note": "coverage.py analysis of each changed file",
            },
            {
                "name": f"git+analyse+judge, {files} changed files",
                "seconds": med["git"],
                "baseline": f"coverage xml + diff-cover, {files} changed files",
                "note": "our git layer too",
            },
        ]


def _session_rows(tests: int, repeat: int) -> list[dict[str, Any]]:
    """A pytest session under --pbe-verify with and without per-test contexts."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "__init__.py").write_text("")
        body = "".join(f"def f{n}(x):\n    return x + {n}\n\n" for n in range(tests))
        (root / "app" / "code.py").write_text(body)
        (root / "tests").mkdir()
        (root / "tests" / "test_code.py").write_text(
            "from app import code\n\n"
            + "".join(
                f"def test_{n}():\n    assert code.f{n}(1) == {n + 1}\n\n" for n in range(tests)
            )
        )
        (root / "pyproject.toml").write_text(
            '[tool.pytest.ini_options]\npythonpath = ["."]\n\n'
            '[tool.coverage.run]\nsource = ["app"]\n'
        )
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "base")

        def session(checks: str) -> Callable[[], None]:
            def run() -> None:
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        "--pbe-verify",
                        "--pbe-checks",
                        checks,
                        "--pbe-tdd",
                        "order",
                    ],
                    cwd=root,
                    check=False,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )

            return run

        def plain() -> None:
            subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=root,
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        samples: dict[str, list[float]] = {"plain": [], "cov": [], "ctx": []}
        for _ in range(repeat):
            samples["plain"].append(_median(plain, 1))
            samples["cov"].append(_median(session("tests,coverage"), 1))
            samples["ctx"].append(_median(session("tests,coverage,tdd"), 1))
        med = {k: statistics.median(v) for k, v in samples.items()}
        plain_name = f"pytest, {tests} tests, no pbe"
        cov_name = f"--pbe-verify coverage, {tests} tests"
        return [
            {"name": plain_name, "seconds": med["plain"], "baseline": None},
            {"name": cov_name, "seconds": med["cov"], "baseline": plain_name},
            {
                "name": f"--pbe-verify coverage+tdd contexts, {tests} tests",
                "seconds": med["ctx"],
                "baseline": cov_name,
                "note": "includes the tdd item's own work",
            },
        ]


def run(quick: bool) -> list[dict[str, Any]]:
    files = 200 if quick else 2000
    repeat = 3 if quick else 5
    rows = _judging_rows(files, repeat)
    rows += _session_rows(300 if quick else 2000, 3 if quick else 5)
    return rows


if __name__ == "__main__":
    results = run("--quick" in sys.argv)
    by_name = {r["name"]: r for r in results}
    for row in results:
        base = row.get("baseline")
        ratio = f"{row['seconds'] / by_name[base]['seconds']:.3f}x {base}" if base else ""
        print(f"{row['name']:<55} {row['seconds']:9.4f}s  {ratio}  {row.get('note', '')}")
