"""What a Python file is made of, from its AST: units (defs, classes), executable lines,
imports and test functions. Pure functions of the text, so any revision can be read.

``def`` and ``class`` lines run when the module is imported, not when a test calls them:
every line of a definition, its header included, belongs to that definition's unit, and
the tests that exercise a unit are the ones that ran its body.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

MODULE = "<module>"

_Def = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Unit:
    qualname: str
    start: int  # first decorator or the def/class line
    end: int
    body_start: int  # first line of the body (the header lines are import-time)
    is_class: bool


@dataclass(frozen=True)
class Outline:
    parsed: bool
    units: tuple[Unit, ...] = ()  # every def/class at any depth, by start line
    executable: frozenset[int] = frozenset()  # empty when not parsed: see ``is_executable``
    names: frozenset[str] = frozenset()  # every defined def/class name and module-level target
    imports: frozenset[str] = frozenset()  # dotted modules, "a.b" and "a.b.c" for from-imports
    mentioned: frozenset[str] = frozenset()  # every identifier and attribute name used
    line_count: int = 0
    # Test functions only: qualname -> the identifiers and attribute names they use.
    mentions: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def is_executable(self, line: int) -> bool:
        return line in self.executable if self.parsed else True

    def unit_of(self, line: int) -> str:
        best: Unit | None = None
        for unit in self.units:
            if unit.start > line:
                break
            if unit.end >= line:
                best = unit  # later starts are nested deeper
        return best.qualname if best is not None else MODULE

    def find(self, qualname: str) -> Unit | None:
        for unit in self.units:
            if unit.qualname == qualname:
                return unit
        return None

    def test_functions(self) -> tuple[Unit, ...]:
        """``test*`` functions at module level and ``test*`` methods of ``Test*`` classes."""
        out = []
        for unit in self.units:
            if unit.is_class:
                continue
            parts = unit.qualname.split(".")
            name = parts[-1]
            if not name.startswith("test"):
                continue
            if len(parts) == 1 or (len(parts) == 2 and parts[0].startswith("Test")):
                out.append(unit)
        return tuple(out)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _start(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno, *(int(d.lineno) for d in decorators)])


def _children(stmt: ast.stmt) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    for handler in getattr(stmt, "handlers", None) or []:
        bodies.append(handler.body)
    for case in getattr(stmt, "cases", None) or []:
        bodies.append(case.body)
    return bodies


def _executable(body: list[ast.stmt], lines: set[int], docstring: bool) -> None:
    for n, stmt in enumerate(body):
        if n == 0 and docstring and _is_docstring(stmt):
            continue
        start = _start(stmt)
        children = _children(stmt)
        if not children:
            lines.update(range(start, (stmt.end_lineno or stmt.lineno) + 1))
            continue
        first = children[0][0].lineno
        lines.update(range(start, max(start, first - 1) + 1))
        for handler in getattr(stmt, "handlers", None) or []:
            lines.update(range(handler.lineno, max(handler.lineno, handler.body[0].lineno - 1) + 1))
        for child in children:
            _executable(child, lines, docstring=isinstance(stmt, _Def))


def _units(body: list[ast.stmt], prefix: str, out: list[Unit]) -> None:
    for stmt in body:
        if isinstance(stmt, _Def):
            qualname = f"{prefix}{stmt.name}"
            out.append(
                Unit(
                    qualname=qualname,
                    start=_start(stmt),
                    end=stmt.end_lineno or stmt.lineno,
                    body_start=stmt.body[0].lineno,
                    is_class=isinstance(stmt, ast.ClassDef),
                )
            )
            _units(stmt.body, f"{qualname}.", out)
        else:
            for child in _children(stmt):
                _units(child, prefix, out)


@functools.lru_cache(maxsize=4096)
def outline(text: bytes) -> Outline:
    """The outline of one file's content; ``parsed`` False for text that is not Python."""
    line_count = text.count(b"\n") + (0 if text.endswith(b"\n") or not text else 1)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return Outline(parsed=False, line_count=line_count)
    units: list[Unit] = []
    _units(tree.body, "", units)
    units.sort(key=lambda u: (u.start, -u.end))
    lines: set[int] = set()
    _executable(tree.body, lines, docstring=True)
    names: set[str] = set()
    imports: set[str] = set()
    mentioned: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, _Def):
            names.add(node.name)
        elif isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imports.add(node.module)
            imports.update(f"{node.module}.{alias.name}" for alias in node.names)
            mentioned.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Name):
            mentioned.add(node.id)
        elif isinstance(node, ast.Attribute):
            mentioned.add(node.attr)
    mentions = {
        qualname: frozenset(_identifiers(node)) for qualname, node in _test_nodes(tree.body)
    }
    for stmt in tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = list(stmt.targets)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            targets = [stmt.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return Outline(
        parsed=True,
        units=tuple(units),
        executable=frozenset(lines),
        names=frozenset(names),
        imports=frozenset(imports),
        mentioned=frozenset(mentioned),
        line_count=line_count,
        mentions=mentions,
    )


class Outlines:
    """Outlines by content for one judging: the same content (blob) is parsed once.

    Unbounded (unlike ``outline``'s own cache), so a change of thousands of files does not
    evict an outline before its second use; it lives as long as the judging that owns it
    and holds no text that the judging does not hold already.
    """

    def __init__(self) -> None:
        self._by_text: dict[bytes, Outline] = {}

    def __call__(self, text: bytes) -> Outline:
        found = self._by_text.get(text)
        if found is None:
            found = self._by_text[text] = outline.__wrapped__(text)
        return found


def _identifiers(node: ast.AST) -> set[str]:
    out: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            out.add(child.id)
        elif isinstance(child, ast.Attribute):
            out.add(child.attr)
        elif isinstance(child, ast.ImportFrom):
            out.update(alias.name for alias in child.names)
    return out


def _test_nodes(body: list[ast.stmt]) -> list[tuple[str, ast.AST]]:
    out: list[tuple[str, ast.AST]] = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith(
            "test"
        ):
            out.append((stmt.name, stmt))
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            out.extend(
                (f"{stmt.name}.{m.name}", m)
                for m in stmt.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                and m.name.startswith("test")
            )
    return out


def module_names(path: str) -> tuple[str, ...]:
    """Dotted names a repo-relative ``.py`` path may be imported as, longest first.

    ``src/shop/discount.py`` -> ``src.shop.discount``, ``shop.discount``, ``discount``.
    """
    parts = path[: -len(".py")].split("/") if path.endswith(".py") else path.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return tuple(".".join(parts[i:]) for i in range(len(parts)) if parts[i:])
