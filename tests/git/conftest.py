"""Fixtures for the git layer's tests; the helpers live in gitrepo.py (an importable module:
test modules never import from a conftest, whose module name is shared by every folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import _SCRUB, GIT_ENV, GitRepo, make_repo


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository on ``main`` with one commit holding ``src/app.py``."""
    r = make_repo(tmp_path / "repo")
    r.write("src/app.py", "".join(f"line {i}\n" for i in range(1, 11)))
    r.commit("initial")
    return r


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    """main: initial, main-2; feature (checked out): forked at initial, one commit."""
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.py", "f = 1\n")
    repo.commit("feature work")
    repo.git("checkout", "-q", "main")
    repo.write("main2.py", "m = 2\n")
    repo.commit("main-2")
    repo.git("checkout", "-q", "feature")
    return repo


@pytest.fixture
def git_recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a recording ``git`` first on PATH; returns the folder of its records.

    One file per call (processes run at once must not interleave their records): the start
    time in nanoseconds on the first line, then the arguments, NUL-terminated. With
    ``PBE_TEST_SLOW_GIT=<subcommand>`` in the environment, that one starts a second late.
    """
    real = shutil.which("git")
    assert real is not None, "git is needed for these tests"
    calls = tmp_path / "git-calls"
    calls.mkdir()
    bin_dir = tmp_path / "git-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'f=$(mktemp "{calls}/call.XXXXXXXX")\n'
        '{ date +%s%N; printf \'%s\\0\' "$@"; } > "$f"\n'
        'for a in "$@"; do\n'
        '  if [ -n "$PBE_TEST_SLOW_GIT" ] && [ "$a" = "$PBE_TEST_SLOW_GIT" ]; then sleep 1; fi\n'
        "done\n"
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return calls


@pytest.fixture
def git_calls(git_recorder: Path) -> Callable[[], list[tuple[str, ...]]]:
    """Our own git calls so far, in the order they started, without the safe config and
    ``-C <dir>``: ``("rev-parse", "--show-toplevel", ...)``. Others' git calls (the test's,
    another plugin's) are left out: ours always pass ``core.hooksPath=/dev/null``."""
    return lambda: [argv for _, argv in _records(git_recorder)]


@pytest.fixture
def git_call_starts(git_recorder: Path) -> Callable[[], list[tuple[int, tuple[str, ...]]]]:
    """``git_calls`` with each call's start time (``time.time_ns()``'s clock)."""
    return lambda: _records(git_recorder)


def _records(calls: Path) -> list[tuple[int, tuple[str, ...]]]:
    out: list[tuple[int, tuple[str, ...]]] = []
    for record in calls.iterdir():
        stamp, _, args = record.read_bytes().partition(b"\n")
        argv = [os.fsdecode(a) for a in args.split(b"\0")[:-1]]
        if "core.hooksPath=/dev/null" not in argv:
            continue  # not the runner's: a test's own git, or another plugin's
        out.append((int(stamp), tuple(_without_config(argv))))
    out.sort()
    return out


def _without_config(argv: list[str]) -> list[str]:
    rest: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-c", "-C"):
            i += 2
            continue
        rest = argv[i:]
        break
    return rest
