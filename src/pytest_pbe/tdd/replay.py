"""Red-green replay: prove that a commit's tests failed before it and pass with it.

For each commit judged test-first or paired, in ONE temporary tree (outside the repository,
always removed; written from git's objects by ``scratch``, never by a git checkout, and
never through a link):

1. write out the parent, overlay the test files as the commit has them, run ONLY the
   selected tests: each must be *red*: an assertion failure (or ``pytest.fail``), an error
   raised by the code under test (innermost frame in a source file of the worktree), or a
   missing name / module / parameter that this very commit introduces. A collection error
   for any other reason, an import of a name the change does not introduce, a skip or a
   timeout is not a red: the replay is *unverified*. A test that passes is *already green*:
   the replay failed.
2. write out the commit (the uncommitted work: HEAD plus the working-tree files), run the
   same tests: each must pass.

Imports must resolve inside the worktree: ``PYTHONPATH`` puts the worktree (and its
``src``) first, inherited entries pointing into the main checkout are dropped, and a probe
plugin lists every imported module whose file is in the main checkout; any such leak
(an editable install, a ``sys.path`` hack) makes the replay unverified. The runs get no
``PYTEST_ADDOPTS``, no pytest-cov subprocess hooks, and ``-p no:pbe`` (no recursion).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_pbe.errors import PbeError
from pytest_pbe.git.runner import Repository
from pytest_pbe.tdd.scratch import make_scratch, materialise, open_root, remove_file, write_file
from pytest_pbe.tdd.verdicts import FAILED, UNVERIFIED, VERIFIED  # defined beside the verdicts
from pytest_pbe.tools.process import die_with_parent

PROBE_NAME = "pbe_replay_probe"
PROBE_SOURCE = '''"""pytest-pbe replay probe: outcomes, exceptions, and where imports resolved."""
import json
import os
import sys

import pytest

_RECORDS = {"tests": {}, "collect": [], "leaks": [], "collected": []}


def _inside(path, root):
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and report.failed:
        exc = call.excinfo.value
        entries = list(call.excinfo.traceback)
        last = str(entries[-1].path) if entries else ""
        name = getattr(exc, "name", None)
        report.user_properties.append(("pbe_replay", {
            "type": type(exc).__name__,
            "mro": [c.__name__ for c in type(exc).__mro__],
            "name": name if isinstance(name, str) else None,
            "message": str(exc)[:1000],
            "frame": os.path.realpath(last) if last else "",
        }))
    return report


def pytest_runtest_logreport(report):
    rec = _RECORDS["tests"].setdefault(
        report.nodeid, {"outcome": "passed", "when": "", "info": None}
    )
    if report.failed and rec["outcome"] != "failed":
        info = dict(report.user_properties).get("pbe_replay")
        rec.update(outcome="failed", when=report.when, info=info)
    elif report.skipped and rec["outcome"] == "passed":
        rec.update(outcome="skipped", when=report.when)


def pytest_collection_finish(session):
    _RECORDS["collected"] = [item.nodeid for item in session.items]


def pytest_collectreport(report):
    if report.failed:
        _RECORDS["collect"].append({"nodeid": report.nodeid, "text": str(report.longrepr)[-4000:]})


def pytest_sessionfinish(session, exitstatus):
    main = os.path.realpath(os.environ["PBE_REPLAY_MAIN"])
    tree = os.path.realpath(os.environ["PBE_REPLAY_WORKTREE"])
    skip = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        real = os.path.realpath(file)
        if _inside(real, main) and not _inside(real, tree) and not any(
            _inside(real, s) for s in skip
        ):
            _RECORDS["leaks"].append(name + " from " + real)
    with open(os.environ["PBE_REPLAY_OUT"], "w", encoding="utf-8") as out:
        json.dump(_RECORDS, out)
'''

_CANNOT_IMPORT = re.compile(r"cannot import name '([\w.]+)'")
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NO_ATTRIBUTE = re.compile(r"has no attribute '(\w+)'")
_NOT_DEFINED = re.compile(r"name '(\w+)' is not defined")
_CALL = re.compile(r"^(?:[\w.]*\.)?(\w+)\(\) (?:got|missing|takes)")
_DROP_ENV = ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTEST_XDIST", "COV_CORE_", "PBE_")


@dataclass(frozen=True)
class RunResult:
    tests: Mapping[str, Mapping[str, Any]]
    collect: tuple[Mapping[str, str], ...]
    leaks: tuple[str, ...]
    timed_out: bool
    returncode: int
    output: str
    seconds: float
    collected: tuple[str, ...] = ()  # node ids, in a collect-only run


@dataclass(frozen=True)
class ReplayOutcome:
    status: str  # verified | failed | unverified
    reason: str
    selection: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class ReplayJob:
    """One commit to replay; paths are repo-relative, contents None means deleted."""

    sha: str | None  # None: the uncommitted work
    parent: str
    selection: tuple[str, ...]  # node ids relative to pytest's rootdir
    red_overlay: Mapping[str, bytes | None]  # the commit's test files, laid on the parent
    green_overlay: Mapping[str, bytes | None] = field(default_factory=dict)  # uncommitted only
    introduced: frozenset[str] = frozenset()  # names/modules the commit adds
    changed: frozenset[str] = frozenset()  # function names whose code the commit changes
    #: (revision, selected node ids): tests whose body is as it was at that revision, before
    #: the range changed them for this commit; the cases they had there are not part of the
    #: red (only the cases the range added are).
    cases_before: tuple[tuple[str, tuple[str, ...]], ...] = ()


def missing_name(info: Mapping[str, Any]) -> str | None:
    """The name an ImportError / AttributeError / NameError says is missing."""
    message = str(info.get("message") or "")
    for pattern in (_CANNOT_IMPORT, _NO_MODULE, _NO_ATTRIBUTE, _NOT_DEFINED):
        match = pattern.search(message)
        if match:
            return match.group(1)
    name = info.get("name")
    return name if isinstance(name, str) else None


def _introduced(name: str, introduced: frozenset[str]) -> bool:
    return name in introduced or name.rsplit(".", 1)[-1] in introduced


def classify_red(
    record: Mapping[str, Any], job: ReplayJob, in_source: Callable[[str], bool]
) -> tuple[str, str]:
    """``("red"|"green"|"inconclusive", why)`` for one test's outcome at the parent."""
    outcome = record.get("outcome")
    if outcome == "passed":
        return "green", "passed"
    if outcome == "skipped":
        return "inconclusive", "skipped"
    info = record.get("info") or {}
    mro = set(info.get("mro") or ())
    kind = str(info.get("type") or "an error")
    if "AssertionError" in mro or kind == "Failed":
        return "red", "assertion failed"
    if mro & {"ImportError", "AttributeError", "NameError"}:
        name = missing_name(info)
        if name is not None and _introduced(name, job.introduced):
            return "red", f"{kind}: {name!r} is introduced by the change"
        return "inconclusive", f"{kind} for {name!r}, which the change does not introduce"
    if "TypeError" in mro:
        match = _CALL.search(str(info.get("message") or ""))
        if match and match.group(1) in job.changed | job.introduced:
            return "red", f"TypeError calling {match.group(1)}(), which the change alters"
    if in_source(str(info.get("frame") or "")):
        return "red", f"{kind} raised by the code under test"
    return "inconclusive", f"{kind} raised outside the code under test"


