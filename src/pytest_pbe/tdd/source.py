"""What a Python file is made of, from its AST: units (defs, classes), executable lines,
imports and test functions. Pure functions of the text, so any revision can be read.

``def`` and ``class`` lines run when the module is imported, not when a test calls them:
every line of a definition, its header included, belongs to that definition's unit, and
the tests that exercise a unit are the ones that ran its body.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

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
class Symbols:
    """What a file imports and uses: read on first use (source files being judged never ask)."""

    imports: frozenset[str] = frozenset()  # dotted modules, "a.b" and "a.b.c" for from-imports
    mentioned: frozenset[str] = frozenset()  # every identifier and attribute name used
    # Test functions only: qualname -> the identifiers and attribute names they use.
    mentions: Mapping[str, frozenset[str]] = field(default_factory=dict)


#: An ``except`` clause: its line, its last line, the first line of its body (the handler
#: was entered iff that ran) and the clause as written (``"except ValueError"``).
ExceptClause = tuple[int, int, int, str]


@dataclass(frozen=True)
class Outline:
    parsed: bool
    units: tuple[Unit, ...] = ()  # every def/class at any depth, by start line
    executable: frozenset[int] = frozenset()  # empty when not parsed: see ``is_executable``
    names: frozenset[str] = frozenset()  # every defined def/class name and module-level target
    line_count: int = 0
    handlers: tuple[ExceptClause, ...] = ()  # every ``except`` clause, at any depth
    test_classes: frozenset[str] = frozenset()  # module-level classes that hold tests
    text: bytes = field(default=b"", repr=False, compare=False)  # parsed again for ``symbols``

    @functools.cached_property
    def symbols(self) -> Symbols:
        return read_symbols(self.text) if self.parsed else Symbols()

    @property
    def imports(self) -> frozenset[str]:
        return self.symbols.imports

    @property
    def mentioned(self) -> frozenset[str]:
        return self.symbols.mentioned

    @property
    def mentions(self) -> Mapping[str, frozenset[str]]:
        return self.symbols.mentions

    @functools.cached_property
    def code(self) -> Mapping[str, str]:
        """Each unit's code (``MODULE`` too), docstrings and nested units left out.

        Two versions of a unit with the same code differ only in comments, docstrings,
        blank lines, layout or suppression comments: no behaviour changed.
        """
        return code_digests(self.text, tests=False) if self.parsed else {}

    @functools.cached_property
    def test_code(self) -> Mapping[str, str]:
        """Each test function's code, nested helpers included; docstrings and assertion
        messages left out (rewording a message checks nothing new)."""
        return code_digests(self.text, tests=True) if self.parsed else {}

    @functools.cached_property
    def top_names(self) -> Mapping[int, frozenset[str]]:
        """Line -> the names a module-level statement on it binds (constants, aliases)."""
        return top_level_names(self.text) if self.parsed else {}

    @functools.cached_property
    def test_bodies(self) -> Mapping[str, str]:
        """``test_code`` without the decorators: a test whose body is the same, and whose
        ``parametrize`` list grew, only gained cases."""
        return code_digests(self.text, tests=True, decorators=False) if self.parsed else {}

    def is_executable(self, line: int) -> bool:
        return line in self.executable if self.parsed else True

    def unit_of(self, line: int) -> str:
        """The innermost unit holding ``line``, else ``MODULE``."""
        by_line = self._unit_by_line
        return by_line[line] if 0 <= line < len(by_line) else MODULE

    def find(self, qualname: str) -> Unit | None:
        """The first unit (by start line) of that qualified name."""
        return self._unit_by_name.get(qualname)

    @functools.cached_property
    def _unit_by_line(self) -> list[str]:
        # Units come by start, the outer one first: a nested unit paints over its parent.
        by_line = [MODULE] * (max((u.end for u in self.units), default=0) + 1)
        for unit in self.units:
            by_line[unit.start : unit.end + 1] = [unit.qualname] * (unit.end + 1 - unit.start)
        return by_line

    @functools.cached_property
    def _unit_by_name(self) -> dict[str, Unit]:
        found: dict[str, Unit] = {}
        for unit in self.units:
            found.setdefault(unit.qualname, unit)
        return found

    def test_functions(self) -> tuple[Unit, ...]:
        """``test*`` functions at module level and ``test*`` methods of ``Test*`` classes."""
        return self._test_functions

    @functools.cached_property
    def _test_functions(self) -> tuple[Unit, ...]:
        out = []
        for unit in self.units:
            if unit.is_class:
                continue
            parts = unit.qualname.split(".")
            name = parts[-1]
            if not name.startswith("test"):
                continue
            if len(parts) == 1 or (len(parts) == 2 and parts[0] in self.test_classes):
                out.append(unit)
        return tuple(out)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


# Per statement type, the fields among "body", "orelse", "finalbody" that it has.
_BODY_FIELDS: dict[type, tuple[str, ...]] = {}


def _children(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists inside ``stmt``: bodies, else, finally, handlers, match cases."""
    kind = type(stmt)
    fields = _BODY_FIELDS.get(kind)
    if fields is None:
        names = getattr(kind, "_fields", ())
        fields = _BODY_FIELDS[kind] = tuple(
            f for f in ("body", "orelse", "finalbody") if f in names
        )
    bodies: list[list[ast.stmt]] = []
    for name in fields:
        value = getattr(stmt, name)
        if value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    for handler in getattr(stmt, "handlers", None) or ():
        bodies.append(handler.body)
    for case in getattr(stmt, "cases", None) or ():
        bodies.append(case.body)
    return bodies


