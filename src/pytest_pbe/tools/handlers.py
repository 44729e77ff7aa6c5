"""New ``except`` handlers, and whether any test entered them (from the session's coverage).

A handler was entered when the first statement of its body ran. A handler whose body the
project excluded from coverage (``# pragma: no cover``), or in a file its coverage
configuration omits, is not judged; in a file no test imported, it was never entered.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_pbe.errors import ToolError
from pytest_pbe.tools.newcode import NewCode

if TYPE_CHECKING:
    from pytest_pbe.measure.coverage import MeasuredCoverage


@dataclass(frozen=True)
class Handler:
    path: str  # repo-relative
    line: int  # the ``except`` line
    end_line: int
    body_line: int  # first statement of the body: entered iff it ran
    clause: str  # "except ValueError", for messages


def _clause(node: ast.ExceptHandler) -> str:
    if node.type is None:
        return "except"
    return f"except {ast.unparse(node.type)}"


def new_handlers(new_code: NewCode) -> list[Handler]:
    """Handlers in changed source (not test) files that the filter counts as new code."""
    found: list[Handler] = []
    for path in new_code.python_files((".py",)):
        if new_code.kinds.get(path) != "source":
            continue
        absolute = new_code.absolute(path)
        try:
            tree = ast.parse(absolute.read_bytes(), filename=str(absolute))
        except SyntaxError as exc:
            raise ToolError(
                f"cannot parse {path}:{exc.lineno}: {exc.msg}; fix the syntax error"
            ) from exc
        except OSError as exc:
            raise ToolError(f"cannot read {path}: {exc.strerror or exc}") from exc
        new_lines = new_code.lines.get(path, frozenset())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ExceptHandler) or not node.body:
                continue
            body_line = node.body[0].lineno
            if new_code.mode == "added" and not {node.lineno, body_line} & new_lines:
                continue
            found.append(
                Handler(
                    path=path,
                    line=node.lineno,
                    end_line=node.end_lineno or node.lineno,
                    body_line=body_line,
                    clause=_clause(node),
                )
            )
    found.sort(key=lambda h: (h.path, h.line))
    return found


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
