"""Run git safely: an argument vector, a scrubbed environment, config that cannot execute."""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pytest_pbe.errors import GitError

# Variables that would point git at another repository, index or object store, or make it
# run a program. We always address the repository with ``-C root`` instead.
_DROPPED = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_SHALLOW_FILE",
        "GIT_GRAFT_FILE",
        "GIT_REPLACE_REF_BASE",
        "GIT_QUARANTINE_PATH",
        "GIT_PREFIX",
        "GIT_EXTERNAL_DIFF",
        "GIT_DIFF_OPTS",
        "GIT_PAGER",
        "PAGER",
        "GIT_EDITOR",
        "GIT_SEQUENCE_EDITOR",
        "GIT_CONFIG",
        "GIT_ATTR_SOURCE",
    }
)

# Fixed for every call: no locks on the index, stable English messages, never prompt.
_FORCED = {"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}

# Config no repository can override: nothing it names gets executed, paths come raw.
SAFE_CONFIG: tuple[str, ...] = (
    "-c", "core.fsmonitor=false",
    "-c", "core.quotepath=false",
    "-c", "diff.external=",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "color.ui=never",
    "-c", "log.showSignature=false",
)  # fmt: skip

FETCH_TIMEOUT = 600.0


class UnsafeRevisionError(GitError):
    """A revision git would read as an option (starts with '-'): refused, never run."""


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment git children get: redirections and tracing removed, safety forced."""
    env = {k: v for k, v in environ.items() if k not in _DROPPED and not k.startswith("GIT_TRACE")}
    env.update(_FORCED)
    return env


def _first_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("fatal:", "error:")):
            return ln
    return lines[0] if lines else "no message"


_DUBIOUS_AT = re.compile(r"dubious ownership in repository at '([^']*)'")


def explain_failure(args: tuple[str, ...], stderr: bytes, where: Path) -> str:
    """One line saying what went wrong and what to do, from git's stderr."""
    text = stderr.decode("utf-8", "replace")
    if "detected dubious ownership" in text:
        match = _DUBIOUS_AT.search(text)
        path = match.group(1) if match else str(where)
        return (
            f"git refuses to read {path}: it is owned by another user (dubious ownership); "
            f"if you trust it, run: git config --global --add safe.directory {path}"
        )
    if "not a git repository" in text.lower():
        return (
            f"{where} is not inside a git repository; run pytest inside a git checkout "
            "(the new-code checks compare against a base revision)"
        )
    if "must be run in a work tree" in text:
        return f"{where} is a bare git repository; run pytest inside a checkout with a work tree"
    name = args[0] if args else "git"
    return f"git {name} failed: {_first_line(stderr)}"


def _git(
    cwd: Path,
    args: tuple[str, ...],
    *,
    config: tuple[str, ...] = (),
    input: bytes | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    argv = ["git", *SAFE_CONFIG, *config, "-C", str(cwd), *args]
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            input=input,
            env=child_environment(os.environ),
            check=False,
            timeout=timeout,
        )
    except FileNotFoundError:
        raise GitError(
            "git is not installed or not on PATH; install git to judge new code"
        ) from None
    except subprocess.TimeoutExpired:
        raise GitError(
            f"git {args[0]} did not finish within {timeout:.0f}s; check the network or remote"
        ) from None


class Repository:
    """A git work tree addressed by its absolute top-level directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"Repository({str(self.root)!r})"

    @classmethod
    def discover(cls, start: Path) -> Repository:
        start = Path(start).absolute()
        if not start.is_dir():
            start = start.parent
        if not start.is_dir():
            raise GitError(f"{start} does not exist; run pytest from inside the repository")
        proc = _git(start, ("rev-parse", "--show-toplevel"))
        if proc.returncode != 0:
            raise GitError(explain_failure(("rev-parse",), proc.stderr, start))
        top = os.fsdecode(proc.stdout.rstrip(b"\n"))
        if not top:
            raise GitError(explain_failure(("rev-parse",), b"must be run in a work tree", start))
        repo = cls(Path(top))
        head = _git(repo.root, ("rev-parse", "--verify", "--quiet", "HEAD^{commit}"))
        if head.returncode != 0:
            if head.stderr.strip():
                raise GitError(explain_failure(("rev-parse",), head.stderr, repo.root))
            raise GitError(
                f"the repository at {repo.root} has no commits yet; commit your work once "
                "so there is a base to compare new code against"
            )
        return repo

    def run(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        config: tuple[str, ...] = (),
        timeout: float | None = None,
    ) -> bytes:
        """stdout of ``git <args>``; GitError (one line) on failure unless ``check`` is off."""
        proc = self.run_process(*args, input=input, config=config, timeout=timeout)
        if check and proc.returncode != 0:
            raise self.error(args, proc.stderr)
        return proc.stdout

    def run_process(
        self,
        *args: str,
        input: bytes | None = None,
        config: tuple[str, ...] = (),
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """The finished process, for callers that need the exit status."""
        return _git(self.root, args, config=config, input=input, timeout=timeout)

    def error(self, args: tuple[str, ...], stderr: bytes) -> GitError:
        """The one-line GitError for a failed ``git <args>`` (for callers of run_process)."""
        return GitError(explain_failure(args, stderr, self.root))

    def list_files(
        self, *, tracked: bool = True, untracked: bool = False, pathspecs: tuple[str, ...] = ()
    ) -> list[str]:
        """Files of the working tree git knows (``tracked``) and/or untracked, not ignored.

        Repository-relative, exactly as on disk (NUL-separated, never re-parsed quotes).
        An entry ending in '/' is a nested repository: not our files, left out.
        """
        args = ["ls-files", "-z", "--full-name"]
        if tracked:
            args.append("--cached")
        if untracked:
            args += ["--others", "--exclude-standard"]
        out = self.run(*args, "--", *pathspecs)
        return [os.fsdecode(p) for p in out.split(b"\0") if p and not p.endswith(b"/")]

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == b"true"

    def head_sha(self) -> str:
        return self.run("rev-parse", "--verify", "HEAD^{commit}").decode("ascii").strip()

    def verify_commit(self, rev: str) -> str | None:
        """The full sha of ``rev`` as a commit, or None if it does not name one here."""
        proc = self.run_process(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
        if proc.returncode != 0:
            return None
        return proc.stdout.decode("ascii").strip()

    def remotes(self) -> list[str]:
        return os.fsdecode(self.run("remote")).split()

    @functools.cached_property
    def filter_overrides(self) -> tuple[str, ...]:
        """``-c`` pairs that switch off every clean/process filter the config defines.

        Diffing against the working tree would otherwise run them on our files.
        """
        proc = self.run_process("config", "-z", "--name-only", "--get-regexp", r"^filter\.")
        names: set[str] = set()
        for key in proc.stdout.split(b"\0"):
            name = os.fsdecode(key)
            if name.count(".") >= 2 and "=" not in name:
                names.add(name[len("filter.") : name.rindex(".")])
        args: list[str] = []
        for name in sorted(names):
            for var, value in (("clean", ""), ("process", ""), ("required", "false")):
                args += ["-c", f"filter.{name}.{var}={value}"]
        return tuple(args)
