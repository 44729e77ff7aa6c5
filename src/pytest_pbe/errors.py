"""The plugin's own exception hierarchy.

Every failure the plugin can explain is a ``PbeError``: the runner turns it into an
``error`` status carrying the message, never a traceback. Messages say what is wrong,
where, and what to do next.
"""

from __future__ import annotations


class PbeError(Exception):
    """Base class: a check could not be judged, for the reason in the message."""


class GitError(PbeError):
    """git is missing, refused, or the repository cannot answer what we need."""


class ToolError(PbeError):
    """An external tool (mypy, ruff, bandit) crashed, timed out or printed nonsense."""


class ParseError(PbeError):
    """Output from git or a tool could not be parsed."""


class ReportWriteError(PbeError):
    """A report file could not be written."""


def first_line(exc: BaseException, default: str = "") -> str:
    """The first line of an exception's message (a one-line reason), or ``default``."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else default
