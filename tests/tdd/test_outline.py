"""Outlines are exactly what the first, plain implementation made of the same text.

``reference`` below is that implementation, kept as the specification: a few walks over
the tree, each easy to read. ``outline`` does the same work in one pass for speed (a change
of thousands of files parses thousands of outlines); every field must agree, on tricky
sources and on every Python file of this project and of a part of the standard library.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

import pytest

from pytest_pbe.tdd.source import MODULE, Outline, Symbols, Unit, outline

_Def = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _ref_start(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno, *(int(d.lineno) for d in decorators)])


def _ref_children(stmt: ast.stmt) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    bodies.extend(handler.body for handler in getattr(stmt, "handlers", None) or [])
    bodies.extend(case.body for case in getattr(stmt, "cases", None) or [])
    return bodies


def _ref_executable(body: list[ast.stmt], lines: set[int], docstring: bool) -> None:
    for n, stmt in enumerate(body):
        if (
            n == 0
            and docstring
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            continue
        start = _ref_start(stmt)
        children = _ref_children(stmt)
        if not children:
            lines.update(range(start, (stmt.end_lineno or stmt.lineno) + 1))
            continue
        lines.update(range(start, max(start, children[0][0].lineno - 1) + 1))
        for handler in getattr(stmt, "handlers", None) or []:
            lines.update(range(handler.lineno, max(handler.lineno, handler.body[0].lineno - 1) + 1))
        for child in children:
            _ref_executable(child, lines, docstring=isinstance(stmt, _Def))


_NOT_CODE = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENCODING, tokenize.ENDMARKER)  # fmt: skip


def _ref_code_lines(text: bytes) -> set[int]:
    """Lines holding a token of code (a comment or nothing is not code)."""
    lines: set[int] = set()
    for token in tokenize.tokenize(io.BytesIO(text).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def _ref_units(body: list[ast.stmt], prefix: str, out: list[Unit]) -> None:
    for stmt in body:
        if isinstance(stmt, _Def):
            qualname = f"{prefix}{stmt.name}"
            end = stmt.end_lineno or stmt.lineno
            is_class = isinstance(stmt, ast.ClassDef)
            out.append(Unit(qualname, _ref_start(stmt), end, stmt.body[0].lineno, is_class))
            _ref_units(stmt.body, f"{qualname}.", out)
        else:
            for child in _ref_children(stmt):
                _ref_units(child, prefix, out)


def _ref_identifiers(node: ast.AST) -> set[str]:
    out: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            out.add(child.id)
        elif isinstance(child, ast.Attribute):
            out.add(child.attr)
        elif isinstance(child, ast.ImportFrom):
            out.update(alias.name for alias in child.names)
    return out


def _ref_tests(body: list[ast.stmt]) -> list[tuple[str, ast.AST]]:
    out: list[tuple[str, ast.AST]] = []
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for stmt in body:
        if isinstance(stmt, functions) and stmt.name.startswith("test"):
            out.append((stmt.name, stmt))
        elif isinstance(stmt, ast.ClassDef) and (stmt.name.startswith("Test") or stmt.bases):
            out.extend(
                (f"{stmt.name}.{m.name}", m)
                for m in stmt.body
                if isinstance(m, functions) and m.name.startswith("test")
            )
    return out


def reference(text: bytes) -> tuple[Outline, Symbols]:
    line_count = text.count(b"\n") + (0 if text.endswith(b"\n") or not text else 1)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return Outline(parsed=False, line_count=line_count), Symbols()
    units: list[Unit] = []
    _ref_units(tree.body, "", units)
    units.sort(key=lambda u: (u.start, -u.end))
    lines: set[int] = set()
    _ref_executable(tree.body, lines, docstring=True)
    lines &= _ref_code_lines(text)
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
    mentions = {name: frozenset(_ref_identifiers(node)) for name, node in _ref_tests(tree.body)}
    for stmt in tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = list(stmt.targets)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            targets = [stmt.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    handlers = tuple(
        sorted(
            (
                node.lineno,
                node.end_lineno or node.lineno,
                node.body[0].lineno,
                "except" if node.type is None else f"except {ast.unparse(node.type)}",
            )
            for node in ast.walk(tree)
            if isinstance(node, ast.ExceptHandler)
        )
    )
    return (
        Outline(
            True, tuple(units), frozenset(lines), frozenset(names), line_count, handlers=handlers
        ),
        Symbols(frozenset(imports), frozenset(mentioned), mentions),
    )


TRICKY = {
    "decorators": b'''
import functools as ft, os.path
from typing import (
    Any,
    cast as kast,
)
from . import sibling
from .pkg.mod import thing
from pkg import *


@ft.lru_cache(
    maxsize=None,
)
@staticmethod
def cached(
    a: int,
    *args: Any,
    b: "str" = os.sep,
    **kw: Any,
) -> int:
    """Doc."""
    return a


@dataclass
class Box(Base, metaclass=Meta):
    """Box."""

    size: int = 0
    other = lambda self: self.size  # noqa: E731

    class Inner:
        class Deeper:
            def method(self):
                def local():
                    return lambda x: (yield x)
                return local

    @property
    def area(self):
        return self.size ** 2
''',
    "async_and_control_flow": b'''"""Module doc."""
COUNT: int = 0
COUNT += 1
a, b = 1, 2
x.y = 3
[c, d] = 4, 5
total = value = 6


async def fetch(session, *, retries=3):
    async with session.get(url) as resp, lock:
        async for chunk in resp:
            await sink(chunk)
    for i in range(3):
        if i:
            continue
        elif i > 1:
            break
        else:
            pass
    else:
        done()
    while retries:
        retries -= 1
    else:
        raise RuntimeError(
            "gave up"
        )
    try:
        risky()
    except (ValueError,
            TypeError) as exc:
        handle(exc)
    except Exception:
        pass
    else:
        fine()
    finally:
        close()
    with open(f"{name!r:>{width}}") as fh: data = fh.read()
    if (n := len(data)) > 10: print(n)
    global COUNT
    return [y for y in data if y] or {k: v for k, v in ()} or {*data}


def matcher(command):
    match command.split():
        case [action]:
            return action
        case [action, obj] if obj:
            return obj
        case Point(x=0, y=yy) | {"k": yy}:
            return yy
        case _:
            return None
''',
    "tests": b"""import pytest
