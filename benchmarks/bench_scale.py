"""The plugin's own cost on a big repository with a huge change: time and peak memory.

Generates (``bench_git.build``, git fast-import) a repository of 10,000 commits over 5,000
files (``--quick``: 2,500 x 2,500), then on top of it a test commit and a 5,000-file change (a
formatter-like rewrite of every file into a small module). Three pytest sessions run, each in
a fresh process, interleaved, median of the repetitions:

* ``plain pytest``: the test session alone;
* ``pytest --cov (floor)``: the same under pytest-cov with per-test contexts and no report,
  what any coverage-measuring run pays anyway;
* ``pytest --pbe-verify``: ``--pbe-skip types,lint,security,errors`` (the tool items run
  mypy/ruff/bandit in their own processes), so tests, coverage, tdd, leaks, performance, docs.

The plugin's own time is ``pbe - floor``; the ``verify phase`` row is the time from the first
``pytest_sessionfinish`` hook to the end of the terminal summary, measured inside the process
(git, judging, reports, checklist). Peak memory is the peak resident set (``VmHWM``) of the
pytest process itself (not git's or the tools' processes), written by a tiny plugin at
``pytest_unconfigure``.

Usage: python benchmarks/bench_scale.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from bench_git import GIT_ENV, build  # noqa: E402  # the generator lives beside this file

PROBE = """
import json, os, resource, time
import pytest

_t = {}

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    _t["finish"] = time.perf_counter()
    return (yield)

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    try:
        return (yield)
    finally:
        _t["summary_end"] = time.perf_counter()

def pytest_configure(config):
    # Time each checklist item's evaluate() (pbe runs only): where the verify phase goes.
    if not config.getoption("pbe_verify", False):
        return
    from pytest_pbe.engine import Verifier
    original = Verifier._evaluate

    def timed(self, check):
        started = time.perf_counter()
        try:
            return original(self, check)
        finally:
            _t["item " + check.id] = time.perf_counter() - started

    Verifier._evaluate = timed

def pytest_unconfigure(config):
    # VmHWM is this process's own peak (ru_maxrss survives exec on Linux, so a big parent
    # would show through); ru_maxrss where /proc is absent.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    verify = _t.get("summary_end", 0.0) - _t.get("finish", 0.0)
    items = {k: v for k, v in _t.items() if k.startswith("item ")}
    with open(os.environ["BENCH_PROBE_OUT"], "w") as f:
        json.dump({"maxrss_mb": rss / 1024, "verify_phase": verify, **items}, f)
"""

TEST_ALL = """
import importlib


def test_every_module_answers():
    for n in range({files}):
        module = importlib.import_module(f"pkg{{n % 100:03d}}.mod{{n:05d}}")
        assert module.f(1) == 1
