"""The tdd item: ``order`` on a 1,000-commit range, and ``replay`` on a 20-commit range.

* order: a generated repository (fast-import) where every feature commit follows the
  commit of its test; the git layer's ``history`` is timed alone, then the tdd item's own
  work on top of it (``judge_range``: raw log, blobs, outlines, names mapping, verdicts).
  Target: the tdd item's own work under 2 s beyond the git layer.
* replay: a 20-commit range, each commit a test with the code that makes it pass; the
  replay (worktree, two runs per commit) against simply running the same tests twice in
  place, per commit and in total.

Usage: python benchmarks/bench_tdd.py [--quick]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_pbe.git import BaseRevision, Classifier, Repository, history
from pytest_pbe.tdd.judging import judge_range, replay_verdicts
from pytest_pbe.tdd.replay import node_id
from pytest_pbe.tdd.source import outline
from pytest_pbe.tdd.verdicts import VERIFIED

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(path: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=path, env=ENV, input=input, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def _fast_import(path: Path, commits: list[tuple[str, dict[str, str]]]) -> None:
    """Each commit: (message, files written in full)."""
    out: list[bytes] = []
    for n, (message, files) in enumerate(commits):
        msg = message.encode()
        out.append(b"commit refs/heads/main\n")
        out.append(f"mark :{n + 1}\n".encode())
        out.append(f"committer Bench <bench@example.com> {1700000000 + n} +0000\n".encode())
        out.append(f"data {len(msg)}\n".encode() + msg + b"\n")
        if n:
            out.append(f"from :{n}\n".encode())
        for name, text in files.items():
            data = text.encode()
            out.append(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
        out.append(b"\n")
    _git(path, "fast-import", "--quiet", input=b"".join(out))
    _git(path, "checkout", "-q", "-f", "main")


def _project(path: Path, features: int, modules: int, *, paired: bool) -> str:
    """Generate the history; return the base sha (the skeleton commit)."""
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    skeleton = {
        "pytest.ini": "[pytest]\npythonpath = src\ntestpaths = tests\n",
        ".gitignore": "__pycache__/\n",
        "src/pkg/__init__.py": "",
        **{f"src/pkg/mod_{k}.py": "BASE = 0\n" for k in range(modules)},
    }
    src = dict.fromkeys(range(modules), "BASE = 0\n")
    tests = {k: f"import pkg.mod_{k} as m\n" for k in range(modules)}
    commits: list[tuple[str, dict[str, str]]] = [("skeleton", skeleton)]
    for n in range(features):
        k = n % modules
        tests[k] += f"\n\ndef test_f{n}():\n    assert m.f{n}(2) == {2 * n + 2}\n"
        src[k] += f"\n\ndef f{n}(x):\n    return x * {n + 1}\n"
        test_file = {f"tests/test_mod_{k}.py": tests[k]}
        src_file = {f"src/pkg/mod_{k}.py": src[k]}
        if paired:
            commits.append((f"feat: f{n} with its test", {**test_file, **src_file}))
        else:
            commits.append((f"test: f{n}", test_file))
            commits.append((f"feat: f{n}", src_file))
    _fast_import(path, commits)
    return _git(path, "rev-list", "--max-parents=0", "HEAD")


def _base(repo: Repository, sha: str) -> BaseRevision:
    return BaseRevision(ref=sha, sha=sha, merge_base=sha, source="option")


def _order(tmp: Path, commits: int, repeats: int) -> list[dict[str, Any]]:
    path = tmp / "order"
    base_sha = _project(path, commits // 2, 50, paired=False)
    repo = Repository(path)
    base = _base(repo, base_sha)
    classifier = Classifier(testpaths=("tests",))
    git_times: list[float] = []
    tdd_times: list[float] = []
    verdicts: list[Any] = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = history(repo, base, classifier=classifier)
        git_times.append(time.perf_counter() - started)
        outline.cache_clear()
        started = time.perf_counter()
        judged = judge_range(repo, base, found, classifier, rootdir=path)
        tdd_times.append(time.perf_counter() - started)
        verdicts = judged.verdicts
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    label = f"order, {len(verdicts)}-commit range"
    git_row = f"{label}: git layer history()"
    return [
        {"name": git_row, "seconds": statistics.median(git_times), "baseline": None},
        {
            "name": f"{label}: tdd item beyond the git layer",
            "seconds": statistics.median(tdd_times),
            "baseline": git_row,
            "note": f"target < 2 s; verdicts {counts}",
        },
    ]


def _run_twice(path: Path, selection: tuple[str, ...]) -> float:
    started = time.perf_counter()
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:pbe",
             *selection],
            cwd=path, env=ENV, capture_output=True, check=False,
        )  # fmt: skip
    return time.perf_counter() - started


def _replay(tmp: Path, commits: int) -> list[dict[str, Any]]:
    path = tmp / "replay"
    base_sha = _project(path, commits, 5, paired=True)
    repo = Repository(path)
    base = _base(repo, base_sha)
    classifier = Classifier(testpaths=("tests",))
    found = history(repo, base, classifier=classifier)
    judged = judge_range(repo, base, found, classifier, rootdir=path)
    started = time.perf_counter()
    replay_verdicts(repo, judged, classifier.classify, timeout=120)
    replay_total = time.perf_counter() - started
    outcomes = [getattr(v.replay, "status", None) for v in judged.verdicts]
    verified = sum(1 for o in outcomes if o == VERIFIED)
    baseline_total = 0.0
    for verdict in judged.verdicts:
        refs = {t for u in verdict.units for t in u.window}
        selection = tuple(sorted(n for r in refs if (n := node_id(r, "")) is not None))
        baseline_total += _run_twice(path, selection)
    n = len(judged.verdicts)
    base_row = f"replay baseline: same tests run twice in place, {n} commits"
    return [
        {"name": base_row, "seconds": baseline_total, "baseline": None},
        {
            "name": f"replay, {n}-commit range (worktree, red+green runs)",
            "seconds": replay_total,
            "baseline": base_row,
            "note": f"{verified}/{n} verified",
        },
        {
            "name": "replay per commit",
            "seconds": replay_total / max(n, 1),
            "baseline": None,
            "note": f"baseline per commit {baseline_total / max(n, 1):.3f}s",
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="pbe-bench-tdd-") as tmp:
        rows = _order(Path(tmp), 1000, 1 if quick else 5)
        rows += _replay(Path(tmp), 5 if quick else 20)
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
