"""Random edits, committed / staged / unstaged: our new lines must equal difflib's.

Every inserted or replacing line is globally unique, so there is exactly one longest common
subsequence between two versions and any minimal diff (git's or difflib's) agrees on which
lines are new: the sets must be equal, not merely the same size.
"""

from __future__ import annotations

import difflib
import itertools
import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import GIT_ENV, GitRepo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_pbe.git import BaseRevision, Repository, collect_changes, history

Op = tuple[int, str, int]
STAGES = ("commit", "stage", "unstaged")

ops = st.lists(
    st.tuples(
        st.integers(0, 5), st.sampled_from(["insert", "replace", "delete"]), st.integers(0, 50)
    ),
    max_size=8,
)


def new_lines(old: list[str], new: list[str]) -> set[int]:
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    out: set[int] = set()
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            out.update(range(j1 + 1, j2 + 1))
    return out


def apply(
    files: dict[str, list[str]], stage_ops: list[Op], stage: str, fresh: itertools.count[int]
) -> None:
    for which, op, pos in stage_ops:
        names = sorted(files)
        if which >= len(names):  # a new file with 1-3 unique lines
            files[f"pkg/new_{stage}_{next(fresh)}.py"] = [
                f"created {next(fresh)}\n" for _ in range(pos % 3 + 1)
            ]
            continue
        lines = files[names[which]]
        if op == "insert":
            lines.insert(pos % (len(lines) + 1), f"inserted {next(fresh)}\n")
        elif lines and op == "replace":
            lines[pos % len(lines)] = f"replaced {next(fresh)}\n"
        elif lines and op == "delete":
            del lines[pos % len(lines)]


def write_all(root: Path, files: dict[str, list[str]]) -> None:
    for name, lines in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines))


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, env={**os.environ, **GIT_ENV})


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(0, 8), min_size=1, max_size=4),
    committed=ops,
    staged=ops,
    unstaged=ops,
)
def test_new_lines_match_difflib(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    committed: list[Op],
    staged: list[Op],
    unstaged: list[Op],
) -> None:
    root = tmp_path_factory.mktemp("prop")
    git(root, "init", "-q", "-b", "main")
    fresh = itertools.count()
    base = {
        f"src/f{i}.py": [f"base {next(fresh)}\n" for _ in range(n)] for i, n in enumerate(sizes)
    }
    write_all(root, base)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base_sha = GitRepo(root).sha("HEAD")

    files = {k: list(v) for k, v in base.items()}
    snapshots: dict[str, dict[str, list[str]]] = {}
    for stage, stage_ops in zip(STAGES, (committed, staged, unstaged), strict=True):
        apply(files, stage_ops, stage, fresh)
        write_all(root, files)
        if stage != "unstaged":
            git(root, "add", "-A")
        if stage == "commit":
            git(root, "commit", "-q", "--allow-empty", "-m", "work")
        snapshots[stage] = {k: list(v) for k, v in files.items()}

    repo = Repository.discover(root)
    rev = BaseRevision(ref="main~1", sha=base_sha, merge_base=base_sha, source="option")

    def expected(old: dict[str, list[str]], new: dict[str, list[str]]) -> dict[str, set[int]]:
        out = {name: new_lines(old.get(name, []), lines) for name, lines in new.items()}
        return {name: got for name, got in out.items() if got}

    everything = collect_changes(repo, rev)
    assert {f.path: set(f.lines) for f in everything.files} == expected(base, files)
    # sanity: with unique lines, "new" is exactly "not in the base version"
    for f in everything.files:
        assert set(f.lines) == {
            i for i, line in enumerate(files[f.path], 1) if line not in base.get(f.path, [])
        }

    only_committed = collect_changes(repo, rev, include_uncommitted=False)
    assert {f.path: set(f.lines) for f in only_committed.files} == expected(
        base, snapshots["commit"]
    )

    commits = history(repo, rev)
    assert commits[0].sha is not None
    assert {f.path: set(f.lines) for f in commits[0].files} == expected(base, snapshots["commit"])
    uncommitted = expected(snapshots["commit"], files)
    if len(commits) == 2:
        assert commits[1].sha is None
        assert {f.path: set(f.lines) for f in commits[1].files} == uncommitted
    else:
        assert not uncommitted
