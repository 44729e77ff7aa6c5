"""The git layer on a big repository: history of a commit range, new lines of a big diff.

Generates (with ``git fast-import``) a repository of 10,000 commits over 5,000 files
(``--quick``: 2,500 commits over 2,500 files), then times, median of several runs:

* ``history()`` over 250-, 500- and 1,000-commit ranges: one ``git log`` whatever the range,
  so the time should grow linearly with the range and stay far from one process per commit;
* ``collect_changes()`` with 2,000 files edited in the working tree (1,000 in quick mode),
  and over a committed 1,000-commit range.

Usage: python benchmarks/bench_git.py [--quick]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent / "src"))

from pytest_pbe.git import BaseRevision, Repository, collect_changes, history

LINES_PER_FILE = 20
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def _stream(files: int, commits: int) -> Iterator[bytes]:
    content = [[f"f{i} line {j}\n" for j in range(LINES_PER_FILE)] for i in range(files)]

    def blob(i: int) -> bytes:
        data = "".join(content[i]).encode()
        return b"data %d\n%s\n" % (len(data), data)

    head = b"commit refs/heads/main\ncommitter Bench <b@example.com> %d +0000\ndata %d\n%s\n"
    msg = b"initial"
    out = [head % (1_600_000_000, len(msg), msg)]
    out += [b"M 644 inline src/pkg%03d/mod%05d.py\n" % (i % 100, i) + blob(i) for i in range(files)]
    yield b"".join(out)
    for c in range(1, commits):
        msg = b"change %d\n\nDocs-Consulted: bench" % c
        chunk = [head % (1_600_000_000 + c, len(msg), msg)]
        for i in sorted({(c * 7) % files, (c * 13 + 1) % files}):
            lines = content[i]
            lines[c % LINES_PER_FILE] = f"f{i} changed in {c}\n"
            lines.append(f"f{i} added in {c}\n")
            chunk.append(b"M 644 inline src/pkg%03d/mod%05d.py\n" % (i % 100, i) + blob(i))
        yield b"".join(chunk)


def build(root: Path, files: int, commits: int) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "-C", str(root), "fast-import", "--quiet"], stdin=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    for chunk in _stream(files, commits):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard"], check=True, env=env)


def _median(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _base(repo: Repository, rev: str) -> BaseRevision:
    sha = repo.run("rev-parse", "--verify", rev).decode().strip()
    return BaseRevision(ref=rev, sha=sha, merge_base=sha, source="option")


def run(quick: bool) -> list[dict[str, Any]]:
    files, commits = (2_500, 2_500) if quick else (5_000, 10_000)
    edited = 1_000 if quick else 2_000
    repeats = 3 if quick else 5
    saved = {k: os.environ.get(k) for k in GIT_ENV}
    os.environ.update(GIT_ENV)
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "big"
            started = time.perf_counter()
            build(root, files, commits)
            rows.append(
                {
                    "name": f"generate {commits:,} commits x {files:,} files (fast-import)",
                    "seconds": time.perf_counter() - started,
                    "note": "setup, single run",
                }
            )
            repo = Repository.discover(root)
            for n in (250, 500, 1_000):
                seconds, result = _median(
                    lambda n=n: history(repo, _base(repo, f"HEAD~{n}")), repeats
                )
                assert isinstance(result, list)
                assert len(result) == n
                lines = sum(len(f.lines) for c in result for f in c.files)
                rows.append(
                    {
                        "name": f"history: {n:,}-commit range",
                        "seconds": seconds,
                        "baseline": "history: 250-commit range" if n != 250 else None,
                        "note": f"{seconds / n * 1000:.2f} ms/commit, {lines:,} new lines",
                    }
                )
            base = _base(repo, "HEAD~1000")
            seconds, result = _median(lambda: collect_changes(repo, base), repeats)
            assert hasattr(result, "files")
            rows.append(
                {
                    "name": "collect_changes: committed 1,000-commit range",
                    "seconds": seconds,
                    "note": f"{len(result.files):,} files",
                }
            )
            for i in range(edited):  # spread over the tree: every file gets 2 new lines
                f = i * files // edited
                path = root / f"src/pkg{f % 100:03d}/mod{f:05d}.py"
                text = path.read_text().splitlines(keepends=True)
                text[3] = "edited\n"
                text.append("appended\n")
                path.write_text("".join(text))
            head = _base(repo, "HEAD")
            seconds, result = _median(lambda: collect_changes(repo, head), repeats)
            assert hasattr(result, "files")
            assert len(result.files) == edited
            rows.append(
                {
                    "name": f"collect_changes: {edited:,} files edited in the work tree",
                    "seconds": seconds,
                    "note": f"{sum(len(f.lines) for f in result.files):,} new lines",
                }
            )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
