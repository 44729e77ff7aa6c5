"""Run git safely: an argument vector, a scrubbed environment, config that cannot execute."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pytest_pbe.errors import GitError
from pytest_pbe.once import OncePerKey

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
    "-c", "submodule.recurse=false",
    "-c", "diff.ignoreSubmodules=all",
)  # fmt: skip

# Config a fetch obeys from the command line whatever any file says: no ``ext::`` transport
# (it runs a shell command named by the URL), no background gc or maintenance afterwards.
FETCH_CONFIG: tuple[str, ...] = (
    "-c", "protocol.ext.allow=never",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    "-c", "fetch.recurseSubmodules=false",
)  # fmt: skip

# Keys naming a program git may run. Every filter is switched off; the other keys, when the
# repository sets them, get the user's own (global/system) value or git's default.
_PROGRAM_KEYS = (
    r"^(filter\..*\.(clean|smudge|process|required)"
    r"|core\.(sshcommand|askpass|gitproxy|alternaterefscommand)"
    r"|credential\.(.*\.)?helper"
    r"|remote\..*\.uploadpack)$"
)
_FILTER_OFF = (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))
_REPOSITORY_SCOPES = (b"local", b"worktree")
# Keys of which git keeps every value (an empty one clears the list), not only the last.
_LIST_KEY = re.compile(r"credential\.(.*\.)?helper")
# Keys of which git keeps the first value: no later config can override them. The
# upload-pack gets ``--upload-pack`` on the fetch; a proxy command makes the fetch refuse.
_FIRST_WINS = re.compile(r"remote\..*\.uploadpack|core\.gitproxy")

# Commands that read only the object store and refs as we call them (no work tree, no
# transport, no diff driver): they need no overrides, and reading those is a process.
_RUNS_NOTHING = frozenset({"rev-parse", "cat-file", "merge-base", "remote", "config"})

FETCH_TIMEOUT = 600.0

_HEX_SHA = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")

T = TypeVar("T")


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


def with_config_pairs(env: dict[str, str], pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``env`` with ``pairs`` added as GIT_CONFIG_KEY_n/VALUE_n (after any already there).

    Unlike ``-c key=value`` these take any key, ``=`` in a filter's name included, and
    rank with the command line above every config file.
    """
    if not pairs:
        return env
    count = env.get("GIT_CONFIG_COUNT", "0") or "0"
    if not count.isdigit():
        raise GitError(
            f"GIT_CONFIG_COUNT={count!r} in the environment is not a number; unset or fix it"
        )
    start = int(count)
    out = dict(env)
    for i, (key, value) in enumerate(pairs, start):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    out["GIT_CONFIG_COUNT"] = str(start + len(pairs))
    return out


