from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import coverage
import coverage.tracer
import pytest

pytest_plugins = ["pytester"]

# pytester's in-process runs drop modules first imported inside them; coverage's C tracer
# cannot be imported twice in one process, so it is imported here, once, for all of them.
assert coverage.__version__

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _isolated_git(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Real git, but never the developer's or CI's own config or CI variables.

    Nor their cache directory (pytest-pbe keeps coverage.py's parses there).
    """
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    for key in list(os.environ):
        if key.startswith(
            ("GITHUB_", "CI_", "PBE_", "SYSTEM_PULLREQUEST", "PRE_COMMIT")
        ) or key in (
            "CHANGE_TARGET",
            "GITLAB_CI",
        ):
            monkeypatch.delenv(key)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Path:
    """A git repository at the pytester directory, with one commit on main."""
    path = pytester.path
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(
        ".pytest_cache/\n__pycache__/\n*.json\n.coverage*\n/stdout\n/stderr\n/runpytest-*\n"
    )
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def read_json() -> Callable[[Path], dict[str, Any]]:
    """Parse a JSON report (a fixture, so test modules need no import from conftest)."""
    return _read_json