def except_clause(handler: ast.ExceptHandler) -> str:
    """``except``, ``except ValueError``, ``except (KeyError, OSError)``: as ``ast`` writes it."""
    kind = handler.type
    if kind is None:
        return "except"
    if isinstance(kind, ast.Name):  # the common case, without the unparser
        return f"except {kind.id}"
    return f"except {ast.unparse(kind)}"


class _Reader:
    """One pass over the statements: units, executable lines, defined names, handlers."""

    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.lines: set[int] = set()
        self.names: set[str] = set()
        self.handlers: list[ExceptClause] = []

    def body(self, body: list[ast.stmt], prefix: str, docstring: bool) -> None:
        lines = self.lines
        for n, stmt in enumerate(body):
            if n == 0 and docstring and _is_docstring(stmt):
                continue
            start = stmt.lineno
            if isinstance(stmt, _Def) and stmt.decorator_list:
                start = min(start, *(d.lineno for d in stmt.decorator_list))
            children = _children(stmt)
            if not children:
                lines.update(range(start, (stmt.end_lineno or stmt.lineno) + 1))
                continue
            first = children[0][0].lineno
            lines.update(range(start, max(start, first - 1) + 1))
            for h in getattr(stmt, "handlers", None) or ():
                body_line = h.body[0].lineno
                lines.update(range(h.lineno, max(h.lineno, body_line - 1) + 1))
                end = h.end_lineno or h.lineno
                self.handlers.append((h.lineno, end, body_line, except_clause(h)))
            if isinstance(stmt, _Def):
                qualname = f"{prefix}{stmt.name}"
                self.names.add(stmt.name)
                end = stmt.end_lineno or stmt.lineno
                is_class = isinstance(stmt, ast.ClassDef)
                self.units.append(Unit(qualname, start, end, first, is_class))
                self.body(stmt.body, f"{qualname}.", docstring=True)
            else:
                for child in children:
                    self.body(child, prefix, docstring=False)


# Fields that never hold a node, in any Python version (names, flags, constants, contexts).
# Not "name": a str almost everywhere, but a Name node in 3.12's ``type X = ...``.
_LEAF_FIELDS = frozenset(
    {"ctx", "id", "attr", "names", "module", "level", "arg", "kind", "type_comment",
     "kwd_attrs", "rest", "conversion", "is_async", "simple", "tag", "lineno"}
)  # fmt: skip
_NODE_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: (), ast.MatchSingleton: ()}


def _node_fields(kind: type) -> tuple[str, ...]:
    found = _NODE_FIELDS.get(kind)
    if found is None:
        fields = getattr(kind, "_fields", ()) if issubclass(kind, ast.AST) else ()
        found = _NODE_FIELDS[kind] = tuple(f for f in fields if f not in _LEAF_FIELDS)
    return found


