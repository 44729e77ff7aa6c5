"""Cheap snapshots of what a process holds: threads, file descriptors, child processes.

Each probe costs a few microseconds (one ``listdir`` of ``/proc/self/fd``, one small read
per thread of ``/proc/self/task/<tid>/children``), so it can run around every test.
Where the platform can't tell (no ``/proc``), the probe returns None and is reported as
unavailable rather than as clean.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_FD_DIRS = ("/proc/self/fd", "/dev/fd")


def _fd_dir() -> str | None:
    if sys.platform.startswith("win"):
        return None
    for path in _FD_DIRS:
        if Path(path).is_dir():
            return path
    return None


FD_DIR = _fd_dir()


def _children_supported() -> bool:
    # Needs CONFIG_PROC_CHILDREN (on in every mainstream Linux kernel since 3.5).
    return Path(f"/proc/self/task/{os.getpid()}/children").exists()


CHILDREN_SUPPORTED = _children_supported()
_PID = os.getpid()


def open_fds() -> frozenset[str] | None:
    """The open file descriptors (as their names in the fd directory), None if unlistable."""
    if FD_DIR is None:
        return None
    keep = _probe_fd()  # opened before the listing, so every listing has it
    names = os.listdir(FD_DIR)  # noqa: PTH208  # the fastest listing; this runs per test
    # The listing's own descriptor is in the list but already closed again. It was the
    # lowest free descriptor then, so it is the lowest free one now: find and drop it.
    probe = os.dup(keep)  # dup() returns the lowest free descriptor, cheaply
    os.close(probe)
    fds = frozenset(names)
    return fds - {str(probe)}


_PROBE: list[int] = []


def _probe_fd() -> int:
    """One descriptor kept open for the session, only to be dup()ed (it is in every listing)."""
    if not _PROBE:
        _PROBE.append(os.open(os.devnull, os.O_RDONLY))
    return _PROBE[0]


def describe_fd(fd: int) -> str | None:
    """What a descriptor points to (a path, ``socket:[…]``, ``pipe:[…]``), None if closed."""
    if FD_DIR is None:
        return None
    try:
        return str(Path(f"{FD_DIR}/{fd}").readlink())
    except OSError:
        try:  # /dev/fd on macOS is not a symlink farm: at least say it is open
            os.fstat(fd)
        except OSError:
            return None
        return "open"


def child_pids(threads: Iterable[threading.Thread] = ()) -> frozenset[bytes] | None:
    """Child processes of this process (running, or exited but not waited for).

    ``threads``: the live threads, if the caller has them (children belong to a thread).
    """
    if not CHILDREN_SUPPORTED:
        return None
    tids = {_PID}
    tids.update(t.native_id for t in threads or threading.enumerate() if t.native_id is not None)
    pids: set[bytes] = set()
    for tid in tids:
        try:
            fd = os.open(f"/proc/self/task/{tid}/children", os.O_RDONLY)
        except OSError:  # the thread ended meanwhile: its children moved to another thread
            continue
        try:
            data = os.read(fd, 65536)
        finally:
            os.close(fd)
        pids.update(data.split())
    return frozenset(pids)


def describe_process(pid: int) -> str:
    """``pid 123 (sleep 30), running`` from /proc, as far as it can be read."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        command = " ".join(a.decode(errors="replace") for a in argv if a)
        if not command:  # not readable yet (or a kernel thread): the short name at least
            command = Path(f"/proc/{pid}/comm").read_bytes().decode(errors="replace").strip()
    except OSError:
        command = ""
    state = "running"
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        if stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"Z":
            state = "exited but never waited for (zombie)"
    except OSError:
        state = "gone"
    if len(command) > 120:
        command = command[:117] + "..."
    return f"pid {pid}" + (f" ({command})" if command else "") + f", {state}"


def process_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@dataclass
class Snapshot:
    """What the process held at one moment; None fields were not measurable."""

    threads: set[threading.Thread] = field(default_factory=set)
    fds: frozenset[str] | None = None
    children: frozenset[bytes] | None = None

    @classmethod
    def take(cls) -> Snapshot:
        threads = threading.enumerate()
        return cls(set(threads), open_fds(), child_pids(threads))

    def with_fresh_threads(self) -> Snapshot:
        """This snapshot's descriptors and children, with the threads of right now."""
        return Snapshot(set(threading.enumerate()), self.fds, self.children)


@dataclass
class Resources:
    """A set of resources (a fixture's, or those excluded from a test's blame)."""

    threads: set[threading.Thread] = field(default_factory=set)
    fds: set[int] = field(default_factory=set)
    children: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.threads or self.fds or self.children)

    def add(self, other: Resources) -> None:
        self.threads |= other.threads
        self.fds |= other.fds
        self.children |= other.children

    def discard(self, other: Resources) -> None:
        self.threads -= other.threads
        self.fds -= other.fds
        self.children -= other.children


def new_since(before: Snapshot, after: Snapshot, exclude: Resources) -> Resources:
    """Resources present in ``after`` but not ``before``, minus ``exclude``."""
    out = Resources()
    out.threads = {
        t
        for t in after.threads - before.threads
        if t.is_alive() and t not in exclude.threads and t is not threading.main_thread()
    }
    if before.fds is not None and after.fds is not None:
        out.fds = {int(fd) for fd in after.fds - before.fds if fd.isdigit()} - exclude.fds
    if before.children is not None and after.children is not None:
        out.children = {int(pid) for pid in after.children - before.children} - exclude.children
    return out


def probes_available() -> list[str]:
    names = ["thread"]
    if FD_DIR is not None:
        names.append("fd")
    if CHILDREN_SUPPORTED:
        names.append("process")
    return names