def _collect_red(text: str, job: ReplayJob) -> str | None:
    """The introduced name a collection error is about, if it is about one."""
    for pattern in (_CANNOT_IMPORT, _NO_MODULE, _NO_ATTRIBUTE, _NOT_DEFINED):
        for match in pattern.finditer(text):
            if _introduced(match.group(1), job.introduced):
                return match.group(1)
    return None


def _matches(nodeid: str, selected: str) -> bool:
    return nodeid == selected or nodeid.startswith((selected + "[", selected + "::"))


def judge_runs(
    job: ReplayJob,
    red: RunResult,
    green: RunResult,
    in_source: Callable[[str], bool],
    old_cases: frozenset[str] = frozenset(),
) -> ReplayOutcome:
    """The outcome of one replay; ``old_cases``: node ids left out of the red (see
    ``ReplayJob.cases_before``)."""
    seconds = red.seconds + green.seconds
    sel = job.selection

    def out(status: str, reason: str) -> ReplayOutcome:
        return ReplayOutcome(status, reason, sel, seconds)

    for run, where in ((red, "the parent"), (green, "the commit")):
        if run.timed_out:
            return out(UNVERIFIED, f"the run at {where} timed out")
        if run.leaks:
            return out(
                UNVERIFIED,
                f"imports at {where} resolved to the main checkout, not the worktree: "
                f"{run.leaks[0]} (an editable install or sys.path entry leaks in)",
            )
    for selected in sel:
        records = [r for n, r in red.tests.items() if _matches(n, selected) and n not in old_cases]
        file = selected.split("::", 1)[0]
        errors = [
            c for c in red.collect if c["nodeid"] in (file, "") or _matches(c["nodeid"], file)
        ]
        if not records:
            for error in errors:
                name = _collect_red(error["text"], job)
                if name is None:
                    return out(UNVERIFIED, f"collection error at the parent for {selected}")
            if not errors:
                return out(UNVERIFIED, f"{selected} did not run at the parent")
            continue  # red: the test module cannot import what this commit adds
        for record in records:
            state, why = classify_red(record, job, in_source)
            if state == "green":
                return out(FAILED, f"{selected} already passed at the parent, before the change")
            if state == "inconclusive":
                return out(UNVERIFIED, f"{selected} at the parent: {why}, not a red")
    for selected in sel:
        records = [r for n, r in green.tests.items() if _matches(n, selected)]
        if not records:
            return out(UNVERIFIED, f"{selected} did not run at the commit")
        for record in records:
            if record.get("outcome") == "skipped":
                return out(UNVERIFIED, f"{selected} was skipped at the commit")
            if record.get("outcome") != "passed":
                return out(
                    FAILED, f"{selected} was red at the parent but does not pass at the commit"
                )
    return out(VERIFIED, f"{len(sel)} test(s) red at the parent, green at the commit")


