"""``--pbe-tdd replay`` touches nothing outside its temporary tree.

The change under judgement is untrusted: symlinks it commits, filters and hooks the
repository's configuration names, and an interrupted session must not make pytest-pbe
write into the user's files, run a program git would run on a checkout, or leave its
temporary tree behind for good.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TRIPLE = "\n\ndef triple(a: int) -> int:\n    return a * 3\n"
TRIPLE_TEST = "from app.calc import triple\n\n\ndef test_triple():\n    assert triple(1) == 3\n"
OTHER_TEST = "def test_other():\n    from app.calc import triple\n\n    assert triple(2) == 6\n"
UNIT_TEST = "def test_unit():\n    from app.calc import triple\n\n    assert triple(3) == 9\n"


def _climbing(target: Path) -> str:
    """A relative link to ``target`` that reaches it from any directory (enough '..')."""
    return "../" * 40 + str(target).lstrip("/")


def _link(project: Any, rel: str, target: str) -> None:
    path = project.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _replace_link(project: Any, rel: str, text: str) -> None:
    (project.path / rel).unlink()
    project.write(rel, text)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _replay(project: Any, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result, report = project.run("--pbe-tdd", "replay", *args, checks="tests,tdd")
    assert report is not None, result.stdout.str()
    tdd: dict[str, Any] = next(c for c in report["checks"] if c["id"] == "tdd")
    return result, tdd


def _worktrees(project: Any) -> int:
    return int(project.git("worktree", "list", "--porcelain").count("worktree "))


def test_symlinks_in_the_parent_commit_never_redirect_a_write(
    project: Any,
    user_state: Callable[[Path], dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "precious.txt"
    outside.write_text("not a repository's file\n", encoding="utf-8")
    user_src = project.path / "src" / "app"
    # The parent commit: test paths that are links into the user's checkout and outside it.
    _link(project, "tests/test_triple.py", _climbing(user_src / "calc.py"))
    _link(project, "tests/test_other.py", str(outside))
    _link(project, "tests/unit", _climbing(user_src))
    project.commit("chore: test fixtures")
    # The judged commit replaces each link with a real test, paired with the code.
    _replace_link(project, "tests/test_triple.py", TRIPLE_TEST)
    _replace_link(project, "tests/test_other.py", OTHER_TEST)
    (project.path / "tests" / "unit").unlink()
    project.write("tests/unit/test_unit.py", UNIT_TEST)
    project.append("src/app/calc.py", TRIPLE)
    project.commit("feat: triple")
    project.append("src/app/calc.py", "\n\ndef uncommitted() -> int:\n    return 0\n")
    before, outside_before = user_state(project.path), _digest(outside)
    result, tdd = _replay(project)
    assert user_state(project.path) == before, result.stdout.str()
    assert _digest(outside) == outside_before
    assert not (user_src / "test_unit.py").exists()
    assert tdd["metrics"]["replay_verified"] >= 1, tdd
    assert _worktrees(project) == 1


def _marker_program(where: Path, name: str, marker: Path) -> Path:
    """A program that, if anything runs it, notes where in ``marker`` (stdin passes through)."""
    where.mkdir(parents=True, exist_ok=True)
    program = where / name
    program.write_text(f"#!/bin/sh\npwd >> '{marker}'\ncat\n", encoding="utf-8")
    program.chmod(0o755)
    return program


def _test_then_code(project: Any) -> None:
    """A test-first pair on top of whatever the branch has: replayed from its parent."""
    project.write("tests/test_triple.py", TRIPLE_TEST)
    project.commit("test: triple")
    project.append("src/app/calc.py", TRIPLE)
    project.commit("feat: triple")


def _filter_named_with_equals(project: Any, program: Path, _: Path) -> None:
    project.git("config", "filter.a=b.smudge", str(program))
    project.write(".gitattributes", "*.txt filter=a=b\n")


def _filter_in_a_worktree_only_include(project: Any, program: Path, scratch: Path) -> None:
    included = scratch / "worktree-only.cfg"
    included.write_text(f'[filter "inc"]\n\tsmudge = {program}\n', encoding="utf-8")
    project.git("config", "includeIf.gitdir:**/worktrees/**.path", str(included))
    project.write(".gitattributes", "*.txt filter=inc\n")


def _lfs_like_process_filter(project: Any, program: Path, _: Path) -> None:
    project.git("config", "filter.lfs.process", str(program))
    project.write(".gitattributes", "*.txt filter=lfs\n")


def _post_checkout_hook(project: Any, program: Path, _: Path) -> None:
    hook = project.path / ".git" / "hooks" / "post-checkout"
    hook.write_bytes(program.read_bytes())
    hook.chmod(0o755)


def _hooks_path(project: Any, program: Path, scratch: Path) -> None:
    hooks = scratch / "hooks"
    hooks.mkdir()
    (hooks / "post-checkout").write_bytes(program.read_bytes())
    (hooks / "post-checkout").chmod(0o755)
    project.git("config", "core.hooksPath", str(hooks))


def _fsmonitor(project: Any, program: Path, _: Path) -> None:
    project.git("config", "core.fsmonitor", str(program))


def _submodule_recursion(project: Any, program: Path, scratch: Path) -> None:
    sub = scratch / "sub"
    sub.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(sub)], check=True)
    (sub / ".gitattributes").write_text("*.txt filter=sub\n", encoding="utf-8")
    (sub / "data.txt").write_text("submodule data\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(sub), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(sub), "commit", "-q", "-m", "sub"], check=True)
    project.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor")
    project.git("config", "submodule.recurse", "true")
    project.git("config", "filter.sub.smudge", str(program))
    modules = project.path / ".git" / "modules" / "vendor" / "config"
    with modules.open("a", encoding="utf-8") as config:
        config.write(f'[filter "sub"]\n\tsmudge = {program}\n[core]\n\tfsmonitor = {program}\n')


CHECKOUT_VECTORS = {
    "filter-named-with-equals": _filter_named_with_equals,
    "filter-in-worktree-only-include": _filter_in_a_worktree_only_include,
    "lfs-like-process-filter": _lfs_like_process_filter,
    "post-checkout-hook": _post_checkout_hook,
    "core-hooks-path": _hooks_path,
    "core-fsmonitor": _fsmonitor,
    "submodule-recursion": _submodule_recursion,
}


@pytest.mark.parametrize("vector", sorted(CHECKOUT_VECTORS))
def test_the_replay_checkout_runs_no_program_the_repository_names(
    project: Any,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    vector: str,
) -> None:
    # The replay's tree lives under this TMPDIR: a program run there was run for the replay.
    # (What git runs in the user's own checkout is the git layer's concern, judged elsewhere.)
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    scratch = tmp_path_factory.mktemp("scratch")
    marker = scratch / "ran"
    program = _marker_program(scratch / "bin", "marker", marker)
    project.write("data/notes.txt", "checked out through the filter\n")
    CHECKOUT_VECTORS[vector](project, program, scratch)
    project.commit("chore: data")
    _test_then_code(project)
    result, tdd = _replay(project)
    ran = marker.read_text(encoding="utf-8").splitlines() if marker.exists() else []
    in_replay = [cwd for cwd in ran if cwd.startswith(str(tmpdir))]
    assert in_replay == [], f"{vector} ran in the replay's tree:\n{result.stdout.str()}"
    assert tdd["metrics"]["replay_verified"] >= 1, tdd
    assert _worktrees(project) == 1


SLOW_TEST = (
    "import os\nimport time\n\n\ndef test_triple():\n"
    "    if os.environ.get('PBE_REPLAY_WORKTREE'):\n"
    "        time.sleep(60)  # inside the replay: long enough to be interrupted there\n"
    "    from app.calc import triple\n\n    assert triple(1) == 3\n"
)


def _in_replay(tmpdir: Path) -> bool:
    """Is a process running with its working directory in a replay tree under ``tmpdir``?"""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with_cwd = ""
        try:
            with_cwd = str((entry / "cwd").readlink())
        except OSError:
            continue
        if with_cwd.startswith(f"{tmpdir}/"):
            return True
    return False


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _start_replay(project: Any, tmpdir: Path) -> subprocess.Popen[bytes]:
    project.base = project.git("rev-parse", "HEAD")  # one pair to replay, not two
    project.write("tests/test_triple.py", SLOW_TEST)
    project.commit("test: triple")
    project.append("src/app/calc.py", TRIPLE)
    project.commit("feat: triple")
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    argv = [sys.executable, "-m", "pytest", "--pbe-verify", "--pbe-base", project.base]
    argv += ["--pbe-checks", "tests,tdd", "--pbe-tdd", "replay", "-p", "no:cacheprovider"]
    argv += ["--pbe-report-json", "r.json"]
    proc = subprocess.Popen(
        argv, cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert _wait_for(lambda: _in_replay(tmpdir), 120), "the replay never started"
    return proc


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigterm_in_the_middle_of_a_replay_removes_its_tree(
    project: Any,
    user_state: Callable[[Path], dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    proc = _start_replay(project, tmpdir)
    before = user_state(project.path)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    text = output.decode("utf-8", "replace")
    assert list(tmpdir.iterdir()) == [], text
    assert _wait_for(lambda: not _in_replay(tmpdir), 10), text
    assert _worktrees(project) == 1
    assert user_state(project.path) == before
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    tdd = next(c for c in report["checks"] if c["id"] == "tdd")
    assert (tdd["status"], report["passed"]) == ("error", False)


def _owned(tmpdir: Path, name: str, pid: int) -> Path:
    """A directory with an owner file as pytest-pbe writes it, for process ``pid``."""
    from pytest_pbe.tdd.scratch import OWNER_FILE, owner_record

    made = tmpdir / name
    made.mkdir()
    (made / OWNER_FILE).write_text(json.dumps(owner_record(pid)), encoding="utf-8")
    return made


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_tree_left_by_sigkill_is_removed_by_the_next_replay_and_nothing_else(
    project: Any,
    user_state: Callable[[Path], dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    users_own = tmpdir / "pbe-replay-mine"
    users_own.mkdir()
    (users_own / "keep.txt").write_text("the user's\n", encoding="utf-8")
    live = _owned(tmpdir, "pbe-replay-live", os.getpid())  # a session still running
    proc = _start_replay(project, tmpdir)
    proc.kill()
    proc.communicate(timeout=60)
    left = sorted(p.name for p in tmpdir.iterdir())
    assert len(left) == 3, left  # what the killed session made stays, until the next run
    assert _wait_for(lambda: not _in_replay(tmpdir), 10), "the replayed pytest outlived it"
    assert _worktrees(project) == 1  # nothing was ever registered in the repository
    # The next replay, of a history without the slow test (replayed, it would sleep).
    project.git("reset", "-q", "--hard", "HEAD~2")
    _test_then_code(project)
    before = user_state(project.path)
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    _, tdd = _replay(project)
    assert tdd["metrics"]["replay_verified"] >= 1, tdd
    assert sorted(p.name for p in tmpdir.iterdir()) == ["pbe-replay-live", "pbe-replay-mine"]
    assert (users_own / "keep.txt").read_text(encoding="utf-8") == "the user's\n"
    assert live.is_dir()
    assert _worktrees(project) == 1
    assert user_state(project.path) == before


# --- the tree's writer and owner files, in process ------------------------------------------


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("kept\n", encoding="utf-8")
    return tree, outside


def test_writes_replace_links_in_the_way_and_never_follow_them(tmp_path: Path) -> None:
    from pytest_pbe.tdd import scratch

    tree, outside = _tree(tmp_path)
    (tree / "file.py").symlink_to(outside / "precious.txt")
    (tree / "dir").symlink_to(outside)
    (tree / "gone").symlink_to(outside)
    (tree / "nested" / "deep").mkdir(parents=True)
    (tree / "nested" / "deep" / "x.txt").write_text("x", encoding="utf-8")
    with scratch.open_root(tree) as root:
        scratch.write_file(root, "file.py", b"new\n")
        scratch.write_file(root, "dir/precious.txt", b"new\n", executable=True)
        scratch.remove_file(root, "gone/precious.txt")
        scratch.remove_file(root, "missing/precious.txt")
        scratch.write_file(root, "nested", b"a file now\n")
        scratch.write_link(root, "sub/link", b"../file.py")
        scratch.make_dir(root, "vendor/module")
    assert (outside / "precious.txt").read_text(encoding="utf-8") == "kept\n"
    assert (tree / "file.py").read_bytes() == b"new\n"
    assert not (tree / "file.py").is_symlink()
    assert not (tree / "dir").is_symlink()
    assert os.access(tree / "dir" / "precious.txt", os.X_OK)
    assert (tree / "nested").read_bytes() == b"a file now\n"
    assert (tree / "sub" / "link").readlink() == Path("../file.py")
    assert (tree / "vendor" / "module").is_dir()


@pytest.mark.parametrize("rel", ["../escape.py", "a//b.py", ".git/config", "x/./y", "n\0ul"])
def test_a_path_git_would_refuse_is_never_written(tmp_path: Path, rel: str) -> None:
    from pytest_pbe.errors import PbeError
    from pytest_pbe.tdd import scratch

    tree, _ = _tree(tmp_path)
    with scratch.open_root(tree) as root, pytest.raises(PbeError, match="refusing to write"):
        scratch.write_file(root, rel, b"x")
    assert list(tree.iterdir()) == []


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_an_owner_is_dead_only_when_surely_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_pbe.tdd import scratch

    mine = scratch.owner_record(os.getpid())
    assert scratch.owner_is_dead(mine) is False
    assert scratch.owner_is_dead({**mine, "start": "0"}) is True  # the pid was reused
    assert scratch.owner_is_dead({**mine, "boot": "another-boot"}) is True
    assert scratch.owner_is_dead(scratch.owner_record(_dead_pid())) is True
    assert scratch.owner_is_dead({**mine, "pid": "1"}) is False  # not ours to judge
    assert scratch._start_time(_dead_pid()) == ""
    assert scratch._boot_id(str(Path(os.devnull) / "none")) == ""

    def denied(pid: int, sig: int) -> None:
        raise PermissionError(pid)

    monkeypatch.setattr(scratch.os, "kill", denied)
    assert scratch.owner_is_dead(mine) is False  # another user's live process


def test_the_sweep_removes_dead_owners_trees_only(tmp_path: Path) -> None:
    from pytest_pbe.tdd import scratch

    dead = _owned(tmp_path, "pbe-replay-dead", _dead_pid())
    live = _owned(tmp_path, "pbe-replay-live", os.getpid())
    foreign = _owned(tmp_path, "pbe-replay-foreign", _dead_pid())
    os.chown(foreign, os.getuid() + 1, -1) if os.getuid() == 0 else foreign.rmdir()
    (tmp_path / "pbe-replay-plain").mkdir()
    (tmp_path / "pbe-replay-bad").mkdir()
    (tmp_path / "pbe-replay-bad" / scratch.OWNER_FILE).write_text("[", encoding="utf-8")
    (tmp_path / "pbe-replay-odd").mkdir()
    (tmp_path / "pbe-replay-odd" / scratch.OWNER_FILE).mkdir()
    (tmp_path / "pbe-replay-link").symlink_to(dead)
    (tmp_path / "pbe-replay-file").write_text("", encoding="utf-8")
    (tmp_path / "other").mkdir()
    assert scratch.sweep_orphans(tmp_path) == ["pbe-replay-dead"]
    assert not dead.exists()
    assert live.is_dir()
    assert scratch.sweep_orphans(tmp_path / "missing") == []


def _small_repo(path: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)
        return done.stdout.decode().strip()

    git("init", "-q")
    (path / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (path / "run.sh").chmod(0o755)
    (path / "link").symlink_to("run.sh")
    git("add", "-A")
    head = git("commit", "-q", "-m", "one") or git("rev-parse", "HEAD")
    git("update-index", "--add", "--cacheinfo", f"160000,{git('rev-parse', 'HEAD')},vendor")
    git("commit", "-q", "-m", "gitlink")
    return head


def test_a_replayer_writes_its_tree_from_git_objects_and_removes_it(tmp_path: Path) -> None:
    from pytest_pbe.git.runner import Repository
    from pytest_pbe.tdd.replay import Replayer

    repo_path = tmp_path / "repo"
    repo_path.mkdir()
    _small_repo(repo_path)
    with Replayer(
        Repository(repo_path), rootdir_rel="", timeout=10, classify=lambda p: "test"
    ) as replayer:
        assert replayer.tree is not None
        assert replayer.tmp is not None
        tmp, tree = replayer.tmp, replayer.tree
        replayer._checkout("HEAD")
        replayer._checkout("HEAD")  # again over the first: the same tree
        replayer._overlay({"tests/test_a.py": b"x = 1\n", "run.sh": None})
        assert (tree / "link").readlink() == Path("run.sh")
        assert (tree / "vendor").is_dir()
        assert not (tree / "run.sh").exists()
        assert (tree / "tests" / "test_a.py").read_bytes() == b"x = 1\n"
    assert not tmp.exists()


def test_git_answers_the_tree_cannot_use_are_errors(tmp_path: Path) -> None:
    from pytest_pbe.errors import PbeError
    from pytest_pbe.git.runner import Repository
    from pytest_pbe.tdd import scratch

    class Garbled(Repository):
        def run(self, *args: str, **kwargs: Any) -> bytes:
            return b"garbage\0"

    with pytest.raises(PbeError, match="unexpected git ls-tree record"):
        scratch.materialise(Garbled(tmp_path), "HEAD", tmp_path / "tree")
    with pytest.raises(PbeError, match="could not read blob"):
        scratch._blobs(Garbled(tmp_path), [b"0" * 40])


def test_sigterm_unwinds_only_over_the_default_action_in_the_main_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from pytest_pbe.tdd import replay

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        seen: list[object] = []
        worker = threading.Thread(target=lambda: seen.append(replay._unwind_on_sigterm()))
        worker.start()
        worker.join()
        assert seen == [None]
        assert replay._unwind_on_sigterm() is signal.SIG_DFL
        with pytest.raises(replay.Terminated):  # noqa: PT012  # the signal lands in the sleep
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        assert replay._unwind_on_sigterm() is None  # a handler is there: it stays
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_replayer_that_cannot_set_itself_up_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from pytest_pbe.git.runner import Repository
    from pytest_pbe.tdd import replay

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(replay, "PROBE_NAME", "no/such/dir/probe")
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        replayer = replay.Replayer(
            Repository(tmp_path), rootdir_rel="", timeout=10, classify=lambda p: "test"
        )
        with pytest.raises(FileNotFoundError):
            replayer.__enter__()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []
