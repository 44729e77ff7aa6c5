"""A tool run in the background: one subprocess, started early, collected at the end.

The run writes to anonymous temporary files (never pipes, so a chatty tool cannot block
on a full pipe while nobody reads), lives in its own process group (so a timeout kills
the whole tree it started), starts at the lowest CPU priority (``spawn``), and never goes
through a shell.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pytest_pbe.errors import ToolError
from pytest_pbe.measure.threads import OWN_THREADS, untraced

# Variables that would make coverage.py (or pytest-cov) measure the tool itself: a
# session under ``coverage run`` must not turn mypy into a measured, slowed subprocess.
_DROPPED_PREFIXES = ("COV_CORE_", "COVERAGE_PROCESS_")


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` that makes the child die with its parent; else None.

    A tool runs in its own session (so a timeout can kill its whole group), which also
    means nothing stops it when pytest dies without cleaning up (``os._exit`` in a test,
    SIGKILL): ``PR_SET_PDEATHSIG`` has the kernel send it SIGKILL then. The libc function
    is looked up here, in the parent: the child only calls it.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl: nobody will collect us
            os._exit(1)

    return preexec


# Runs first in the child, then becomes the tool (``execv``): sets the parent-death signal
# there, so that pytest never needs a ``preexec_fn`` (which makes every spawn fork the whole
# pytest process: tens of milliseconds each, against a few for the fast path), and lowers
# the tool to the lowest priority (where ``spawn`` could not fork it there already): it
# works beside the tests on a core they leave idle, and at any higher priority it takes
# turns on the tests' own core (measured on 2 cores: the tests' collection took 0.25 s
# longer beside the tools at nice 5, 0.1 s at 19). A tool in a session of its own (Python
# 3.10's ``start_new_session``) is also a scheduling group of its own under Linux's
# autogroups, which share the CPU fairly whatever their members' nice values: the group's
# nice value is lowered too. Only there: a child in pytest's session would lower pytest's
# own. Once the tests end the tool has the machine to itself, and its timeout starts then
# (``_wait``).
_LAUNCHER = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
try:
    os.nice(19)
except OSError:
    pass
if os.getsid(0) == os.getpid():  # a session of its own: Linux schedules it as a group
    try:
        with open("/proc/self/autogroup", "w") as group:
            group.write("19")
    except OSError:
        pass
os.execv(sys.argv[2], sys.argv[2:])
"""


@functools.cache
def _setpriv() -> str | None:
    """util-linux's ``setpriv`` if it sets a parent-death signal (util-linux 2.33+), else None.

    It does what the launcher does in a millisecond instead of an interpreter's start-up
    (about 20 ms of CPU per tool, on the core the tests share memory and caches with).
    Asked once per process: ``setpriv --pdeathsig KILL`` running ``setpriv --version``.
    """
    found = shutil.which("setpriv")
    if found is None:
        return None
    try:
        check = subprocess.run(
            [found, "--pdeathsig", "KILL", "--", found, "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found if check.returncode == 0 else None


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """Linux: ``argv`` behind a launcher that makes it die with this process; else as is.

    The launcher is util-linux's ``setpriv`` where it can (``_setpriv``), else ``_LAUNCHER``.

    A program that cannot be found is returned as is, so that starting it fails here with
    the usual ``OSError`` rather than in the launcher.
    """
    if not sys.platform.startswith("linux") or not argv:
        return list(argv)
    if Path(argv[0]).is_absolute():
        program: str | None = argv[0]
    elif os.sep in argv[0]:
        return list(argv)  # relative to the child's working directory: leave it to Popen
    else:
        program = shutil.which(argv[0])
    if program is None or not os.access(program, os.X_OK):
        return list(argv)
    # Python 3.10 starts a tool in a session of its own, whose group only the launcher lowers.
    setpriv = _setpriv() if sys.version_info >= (3, 11) else None
    if setpriv is not None:  # at nice 19 already: forked by the spawner thread
        return [setpriv, "--pdeathsig", "KILL", "--", program, *argv[1:]]
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), program, *argv[1:]]