class Replayer:
    """One temporary tree for a series of replays (see ``scratch``); always removed."""

    def __init__(
        self,
        repo: Repository,
        *,
        rootdir_rel: str,
        timeout: float,
        classify: Callable[[str], str],
        python: str = sys.executable,
    ) -> None:
        self.repo = repo
        self.rootdir_rel = rootdir_rel
        self.timeout = timeout
        self.classify = classify
        self.python = python
        self.tmp: Path | None = None
        self.tree: Path | None = None
        self._on_sigterm: signal.Handlers | None = None

    def __enter__(self) -> Replayer:
        self.tmp = make_scratch()
        self._on_sigterm = _unwind_on_sigterm()
        try:
            (self.tmp / "probe").mkdir()
            (self.tmp / "probe" / f"{PROBE_NAME}.py").write_text(PROBE_SOURCE, encoding="utf-8")
            self.tree = self.tmp / "worktree"
            self.tree.mkdir()
        except BaseException:  # a half-made tree is removed, the handler given back
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.tree = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self._on_sigterm is not None:
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._on_sigterm = None

    def _open(self) -> tuple[Path, Path]:
        if self.tree is None or self.tmp is None:
            raise PbeError("the replay worktree is not open: use Replayer as a context manager")
        return self.tree, self.tmp

    def _checkout(self, rev: str) -> None:
        tree, _ = self._open()
        materialise(self.repo, rev, tree)

    def _overlay(self, files: Mapping[str, bytes | None]) -> None:
        tree, _ = self._open()
        with open_root(tree) as root:
            for rel, data in files.items():
                if data is None:
                    remove_file(root, rel)
                else:
                    write_file(root, rel, data)

    def in_source(self, frame: str) -> bool:
        """True when a traceback frame is in a source (not test) file of the worktree."""
        if not frame or self.tree is None:
            return False
        tree = os.path.realpath(self.tree)
        try:
            rel = os.path.relpath(frame, tree)
        except ValueError:
            return False
        if rel.startswith(".."):
            return False
        return self.classify(rel.replace(os.sep, "/")) == "source"

    def _environment(self, out: Path) -> dict[str, str]:
        tree, tmp = self._open()
        main = str(self.repo.root)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_ENV)}
        env.pop("COVERAGE_PROCESS_START", None)
        inherited = [
            p
            for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
            if p and not _inside(os.path.realpath(p), os.path.realpath(main))
        ]
        paths = [str(tmp / "probe")]
        if (tree / "src").is_dir():
            paths.append(str(tree / "src"))
        paths += [str(tree), str(tree / self.rootdir_rel), *inherited]
        env.update(
            PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)),
            PYTHONDONTWRITEBYTECODE="1",
            PBE_REPLAY_OUT=str(out),
            PBE_REPLAY_MAIN=main,
            PBE_REPLAY_WORKTREE=str(tree),
        )
        return env

    def run_tests(self, selection: Sequence[str], *, collect_only: bool = False) -> RunResult:
        tree, tmp = self._open()
        out = tmp / "result.json"
        with contextlib.suppress(FileNotFoundError):
            out.unlink()
        cwd = tree / self.rootdir_rel
        argv = [
            self.python, "-m", "pytest", "-q", "--no-header", "-p", "no:cacheprovider",
            "-p", "no:pbe", "-p", PROBE_NAME, f"--rootdir={cwd}",
            *(["--collect-only"] if collect_only else []), *selection,
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=self._environment(out),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),  # it dies with pytest
        )
        timed_out = False
        try:
            output, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            output, _ = proc.communicate()
        except BaseException:  # Ctrl-C, or anything else: the replayed run must not outlive us
            _kill_group(proc)
            proc.wait()
            raise
        seconds = time.perf_counter() - started
        data: dict[str, Any] = {}
        if out.is_file():
            with contextlib.suppress(ValueError, OSError):
                data = json.loads(out.read_text(encoding="utf-8"))
        return RunResult(
            tests=data.get("tests", {}),
            collect=tuple(data.get("collect", ())),
            leaks=tuple(data.get("leaks", ())),
            collected=tuple(data.get("collected", ())),
            timed_out=timed_out,
            returncode=proc.returncode,
            output=output.decode("utf-8", "replace")[-2000:],
            seconds=seconds,
        )

    def replay(self, job: ReplayJob) -> ReplayOutcome:
        if not job.selection:
            return ReplayOutcome(UNVERIFIED, "no test of the range to replay for it")
        old_cases: set[str] = set()
        for rev, selected in job.cases_before:
            self._checkout(rev)
            old_cases.update(self.run_tests(selected, collect_only=True).collected)
        self._checkout(job.parent)
        self._overlay(job.red_overlay)
        red = self.run_tests(job.selection)
        self._checkout(job.sha if job.sha is not None else job.parent)
        self._overlay(job.green_overlay)
        green = self.run_tests(job.selection)
        if not red.tests and not red.collect and red.returncode not in (0, 1) and not red.timed_out:
            reason = red.output.strip().splitlines()[-1:] or ["no output"]
            return ReplayOutcome(
                UNVERIFIED,
                f"pytest could not run at the parent (exit {red.returncode}): {reason[0]}",
                job.selection,
                red.seconds + green.seconds,
            )
        return judge_runs(job, red, green, self.in_source, frozenset(old_cases))


class Terminated(KeyboardInterrupt):
    """SIGTERM while a replay is open: unwinds as Ctrl-C does, so the tree is removed."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


def _unwind_on_sigterm() -> signal.Handlers | None:
    """Make SIGTERM unwind (the previous, default handler returned) where we may.

    Only from the main thread, and only over the default action: a handler someone else
    installed stays theirs.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    signal.signal(signal.SIGTERM, _raise_terminated)
    return signal.SIG_DFL


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the replayed pytest and everything it started (its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def node_id(ref: tuple[str, str], rootdir_rel: str) -> str | None:
    """A (repo path, qualname) test as a node id relative to pytest's rootdir."""
    path, qualname = ref
    if rootdir_rel:
        if not path.startswith(rootdir_rel.rstrip("/") + "/"):
            return None
        path = posixpath.relpath(path, rootdir_rel)
    return "::".join([path, *qualname.split(".")])


@contextlib.contextmanager
def replayer(
    repo: Repository, *, rootdir_rel: str, timeout: float, classify: Callable[[str], str]
) -> Iterator[Replayer]:
    with Replayer(repo, rootdir_rel=rootdir_rel, timeout=timeout, classify=classify) as r:
        yield r
