"""How the tools run: once per session, in the background beside the tests, on the controller."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_pbe.errors import ToolError


def _logging_wrapper(fake_tool, log: Path, real: str) -> str:
    """A tool that records each start in ``log`` and then runs the real tool."""
    return fake_tool(f'echo "$$ $*" >> "{log}"\nexec {real} "$@"\n')


def test_the_tools_start_at_session_start_and_run_while_the_tests_run(
    project, write, verify, monkeypatch, fake_tool, tmp_path, real_ruff
):
    log = tmp_path / "ruff-started"
    monkeypatch.setenv("PBE_RUFF", _logging_wrapper(fake_tool, log, real_ruff))
    write("src/app/new.py", "def f() -> None:\n    unused = 1\n")
    # The project's only test waits for the tool to start: it passes only if ruff was
    # started before the test loop ended.
    write(
        "tests/test_app.py",
        f"""\
        import pathlib
        import time


        def test_ruff_runs_beside_me():
            log = pathlib.Path({str(log)!r})
            deadline = time.monotonic() + 30
            while not log.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert log.exists(), "ruff was not started while the tests ran"
        """,
    )

    verdict = verify("lint")

    assert verdict.checks["tests"]["status"] == "passed", verdict.result.stdout.str()
    assert verdict.checks["lint"]["status"] == "failed"
    assert len(log.read_text().splitlines()) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="the wrapper is a POSIX shell script")
def test_under_xdist_each_tool_runs_once_on_the_controller(
    project, write, verify, monkeypatch, fake_tool, tmp_path, real_ruff
):
    log = tmp_path / "ruff-started"
    monkeypatch.setenv("PBE_RUFF", _logging_wrapper(fake_tool, log, real_ruff))
    write("src/app/new.py", "def f() -> None:\n    unused = 1\n")
    for n in range(4):
        write(f"tests/test_more_{n}.py", f"def test_{n}():\n    assert True\n")

    verdict = verify("lint,errors", "-n", "2")

    assert verdict.checks["tests"]["metrics"]["passed"] == 5
    assert verdict.lines("lint") == [("src/app/new.py", 2, 2, "F841")]
    started = log.read_text().splitlines()
    # One ruff for lint (the project's rules), one for errors (the explicit selection).
    assert len(started) == 2, started
    assert sum("--select" in line for line in started) == 1


def test_a_session_judges_every_item_from_one_set_of_runs(project, write, verify):
    write(
        "src/app/new.py",
        """\
        import subprocess


        def run(cmd: str) -> int:
            try:
                subprocess.run(cmd, shell=True)
            except:
                pass
            return "done"
        """,
    )

    verdict = verify("types,lint,security,errors")

    checks = verdict.checks
    assert checks["types"]["status"] == "failed"
    assert verdict.lines("types") == [("src/app/new.py", 9, 9, "return-value")]
    assert [rule for _, _, _, rule in verdict.lines("lint")] == ["E722"]
    assert [f["rule"] for f in checks["security"]["findings"] if f["severity"] == "error"] == [
        "B602"
    ]
    static = {rule for _, _, _, rule in verdict.lines("errors")} - {"unexercised-handler"}
    assert static == {"E722", "S110"}
    for item in ("types", "lint", "security", "errors"):
        assert checks[item]["metrics"]["tool_seconds"] is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the launcher is Linux's")
def test_the_tools_run_at_the_lowest_priority_so_the_tests_keep_their_core(
    project, write, verify, monkeypatch, fake_tool, tmp_path, real_ruff
):
    # A tool that competes for the tests' core slows the session it hides behind: the
    # tools wait for a core the tests leave idle (they finish at full speed at the end).
    # A session of its own would be a scheduling group of its own ("autogroup") against
    # pytest's, whatever the tool's nice value: on Python 3.11+ it stays in pytest's
    # session (a process group of its own); on 3.10, in a session of its own, the group's
    # nice value is lowered too. A process in a cgroup with the cpu controller (a CI
    # container, say) is in no autogroup: the file then reads empty, and only nice counts.
    log = tmp_path / "ruff-priority"
    group = Path("/proc/self/autogroup")
    show_group = (
        f'printf "group:%s\\n" "$(cat /proc/self/autogroup)" >> "{log}"\n' if group.exists() else ""
    )
    monkeypatch.setenv(
        "PBE_RUFF", fake_tool(f'nice >> "{log}"\n{show_group}exec {real_ruff} "$@"\n')
    )
    write("src/app/new.py", "def f() -> None:\n    unused = 1\n")
    ours_before = group.read_text() if group.exists() else ""

    verdict = verify("lint")

    assert verdict.checks["lint"]["status"] == "failed"
    recorded = log.read_text().splitlines()
    assert recorded[0] == "19"
    if group.exists():
        assert recorded[1].startswith("group:"), recorded
        tool_group = recorded[1].removeprefix("group:")
        if sys.version_info >= (3, 11):
            assert tool_group == ours_before.strip(), recorded  # pytest's own group
        elif ours_before:
            assert tool_group.endswith(" nice 19"), recorded
        # The session's own group (shared with this process) is left as it was.
        assert group.read_text() == ours_before


def _nice_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # the 19th field of the line, counted from the state (3rd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_tool_process_is_at_the_lowest_priority_from_its_first_instruction(tmp_path):
    # The launcher's own interpreter start-up (before it could lower itself) took turns
    # with the tests' collection: the process is forked at nice 19 instead, in pytest's
    # scheduling group (a session of its own would be a group of its own, at full weight),
    # and in a process group of its own, so that a timeout still kills all it started.
    import os

    from pytest_pbe.tools.process import BackgroundRun

    ours = os.nice(0)
    run = BackgroundRun(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(30)"],
        cwd=tmp_path,
        timeout=5,
        hint="",
    )
    try:
        assert run.pid is not None
        assert _nice_of(run.pid) == 19  # read before the launcher's first line could run
        assert os.getpgid(run.pid) == run.pid
        if sys.version_info >= (3, 11):
            assert os.getsid(run.pid) == os.getsid(0)
        assert os.nice(0) == ours  # the calling thread is left as it was
    finally:
        run.kill()
    with pytest.raises(ToolError, match="stopped before it finished"):
        run.collect()


def test_the_background_starts_import_nothing_new_while_collection_imports_the_project(
    project, write, verify, tmp_path
):
    # Tests and other plugins may import on the traced main thread meanwhile: a module a
    # thread of ours imported for the first time then could vanish from sys.modules
    # inside coverage.py's tracer (coverage.py #2247).
    log = tmp_path / "thread-imports"
    write(
        "tests/conftest.py",
        f"""\
        import sys
        import threading

        looked_up = []


        class Spy:
            def find_spec(self, name, path=None, target=None):
                thread = threading.current_thread()
                if thread is not threading.main_thread() and name not in sys.modules:
                    looked_up.append((thread.name, name))
                return None  # only watching: the real finders find it


        sys.meta_path.insert(0, Spy())


        def pytest_unconfigure(config):
            # Looked up only (importlib.util.find_spec, as for mypy) is harmless.
            imported = [f"{{t}} {{n}}" for t, n in looked_up if n in sys.modules]
            if imported:
                with open({str(log)!r}, "w") as out:
                    out.write("\\n".join(imported))
        """,
    )
    write("src/app/new.py", "def f() -> None:\n    unused = 1\n")

    verdict = verify("coverage,tdd,types,lint,security,errors")

    assert verdict.checks["lint"]["status"] == "failed"
    assert not log.exists(), log.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and per-thread nice")
def test_a_forked_process_gets_a_spawner_of_its_own(tmp_path):
    # The spawner thread does not survive a fork: the child must not wait for it forever.
    import os
    import signal
    import warnings

    from pytest_pbe.tools.process import spawn

    assert spawn([sys.executable, "-c", "pass"]).wait(timeout=30) == 0  # the thread exists
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12: fork beside threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status only
        code = 1
        try:
            signal.alarm(30)
            code = spawn([sys.executable, "-c", "raise SystemExit(7)"]).wait(timeout=30)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)
@pytest.mark.parametrize("launcher", ["setpriv", "python"])
def test_a_tool_dies_with_a_pytest_process_that_is_killed(
    project, write, monkeypatch, fake_tool, tmp_path, launcher
):
    # A session killed outright (SIGKILL: no cleanup runs) leaves no tool behind, whether
    # util-linux's setpriv sets the parent-death signal or (an old setpriv, or none) the
    # Python launcher does.
    if launcher == "python":
        old_setpriv = Path(fake_tool("echo 'setpriv: unrecognized option' >&2\nexit 1\n"))
        shim = tmp_path / "old-util-linux"
        shim.mkdir()
        (shim / "setpriv").symlink_to(old_setpriv)
        monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    elif shutil.which("setpriv") is None:
        pytest.skip("no setpriv on this machine")
    pid_file = tmp_path / "tool.pid"
    monkeypatch.setenv(
        "PBE_RUFF",
        fake_tool(f'echo $$ > "{pid_file}.tmp"\nmv "{pid_file}.tmp" "{pid_file}"\nexec sleep 60\n'),
    )
    write("src/app/new.py", "def f() -> None:\n    return None\n")
    write("tests/test_app.py", "import time\n\n\ndef test_waits():\n    time.sleep(60)\n")
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--pbe-verify", "--pbe-checks", "tests,lint"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert session.poll() is None, "the session ended before the tool started"
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.05)
        tool = int(pid_file.read_text())
        assert _alive(tool)
    finally:
        session.kill()
        session.wait()
    deadline = time.monotonic() + 10
    while _alive(tool):
        assert time.monotonic() < deadline, "the tool outlived the killed pytest process"
        time.sleep(0.05)
