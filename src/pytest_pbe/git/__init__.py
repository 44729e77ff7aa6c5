"""The git layer: base revision, new lines and commit history, read-only and safe."""

from __future__ import annotations

from pytest_pbe.git.base import resolve_base
from pytest_pbe.git.classify import Classifier
from pytest_pbe.git.diff import collect_changes
from pytest_pbe.git.history import history
from pytest_pbe.git.models import BaseRevision, ChangeSet, Commit, FileChange
from pytest_pbe.git.runner import Repository, UnsafeRevisionError

__all__ = [
    "BaseRevision",
    "ChangeSet",
    "Classifier",
    "Commit",
    "FileChange",
    "Repository",
    "UnsafeRevisionError",
    "collect_changes",
    "history",
    "resolve_base",
]