"""


# pytest-cov with per-test contexts (pbe records them for tdd) and no report.
FLOOR = ["-p", "no:pbe", "--cov", "--cov-context=test", "--cov-report="]


def _module(i: int) -> str:
    # Every file rewritten: one covered function, and one never-called function (a finding).
    return (
        f'"""Module {i}, reformatted."""\n\n\ndef f(x):\n    if x:\n        return 1\n'
        f"    return {i}\n\n\ndef unused():\n    return {i}\n"
    )


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x.org"}
    env.update({"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x.org"})
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _prepare(root: Path, files: int) -> str:
    """The test commit, then the 5,000-file change; returns the base (the generated tip)."""
    base = _git(root, "rev-parse", "HEAD")
    (root / "pytest.ini").write_text("[pytest]\npythonpath = src\ntestpaths = tests\n")
    (root / ".gitignore").write_text("__pycache__/\n.coverage*\n*.json\n.pytest_cache/\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_all.py").write_text(TEST_ALL.format(files=files))
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "test: every module answers f()")
    for i in range(files):
        (root / f"src/pkg{i % 100:03d}/mod{i:05d}.py").write_text(_module(i))
    _git(root, "commit", "-qam", "reformat every module")
    return base


def _session(root: Path, probe_dir: Path, args: list[str]) -> dict[str, float]:
    out = probe_dir / "probe.json"
    env = {
        **os.environ,
        **GIT_ENV,
        "PYTHONPATH": os.pathsep.join([str(probe_dir), os.environ.get("PYTHONPATH", "")]),
        "BENCH_PROBE_OUT": str(out),
    }
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "bench_probe", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 6):
        raise SystemExit(f"pytest {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}")
    probe = json.loads(out.read_text())
    return {"seconds": seconds, **probe}


def run(quick: bool) -> list[dict[str, Any]]:
    files, commits = (2_500, 2_500) if quick else (5_000, 10_000)
    repeats = 2 if quick else 3
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big"
        probe_dir = Path(tmp) / "probe"
        probe_dir.mkdir()
        (probe_dir / "bench_probe.py").write_text(PROBE)
        started = time.perf_counter()
        build(root, files, commits)
        base = _prepare(root, files)
        rows.append(
            {
                "name": f"generate {commits:,} commits x {files:,} files + {files:,}-file change",
                "seconds": time.perf_counter() - started,
                "baseline": None,
                "note": "setup, single run",
            }
        )
        report = root / "r.json"  # inside the project: pytest picks rootdir from paths too
        variants = {
            "plain pytest": ["-p", "no:pbe"],
            "pytest --cov (floor)": FLOOR,
            "pytest --pbe-verify": [
                "--pbe-verify",
                "--pbe-skip",
                "types,lint,security,errors",
                f"--pbe-base={base}",
                f"--pbe-report-json={report}",
            ],
        }
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for _ in range(repeats):  # interleaved: a load spike hits every variant alike
            for name, args in variants.items():
                samples[name].append(_session(root, probe_dir, args))
        data = json.loads(report.read_text())
        coverage = next(c for c in data["checks"] if c["id"] == "coverage")
        if len(data["scope"]["files"]) < files or coverage["metrics"]["new_lines"] < files:
            raise SystemExit(f"the pbe run did not judge the {files:,}-file change: {coverage}")

        def med(name: str, key: str) -> float:
            return statistics.median(s[key] for s in samples[name])

        plain_mb = med("plain pytest", "maxrss_mb")
        floor_mb = med("pytest --cov (floor)", "maxrss_mb")
        for name in variants:
            mb = med(name, "maxrss_mb")
            note = f"peak RSS {mb:.0f} MB ({mb - plain_mb:+.0f} MB vs plain)"
            if name == "pytest --pbe-verify":
                extra = med(name, "seconds") - med("pytest --cov (floor)", "seconds")
                note += (
                    f", {mb - floor_mb:+.0f} MB vs floor; plugin's own time {extra:.2f}s "
                    f"over the floor; {len(coverage['findings']):,} coverage findings"
                )
            rows.append(
                {
                    "name": name,
                    "seconds": med(name, "seconds"),
                    "baseline": "pytest --cov (floor)" if name != "pytest --cov (floor)" else None,
                    "note": note,
                }
            )
        rows.append(
            {
                "name": "verify phase (sessionfinish .. checklist printed)",
                "seconds": med("pytest --pbe-verify", "verify_phase"),
                "baseline": None,
                "note": "floor's own sessionfinish+summary: "
                f"{med('pytest --cov (floor)', 'verify_phase'):.2f}s",
            }
        )
        pbe = samples["pytest --pbe-verify"]
        for key in sorted({k for sample in pbe for k in sample if k.startswith("item ")}):
            seconds = statistics.median(sample.get(key, 0.0) for sample in pbe)
            if seconds >= 0.01:
                rows.append(
                    {
                        "name": f"  of which {key}: evaluate()",
                        "seconds": seconds,
                        "baseline": None,
                        "note": "git, judging, findings (a shared fact is paid by its first asker)",
                    }
                )
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