def _git(
    cwd: Path,
    args: tuple[str, ...],
    *,
    config: tuple[str, ...] = (),
    pairs: Sequence[tuple[str, str]] = (),
    input: bytes | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    argv = ["git", *SAFE_CONFIG, *config, "-C", str(cwd), *args]
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            input=input,
            env=with_config_pairs(child_environment(os.environ), pairs),
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
    """A git work tree addressed by its absolute top-level directory.

    The config's filters are read once. With ``snapshot`` (a pytest session's view), so is
    what the session asks many times: HEAD (read by ``discover``), whether the clone is
    shallow (read again after a ``git fetch``), the untracked files, and whether the
    working tree differs from HEAD. Without it every question asks git again. ``run``
    and ``list_files`` always ask git.
    """

    def __init__(self, root: Path, *, snapshot: bool = False) -> None:
        self.root = root
        self.snapshot = snapshot
        self._facts = OncePerKey()  # failures are not kept: the next ask retries

    def __repr__(self) -> str:
        return f"Repository({str(self.root)!r})"

    def _kept(self, key: str, compute: Callable[[], T]) -> T:
        """A fact of the snapshot (read once), or read afresh when this is no snapshot."""
        return self._facts.get(key, compute) if self.snapshot else compute()

    @classmethod
    def discover(cls, start: Path, *, snapshot: bool = False) -> Repository:
        """The repository containing ``start``; GitError without a work tree or a commit.

        One ``git rev-parse`` reads the top level, HEAD and shallowness: a ``snapshot``
        keeps the last two.
        """
        start = Path(start).absolute()
        if not start.is_dir():
            start = start.parent
        if not start.is_dir():
            raise GitError(f"{start} does not exist; run pytest from inside the repository")
        proc = _git(
            start,
            ("rev-parse", "--show-toplevel", "--is-shallow-repository",
             "--verify", "--quiet", "HEAD^{commit}"),
        )  # fmt: skip
        # Printed in order, one per line: top level (which may itself hold a newline, so
        # it is what is left), shallowness, then HEAD's sha when it names a commit.
        out = proc.stdout.removesuffix(b"\n")
        if proc.returncode == 0 and out.count(b"\n") >= 2:
            top, shallow, head = out.rsplit(b"\n", 2)
        elif proc.returncode == 1 and out.count(b"\n") >= 1:  # HEAD^{commit} is not there
            top, shallow = out.rsplit(b"\n", 1)
            head = b""
        else:
            raise GitError(explain_failure(("rev-parse",), proc.stderr, start))
        if not top:
            raise GitError(explain_failure(("rev-parse",), b"must be run in a work tree", start))
        if shallow not in (b"true", b"false"):
            raise GitError(
                f"unexpected answer from git rev-parse in {start}: {out[:200]!r}; "
                "check that `git rev-parse --is-shallow-repository` works there"
            )
        repo = cls(Path(os.fsdecode(top)), snapshot=snapshot)
        if not head:
            if proc.stderr.strip():
                raise GitError(explain_failure(("rev-parse",), proc.stderr, repo.root))
            raise GitError(
                f"the repository at {repo.root} has no commits yet; commit your work once "
                "so there is a base to compare new code against"
            )
        if snapshot:
            repo._facts.put("head", head.decode("ascii").strip())
            repo._facts.put("shallow", shallow == b"true")
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
        """The finished process, for callers that need the exit status.

        Every call but the few that cannot run a program carries the overrides of the
        programs this repository's config names.
        """
        pairs = self.program_overrides if args and args[0] not in _RUNS_NOTHING else ()
        if args and args[0] == "fetch":
            config = (*FETCH_CONFIG, *config)
        try:
            return _git(self.root, args, config=config, pairs=pairs, input=input, timeout=timeout)
        finally:
            if args and args[0] == "fetch":  # it may have deepened or unshallowed the clone
                self._facts.forget("shallow")

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
        return self._kept(
            "shallow", lambda: self.run("rev-parse", "--is-shallow-repository").strip() == b"true"
        )

    def head_sha(self) -> str:
        """HEAD's commit sha (a snapshot's: as ``discover`` read it)."""
        return self._kept(
            "head",
            lambda: self.run("rev-parse", "--verify", "HEAD^{commit}").decode("ascii").strip(),
        )

    def untracked_files(self) -> list[str]:
        """The untracked, not ignored files (``list_files``); a snapshot's listed once."""
        return list(self._kept("untracked", lambda: self.list_files(tracked=False, untracked=True)))

    def differs_from_head(self) -> bool:
        """Do the index or the working tree differ from HEAD (untracked files aside)?"""

        def compute() -> bool:
            args = ("diff", "--quiet", "--no-ext-diff", "--no-textconv",
                    "--ignore-submodules=all", "HEAD", "--")  # fmt: skip
            proc = self.run_process(*args)
            if proc.returncode not in (0, 1):
                raise self.error(args, proc.stderr)
            return proc.returncode == 1

        return self._kept("differs", compute)

    def verify_commit(self, rev: str) -> str | None:
        """The full sha of ``rev`` as a commit, or None if it does not name one here."""
        proc = self.run_process(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
        if proc.returncode != 0:
            return None
        return proc.stdout.decode("ascii").strip()

    def verify_commits(self, revs: Sequence[str]) -> list[str | None]:
        """``verify_commit`` of each of ``revs``, from one ``git cat-file --batch-check``.

        It resolves names as ``rev-parse --verify`` does, but stops at some (a missing
        upstream, a reflog entry too old): those and the rest, and every answer but a
        commit or ``missing``, are asked of ``verify_commit`` one by one.
        """
        if len(revs) < 2:
            return [self.verify_commit(rev) for rev in revs]
        names = [os.fsencode(f"{rev}^{{commit}}") for rev in revs]
        if any(b"\n" in name or b"\r" in name or b"\0" in name for name in names):
            return [self.verify_commit(rev) for rev in revs]  # not one line each: one by one
        proc = self.run_process(
            "cat-file", "--batch-check=%(objectname) %(objecttype)", input=b"\n".join(names) + b"\n"
        )
        answers = proc.stdout.split(b"\n")
        out: list[str | None] = []
        for i, (rev, name) in enumerate(zip(revs, names, strict=True)):
            answer = answers[i] if i < len(answers) else b""
            sha, _, kind = answer.partition(b" ")
            if kind == b"commit" and _HEX_SHA.fullmatch(sha):
                out.append(sha.decode("ascii"))
            elif answer == name + b" missing":
                out.append(None)
            else:  # ambiguous, git stopped before this one, or an answer we do not know
                out.append(self.verify_commit(rev))
        return out

    def remotes(self) -> list[str]:
        return os.fsdecode(self.run("remote")).split()

    @property
    def program_overrides(self) -> tuple[tuple[str, str], ...]:
        """Config pairs (key, value) that stop git running what this repository names.

        Read once, with includes, in this very directory (conditional includes depend on
        it): every filter switched off; a key naming a program (ssh command, askpass,
        credential helper, alternate refs command) that the repository sets is given the
        user's own value from their global or system config, else git's default.
        """
        return self._program_config().pairs

    def fetch_options(self, remote: str) -> tuple[str, ...]:
        """Options a ``git fetch`` from ``remote`` needs so that it runs nothing of ours.

        GitError when the repository names a program no option can override.
        """
        config = self._program_config()
        if "core.gitproxy" in config.repository_keys:
            raise GitError(
                "refusing to fetch: the repository's config sets core.gitProxy (a program "
                "git would run); unset it (git config --unset-all core.gitProxy) or fetch "
                "the base yourself"
            )
        key = f"remote.{remote}.uploadpack"
        if key not in config.repository_keys:
            return ()
        own = [v for scope, k, v in config.entries if k == key and scope not in _REPOSITORY_SCOPES]
        return (f"--upload-pack={own[0] if own else 'git-upload-pack'}",)

    def _program_config(self) -> _ProgramConfig:
        return self._facts.get("program_config", self._read_program_config)

    def _read_program_config(self) -> _ProgramConfig:
        args = ("config", "-z", "--includes", "--show-scope", "--get-regexp", _PROGRAM_KEYS)
        proc = _git(self.root, args)
        if proc.returncode not in (0, 1):  # 1: no such key
            raise self.error(args, proc.stderr)
        entries = _scoped_entries(proc.stdout)
        pairs: list[tuple[str, str]] = []
        for name in sorted({n for _, key, _ in entries if (n := _filter_name(key)) is not None}):
            pairs += [(f"filter.{name}.{var}", value) for var, value in _FILTER_OFF]
        local = frozenset(key for scope, key, _ in entries if scope in _REPOSITORY_SCOPES)
        for key in sorted(local):
            if _filter_name(key) is None and not _FIRST_WINS.fullmatch(key):
                pairs += _users_own(key, entries)
        return _ProgramConfig(tuple(pairs), tuple(entries), local)


@dataclass(frozen=True)
class _ProgramConfig:
    pairs: tuple[tuple[str, str], ...]
    entries: tuple[tuple[bytes, str, str], ...]  # (scope, key, value), in config order
    repository_keys: frozenset[str]  # the keys the repository's own config sets


def _scoped_entries(out: bytes) -> list[tuple[bytes, str, str]]:
    """``git config -z --show-scope --get-regexp`` as (scope, key, value), in file order."""
    fields = out.split(b"\0")
    entries: list[tuple[bytes, str, str]] = []
    for scope, item in zip(fields[0::2], fields[1::2], strict=False):  # a last "" after NUL
        key, _, value = item.partition(b"\n")
        entries.append((scope, os.fsdecode(key), os.fsdecode(value)))
    return entries


def _filter_name(key: str) -> str | None:
    """NAME of ``filter.NAME.var`` (a name may hold dots and '='), else None."""
    if not key.startswith("filter.") or key.count(".") < 2:
        return None
    return key[len("filter.") : key.rindex(".")]


def _users_own(key: str, entries: Sequence[tuple[bytes, str, str]]) -> list[tuple[str, str]]:
    """Pairs giving ``key`` the value(s) it has outside the repository, or git's default."""
    own = [value for scope, k, value in entries if k == key and scope not in _REPOSITORY_SCOPES]
    if _LIST_KEY.fullmatch(key):
        return [(key, ""), *((key, value) for value in own)]  # "" empties the list first
    return [(key, own[-1] if own else _default_of(key))]


def _default_of(key: str) -> str:
    """What git does for ``key`` when no config sets it, as a value to set."""
    if key == "core.sshcommand":  # GIT_SSH_COMMAND (the environment) still outranks it
        return shlex.quote(os.environ.get("GIT_SSH", "ssh"))
    if key == "core.alternaterefscommand":
        return "true"  # lists nothing: the alternates' tips are not offered as haves
    return ""  # core.askpass: none (GIT_ASKPASS, the environment, still outranks it)
