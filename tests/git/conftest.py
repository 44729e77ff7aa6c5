"""Fixtures for the git layer's tests; the helpers live in gitrepo.py (an importable module:
test modules never import from a conftest, whose module name is shared by every folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import _SCRUB, GIT_ENV, GitRepo, make_repo


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository on ``main`` with one commit holding ``src/app.py``."""
    r = make_repo(tmp_path / "repo")
    r.write("src/app.py", "".join(f"line {i}\n" for i in range(1, 11)))
    r.commit("initial")
    return r
