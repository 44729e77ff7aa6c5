"""What every item may read: settings, session facts, and git facts computed once."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from pytest_pbe.errors import PbeError
from pytest_pbe.measure.threads import OWN_THREADS, untraced
from pytest_pbe.once import OncePerKey

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_pbe.config import Settings
    from pytest_pbe.git import BaseRevision, ChangeSet, Classifier, Commit, Repository
    from pytest_pbe.measure.coverage import MeasuredCoverage
    from pytest_pbe.model import Loosening
    from pytest_pbe.session import SessionFacts, TestOutcome

T = TypeVar("T")


class VerifyContext:
    """Shared, lazily computed facts. A failure is remembered, so git runs once."""

    def __init__(self, config: pytest.Config, settings: Settings, session: SessionFacts):
        self.config = config
        self.settings = settings
        self.session = session
        self.rootdir = Path(config.rootpath)
        #: Shared measurements that items hand each other (keys are ``pytest.StashKey``).
        self.stash = pytest.Stash()
        # Background starts ask for facts at once; a failure is kept: git is asked once.
        self._facts = OncePerKey(remember=(PbeError,))
        self._lock = threading.Lock()  # guards _warming
        self._warming = False

    def _once(self, key: str, compute: Callable[[], T]) -> T:
        return self._facts.get(key, compute)

    def coverage(self) -> MeasuredCoverage:
        """The session's coverage (the item must declare ``needs = {"coverage"}``)."""
        from pytest_pbe.measure.coverage import COVERAGE_MEASUREMENT

        def compute() -> MeasuredCoverage:
            measurement = self.stash.get(COVERAGE_MEASUREMENT, None)
            if measurement is None:
                raise PbeError("coverage was not measured in this session")
            return measurement.result()

        return self._once("coverage", compute)

    def repository(self) -> Repository:
        from pytest_pbe.git import Repository

        # A snapshot: HEAD, the untracked files and the working tree's state are read once
        # for every fact that needs them (the change set, the history's uncommitted work).
        return self._once("repository", lambda: Repository.discover(self.rootdir, snapshot=True))

    def classifier(self) -> Classifier:
        from pytest_pbe.git import Classifier

        repo = self.repository()
        testpaths: list[str] = []
        for entry in self.config.getini("testpaths"):
            path = (self.rootdir / str(entry)).resolve()
            if path.is_relative_to(repo.root):
                testpaths.append(path.relative_to(repo.root).as_posix())
        return Classifier(
            python_files=self.settings.test_files,
            testpaths=tuple(testpaths),
            exclude=self.settings.exclude,
        )

    def scope_prefix(self) -> str:
        """The rootdir relative to the repository ('' when pytest runs from the top)."""
        root = self.repository().root
        rootdir = self.rootdir.resolve()
        if rootdir == root or not rootdir.is_relative_to(root):
            return ""
        return rootdir.relative_to(root).as_posix()

    def repo_path(self, rootdir_relative: str) -> str:
        """A path pytest gives relative to its rootdir, made repository-relative ('/')."""
        path = (self.rootdir / rootdir_relative).resolve()
        try:
            root = self.repository().root
        except PbeError:
            return Path(rootdir_relative).as_posix()  # no repository: rootdir is all we know
        if not path.is_relative_to(root):
            return Path(rootdir_relative).as_posix()
        return path.relative_to(root).as_posix()

    def test_place(self, test: TestOutcome | None) -> tuple[str | None, int | None]:
        """Where a test is defined: repository-relative path and 1-based line, as known."""
        if test is None or test.location is None:
            return None, None
        path, line = test.location
        return self.repo_path(path), (line + 1 if line is not None else None)

    def in_scope(self, path: str) -> bool:
        """Is this repo-relative path part of this pytest project (its rootdir)?"""
        prefix = self.scope_prefix()
        return not prefix or path.startswith(prefix + "/")

    def changes(self) -> ChangeSet:
        """The new code of this pytest project: changes outside its rootdir are left out."""

        def compute() -> ChangeSet:
            return self._scoped(self.all_changes())

        return self._once("changes", compute)

    def all_changes(self) -> ChangeSet:
        """The new code of the whole repository, whatever pytest's rootdir."""

        def compute() -> ChangeSet:
            from pytest_pbe.git import collect_changes

            with self._reading_working_tree():
                return collect_changes(
                    self.repository(),
                    self.base(),
                    include_uncommitted=self.settings.include_uncommitted,
                    classifier=self.classifier(),
                    include=self.settings.include,
                    exclude=self.settings.exclude,
                )

        return self._once("all_changes", compute)

    def changed_during_session(self) -> str | None:
        """Why the change set's files are no longer what was read (None: they are).

        Asked at judging: a file whose bytes differ from when the change set was read
        was judged by some tools and run by the tests in another version than git saw.
        """

        def compute() -> str | None:
            from pytest_pbe.git.diff import content_digests

            try:
                changes = self.all_changes()
                now = content_digests(changes.root, changes.files)
            except PbeError:
                return None  # the items that read the change set meet that error themselves
            moved = [path for path, digest in changes.digests.items() if now.get(path) != digest]
            if not moved:
                return None
            more = f" (and {len(moved) - 1} more)" if len(moved) > 1 else ""
            return (
                f"{moved[0]}{more} changed during the session: what the tests ran is not what "
                "was judged; make the tests leave the source files alone, then run again"
            )

        return self._once("changed_during_session", compute)

    @contextlib.contextmanager
    def _reading_working_tree(self) -> Iterator[None]:
        """The working tree's facts read on a thread beside the base's resolution.

        The untracked files, the filters and whether the tree differs from HEAD do not
        depend on the base; the change set and the history's uncommitted work need them
        after it. The first to ask starts the reading and waits for its end (no thread or
        git process outlives the fact that started it); any failure is met again, and
        remembered, by the fact that needs the answer.
        """
        with self._lock:
            first = not self._warming
            self._warming = True
        if not first:
            yield
            return
        reader = threading.Thread(target=self._read_working_tree, name="pbe-git-tree")
        OWN_THREADS.add(reader)  # runs no project code: no tracer, no leak blamed on a test
        reader.start()
        try:
            yield
        finally:
            reader.join()

    def _read_working_tree(self) -> None:
        untraced()  # ours: no project code runs here
        try:
            repo = self.repository()
            repo.program_overrides  # noqa: B018  # what every git call needs first
            if not repo.untracked_files():  # untracked files alone make the tree dirty
                repo.differs_from_head()
        except PbeError:
            return
        if {"coverage", "tdd"} & set(self.settings.checks):  # the items that list it
            with contextlib.suppress(PbeError):
                self.working_files()

    def _scoped(self, changes: ChangeSet) -> ChangeSet:
        if not self.scope_prefix():
            return changes
        kept = tuple(f for f in changes.files if self.in_scope(f.path))
        return dataclasses.replace(changes, files=kept)

    def working_files(self) -> list[str]:
        """The working tree's files git knows, tracked and untracked (not ignored), sorted.

        Repository-relative, for the whole repository: each item filters what it needs.
        """

        def compute() -> list[str]:
            return sorted(set(self.repository().list_files(untracked=True)))

        return self._once("working_files", compute)

    def range_files(self) -> frozenset[str]:
        """Absolute paths (under the real repository root) of the files the range touched."""

        def compute() -> frozenset[str]:
            root = os.path.realpath(self.repository().root)  # as coverage.py names files
            paths = {f.path for f in self.changes().files}
            paths.update(f.path for commit in self.history() for f in commit.files)
            return frozenset(root + os.sep + path.replace("/", os.sep) for path in paths)

        return self._once("range_files", compute)

    def base(self) -> BaseRevision:
        def compute() -> BaseRevision:
            import os

            from pytest_pbe.git import resolve_base

            return resolve_base(
                self.repository(),
                explicit=self.settings.base,
                explicit_source=self.settings.base_origin,
                environ=os.environ,
                allow_fetch=self.settings.fetch,
                configured=self.settings.ini_base,
            )

        return self._once("base", compute)

    def history(self) -> list[Commit]:
        """The commits of the range, each with only this project's files."""

        def compute() -> list[Commit]:
            from pytest_pbe.git import history

            with self._reading_working_tree():
                commits = history(
                    self.repository(),
                    self.base(),
                    include_uncommitted=self.settings.include_uncommitted,
                    classifier=self.classifier(),
                )
            if not self.scope_prefix():
                return commits
            return [
                dataclasses.replace(c, files=tuple(f for f in c.files if self.in_scope(f.path)))
                for c in commits
            ]

        return self._once("history", compute)

    def loosenings(self) -> list[Loosening]:
        """What the judged change did to weaken the items (``pytest_pbe.loosenings``).

        Read once; the engine starts it beside collection, so that judging asks git nothing.
        """
        from pytest_pbe.loosenings import find_loosenings

        return self._once("loosenings", lambda: find_loosenings(self))
