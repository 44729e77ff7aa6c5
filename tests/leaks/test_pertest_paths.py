"""The per-test line recorder's path resolution (beside the leak watcher: both run at every
test boundary): the same answer as ``os.path.realpath`` on a real tree of links, with each
directory resolved once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pytest_pbe.measure.pertest import real_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    real = tmp_path / "real"
    (real / "pkg").mkdir(parents=True)
    (real / "pkg" / "mod.py").write_text("x = 1\n")
    (real / "pkg" / "other.py").write_text("y = 2\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "target.py").write_text("z = 3\n")
    (real / "pkg" / "linked.py").symlink_to(tmp_path / "elsewhere" / "target.py")
    (real / "pkg" / "relative.py").symlink_to("mod.py")
    (real / "pkg" / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    (tmp_path / "via2").symlink_to(tmp_path / "via", target_is_directory=True)
    return tmp_path


NAMES = [
    "real/pkg/mod.py",
    "via/pkg/mod.py",
    "via2/pkg/other.py",
    "via/pkg/linked.py",
    "via2/pkg/relative.py",
    "via/pkg/dangling.py",
    "via/pkg/missing.py",
    "via/nodir/missing.py",
    "via/pkg/../pkg/mod.py",
    "via/pkg/",
    "via/pkg/..",
]


def test_it_answers_as_realpath_does(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    real_dirs: dict[str, str] = {}
    names = [str(tree / n) for n in NAMES] + ["via/pkg/mod.py", "<string>"]
    assert [real_path(n, real_dirs) for n in names] == [os.path.realpath(n) for n in names]
    # Resolved once per directory: the three names in via/pkg share one entry.
    assert real_dirs[str(tree / "via" / "pkg")] == str((tree / "real" / "pkg").resolve())