def _used(
    root: ast.AST,
    idents: set[str],
    imports: list[ast.Import | ast.ImportFrom],
    skip: frozenset[int] = frozenset(),
) -> None:
    """Every name and attribute used below ``root`` into ``idents``, every import statement
    into ``imports``; the subtrees of the nodes whose ``id`` is in ``skip`` left out.

    ``ast.walk``, without its generators: an explicit stack, and per node type only the
    fields that can hold nodes.
    """
    stack: list[object] = [root]
    pop, push, extend, add = stack.pop, stack.append, stack.extend, idents.add
    while stack:
        node = pop()
        if isinstance(node, ast.Name):
            add(node.id)
            continue
        if isinstance(node, ast.Attribute):
            add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
            continue
        elif skip and id(node) in skip:
            continue
        kind = type(node)
        for field_name in _NODE_FIELDS.get(kind) or _node_fields(kind):
            value = getattr(node, field_name, None)
            if type(value) is list:
                extend(value)
            elif value is not None:
                push(value)


@functools.lru_cache(maxsize=4096)
def outline(text: bytes) -> Outline:
    """The outline of one file's content; ``parsed`` False for text that is not Python."""
    line_count = text.count(b"\n") + (0 if text.endswith(b"\n") or not text else 1)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return Outline(parsed=False, line_count=line_count)
    reader = _Reader()
    reader.body(tree.body, "", docstring=True)
    reader.lines -= _comment_lines(text, reader.lines)
    reader.units.sort(key=lambda u: (u.start, -u.end))
    names = reader.names
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
    return Outline(
        parsed=True,
        units=tuple(reader.units),
        executable=frozenset(reader.lines),
        names=frozenset(names),
        line_count=line_count,
        handlers=tuple(reader.handlers),
        test_classes=frozenset(
            s.name for s in tree.body if isinstance(s, ast.ClassDef) and is_test_class(s)
        ),
        text=text,
    )


def _comment_lines(text: bytes, lines: set[int]) -> set[int]:
    """Which of ``lines`` hold only a comment or nothing (inside a statement or under a header).

    A line of a multi-line string that looks like one is still code: when the text has a
    string that spans lines, the tokenizer says which lines its tokens cover.
    """
    rows = text.split(b"\n")
    found = set()
    for number in lines:
        row = rows[number - 1].strip() if number <= len(rows) else b""
        if not row or row.startswith(b"#"):
            found.add(number)
    if found and (b'"""' in text or b"'''" in text or b"\\\n" in text):
        found -= _lines_inside_strings(text)
    return found


_LINE_TOKENS = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE})


def _lines_inside_strings(text: bytes) -> set[int]:
    """The lines a token (a string, an f-string's text) continues on."""
    inside: set[int] = set()
    try:
        for token in tokenize.tokenize(io.BytesIO(text).readline):
            if token.end[0] > token.start[0] and token.type not in _LINE_TOKENS:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # ast parsed it: a tokenizer disagreement leaves the comment lines as they are
    return inside


def top_level_names(text: bytes) -> dict[int, frozenset[str]]:
    """``Outline.top_names`` of a parsed text."""
    found: dict[int, frozenset[str]] = {}
    for stmt in ast.parse(text).body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            targets = [stmt.target]
        elif type(stmt).__name__ == "TypeAlias":  # 3.12's ``type X = ...``
            targets = [getattr(stmt, "name")]  # noqa: B009  # not in 3.10's stubs
        names = frozenset(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if names:
            for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1):
                found[line] = names
    return found


def lines_naming(text: bytes, names: frozenset[str]) -> set[int]:
    """The lines of ``text`` whose code uses one of ``names`` (a name or an attribute)."""
    if not any(name.encode() in text for name in names):
        return set()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and node.id in names) or (
            isinstance(node, ast.Attribute) and node.attr in names
        ):
            found.add(node.lineno)
    return found