class _Spawner:
    """Forks every background process from one thread of its own, at nice 19.

    On Linux a thread's nice value is its own, and a child inherits its parent thread's:
    forked here, a tool is at the lowest priority from its first instruction, its
    launcher's interpreter start-up included (at nice 0, five such start-ups took turns
    with the tests' collection on 2 cores). The thread lives as long as the process:
    Linux sends a child its parent-death signal when the thread that forked it ends.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._pending = threading.Condition(self._lock)
        self._jobs: list[_SpawnJob] = []
        self._thread: threading.Thread | None = None

    def popen(self, argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
        job = _SpawnJob(list(argv), options)
        if self._pid != os.getpid():  # a forked child: the thread (and its lock) stayed behind
            self._reset()
        with self._pending:
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name="pbe-spawn", daemon=True)
                OWN_THREADS.add(thread)  # its children are the tools: nobody's leak
                thread.start()
                self._thread = thread
            self._jobs.append(job)
            self._pending.notify()
        job.done.wait()
        if isinstance(job.outcome, BaseException):
            raise job.outcome
        if job.outcome is None:  # pragma: no cover - the spawner always sets one
            raise RuntimeError(f"{argv[0]!r} was neither started nor refused")
        return job.outcome

    def _serve(self) -> None:
        untraced()
        with contextlib.suppress(OSError, AttributeError):  # not Linux: the launcher nices
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        while True:
            with self._pending:
                while not self._jobs:
                    self._pending.wait()
                job = self._jobs.pop(0)
            try:
                job.outcome = subprocess.Popen(job.argv, **job.options)  # no shell
            except BaseException as exc:  # noqa: BLE001  # raised in the caller's thread
                job.outcome = exc
            finally:
                job.done.set()


@dataclass
class _SpawnJob:
    argv: list[str]
    options: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    outcome: subprocess.Popen[bytes] | BaseException | None = None


_SPAWNER = _Spawner()


def spawn(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **options)``, forked at the lowest priority (see _Spawner).

    Behind ``dying_with_parent``, and in a process group of its own (so that a timeout
    kills everything it started) but not a session of its own: Linux schedules a session
    as a group of its own, which would share the CPU evenly with pytest's whatever its
    nice value (Python 3.10 has no ``process_group``: a session there).
    """
    if os.name == "posix":
        if sys.version_info >= (3, 11):
            options.setdefault("process_group", 0)
        else:  # pragma: no cover - Python 3.10
            options.setdefault("start_new_session", True)
    return _SPAWNER.popen(dying_with_parent(argv), **options)


def tool_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a tool gets: the user's, minus coverage's subprocess hooks."""
    env = {k: v for k, v in environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env["NO_COLOR"] = "1"
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


@dataclass(frozen=True)
class Completed:
    """What a finished tool printed, and how it ended."""

    tool: str
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def stderr_lines(self) -> list[str]:
        return [line.rstrip() for line in self.stderr.splitlines() if line.strip()]

    def first_stderr(self, default: str = "no message") -> str:
        """The most telling stderr line: the last one of a traceback, else the first."""
        lines = self.stderr_lines()
        if not lines:
            return default
        if any(line.startswith("Traceback") for line in lines):
            return lines[-1].strip()
        return lines[0].strip()


class BackgroundRun:
    """One started tool process; ``collect`` waits for it, at most ``timeout`` seconds."""

    def __init__(
        self,
        tool: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout: float,
        hint: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.tool = tool
        self.argv = tuple(argv)
        self.cwd = cwd
        self.timeout = timeout
        self.hint = hint  # what to do when the tool cannot be started
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  # closed in _close
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._started = time.perf_counter()
        self._result: Completed | ToolError | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = spawn(
                self.argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
                env=tool_environment(os.environ if environ is None else environ),
            )
        except OSError as exc:
            self._close()
            self._result = ToolError(
                f"{tool} could not be started ({self.argv[0]!r}: {exc.strerror or exc}); {hint}"
            )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def seconds(self) -> float | None:
        """How long the tool ran, once collected."""
        return self._result.seconds if isinstance(self._result, Completed) else None

    def collect(self) -> Completed:
        """Wait for the tool; raise ``ToolError`` if it could not start or timed out."""
        if self._result is None:
            self._result = self._wait()
        if isinstance(self._result, ToolError):
            raise self._result
        return self._result

    def _wait(self) -> Completed | ToolError:
        proc = self._proc
        if proc is None:  # pragma: no cover - a run that never started has its error recorded
            return ToolError(f"{self.tool} was never started")
        # The timeout counts from now, when the session starts waiting: the tool ran at
        # the lowest priority beside the tests, and a long session on a busy machine may
        # have left it no CPU at all until they ended.
        try:
            returncode = proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return ToolError(
                f"{self.tool} did not finish within {self.timeout:g}s (pbe_tool_timeout) and "
                f"was stopped; raise pbe_tool_timeout, or run "
                f"'{self.command_line()}' "
                "yourself to see why it is slow"
            )
        seconds = time.perf_counter() - self._started
        stdout, stderr = self._read(self._out), self._read(self._err)
        self._close()
        return Completed(self.tool, self.argv, returncode, stdout, stderr, seconds)

    def command_line(self, limit: int = 8) -> str:
        shown = list(self.argv[:limit])
        if len(self.argv) > limit:
            shown.append(f"... ({len(self.argv) - limit} more arguments)")
        return " ".join(shown)

    @staticmethod
    def _read(handle: IO[bytes]) -> str:
        handle.seek(0)
        return handle.read().decode("utf-8", "replace")

    def _close(self) -> None:
        for handle in (self._out, self._err):
            with contextlib.suppress(OSError):
                handle.close()

    def kill(self) -> None:
        """Stop the tool and everything it started (a no-op once it has ended)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._close()
            return
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # its own process group (spawn)
        else:  # pragma: no cover - Windows has no process groups to kill
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self._close()
        if self._result is None:
            self._result = ToolError(f"{self.tool} was stopped before it finished")
