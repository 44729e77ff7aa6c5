"""New ``except`` handlers, and whether any test entered them (from the session's coverage).

A handler was entered when the first statement of its body ran. A handler whose body the
project excluded from coverage (``# pragma: no cover``), or in a file its coverage
configuration omits, is not judged; in a file no test imported, it was never entered.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_pbe.errors import ToolError
from pytest_pbe.tdd.source import Outline, Outlines

if TYPE_CHECKING:
    from pytest_pbe.measure.coverage import MeasuredCoverage
    from pytest_pbe.tools.newcode import NewCode


@dataclass(frozen=True)
class Handler:
    path: str  # repo-relative
    line: int  # the ``except`` line
    end_line: int
    body_line: int  # first statement of the body: entered iff it ran
    clause: str  # "except ValueError", for messages


def new_handlers(new_code: NewCode, parsed: Mapping[bytes, Outline] | None = None) -> list[Handler]:
    """Handlers in changed source (not test) files that the filter counts as new code.

    ``parsed``: outlines already made for file contents (the tdd item's, of the same working
    tree), so a file is not parsed twice; a content not found there is parsed here.
    """
    outlines = Outlines()
    found: list[Handler] = []
    for path in new_code.python_files((".py",)):
        if new_code.kinds.get(path) != "source":
            continue
        absolute = new_code.absolute(path)
        try:
            data = absolute.read_bytes()
        except OSError as exc:
            raise ToolError(f"cannot read {path}: {exc.strerror or exc}") from exc
        known = parsed.get(data) if parsed is not None else None
        out = known if known is not None else outlines(data)
        if not out.parsed:  # a syntax error, a null byte: the parser says where
            raise _not_parsed(data, str(absolute), path)
        new_lines = new_code.lines.get(path, frozenset())
        for line, end_line, body_line, clause in out.handlers:
            if new_code.mode == "added" and not {line, body_line} & new_lines:
                continue
            found.append(Handler(path, line, end_line, body_line, clause))
    found.sort(key=lambda h: (h.path, h.line))
    return found


def _not_parsed(data: bytes, filename: str, path: str) -> ToolError:
    """Why a file its outline could not parse is not Python, in the parser's own words."""
    try:
        ast.parse(data, filename=filename)
    except SyntaxError as exc:
        return ToolError(f"cannot parse {path}:{exc.lineno}: {exc.msg}; fix the syntax error")
    except ValueError as exc:  # a null byte, say
        return ToolError(f"cannot parse {path}: {exc}; fix the file")
    return ToolError(f"cannot parse {path}; fix the file")  # pragma: no cover - parsed above


def never_entered(
    handlers: Sequence[Handler], coverage: MeasuredCoverage, new_code: NewCode
) -> tuple[list[Handler], list[str]]:
    """(handlers no test entered, reasons some files could not be judged)."""
    missed: list[Handler] = []
    unjudged: list[str] = []
    seen_unmeasured: set[str] = set()
    for handler in handlers:
        data = coverage.file(new_code.absolute(handler.path))
        if getattr(data, "omitted", False):
            continue  # the project's coverage configuration omits it on purpose
        # A file no test imported has every statement missing: its handlers were never
        # entered. Any other unmeasured file (outside coverage's source) cannot be judged.
        if not data.measured and not data.reason.startswith("never imported"):
            if handler.path not in seen_unmeasured:
                seen_unmeasured.add(handler.path)
                unjudged.append(f"{handler.path}: {data.reason or 'not measured'}")
            continue
        start = data.statement_starts.get(handler.body_line, handler.body_line)
        if handler.line in data.excluded or start in data.excluded:
            continue
        if start not in data.statements:
            continue  # not executable as coverage.py sees it: nothing to enter
        if start in data.missing:
            missed.append(handler)
    return missed, unjudged
