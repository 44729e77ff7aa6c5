"""No user data is touched: working tree, index, branch and stash are as they were.

Also when the run is interrupted (SIGINT in the middle of a replay) or a test ends the
process with ``os._exit``: no temporary worktree or directory is left behind, and no
child process (a replayed pytest, mypy, ruff, bandit) keeps running as an orphan.
"""

from __future__ import annotations

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

SLOW_TEST = (
    "import time\n\n\ndef test_triple():\n    time.sleep(3)\n"
    "    from app.calc import triple\n\n    assert triple(1) == 3\n"
)
TRIPLE = "\n\ndef triple(a: int) -> int:\n    return a * 3\n"


def user_work(project: Any) -> None:
    """Staged, unstaged and untracked work, a stash entry: what a developer has around."""
    project.write("notes.txt", "kept in the stash\n")
    project.git("add", "notes.txt")
    project.git("stash", "push", "-q", "-m", "my stash")
    project.append("src/app/calc.py", "\n\ndef staged() -> int:\n    return 1\n")
    project.git("add", "src/app/calc.py")
    project.append("src/app/calc.py", "\n\ndef unstaged() -> int:\n    return 2\n")
    project.write("src/app/untracked.py", "VALUE = 3\n")
    project.write("tests/test_more.py", "def test_more():\n    assert True\n")


def test_a_replay_run_leaves_tree_index_branch_and_stash_as_they_were(
    project: Any,
    user_state: Callable[[Path], dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_work(project)
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    before = user_state(project.path)
    result, report = project.run(
        "--pbe-tdd", "replay", checks="tests,coverage,tdd,lint,errors,docs"
    )
    assert report is not None
    assert report["complete"] is True
    tdd = next(c for c in report["checks"] if c["id"] == "tdd")
    assert tdd["metrics"]["replay_verified"] >= 1, tdd
    assert user_state(project.path) == before
    assert list(tmpdir.iterdir()) == []
    assert result.ret in (0, 6), result.stdout.str()


def _processes_under(root: Path) -> list[int]:
    """Live processes whose working directory is inside ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = str((entry / "cwd").readlink())
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd == str(root) or cwd.startswith(f"{root}/")):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _verify(project: Any, tmpdir: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    argv = [sys.executable, "-m", "pytest", "--pbe-verify", "--pbe-base", project.base]
    argv += ["--pbe-report-json", "r.json", "-p", "no:cacheprovider", *args]
    return subprocess.Popen(
        argv, cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigint_in_the_middle_of_a_replay_removes_the_worktree_and_its_processes(
    project: Any,
    user_state: Callable[[Path], dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project.write("tests/test_triple.py", SLOW_TEST)
    project.commit("test: triple")
    project.append("src/app/calc.py", TRIPLE)
    project.commit("feat: triple")
    user_work(project)
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    before = user_state(project.path)
    proc = _verify(project, tmpdir, "--pbe-checks", "tests,tdd", "--pbe-tdd", "replay")
    # The replayed pytest runs inside the temporary worktree: wait until it does.
    assert _wait_for(lambda: bool(_processes_under(tmpdir)), 60), "the replay never started"
    replayed = _processes_under(tmpdir)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    text = output.decode("utf-8", "replace")
    assert _wait_for(lambda: not any(_alive(p) for p in replayed), 10), (replayed, text)
    assert _processes_under(tmpdir) == []
    assert list(tmpdir.iterdir()) == [], text
    assert user_state(project.path) == before
    assert "Traceback" not in text, text
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    assert report["complete"] is False
    assert report["passed"] is False
    tdd = next(c for c in report["checks"] if c["id"] == "tdd")
    assert tdd["status"] == "error"
    assert tdd["summary"] == "interrupted (KeyboardInterrupt) while judging: not judged"


PID_TOOL = """
with open(os.environ["PBE_PID_DIR"] + "/" + os.path.basename(sys.argv[0]), "w") as f:
    f.write(str(os.getpid()))
time.sleep(120)
"""


@pytest.fixture
def pid_tools(
    fake_tool: Callable[[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """mypy, ruff and bandit replaced by tools that write their pid here, then wait."""
    pids = tmp_path_factory.mktemp("pids")
    monkeypatch.setenv("PBE_PID_DIR", str(pids))
    for variable, name in (("PBE_MYPY", "mypy"), ("PBE_RUFF", "ruff"), ("PBE_BANDIT", "bandit")):
        monkeypatch.setenv(variable, str(fake_tool(name, PID_TOOL)))
    return pids


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_test_calling_os_exit_leaves_no_tool_running(
    project: Any,
    pid_tools: Path,
    user_state: Callable[[Path], dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    pids = pid_tools
    project.write(
        "tests/test_exit.py",
        "import os, time\n\n\ndef test_exit():\n"
        "    deadline = time.time() + 30\n"
        f"    while len(os.listdir({str(pids)!r})) < 3 and time.time() < deadline:\n"
        "        time.sleep(0.1)\n"
        "    os._exit(3)\n",
    )
    project.commit("test: exit")
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    before = user_state(project.path)
    proc = _verify(project, tmpdir, "--pbe-checks", "tests,types,lint,security,errors")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, output
    started = {p.name: int(p.read_text()) for p in pids.iterdir()}
    assert sorted(started) == ["bandit", "mypy", "ruff"]
    assert _wait_for(lambda: not any(_alive(p) for p in started.values()), 10), started
    assert list(tmpdir.iterdir()) == []
    assert user_state(project.path) == before


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigint_during_the_tests_stops_every_tool_and_marks_the_report_incomplete(
    project: Any, pid_tools: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pids = pid_tools
    project.write("tests/test_wait.py", "import time\n\n\ndef test_wait():\n    time.sleep(60)\n")
    project.commit("test: wait")
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    proc = _verify(project, tmpdir, "--pbe-checks", "tests,types,lint,security")
    assert _wait_for(lambda: len(list(pids.iterdir())) == 3, 60), "the tools never started"
    started = {p.name: int(p.read_text()) for p in pids.iterdir()}
    time.sleep(0.5)  # inside test_wait's sleep by now
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    text = output.decode("utf-8", "replace")
    assert _wait_for(lambda: not any(_alive(p) for p in started.values()), 10), started
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    assert report["complete"] is False
    for check in report["checks"]:
        if check["id"] in ("types", "lint", "security"):
            assert (check["status"], check["summary"]) == (
                "error",
                "session interrupted before the tests finished: not judged",
            )
