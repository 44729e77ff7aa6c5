"""The replay's temporary tree: written by us alone, never through a link, swept when orphaned.

The commits being replayed are untrusted, so no git checkout writes this tree (a checkout
runs whatever filters, hooks and helpers the repository's configuration names, under any
name, even through a conditional include): the files come from ``git ls-tree`` and ``git
cat-file --batch`` (which run nothing) and are written here, each path opened component by
component relative to the tree's root with ``O_NOFOLLOW``, so a link the commit carries
(relative or absolute) is replaced, never followed. Links are written as links for the
replayed tests to use, as a checkout would.

The tree is a plain directory, not a registered git worktree: nothing is recorded in the
user's repository. Each tree's directory (``pbe-replay-*`` in the temp dir) holds an owner
file naming the process that made it (pid, start time, boot); a later replay removes the
trees whose owner is dead (a session killed with SIGKILL), and nothing without that file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pytest_pbe.errors import PbeError
from pytest_pbe.git.runner import Repository

PREFIX = "pbe-replay-"
OWNER_FILE = "pytest-pbe-owner.json"
OWNER_KIND = "pytest-pbe replay tree"
_MAX_OWNER_BYTES = 4096
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# A symlink opened with O_NOFOLLOW | O_DIRECTORY fails with one of these.
_NOT_A_DIRECTORY = (errno.ELOOP, errno.ENOTDIR)


# --- ownership ---------------------------------------------------------------------------


def _boot_id(source: str = "/proc/sys/kernel/random/boot_id") -> str:
    with contextlib.suppress(OSError):
        return Path(source).read_text(encoding="ascii").strip()
    return ""


def _start_time(pid: int) -> str:
    """The process's start time since boot (Linux), or "" where it cannot be read."""
    with contextlib.suppress(OSError, IndexError):
        # The command name may hold spaces and ')': the fields after its last ')' are fixed.
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return fields.rsplit(")", 1)[1].split()[19]
    return ""


def owner_record(pid: int) -> dict[str, Any]:
    return {"kind": OWNER_KIND, "pid": pid, "start": _start_time(pid), "boot": _boot_id()}


def owner_is_dead(record: Mapping[str, Any]) -> bool:
    """True only when the owner is surely gone: another boot, no such pid, or a reused pid."""
    pid, start, boot = record.get("pid"), record.get("start"), record.get("boot")
    if not isinstance(pid, int) or pid <= 0 or not isinstance(start, str):
        return False
    if isinstance(boot, str) and boot and _boot_id() and boot != _boot_id():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, and another user's
        return False
    now = _start_time(pid)
    return bool(start and now and now != start)


def _read_owner(tree_dir: int) -> dict[str, Any] | None:
    """The owner file of a tree's directory (an fd), if it is one of ours."""
    try:
        fd = os.open(OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=tree_dir)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as file:
        raw = file.read(_MAX_OWNER_BYTES + 1)
    with contextlib.suppress(ValueError):
        record = json.loads(raw.decode("utf-8"))
        if isinstance(record, dict) and record.get("kind") == OWNER_KIND:
            return record
    return None


def _orphaned(base: int, name: str) -> bool:
    """Is ``name`` in ``base`` a directory of ours (this user's, our owner file), owner dead?"""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=base)
    except OSError:
        return False
    try:
        if os.fstat(fd).st_uid != os.getuid():
            return False
        record = _read_owner(fd)
        return record is not None and owner_is_dead(record)
    finally:
        os.close(fd)


def sweep_orphans(base: Path) -> list[str]:
    """Remove the replay trees under ``base`` whose owning process is dead; their names."""
    removed: list[str] = []
    try:
        base_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)  # the machine's temp dir: trusted
    except OSError:
        return removed
    try:
        names = sorted(entry.name for entry in os.scandir(base_fd) if entry.name.startswith(PREFIX))
        for name in names:
            if _orphaned(base_fd, name):
                shutil.rmtree(base / name, ignore_errors=True)  # never follows links
                removed.append(name)
    finally:
        os.close(base_fd)
    return removed


def make_scratch() -> Path:
    """A new owned directory for one replay, after sweeping orphaned ones beside it."""
    base = Path(tempfile.gettempdir())
    sweep_orphans(base)
    tmp = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    data = json.dumps(owner_record(os.getpid())).encode("utf-8")
    with open_root(tmp) as root:
        write_file(root, OWNER_FILE, data)
    return tmp


# --- writing without following links -----------------------------------------------------


@contextlib.contextmanager
def open_root(path: Path) -> Iterator[int]:
    fd = os.open(path, _DIR_FLAGS)
    try:
        yield fd
    finally:
        os.close(fd)


def _parts(rel: str) -> list[str]:
    parts = rel.split("/")
    for part in parts:
        if part in ("", ".", "..") or "\0" in part or part.lower() == ".git":
            raise PbeError(
                f"refusing to write {rel!r} in the replay tree: not a plain relative path; "
                "the commit's tree holds a path git itself would refuse to check out"
            )
    return parts


