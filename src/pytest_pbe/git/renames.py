"""Files renamed between two revisions (or a revision and the working tree).

The change set leaves out files without new lines, so a pure rename is not in it; the
renames are read here, in one ``git diff --name-status``.
"""

from __future__ import annotations

import os

from pytest_pbe.git.runner import Repository

# Nothing the repository configures may change the output or run a program.
_OPTIONS = (
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-relative",
    "--ignore-submodules=all",
    "-M",
    "--name-status",
    "-z",
)


def renamed_files(repo: Repository, rev: str, head: str | None = None) -> list[tuple[str, str]]:
    """(old path, new path) of each rename from ``rev`` to ``head`` (None: the work tree)."""
    revs = (rev,) if head is None else (rev, head)
    out = repo.run("diff", *_OPTIONS, *revs, "--")
    fields = out.split(b"\0")
    renames: list[tuple[str, str]] = []
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        if status[:1] in (b"R", b"C"):
            if status[:1] == b"R":
                renames.append((os.fsdecode(fields[i + 1]), os.fsdecode(fields[i + 2])))
            i += 3
        else:
            i += 2
    return renames