from shop.discount import apply, percent as pct
from .helpers import helper


@pytest.mark.parametrize("n", [1, 2])
def test_apply(n, fixture):
    from shop.cart import Cart
    assert apply(Cart(n).total, pct) == helper.value


async def test_async_one():
    import shop.async_mod
    await shop.async_mod.run()


def helper_not_a_test():
    return apply


class TestCart:
    def test_total(self):
        assert self.cart.total == 0

    async def test_async(self):
        pass

    def helper(self):
        pass

    class TestNested:
        def test_deep(self):
            pass


class Other:
    def test_ignored(self):
        pass


def test_lambda_and_defaults(x=lambda: default_value, *, y: Annotated = ann):
    assert (lambda q: q.attr)(obj)
""",
    "try_star_and_else_only": b"""
try:
    a()
except* ValueError:
    b()
except* (TypeError, KeyError) as group:
    c(group)
if x:
    pass
else:
    y = 1
""",
    "handlers_everywhere": b"""
class Guard:
    def run(self):
        for item in self.items:
            with self.lock:
                try:
                    item()
                except: raise
                except (errors.Timeout, OSError) as exc:
                    try:
                        self.undo()
                    except errors.Undo[int] if strict else Exception:
                        pass
                    finally:
                        log(exc)
        while True:
            try:
                break
            except  KeyError :
                continue


def outer():
    def inner():
        try:
            pass
        except lambda: ValueError:
            pass
    match inner():
        case None:
            try:
                x = 1
            except* ( ValueError ,
                      TypeError ):
                # a comment first
                y = 2
""",
    "redefined": b"""
def f():
    return 1


def f():
    return 2


class C:
    def m(self):
        pass

    def m(self):
        def m():
            pass