def _remove_entry(name: str, parent: int) -> None:
    """Remove ``name`` in ``parent`` whatever it is; a directory with all it holds."""
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        os.unlink(name, dir_fd=parent)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        for entry in list(os.scandir(fd)):
            _remove_entry(entry.name, fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def _existing_dir(name: str, parent: int) -> int | None:
    """``name`` in ``parent`` if it is a real directory (not a link to one), else None."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in _NOT_A_DIRECTORY:
            return None
        raise


def _made_dir(name: str, parent: int) -> int:
    """``name`` in ``parent`` as a real directory, replacing a link or file in the way."""
    fd = _existing_dir(name, parent)
    if fd is not None:
        return fd
    _remove_entry(name, parent)
    os.mkdir(name, 0o755, dir_fd=parent)
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


@contextlib.contextmanager
def _parent_made(root: int, parts: list[str]) -> Iterator[int]:
    """The directory to hold the last of ``parts``, each component made a real directory."""
    current = os.dup(root)
    try:
        for part in parts[:-1]:
            below = _made_dir(part, current)
            os.close(current)
            current = below
        yield current
    finally:
        os.close(current)


def write_file(root: int, rel: str, data: bytes, *, executable: bool = False) -> None:
    """Write a regular file at ``rel`` under ``root`` (an fd): any link in the way is replaced."""
    parts = _parts(rel)
    with _parent_made(root, parts) as parent:
        _remove_entry(parts[-1], parent)
        fd = os.open(parts[-1], _FILE_FLAGS, 0o755 if executable else 0o644, dir_fd=parent)
        with os.fdopen(fd, "wb") as file:
            file.write(data)


def write_link(root: int, rel: str, target: bytes) -> None:
    """A symbolic link at ``rel`` (whose target only the replayed tests may follow)."""
    parts = _parts(rel)
    with _parent_made(root, parts) as parent:
        _remove_entry(parts[-1], parent)
        os.symlink(os.fsdecode(target), parts[-1], dir_fd=parent)


def make_dir(root: int, rel: str) -> None:
    parts = _parts(rel)
    with _parent_made(root, parts) as parent:
        os.close(_made_dir(parts[-1], parent))


def remove_file(root: int, rel: str) -> None:
    """Remove what is at ``rel``; a path through a link or a missing directory has nothing."""
    parts = _parts(rel)
    current = os.dup(root)
    try:
        for part in parts[:-1]:
            below = _existing_dir(part, current)
            if below is None:
                return
            os.close(current)
            current = below
        _remove_entry(parts[-1], current)
    finally:
        os.close(current)


# --- a commit's tree, materialised -------------------------------------------------------


def _tree_entries(repo: Repository, rev: str) -> list[tuple[bytes, bytes, str]]:
    """``(mode, object id, path)`` of every entry of ``rev``'s tree, recursively."""
    out = repo.run("ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev)
    entries: list[tuple[bytes, bytes, str]] = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, tab, path = record.partition(b"\t")
        parts = meta.split(b" ")
        if not tab or len(parts) != 3:
            raise PbeError(f"unexpected git ls-tree record for {rev}: {record[:80]!r}")
        entries.append((parts[0], parts[2], os.fsdecode(path)))
    return entries


def _blobs(repo: Repository, ids: list[bytes]) -> dict[bytes, bytes]:
    """The content of each blob id, from one ``git cat-file --batch``."""
    if not ids:
        return {}
    out = repo.run("cat-file", "--batch", input=b"".join(i + b"\n" for i in ids))
    found: dict[bytes, bytes] = {}
    pos = 0
    for blob_id in ids:
        nl = out.find(b"\n", pos)
        header = out[pos:nl].split(b" ") if nl != -1 else []
        if len(header) != 3 or header[1] != b"blob" or not header[2].isdigit():
            raise PbeError(
                f"git cat-file could not read blob {blob_id.decode('ascii', 'replace')} "
                "for the replay tree; check that the repository is complete (git fsck)"
            )
        size = int(header[2])
        found[blob_id] = out[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1  # the content is followed by one newline
    return found


def materialise(repo: Repository, rev: str, tree: Path) -> None:
    """Make ``tree`` (emptied first) hold exactly ``rev``'s files, without a git checkout.

    Submodules become empty directories (as a checkout without recursion leaves them).
    """
    entries = _tree_entries(repo, rev)
    ids = [oid for mode, oid, _ in entries if mode in (b"100644", b"100755", b"120000")]
    contents = _blobs(repo, list(dict.fromkeys(ids)))
    if tree.is_symlink() or tree.exists():
        shutil.rmtree(tree)
    tree.mkdir()
    with open_root(tree) as root:
        for mode, oid, path in entries:
            if mode in (b"100644", b"100755"):
                write_file(root, path, contents[oid], executable=mode == b"100755")
            elif mode == b"120000":
                write_link(root, path, contents[oid])
            elif mode == b"160000":
                make_dir(root, path)
