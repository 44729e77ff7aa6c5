"""Loosenings of the tools' own configuration: coverage.py, mypy, ruff and bandit.

Each tool's settings are read from every file it may read them from, at the merge-base
(from git) and in the working tree, flattened to (section, ..., key) paths, and compared
key by key with the rule of the key's name below. A file that cannot be parsed is an
error: what the tool is told cannot be known, so nothing may pass on it.
"""

from __future__ import annotations

import configparser
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_pbe.errors import PbeError
from pytest_pbe.git import Repository
from pytest_pbe.model import Loosening

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: mypy itself depends on tomli there
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

KeyPath = tuple[str, ...]
Rule = Callable[[object, object], bool]


def _items(value: object) -> set[str]:
    """A list setting's entries: a TOML list, or ini text split at lines and commas."""
    if value is None:
        return set()
    if isinstance(value, (list, tuple)):
        return {str(v).strip() for v in value if str(v).strip()}
    if isinstance(value, Mapping):
        return {f"{k}={v}" for k, v in value.items()}
    text = str(value).replace("\n", ",")
    return {part.strip() for part in text.split(",") if part.strip()}


def _truth(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(value: object) -> float:
    try:
        return float(str(value).strip().rstrip("%")) if value is not None else 0.0
    except ValueError:
        return -math.inf  # unreadable: the loosest it could stand for


def denylist(old: object, new: object) -> bool:
    return bool(_items(new) - _items(old))


def allowlist(old: object, new: object) -> bool:
    before, after = _items(old), _items(new)
    return bool(after) and (not before or bool(before - after))


def narrowed(old: object, new: object) -> bool:
    """A list that was set lost entries (unset, coverage.py measures what ran: no narrower)."""
    return bool(_items(old)) and allowlist(old, new)


def turned_on(old: object, new: object) -> bool:
    return _truth(new, False) and not _truth(old, False)


def stays_on(default: bool) -> Rule:
    return lambda old, new: _truth(old, default) and not _truth(new, default)


def at_least(old: object, new: object) -> bool:
    return _number(new) < _number(old)


def changed(old: object, new: object) -> bool:
    return old != new


def ranked(*strictness: str) -> Rule:
    def rank(value: object, default: str) -> int:
        text = str(value).strip().lower() if value is not None else default
        return strictness.index(text) if text in strictness else -1

    return lambda old, new: rank(new, strictness[-1]) < rank(old, strictness[-1])


_STRICT_FLAGS = (
    "strict",
    "disallow_untyped_defs",
    "disallow_incomplete_defs",
    "disallow_untyped_calls",
    "disallow_untyped_decorators",
    "disallow_any_generics",
    "disallow_subclassing_any",
    "check_untyped_defs",
    "warn_return_any",
    "warn_unused_ignores",
    "warn_redundant_casts",
    "no_implicit_reexport",
    "strict_equality",
    "extra_checks",
)


@dataclass(frozen=True)
class Tool:
    name: str
    item: str
    files: Mapping[str, tuple[str, ...]]  # file name -> the section prefixes read there
    rules: Mapping[str, Rule]


TOOLS: tuple[Tool, ...] = (
    Tool(
        "coverage.py",
        "coverage",
        {
            ".coveragerc": ("run", "report"),
            "setup.cfg": ("coverage:run", "coverage:report"),
            "tox.ini": ("coverage:run", "coverage:report"),
            "pyproject.toml": ("tool.coverage.run", "tool.coverage.report"),
        },
        {
            "omit": denylist,
            "exclude_lines": denylist,
            "exclude_also": denylist,
            "partial_branches": denylist,
            "partial_branches_always": denylist,
            "source": narrowed,
            "source_pkgs": narrowed,
            "include": narrowed,
            "branch": stays_on(False),
            "fail_under": at_least,
            "plugins": changed,
        },
    ),
    Tool(
        "mypy",
        "types",
        {
            "mypy.ini": ("mypy",),
            ".mypy.ini": ("mypy",),
            "setup.cfg": ("mypy",),
            "pyproject.toml": ("tool.mypy",),
        },
        {
            "ignore_errors": turned_on,
            "ignore_missing_imports": turned_on,
            "implicit_optional": turned_on,
            "allow_untyped_globals": turned_on,
            "allow_untyped_calls": turned_on,
            "exclude": denylist,
            "disable_error_code": denylist,
            "enable_error_code": allowlist,
            "follow_imports": ranked("skip", "silent", "normal", "error"),
            "strict_optional": stays_on(True),
            "plugins": changed,
            **dict.fromkeys(_STRICT_FLAGS, stays_on(False)),
        },
    ),
    Tool(
        "ruff",
        "lint",
        {
            "ruff.toml": ("",),
            ".ruff.toml": ("",),
            "pyproject.toml": ("tool.ruff",),
        },
        {
            "exclude": denylist,
            "extend_exclude": denylist,
            "ignore": denylist,
            "extend_ignore": denylist,
            "per_file_ignores": denylist,
            "extend_per_file_ignores": denylist,
            "select": allowlist,
            "extend_select": allowlist,
            "include": allowlist,
            "extend": changed,
            "respect_gitignore": turned_on,
        },
    ),
    Tool(
        "bandit",
        "security",
        {"pyproject.toml": ("tool.bandit",), ".bandit": ("bandit",)},
        {"skips": denylist, "exclude_dirs": denylist, "exclude": denylist, "tests": allowlist},
    ),
)


def tool_config_loosenings(repo: Repository, base: str, directory: str = "") -> list[Loosening]:
    """Each key of a tool's configuration made looser than at ``base``.

    ``directory`` is pytest's rootdir relative to the repository ('' at the top): the
    tools read their configuration there and at the repository's top.
    """
    dirs = sorted({"", directory})
    names = sorted({name for tool in TOOLS for name in tool.files})
    paths = [posix_join(d, name) for d in dirs for name in names]
    before = _at_revision(repo, base, paths)
    after = _in_working_tree(repo.root, paths)
    out: list[Loosening] = []
    for tool in TOOLS:
        for path in paths:
            name = path.rsplit("/", 1)[-1]
            if name not in tool.files:
                continue
            old = _settings(before.get(path), path, tool.files[name])
            new = _settings(after.get(path), path, tool.files[name])
            out += _compared(tool, path, old, new)
    return out


def posix_join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _compared(
    tool: Tool, path: str, old: Mapping[KeyPath, object], new: Mapping[KeyPath, object]
) -> Iterator[Loosening]:
    for key in sorted(set(old) | set(new)):
        rule = _rule(tool, key)
        if rule is None or not rule(old.get(key), new.get(key)):
            continue
        shown = ".".join(key)
        message = (
            f"{tool.name} setting {shown} in {path} loosened: {old.get(key)!r} at the "
            f"merge-base, {new.get(key)!r} now"
        )
        yield Loosening(tool.item, shown, message, path=path)


def _rule(tool: Tool, key: KeyPath) -> Rule | None:
    """The rule of the key's own name, or of the table it is an entry of (per-file)."""
    if key[-1] in tool.rules:
        return tool.rules[key[-1]]
    if len(key) > 1 and key[-2].endswith("per_file_ignores"):
        return tool.rules.get(key[-2])
    return None


def _at_revision(repo: Repository, rev: str, paths: list[str]) -> dict[str, bytes]:
    listing = repo.run("ls-tree", "-z", rev, "--", *paths)
    out: dict[str, bytes] = {}
    for entry in listing.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        if meta.split(b" ")[:1] in ([b"100644"], [b"100755"]):
            path = os.fsdecode(name)
            out[path] = repo.run("cat-file", "blob", f"{rev}:{path}")
    return out


def _in_working_tree(root: Path, paths: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path in paths:
        file = root / path
        if file.is_file():  # a symlink counts: the tool reads what it points at
            try:
                out[path] = file.read_bytes()
            except OSError as exc:
                raise PbeError(f"{path}: cannot be read ({exc}); fix its permissions") from exc
    return out


def _settings(data: bytes | None, path: str, prefixes: tuple[str, ...]) -> dict[KeyPath, object]:
    """The tool's keys in one file, flattened: (section parts..., key) -> value."""
    if data is None:
        return {}
    try:
        text = data.decode("utf-8")
        if path.endswith(".toml"):
            return _from_toml(tomllib.loads(text), prefixes)
        return _from_ini(text, prefixes)
    except (UnicodeDecodeError, ValueError, configparser.Error) as exc:
        raise PbeError(
            f"{path}: cannot be parsed ({str(exc).splitlines()[0]}); fix it so what the "
            "tools are told can be compared with the merge-base's"
        ) from exc


def _key(text: str) -> str:
    return text.strip().lower().replace("-", "_")


def _from_toml(doc: Mapping[str, object], prefixes: tuple[str, ...]) -> dict[KeyPath, object]:
    out: dict[KeyPath, object] = {}
    for prefix in prefixes:
        node: object = doc
        for part in prefix.split(".") if prefix else ():
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            _flatten(node, (), out)
    return out


def _flatten(node: Mapping[str, object], path: KeyPath, out: dict[KeyPath, object]) -> None:
    for name, value in node.items():
        key = (*path, _key(name))
        if isinstance(value, Mapping) and not key[-1].endswith("per_file_ignores"):
            _flatten(value, key, out)
        elif isinstance(value, Mapping):  # a glob -> codes table: one key per glob
            for glob, codes in value.items():
                entry_key: KeyPath = (*key, str(glob))
                out[entry_key] = codes
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for entry in value:  # mypy's [[tool.mypy.overrides]]: one per module pattern
                if isinstance(entry, Mapping):
                    module = str(entry.get("module", "?"))
                    rest = {k: v for k, v in entry.items() if k != "module"}
                    _flatten(rest, (*key, module), out)
        else:
            out[key] = value


def _from_ini(text: str, prefixes: tuple[str, ...]) -> dict[KeyPath, object]:
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    out: dict[KeyPath, object] = {}
    for section in parser.sections():
        if not any(section == p or section.startswith(p) for p in prefixes):
            continue
        for name, value in parser.items(section):
            out[(section, _key(name))] = value
    return out
