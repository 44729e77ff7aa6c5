"""Settings: the options of ``options.py`` read from pytest and validated once.

A bad value is a ``pytest.UsageError`` naming the option and the value, so pytest
exits with code 4 and no traceback.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_pbe.options import GENERATED_MARKERS, OPTIONS, OptionSpec

#: The contract's checklist, in its fixed order.
BUILTIN_IDS: tuple[str, ...] = (
    "tests",
    "coverage",
    "tdd",
    "types",
    "lint",
    "security",
    "errors",
    "leaks",
    "performance",
    "docs",
)
NOT_REQUIRED_BY_DEFAULT: frozenset[str] = frozenset({"docs"})

FILTER_MODES = ("added", "file", "all")
TDD_MODES = ("order", "strict", "replay", "off")
LEVELS = ("low", "medium", "high")
ANNOTATION_MODES = ("auto", "on", "off")

_SPECS = {spec.name: spec for spec in OPTIONS}


def _raw(config: pytest.Config, spec: OptionSpec) -> tuple[object, str]:
    """The value and where it came from (flag wins over ini)."""
    if spec.flag:
        value = config.getoption(spec.dest, default=None)
        if value is not None:
            return value, spec.cli
    return config.getini(spec.ini), spec.ini


def _string(config: pytest.Config, name: str) -> tuple[str, str]:
    value, origin = _raw(config, _SPECS[name])
    return str(value).strip(), origin


def _bases(config: pytest.Config) -> tuple[str, str, str]:
    """(command line or PBE_BASE, where it came from, the ini's), each refused if option-like.

    ``--pbe-base`` in the ini's ``addopts`` is the ini's, not the command line's: the ini
    is part of the change being judged.
    """
    spec = _SPECS["base"]
    flag = str(config.getoption(spec.dest, default=None) or "").strip()
    ini = str(config.getini(spec.ini) or "").strip()
    if flag and not _on_command_line(config, spec.cli):
        flag, ini = "", ini or flag
    explicit, origin = (
        (flag, spec.cli) if flag else (os.environ.get("PBE_BASE", "").strip(), "PBE_BASE")
    )
    for value, where in ((explicit, origin), (ini, spec.ini)):
        if value.startswith("-"):
            raise pytest.UsageError(
                f"{where}: refusing base {value!r}: a revision may not start with '-'"
            )
    return explicit, origin, ini


def _on_command_line(config: pytest.Config, flag: str) -> bool:
    """Was ``flag`` given on pytest's command line or in PYTEST_ADDOPTS (not the ini)?"""
    words = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    return any(w == flag or w.startswith(f"{flag}=") for w in map(str, words))


def _bool(config: pytest.Config, name: str) -> bool:
    value, _ = _raw(config, _SPECS[name])
    return bool(value)


def _list(config: pytest.Config, name: str) -> tuple[tuple[str, ...], str]:
    """A list setting: ini lines, and commas within a line or a flag, both split."""
    value, origin = _raw(config, _SPECS[name])
    items: Sequence[str] = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return tuple(out), origin


def _percent(config: pytest.Config, name: str) -> float:
    text, origin = _string(config, name)
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise pytest.UsageError(
            f"{origin}: expected a percentage from 0 to 100, got {text!r}"
        ) from None
    if not 0 <= value <= 100 or math.isnan(value):
        raise pytest.UsageError(f"{origin}: expected a percentage from 0 to 100, got {text!r}")
    return value


def _seconds(config: pytest.Config, name: str, *, optional: bool = False) -> float | None:
    text, origin = _string(config, name)
    if optional and text in ("", "off", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(f"{origin}: expected a number of seconds, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise pytest.UsageError(f"{origin}: expected a positive number of seconds, got {text!r}")
    return value


def _choice(config: pytest.Config, name: str, choices: Sequence[str]) -> str:
    text, origin = _string(config, name)
    value = text.lower()
    if value not in choices:
        raise pytest.UsageError(f"{origin}: expected one of {', '.join(choices)}, got {text!r}")
    return value


def _path(config: pytest.Config, name: str) -> Path | None:
    text, origin = _string(config, name)
    if not text:
        return None
    path = Path(text)
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    # A file's directory (or, for the HTML report, the directory's parent) must exist.
    check = path.parent
    if not check.is_dir():
        raise pytest.UsageError(
            f"{origin}: cannot write {text!r}: directory {str(check)!r} does not exist"
        )
    return path


def _coverage_paths(config: pytest.Config) -> tuple[tuple[str, float], ...]:
    lines, origin = _list(config, "coverage_paths")
    out: list[tuple[str, float]] = []
    for line in lines:
        glob, sep, percent = line.rpartition("=")
        try:
            value = float(percent.strip().rstrip("%"))
        except ValueError:
            value = -1.0
        if not sep or not glob.strip() or not 0 <= value <= 100:
            raise pytest.UsageError(f"{origin}: expected 'glob = percent', got {line!r}")
        out.append((glob.strip(), value))
    return tuple(out)


@dataclass(frozen=True)
class Settings:
    """Every setting, validated. Built once per session by ``Settings.from_config``."""

    checks: tuple[str, ...]  # the items that run, in checklist order
    skipped_by_user: frozenset[str]
    required: frozenset[str] | None  # None: each item's own default
    debug: bool
    base: str | None  # from the command line or PBE_BASE: outranks the CI's base
    base_origin: str
    ini_base: str | None  # from the project's files: ranks below the CI's base
    include_uncommitted: bool
    fetch: bool
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    test_files: tuple[str, ...]
    filter: str
    new_code_coverage: float
    total_coverage: float
    coverage_paths: tuple[tuple[str, float], ...]
    tool_timeout: float
    bandit_severity: str
    bandit_confidence: str
    tdd: str
    tdd_exclude: tuple[str, ...]
    generated_markers: tuple[str, ...]
    replay_timeout: float
    leaks_ignore: tuple[str, ...]
    max_test_seconds: float
    max_session_seconds: float | None
    benchmark_regression: float
    docs: tuple[str, ...]
    report_json: Path | None
    report_md: Path | None
    report_sarif: Path | None
    report_gitlab: Path | None
    junitxml: Path | None
    report_html: Path | None
    github_annotations: str

    @classmethod
    def from_config(cls, config: pytest.Config, known_ids: Sequence[str]) -> Settings:
        known = tuple(known_ids)

        def ids(name: str) -> tuple[tuple[str, ...], str]:
            values, origin = _list(config, name)
            for value in values:
                if value not in known:
                    raise pytest.UsageError(
                        f"{origin}: unknown checklist item {value!r}; known items: "
                        + ", ".join(known)
                    )
            return values, origin

        wanted, _ = ids("checks")
        unwanted, _ = ids("skip")
        required, _ = ids("required")
        required_set: frozenset[str] | None = frozenset(required) if required else None
        selected = [i for i in known if (not wanted or i in wanted) and i not in unwanted]

        base, base_origin, ini_base = _bases(config)

        test_files, _ = _list(config, "test_files")
        if not test_files:
            test_files = tuple(str(p) for p in config.getini("python_files"))

        return cls(
            checks=tuple(selected),
            skipped_by_user=frozenset(i for i in known if i not in selected),
            required=required_set,
            debug=_bool(config, "debug"),
            base=base or None,
            base_origin=base_origin,
            ini_base=ini_base or None,
            include_uncommitted=_bool(config, "include_uncommitted"),
            fetch=not _bool(config, "no_fetch"),
            include=_list(config, "include")[0],
            exclude=_list(config, "exclude")[0],
            test_files=test_files,
            filter=_choice(config, "filter", FILTER_MODES),
            new_code_coverage=_percent(config, "new_code_coverage"),
            total_coverage=_percent(config, "total_coverage"),
            coverage_paths=_coverage_paths(config),
            tool_timeout=_seconds(config, "tool_timeout") or 600.0,
            bandit_severity=_choice(config, "bandit_severity", LEVELS),
            bandit_confidence=_choice(config, "bandit_confidence", LEVELS),
            tdd=_choice(config, "tdd", TDD_MODES),
            tdd_exclude=_list(config, "tdd_exclude")[0],
            generated_markers=_list(config, "generated_markers")[0] or GENERATED_MARKERS,
            replay_timeout=_seconds(config, "replay_timeout") or 120.0,
            leaks_ignore=_list(config, "leaks_ignore")[0],
            max_test_seconds=_seconds(config, "max_test_seconds") or 5.0,
            max_session_seconds=_seconds(config, "max_session_seconds", optional=True),
            benchmark_regression=_percent(config, "benchmark_regression"),
            docs=_list(config, "docs")[0],
            report_json=_path(config, "report_json"),
            report_md=_path(config, "report_md"),
            report_sarif=_path(config, "report_sarif"),
            report_gitlab=_path(config, "report_gitlab"),
            junitxml=_path(config, "junitxml"),
            report_html=_path(config, "report_html"),
            github_annotations=_choice(config, "github_annotations", ANNOTATION_MODES),
        )

    def is_required(self, check_id: str, default: bool) -> bool:
        if self.required is None:
            return default
        return check_id in self.required