def code_digests(text: bytes, *, tests: bool, decorators: bool = True) -> dict[str, str]:
    """``Outline.code`` (``tests`` False), ``Outline.test_code`` or ``Outline.test_bodies``
    (``decorators`` False) of a parsed text."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            setattr(node, "body", [s for s in body if not _is_docstring(s)] or [ast.Pass()])  # noqa: B010
        if tests and isinstance(node, ast.Assert):
            node.msg = None
    found: dict[str, str] = {}
    if tests:
        for qualname, node in _test_nodes(tree.body):
            if not decorators:
                node.decorator_list = []  # type: ignore[attr-defined]  # defs only
            found[qualname] = found.get(qualname, "") + ast.dump(node)
        return found
    found[MODULE] = _shallow_dump(tree)
    stack: list[tuple[str, ast.AST]] = [("", tree)]
    while stack:
        prefix, parent = stack.pop()
        for stmt in _nested_defs(parent):
            qualname = f"{prefix}{stmt.name}"
            found[qualname] = found.get(qualname, "") + _shallow_dump(stmt)  # a setter too
            stack.append((f"{qualname}.", stmt))
    return found


def _nested_defs(node: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """The defs and classes directly inside ``node``'s statements (at any statement depth)."""
    out = []
    stack = list(getattr(node, "body", ()))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, _Def):
            out.append(stmt)
        elif isinstance(stmt, ast.stmt):
            for child in _children(stmt):
                stack.extend(child)
    return out


def _shallow_dump(node: ast.AST) -> str:
    """A dump of ``node``'s code with each nested def or class reduced to its name."""
    out: list[str] = []
    try:
        _dump(node, out, top=True)
    except RecursionError:
        return f"<too deep: {id(node)}>"  # never equal to another version's
    return "".join(out)


def _dump(node: object, out: list[str], *, top: bool = False) -> None:
    if isinstance(node, list):
        out.append("[")
        for item in node:
            _dump(item, out)
            out.append(",")
        out.append("]")
    elif not isinstance(node, ast.AST):
        out.append(repr(node))
    elif not top and isinstance(node, _Def):
        out.append(f"<{node.name}>")
    else:
        out.append(type(node).__name__)
        out.append("(")
        for name in node._fields:
            _dump(getattr(node, name, None), out)
            out.append(",")
        out.append(")")


def read_symbols(text: bytes) -> Symbols:
    """The imports and used names of a file that ``outline`` parsed."""
    tree = ast.parse(text)
    mentioned: set[str] = set()
    statements: list[ast.Import | ast.ImportFrom] = []
    tests = _test_nodes(tree.body)
    _used(tree, mentioned, statements, skip=frozenset(id(node) for _, node in tests))
    mentions: dict[str, frozenset[str]] = {}
    for qualname, node in tests:
        own: set[str] = set()
        found: list[ast.Import | ast.ImportFrom] = []
        _used(node, own, found)
        mentioned |= own
        statements += found
        own.update(a.name for s in found if isinstance(s, ast.ImportFrom) for a in s.names)
        mentions[qualname] = frozenset(own)
    imports: set[str] = set()
    for stmt in statements:
        if isinstance(stmt, ast.Import):
            imports.update(alias.name for alias in stmt.names)
        elif stmt.module and not stmt.level:
            imports.add(stmt.module)
            imports.update(f"{stmt.module}.{alias.name}" for alias in stmt.names)
            mentioned.update(alias.name for alias in stmt.names)
    return Symbols(frozenset(imports), frozenset(mentioned), mentions)


#: Outlines of the working tree's contents, by content, that the tdd item made while judging:
#: the errors item, which reads the same changed files, finds them here instead of parsing
#: them again (a content that is not here is parsed as usual).
WORKTREE_OUTLINES = pytest.StashKey["dict[bytes, Outline]"]()


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

    def known(self, text: bytes) -> Outline | None:
        """The outline of ``text`` if it was made already (nothing is parsed)."""
        return self._by_text.get(text)


def is_test_class(node: ast.ClassDef) -> bool:
    """pytest collects ``Test*`` classes, and ``unittest.TestCase`` subclasses of any name
    (Django's ``CheckModelTestCase(BaseTestCase)``): in a test file, a class with a base."""
    return node.name.startswith("Test") or bool(node.bases)


def _test_nodes(body: list[ast.stmt]) -> list[tuple[str, ast.AST]]:
    out: list[tuple[str, ast.AST]] = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith(
            "test"
        ):
            out.append((stmt.name, stmt))
        elif isinstance(stmt, ast.ClassDef) and is_test_class(stmt):
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