""",
    "one_liners": b"class A: pass\ndef f(): return 1\nif x: y()\nelse: z()\n",
    "no_trailing_newline": b"x = 1\ndef f():\n    return x",
    "crlf": b"def f():\r\n    return 1\r\n\r\nx = f()\r\n",
    "bom_and_cookie": b"\xef\xbb\xbfx = 1\n# -*- coding: utf-8 -*-\ny = 2\n",
    "latin1_cookie": b"# -*- coding: latin-1 -*-\nname = '\xe9'\n",
    "form_feed_and_continuation": b"x = 1 + \\\n    2\n\x0c\ndef g():\n    pass\n",
    "only_docstrings": b'"""Just a docstring."""\n',
    "empty": b"",
    "blank_lines": b"\n\n\n",
    "comment_only": b"# nothing here\n",
    "syntax_error": b"def broken(:\n    pass\n",
    "null_byte": b"x = 1\0\n",
    "bad_encoding": b"# -*- coding: no-such-codec -*-\nx = 1\n",
    "invalid_utf8": b"x = '\xff'\n",
    "not_python": b"[section]\nkey = value\n",
}


def ref_unit_of(units: tuple[Unit, ...], line: int) -> str:
    best: Unit | None = None
    for unit in units:
        if unit.start > line:
            break
        if unit.end >= line:
            best = unit  # later starts are nested deeper
    return best.qualname if best is not None else MODULE


def ref_find(units: tuple[Unit, ...], qualname: str) -> Unit | None:
    return next((unit for unit in units if unit.qualname == qualname), None)


def ref_test_functions(units: tuple[Unit, ...], text: bytes) -> tuple[Unit, ...]:
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError):
        body = []
    classes = {
        s.name
        for s in body
        if isinstance(s, ast.ClassDef) and (s.name.startswith("Test") or s.bases)
    }
    out = []
    for unit in units:
        parts = unit.qualname.split(".")
        if unit.is_class or not parts[-1].startswith("test"):
            continue
        if len(parts) == 1 or (len(parts) == 2 and parts[0] in classes):
            out.append(unit)
    return tuple(out)


def assert_same(text: bytes) -> None:
    new = outline.__wrapped__(text)
    old, symbols = reference(text)
    for name in ("parsed", "units", "executable", "names", "line_count"):
        assert getattr(new, name) == getattr(old, name), name
    assert tuple(sorted(new.handlers)) == old.handlers  # what the errors item judges
    for name in ("imports", "mentioned", "mentions"):
        assert getattr(new, name) == getattr(symbols, name), name
    assert new.test_functions() == ref_test_functions(old.units, text)
    for line in range(-1, old.line_count + 3):
        assert new.unit_of(line) == ref_unit_of(old.units, line), line
        assert new.is_executable(line) == (line in old.executable or not old.parsed), line
    for qualname in {u.qualname for u in old.units} | {"no.such.unit", MODULE}:
        assert new.find(qualname) == ref_find(old.units, qualname)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_an_outline_of_tricky_code_is_what_the_plain_reading_gives(name: str) -> None:
    assert_same(TRICKY[name])


def test_the_tricky_sources_cover_what_they_claim() -> None:
    out = outline(TRICKY["tests"])
    assert [t.qualname for t in out.test_functions()] == [
        "test_apply",
        "test_async_one",
        "TestCart.test_total",
        "TestCart.test_async",
        "test_lambda_and_defaults",
    ]
    assert out.mentions["test_apply"] >= {"Cart", "apply", "pct", "value", "helper"}
    assert "fixture" not in out.mentions["test_apply"]  # an argument, not a use
    assert "default_value" in out.mentions["test_lambda_and_defaults"]
    assert out.imports >= {"shop.discount", "shop.discount.apply", "shop.cart", "pytest"}
    deco = outline(TRICKY["decorators"])
    assert deco.unit_of(12) == "cached"  # the first line of a multi-line decorator
    assert deco.find("Box.Inner.Deeper.method.local") is not None
    assert not outline(TRICKY["syntax_error"]).parsed
    handlers = TRICKY["handlers_everywhere"]
    if sys.version_info < (3, 11):  # no except* before 3.11: the same handler, plain
        handlers = handlers.replace(b"except* (", b"except  (")
    guarded = outline(handlers)
    assert sorted(guarded.handlers) == [
        (8, 8, 8, "except"),
        (9, 15, 10, "except (errors.Timeout, OSError)"),
        (12, 13, 13, "except errors.Undo[int] if strict else Exception"),
        (19, 20, 20, "except KeyError"),
        # as ``ast`` writes it: "lambda : ValueError" on Python 3.10
        (27, 28, 28, f"except {ast.unparse(ast.parse('lambda: ValueError', mode='eval'))}"),
        (33, 36, 36, "except (ValueError, TypeError)"),
    ]


def _python_files() -> list[Path]:
    here = Path(__file__).resolve().parents[2]
    stdlib = Path(ast.__file__).parent
    picked = [
        *sorted((here / "src").rglob("*.py")),
        *sorted((here / "tests").rglob("*.py")),
        *(stdlib / name for name in ("ast.py", "dataclasses.py", "inspect.py", "typing.py")),
        *sorted((stdlib / "asyncio").glob("*.py")),
        *sorted((stdlib / "json").glob("*.py")),
    ]
    return [p for p in picked if p.is_file()]


def test_an_outline_of_every_real_file_is_what_the_plain_reading_gives() -> None:
    files = _python_files()
    assert len(files) > 100, sys.version
    for path in files:
        assert_same(path.read_bytes())


def test_the_names_mapping_reads_the_test_files_only_when_per_test_coverage_cannot_answer():
    # Parsing every test file of the project is most of the tdd item's own time: with
    # per-test coverage for every changed file, no unit falls back to the names mapping.
    from types import SimpleNamespace

    from pytest_pbe.tdd.mapping import CoverageMap, NamingMap
    from pytest_pbe.tdd.source import outline

    asked: list[int] = []

    def test_outlines():
        asked.append(1)
        return {"tests/test_a.py": outline(b"from app.a import f\n\ndef test_f():\n    f()\n")}

    ran_f = {2: {"tests/test_a.py::test_f|run"}}
    measured = {
        "app/a.py": SimpleNamespace(measured=True, reason="", contexts=ran_f),
        "app/b.py": SimpleNamespace(measured=False, reason="omitted by [run] omit", contexts={}),
    }
    source = {"app/a.py": b"def f():\n    return 1\n", "app/b.py": b"def g():\n    return 2\n"}
    mapping = CoverageMap(
        lambda path: measured[path.relative_to(Path("/repo")).as_posix()],
        Path("/repo"),
        "",
        lambda rel: outline(source[rel]),
        NamingMap(test_outlines),
    )

    assert mapping.tests_for("app/a.py", "f") == (
        frozenset({("tests/test_a.py", "test_f")}),
        "coverage",
    )
    assert asked == []
    assert mapping.tests_for("app/b.py", "g")[1] == "names"
    mapping.tests_for("app/b.py", "g")
    assert asked == [1]
