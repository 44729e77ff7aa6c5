"""Cheap snapshots of what a process holds: threads, file descriptors, child processes.

They run around every test, so the common case costs a few microseconds. Descriptors: a
listing of ``/proc/self/fd`` through a directory descriptor held open for the session costs
about 0.5 µs a descriptor, so a snapshot taken with the previous one at hand first proves
that nothing changed, in two system calls: the kernel's count of open descriptors (the
directory's size, Linux 6.2+) is the same, and every descriptor of the previous listing is
still open (one ``poll``: a closed one answers ``POLLNVAL``). As many open and none of the
old ones closed is the same table; anything else is listed. Children: one ``waitid`` that
says whether the calling thread has a child, and only when another thread may run the
tests' code, one more that says whether this process has any child at all. Only then are
children read, from ``/proc/self/task/<tid>/children`` (a child belongs to the thread that
started it), for each thread except pytest-pbe's own (:data:`OWN_THREADS`), whose children
are its tools running beside the tests. Two snapshots compare cheaply
(:meth:`Snapshot.same_as`); only when they differ are the differences worked out. Where the
platform can't tell (no ``/proc``), the probe returns None and is reported as unavailable
rather than as clean.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from pytest_pbe.measure.threads import OWN_THREADS

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
_NO_CHILDREN: frozenset[bytes] = frozenset()


class FdListing(NamedTuple):
    """One listing of the descriptor directory, as read (cheap to compare with another)."""

    names: list[str]  # in the kernel's order, including the listing's own descriptor
    own: int  # the listing's own descriptor: open while listing, closed again since
    pid: int = 0  # the process listed (a forked child's table is its own)

    def numbers(self) -> set[int]:
        return {int(name) for name in self.names if name.isdigit()} - {self.own}


# (pid, descriptor, whether it is the fd directory, whether its size counts the open
# descriptors): held for the session, to list through, to dup() and to fstat(). Per
# process: a forked child must not list its parent's.
_HELD: list[tuple[int, int, bool, bool]] = []


def _counts_open(held: int) -> bool:
    """Whether the fd directory's size is the number of open descriptors (Linux 6.2+;
    0 before). Checked against a listing; a thread opening or closing one meanwhile can
    only make it answer no, and then every snapshot lists."""
    if FD_DIR != "/proc/self/fd":
        return False
    for _attempt in range(3):
        size = os.fstat(held).st_size
        listed = len(os.listdir(held)) - 1  # the listing's own descriptor
        if size == listed and size == os.fstat(held).st_size:
            return size > 0
    return False


def _held_fd() -> tuple[int, bool, bool]:
    """A descriptor kept open for the session, whether it is the fd directory itself, and
    whether its size counts the open descriptors."""
    pid = os.getpid()
    if not _HELD or _HELD[0][0] != pid:
        try:
            held = os.open(FD_DIR or ".", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # a directory that can't be opened: list it by path
            _HELD[:] = [(pid, os.open(os.devnull, os.O_RDONLY), False, False)]
        else:
            _HELD[:] = [(pid, held, True, _counts_open(held))]
    _pid, held, is_dir, counts = _HELD[0]
    return held, is_dir, counts


# The listing the last proof was for, the process and held descriptor it is valid in, the
# listing's descriptors registered in a poll object (None: no proof possible) and how many
# they are. One entry, replaced whole.
_Proof = tuple[FdListing | None, int, int, "select.poll | None", int]
_PROOF: list[_Proof] = [(None, 0, -1, None, -1)]
_POLLNVAL = getattr(select, "POLLNVAL", 0)


def _proof_for(since: FdListing) -> _Proof:
    """Get ready to prove that the open descriptors are still exactly ``since``'s."""
    held, _is_dir, counts = _held_fd()
    pid = os.getpid()
    poller = None
    numbers = since.numbers()
    if counts and since.pid == pid and hasattr(select, "poll"):
        poller = select.poll()
        for fd in numbers:
            poller.register(fd, 0)  # no event asked: only POLLNVAL, POLLHUP, POLLERR
    proof = _PROOF[0] = (since, pid, held, poller, len(numbers))
    return proof


def fd_listing(since: FdListing | None = None) -> FdListing | None:
    """The open file descriptors, None if they can't be listed.

    ``since``: an earlier listing (of this process), returned itself when the descriptors
    are provably the same without listing them: as many are open (the fd directory's size)
    and each of ``since``'s still is (``poll`` with a timeout of 0 marks a closed one
    ``POLLNVAL``). A number closed and opened again in between lists the same either way.
    """
    if FD_DIR is None:
        return None
    if since is not None:  # the common case: one Python call, two system calls
        proof = _PROOF[0]
        if proof[0] is not since or proof[1] != os.getpid():
            proof = _proof_for(since)
        _since, _pid, held, poller, count = proof
        if poller is not None and os.fstat(held).st_size == count:
            polled = poller.poll(0)
            if not polled or not any(events & _POLLNVAL for _fd, events in polled):
                return since
    held, is_dir, _counts = _held_fd()  # opened before the listing, so every listing has it
    # Through the held directory when possible: no path lookup (the fastest listing).
    names = os.listdir(held if is_dir else FD_DIR)  # noqa: PTH208  # runs per test
    # The listing's own descriptor is in the list but already closed again. It was the
    # lowest free descriptor then, so it is the lowest free one now: find it.
    own = os.dup(held)  # dup() returns the lowest free descriptor, cheaply
    os.close(own)
    return FdListing(names, own, os.getpid())


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


