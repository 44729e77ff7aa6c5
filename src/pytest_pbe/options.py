"""Every setting of the plugin, declared once as data.

Each setting is an ini option ``pbe_<name>``; the common ones also have a
``--pbe-<name>`` flag, and the flag wins. This module is imported when pytest
registers options, so it stays pure data: no heavy imports here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

IniKind = Literal["string", "linelist", "bool"]

#: How a changed value is judged looser (see ``pytest_pbe.loosenings``):
#: ``allowlist``: entries removed, or a list that was empty (everything) given entries;
#: ``denylist``: entries added; ``at_least`` / ``at_most``: a minimum lowered / a maximum
#: raised (an empty maximum is none at all); ``ranked``: a mode earlier in ``strictness``;
#: ``stays_on``: a switch turned off; ``thresholds``: a path's minimum (its own line,
#: else the new-code minimum) lowered; the three ``*_items`` rules weaken the items the
#: value names (``checks``: items left out, ``skip``: items added, ``required``: items
#: made optional). ``None``: changing it narrows nothing.
LooserRule = Literal[
    "allowlist",
    "denylist",
    "at_least",
    "at_most",
    "ranked",
    "stays_on",
    "thresholds",
    "checks_items",
    "skip_items",
    "required_items",
]

#: The items that judge the changed files: narrowing which files are judged weakens each.
FILE_ITEMS: tuple[str, ...] = ("coverage", "tdd", "types", "lint", "security", "errors")


@dataclass(frozen=True)
class OptionSpec:
    name: str  # ini name without the "pbe_" prefix
    help: str
    kind: IniKind = "string"
    default: str | bool | tuple[str, ...] = ""
    flag: bool = False  # also a --pbe-<name> command-line flag
    metavar: str | None = None
    looser: LooserRule | None = None
    weakens: tuple[str, ...] = ()  # the items a looser value weakens
    strictness: tuple[str, ...] = ()  # for ``ranked``: loosest first
    #: On the trusted command line only (repeatable), never read from an ini file.
    cli_only: bool = False

    @property
    def ini(self) -> str:
        return f"pbe_{self.name}"

    @property
    def dest(self) -> str:
        return f"pbe_{self.name}"

    @property
    def cli(self) -> str:
        return "--pbe-" + self.name.replace("_", "-")


FILTER_STRICTNESS = ("added", "file", "all")
LEVEL_STRICTNESS = ("high", "medium", "low")  # the lowest level that fails: "high" lets most by

OPTIONS: tuple[OptionSpec, ...] = (
    # --- switching on and choosing items -------------------------------------------------
    OptionSpec("verify", "run the verification checklist after the tests", "bool", False, True),
    OptionSpec(
        "checks",
        "checklist items to run (ids, comma or line separated; default: all)",
        "linelist",
        (),
        True,
        "IDS",
        looser="checks_items",
    ),
    OptionSpec(
        "skip", "checklist items not to run (ids)", "linelist", (), True, "IDS", looser="skip_items"
    ),
    OptionSpec(
        "required",
        "items whose failure or error fails the run (default: every item but docs)",
        "linelist",
        (),
        True,
        "IDS",
        looser="required_items",
    ),
    OptionSpec("debug", "show tracebacks of internal errors", "bool", False, True),
    # --- new code ------------------------------------------------------------------------
    OptionSpec(
        "base",
        "base revision new code is measured from (default: CI or default branch)",
        "string",
        "",
        True,
        "REV",
    ),
    OptionSpec(
        "include_uncommitted",
        "count staged, unstaged and untracked work as new code",
        "bool",
        True,
        looser="stays_on",
        weakens=FILE_ITEMS,
    ),
    OptionSpec(
        "no_fetch",
        "never fetch (deepen a shallow clone); fail with the fix instead",
        "bool",
        False,
        True,
    ),
    OptionSpec(
        "include",
        "globs of repository paths to judge (default: all)",
        "linelist",
        (),
        looser="allowlist",
        weakens=FILE_ITEMS,
    ),
    OptionSpec(
        "exclude",
        "globs of repository paths never judged (generated code, vendored)",
        "linelist",
        (),
        looser="denylist",
        weakens=FILE_ITEMS,
    ),
    OptionSpec(
        "test_files",
        "globs naming test files (default: pytest's python_files)",
        "linelist",
        (),
        looser="denylist",
        weakens=("coverage", "tdd"),
    ),
    OptionSpec(
        "filter",
        "which findings count: added (new lines), file (changed files), all",
        "string",
        "added",
        True,
        "MODE",
        looser="ranked",
        weakens=("types", "lint", "security"),
        strictness=FILTER_STRICTNESS,
    ),
    # --- coverage ------------------------------------------------------------------------
    OptionSpec(
        "new_code_coverage",
        "minimum percent of new executable lines covered",
        "string",
        "100",
        True,
        "PERCENT",
        looser="at_least",
        weakens=("coverage",),
    ),
    OptionSpec(
        "total_coverage",
        "minimum total coverage percent",
        "string",
        "80",
        True,
        "PERCENT",
        looser="at_least",
        weakens=("coverage",),
    ),
    OptionSpec(
        "coverage_paths",
        "per-path new-code thresholds, lines of 'glob = percent'",
        "linelist",
        (),
        looser="thresholds",
        weakens=("coverage",),
    ),
    # --- static analysis -----------------------------------------------------------------
    OptionSpec(
        "tool_timeout",
        "seconds each of mypy, ruff and bandit may run",
        "string",
        "600",
        False,
        "SECONDS",
    ),
    OptionSpec(
        "bandit_severity",
        "lowest bandit severity that fails (low, medium, high)",
        "string",
        "medium",
        looser="ranked",
        weakens=("security",),
        strictness=LEVEL_STRICTNESS,
    ),
    OptionSpec(
        "bandit_confidence",
        "lowest bandit confidence that fails (low, medium, high)",
        "string",
        "medium",
        looser="ranked",
        weakens=("security",),
        strictness=LEVEL_STRICTNESS,
    ),
    # --- tdd -----------------------------------------------------------------------------
    OptionSpec(
        "tdd",
        "TDD judgement: order, strict, replay or off",
        "string",
        "order",
        True,
        "MODE",
        looser="ranked",
        weakens=("tdd",),
        strictness=("off", "order", "strict", "replay"),
    ),
    OptionSpec(
        "tdd_exclude",
        "globs of source paths the tdd item ignores",
        "linelist",
        (),
        looser="denylist",
        weakens=("tdd",),
    ),
    OptionSpec("replay_timeout", "seconds one replay run may take", "string", "120"),
    # --- leaks, performance, docs --------------------------------------------------------
    OptionSpec(
        "leaks_ignore",
        "test-id or leak-kind patterns the leaks item accepts",
        "linelist",
        (),
        looser="denylist",
        weakens=("leaks",),
    ),
    OptionSpec(
        "max_test_seconds",
        "per-test wall-time budget in seconds",
        "string",
        "5",
        looser="at_most",
        weakens=("performance",),
    ),
    OptionSpec(
        "max_session_seconds",
        "whole-session budget in seconds (default: off)",
        "string",
        "",
        looser="at_most",
        weakens=("performance",),
    ),
    OptionSpec(
        "benchmark_regression",
        "allowed pytest-benchmark median regression, percent",
        "string",
        "10",
        looser="at_most",
        weakens=("performance",),
    ),
    OptionSpec(
        "docs",
        "what documentation was consulted for the uncommitted work",
        "linelist",
        (),
        True,
        "WHAT",
    ),
    OptionSpec(
        "loosen",
        "acknowledge a loosening in the uncommitted work: ITEM:REASON (repeatable)",
        "linelist",
        (),
        True,
        "ITEM:REASON",
        cli_only=True,
    ),
    # --- reports -------------------------------------------------------------------------
    OptionSpec("report_json", "write the checklist as JSON to PATH", "string", "", True, "PATH"),
    OptionSpec("report_md", "write the checklist as Markdown to PATH", "string", "", True, "PATH"),
    OptionSpec("report_sarif", "write findings as SARIF 2.1.0 to PATH", "string", "", True, "PATH"),
    OptionSpec(
        "report_gitlab",
        "write findings as GitLab Code Quality JSON to PATH",
        "string",
        "",
        True,
        "PATH",
    ),
    OptionSpec(
        "junitxml",
        "write one JUnit testcase per checklist item to PATH",
        "string",
        "",
        True,
        "PATH",
    ),
    OptionSpec(
        "report_html", "write a self-contained HTML report into DIR", "string", "", True, "DIR"
    ),
    OptionSpec(
        "github_annotations", "GitHub workflow annotations: auto, on or off", "string", "auto"
    ),
)


def register(parser: pytest.Parser) -> None:
    """Declare every option; cheap, and the only work done when the plugin is off."""
    group = parser.getgroup("pbe", "pytest-pbe verification checklist")
    for spec in OPTIONS:
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        if not spec.cli_only:  # a cli-only setting acknowledges: the change may not set it
            parser.addini(spec.ini, spec.help, type=spec.kind, default=default)
        if not spec.flag:
            continue
        if spec.cli_only:
            group.addoption(
                spec.cli,
                action="append",
                dest=spec.dest,
                default=[],
                metavar=spec.metavar,
                help=spec.help,
            )
        elif spec.kind == "bool":
            group.addoption(
                spec.cli, action="store_true", dest=spec.dest, default=None, help=spec.help
            )
        else:
            group.addoption(
                spec.cli,
                action="store",
                dest=spec.dest,
                default=None,
                metavar=spec.metavar,
                help=f"{spec.help} (ini: {spec.ini})",
            )
