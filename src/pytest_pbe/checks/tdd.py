"""The `tdd` item: test-before-code ordering from git history, and a red-green replay.

See ``pytest_pbe.tdd.verdicts`` for what history can and cannot prove, and
``pytest_pbe.tdd.replay`` for the proof that ``--pbe-tdd=replay`` adds. The judging itself
(``pytest_pbe.tdd.judging``) is imported when the item is judged, after the tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_pbe.checks.base import Check
from pytest_pbe.errors import PbeError

if TYPE_CHECKING:
    from pytest_pbe.config import Settings
    from pytest_pbe.context import VerifyContext
    from pytest_pbe.git import Commit
    from pytest_pbe.model import CheckResult
    from pytest_pbe.tdd.gitread import RawLog

# The range's ``git log --raw``, read beside the tests: ((merge base, last commit), log).
_RAW_LOG: pytest.StashKey[tuple[tuple[str, str], RawLog]] = pytest.StashKey()


class TddCheck(Check):
    id = "tdd"
    title = "Tests were written first"
    needs = frozenset({"coverage"})
    judges_new_code = True
    start_in_background = True

    def configure(self, config: pytest.Config, settings: Settings) -> None:
        if settings.tdd != "off":
            # ``start`` runs on a thread of its own, which must import nothing: what it
            # asks the context for (history, the range's files, the raw log) is imported here.
            import pytest_pbe.git
            import pytest_pbe.tdd.gitread  # noqa: F401

    def start(self, ctx: VerifyContext) -> None:
        # The range's history (a git log) and its files, which the per-test line recorder
        # asks for at the first test, and the raw log the verdicts read: all read beside the
        # other starts, so that judging asks git nothing. Errors wait for evaluate.
        if ctx.settings.tdd != "off":
            with contextlib.suppress(PbeError):
                ctx.history()  # first: its git log runs while another start diffs the tree
                ctx.range_files()
                self._read_raw_log(ctx)

    @staticmethod
    def _read_raw_log(ctx: VerifyContext) -> None:
        """The range's raw log (each commit's changes and blob ids), for the verdicts."""
        from pytest_pbe.tdd.gitread import raw_log  # imported at configure

        key = _range_key(ctx, ctx.history())
        if key is not None:
            ctx.stash[_RAW_LOG] = (key, raw_log(ctx.repository(), *key))

    def evaluate(self, ctx: VerifyContext) -> CheckResult:
        settings = ctx.settings
        mode = settings.tdd
        if mode == "off":
            return self.skipped("switched off: pbe_tdd = off")
        from pytest_pbe.git.classify import path_selected

        commits = ctx.history()
        exclude = settings.tdd_exclude

        def excluded(path: str) -> bool:
            return not path_selected(path, include=(), exclude=exclude)

        # The uncommitted work counts only when it touches code (source or tests).
        commits = [
            c for c in commits if c.sha is not None or any(f.kind != "other" for f in c.files)
        ]
        real = [c for c in commits if c.sha is not None]
        pseudo = [c for c in commits if c.sha is None]
        if not real and not any(
            f.kind == "source" and not excluded(f.path) for c in pseudo for f in c.files
        ):
            return self.skipped("no new commits or uncommitted changes to judge")
        return self._judge(ctx, commits, mode, len(real))  # judge_range pauses the collector

    def _judge(
        self, ctx: VerifyContext, commits: list[Commit], mode: str, real_commits: int
    ) -> CheckResult:
        from pytest_pbe.tdd.judging import judge_range, replay_verdicts, tdd_result
        from pytest_pbe.tdd.source import WORKTREE_OUTLINES

        repo = ctx.repository()
        key = _range_key(ctx, commits)
        read = ctx.stash.get(_RAW_LOG, None)
        raw = read[1] if read is not None and key is not None and read[0] == key else None
        judged = judge_range(
            repo,
            ctx.base(),
            commits,
            ctx.classifier(),
            rootdir=ctx.rootdir,
            exclude=ctx.settings.tdd_exclude,
            coverage=ctx.coverage,
            working_files=ctx.working_files(),
            raw=raw,
            uncommitted=ctx.settings.include_uncommitted and ctx.all_changes().dirty,
            generated_markers=ctx.settings.generated_markers,
        )
        ctx.stash[WORKTREE_OUTLINES] = judged.tree.parsed()  # for the errors item
        if mode == "replay":
            replay_verdicts(
                repo, judged, ctx.classifier().classify, timeout=ctx.settings.replay_timeout
            )
        return tdd_result(
            self, judged.verdicts, mode, judged.test_map, judged.why_names, real_commits
        )


def _range_key(ctx: VerifyContext, commits: Sequence[Commit]) -> tuple[str, str] | None:
    """``(merge base, last commit)`` of the range's commits; None when none is committed."""
    real = [c.sha for c in commits if c.sha is not None]
    return (ctx.base().merge_base, real[-1]) if real else None