# Linux's __WNOTHREAD: wait only for the calling thread's own children, not its siblings'.
_WNOTHREAD = 0x20000000
# waitid() options that look without changing anything (Linux only: read when called).
_PROBE = getattr(os, "WEXITED", 0) | getattr(os, "WNOHANG", 0) | getattr(os, "WNOWAIT", 0)


def _read_children(tid: int, pids: set[bytes]) -> None:
    try:
        fd = os.open(f"/proc/self/task/{tid}/children", os.O_RDONLY)
    except OSError:  # the thread ended meanwhile: its children moved to another thread
        return
    try:
        pids.update(os.read(fd, 65536).split())
    finally:
        os.close(fd)


# The threads child_pids last saw and which of them to read (the threads rarely change
# from one snapshot to the next, and choosing loops over them all in Python, traced line
# by line when the tests run under coverage). One entry, replaced whole (another thread
# may read it meanwhile); -1: no thread's id.
_CHOSEN: list[tuple[int, list[threading.Thread], tuple[int, ...]]] = [(-1, [], ())]


def _threads_to_read(current: int, threads: list[threading.Thread]) -> tuple[int, ...]:
    """The ids of the threads whose children to read: not the calling thread (it asks
    ``waitid`` first), nor pytest-pbe's own; always the main thread (its id is the pid:
    read even if it is not in ``threads``)."""
    seen_current, seen, tids = _CHOSEN[0]
    if seen_current == current and seen == threads:  # C-level: identical threads
        return tids
    main = os.getpid()
    chosen = [] if main == current else [main]
    cacheable = True
    own = OWN_THREADS
    for thread in threads:
        tid = thread.native_id
        if tid is None:  # not started yet: it may have an id (and children) next time
            cacheable = False
        elif tid != current and tid != main and thread not in own:
            chosen.append(tid)
    tids = tuple(chosen)
    _CHOSEN[0] = (current, list(threads), tids) if cacheable else (-1, [], ())
    return tids


def child_pids(threads: Iterable[threading.Thread] = ()) -> frozenset[bytes] | None:
    """Child processes of this process (running, or exited but not waited for), except
    those of pytest-pbe's own threads (:data:`OWN_THREADS`).

    ``threads``: the live threads, if the caller has them (children belong to a thread;
    a thread's that ended belong to a live one, the main thread first).
    """
    if not CHILDREN_SUPPORTED:
        return None
    current = threading.get_native_id()
    listed = threads if isinstance(threads, list) else list(threads)
    seen_current, seen, others = _CHOSEN[0]
    if seen_current != current or seen != listed:  # else the same threads: same choice
        others = _threads_to_read(current, listed or threading.enumerate())
    if others:
        # Whether there is any child at all: one system call that changes nothing
        # (WNOWAIT). Not needed when only the calling thread is read: it asks below.
        try:
            os.waitid(os.P_ALL, 0, _PROBE)
        except ChildProcessError:  # ECHILD: no child at all
            return _NO_CHILDREN
        except OSError:  # can't tell: read them
            pass
    pids: set[bytes] = set()
    try:  # the calling thread's own children: it runs the tests, most often childless
        os.waitid(os.P_ALL, 0, _PROBE | _WNOTHREAD)
    except ChildProcessError:
        pass
    except OSError:  # can't tell (a kernel before 4.7 refuses the flag): read them
        _read_children(current, pids)
    else:
        _read_children(current, pids)
    for tid in others:
        _read_children(tid, pids)
    return frozenset(pids) if pids else _NO_CHILDREN


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


def _blamable(thread: threading.Thread, main: threading.Thread) -> bool:
    """A live thread that is neither the main thread nor one of pytest-pbe's own."""
    return thread.is_alive() and thread is not main and thread not in OWN_THREADS


@dataclass(eq=False)
class Snapshot:
    """What the process held at one moment; None fields were not measurable."""

    threads: list[threading.Thread] = field(default_factory=list)
    fds: FdListing | None = None
    children: frozenset[bytes] | None = None

    @classmethod
    def take(cls, since: Snapshot | None = None) -> Snapshot:
        """What is held now; ``since``: an earlier snapshot whose descriptor listing is
        reused when provably unchanged (see :func:`fd_listing`)."""
        threads = threading.enumerate()
        fds = fd_listing(since.fds if since is not None else None)
        return cls(threads, fds, child_pids(threads))

    def with_fresh_threads(self) -> Snapshot:
        """This snapshot's descriptors and children, with the threads of right now."""
        return Snapshot(threading.enumerate(), self.fds, self.children)

    def same_as(self, other: Snapshot) -> bool:
        """Nothing came or went between the two (cheap: no sets are built)."""
        return (
            self.fds == other.fds
            and self.children == other.children
            and self.threads == other.threads
        )

    def held(self) -> Resources:
        """Everything held at that moment (the main thread and pytest-pbe's own aside)."""
        main = threading.main_thread()
        return Resources(
            threads={t for t in self.threads if _blamable(t, main)},
            fds=self.fds.numbers() if self.fds is not None else set(),
            children={int(pid) for pid in self.children or ()},
        )


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
    if after.same_as(before):
        return out
    if after.threads != before.threads:
        main = threading.main_thread()
        out.threads = {
            t
            for t in set(after.threads).difference(before.threads)
            if t not in exclude.threads and _blamable(t, main)
        }
    if before.fds is not None and after.fds is not None and after.fds != before.fds:
        out.fds = after.fds.numbers() - before.fds.numbers() - exclude.fds
    if before.children is not None and after.children is not None:
        new = after.children - before.children
        out.children = {int(pid) for pid in new} - exclude.children
    return out


def probes_available() -> list[str]:
    names = ["thread"]
    if FD_DIR is not None:
        names.append("fd")
    if CHILDREN_SUPPORTED:
        names.append("process")
    return names
