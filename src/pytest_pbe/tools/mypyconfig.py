"""Where mypy's configuration is, and which files it says to check (``files``).

mypy checks "the project as configured": when the configuration names ``files``, mypy runs
with no targets (exactly as ``mypy`` run by hand) and a changed file outside them is not
mypy's business; without ``files`` the changed Python files are the targets (mypy follows
their imports, so types across modules are still checked).
"""

from __future__ import annotations

import configparser
import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - mypy itself depends on tomli before Python 3.11
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

# mypy's own search order in each directory.
_CANDIDATES = ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg")


@dataclass(frozen=True)
class MypyConfig:
    path: Path | None  # None: mypy has no configuration file here
    files: tuple[str, ...] | None  # None: not configured (or not readable by us)

    def covers(self, path: Path, cwd: Path) -> bool:
        """True when ``path`` (absolute) is one of ``files`` or lies under one."""
        if self.files is None:
            return True
        for entry in self.files:
            pattern = entry if Path(entry).is_absolute() else str(cwd / entry)
            # mypy expands ``files`` with glob.glob(recursive=True); so do we.
            for match in glob.glob(pattern, recursive=True) or [pattern]:  # noqa: PTH207
                target = Path(os.path.normpath(match))
                if path == target or target in path.parents:
                    return True
        return False


def read_toml(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        data: dict[str, object] = tomllib.load(handle)
    return data


def _section(path: Path) -> dict[str, object] | None:
    """The mypy section of a candidate file, or None if the file has none."""
    try:
        if path.name == "pyproject.toml":
            tool = read_toml(path).get("tool", {})
            section = tool.get("mypy") if isinstance(tool, dict) else None
            return dict(section) if isinstance(section, dict) else None
        parser = configparser.RawConfigParser()
        parser.read(path, encoding="utf-8")
        if not parser.has_section("mypy"):
            return None if path.name == "setup.cfg" else {}
        return dict(parser.items("mypy"))
    except (OSError, ValueError, configparser.Error):
        # Unreadable: mypy will read it itself and say what is wrong; we only lose `files`.
        return {} if path.name in ("mypy.ini", ".mypy.ini") else None


def find_config(start: Path, stop: Path) -> MypyConfig:
    """mypy's configuration for a run in ``start``, looking up to the repository root."""
    directory = start
    while True:
        for name in _CANDIDATES:
            candidate = directory / name
            if not candidate.is_file():
                continue
            section = _section(candidate)
            if section is None:
                continue
            return MypyConfig(candidate, _files(section.get("files")))
        if directory == stop or directory.parent == directory or stop not in directory.parents:
            return MypyConfig(None, None)
        directory = directory.parent


def _files(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, list):
        parts = [str(p).strip() for p in value]
    else:
        return None
    parts = [p for p in parts if p]
    return tuple(parts) or None
