"""mypy, ruff and bandit run once per session, beside the tests, judged on new code only."""

from __future__ import annotations

from pytest_pbe.tools.newcode import NewCode
from pytest_pbe.tools.parse import Issue
from pytest_pbe.tools.process import BackgroundRun, Completed
from pytest_pbe.tools.runs import ERROR_RULES, TOOL_RUNS, ToolRuns, tool_command

__all__ = [
    "ERROR_RULES",
    "TOOL_RUNS",
    "BackgroundRun",
    "Completed",
    "Issue",
    "NewCode",
    "ToolRuns",
    "tool_command",
]
