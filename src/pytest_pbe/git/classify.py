"""Path globs with ``**`` and the test/source/other classification of changed files."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

TEST = "test"
SOURCE = "source"
OTHER = "other"


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    """Translate a glob to a regex: ``*``/``?`` stay inside one path segment, ``**`` spans."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern.startswith("[!", i) else i + 1)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    # A pattern also covers everything below a directory it names ("build/", "tests").
    return re.compile("".join(out) + "(?:/.*)?", re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """Match a repo-relative ``/`` path; a pattern without ``/`` matches any basename."""
    pattern = pattern.strip()
    if not pattern:
        return False
    if pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.rstrip("/") or pattern
    if "/" not in pattern:
        return any(_compile(pattern).fullmatch(part) for part in _prefix_parts(path))
    return _compile(pattern).fullmatch(path) is not None


def _prefix_parts(path: str) -> list[str]:
    # Each segment with what follows it, so "tests" covers "tests/x.py" at any depth.
    parts = path.split("/")
    return ["/".join(parts[i:]) for i in range(len(parts))]


def path_selected(path: str, *, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """True when ``path`` passes the include globs (none = all) and no exclude glob."""
    if include and not any(glob_match(p, path) for p in include):
        return False
    return not any(glob_match(p, path) for p in exclude)


TEST_DIRECTORIES = frozenset({"tests", "test"})


@dataclass(frozen=True)
class Classifier:
    """Says whether a changed file is a test, source code, or something else."""

    python_files: tuple[str, ...] = ("test_*.py", "*_test.py")
    testpaths: tuple[str, ...] = ()
    source_suffixes: tuple[str, ...] = (".py",)
    exclude: tuple[str, ...] = ()

    def classify(self, path: str) -> str:
        if any(glob_match(p, path) for p in self.exclude):
            return OTHER
        if not path.endswith(tuple(self.source_suffixes)):
            return OTHER
        name = posixpath.basename(path)
        if path.endswith(".py"):
            if name == "conftest.py" or any(fnmatchcase(name, g) for g in self.python_files):
                return TEST
            # Helpers, fixtures and __init__ files that live in the test tree are test code:
            # under testpaths, or in a directory named tests or test (Django's app/tests/,
            # a tests/utils/ that conftest imports, with no testpaths configured).
            if any(_under(path, d) for d in self.testpaths):
                return TEST
            if TEST_DIRECTORIES.intersection(path.split("/")[:-1]):
                return TEST
        return SOURCE


def _under(path: str, directory: str) -> bool:
    directory = directory.strip().strip("/")
    if directory.startswith("./"):
        directory = directory[2:]
    if directory in ("", "."):
        return True
    return path.startswith(directory + "/")
