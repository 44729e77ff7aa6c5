"""Loosenings: what the judged change did to weaken what an item checks.

The change is untrusted, and so are the settings it commits: a setting of pytest-pbe
made looser between the merge-base and the working tree, a suppression comment on a new
line, a source module renamed into a test file. Each is a finding of the item it
weakens, and fails that item unless the change acknowledges it (``PBE-Loosen: <item>:
<reason>`` in a commit of the range, or ``--pbe-loosen ITEM:REASON`` on the trusted
command line for the uncommitted work). Computed once, after the items were judged,
and applied to their results in one place (``apply_loosenings``).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import math
import os
import posixpath
import re
import shlex
import tempfile
import tokenize
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pbe.config import BUILTIN_IDS, NOT_REQUIRED_BY_DEFAULT
from pytest_pbe.errors import PbeError, first_line
from pytest_pbe.git.classify import SOURCE, TEST
from pytest_pbe.git.renames import renamed_files
from pytest_pbe.model import CheckResult, Finding, Loosening, MetricValue, Severity, Status
from pytest_pbe.options import OPTIONS, OptionSpec
from pytest_pbe.toolconfigs import tool_config_loosenings

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext

TRAILER = "pbe-loosen"
#: The settings that switch an item off: an item they skipped is failed, not left skipped.
SWITCH_OFF = frozenset({"pbe_checks", "pbe_skip"})
DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")


def apply_loosenings(
    ctx: VerifyContext, results: Sequence[CheckResult]
) -> tuple[list[CheckResult], tuple[Loosening, ...]]:
    """Each result with its item's loosenings applied, and every loosening found."""
    try:
        ctx.repository()
    except PbeError:  # no repository, no range: the items that judge new code say so
        return list(results), ()
    try:
        found = ctx.loosenings()
    except Exception as exc:  # noqa: BLE001  # fail closed: no pass without this answer
        reason = (
            f"could not tell whether the change loosened its settings: {first_line(exc)}; "
            "fix that, then run again"
        )
        return [_unknown(result, reason) for result in results], ()
    switched_off = {f.item for f in found if f.setting in SWITCH_OFF}
    # An item the trusted command line switched off judged nothing: nothing to weaken.
    relevant = [f for f in found if f.item in ctx.settings.checks or f.item in switched_off]
    by_item: dict[str, list[Loosening]] = {}
    for loosening in relevant:
        by_item.setdefault(loosening.item, []).append(loosening)
    return [_applied(r, by_item.get(r.id, [])) for r in results], tuple(relevant)


def find_loosenings(ctx: VerifyContext) -> list[Loosening]:
    found = [*ini_loosenings(ctx), *suppressions(ctx), *renamed_sources(ctx)]
    found += imported_test_code(ctx)
    found += tool_config_loosenings(ctx.repository(), ctx.base().merge_base, ctx.scope_prefix())
    if not found:
        return []  # the range's history (one git log with diffs) is read only when needed
    acknowledged = acknowledgements(ctx)
    return [dataclasses.replace(f, acknowledged=acknowledged.get(f.item)) for f in found]


# --- applying ---------------------------------------------------------------------------
def _unknown(result: CheckResult, reason: str) -> CheckResult:
    # The tests item is the session's own verdict: no setting of the range decides it.
    if result.status is not Status.PASSED or result.id == "tests":
        return result
    return dataclasses.replace(result, status=Status.ERROR, summary=reason)


def _applied(result: CheckResult, loosenings: Sequence[Loosening]) -> CheckResult:
    if not loosenings:
        return result
    findings = result.findings + tuple(_finding(item) for item in loosenings)
    metrics: dict[str, MetricValue] = dict(result.metrics)
    metrics["suppressions_added"] = sum(item.setting.startswith("#") for item in loosenings)
    metrics["loosenings_acknowledged"] = sum(item.acknowledged is not None for item in loosenings)
    refused = [item for item in loosenings if item.acknowledged is None and item.blanket]
    changed = dataclasses.replace(result, findings=findings, metrics=metrics)
    if not refused:
        acknowledged = metrics["loosenings_acknowledged"]
        if acknowledged:
            changed = dataclasses.replace(
                changed, summary=f"{result.summary} (loosened: {acknowledged} acknowledged)"
            )
        return changed
    first = refused[0]
    summary = (
        f"{len(refused)} unacknowledged loosening(s): {first.message}; revert it or add "
        f"'PBE-Loosen: {result.id}: <reason>' to a commit"
    )
    status = Status.ERROR if result.status is Status.ERROR else Status.FAILED
    if status is Status.ERROR:  # its own reason stays: it could not be judged either
        summary += f"; and: {result.summary}"
    required = result.required or any(item.setting == "pbe_required" for item in refused)
    return dataclasses.replace(changed, status=status, summary=summary, required=required)


def _finding(loosening: Loosening) -> Finding:
    if loosening.acknowledged is not None:
        severity = Severity.INFO
        message = f"{loosening.message} (acknowledged: {loosening.acknowledged})"
    else:
        severity = Severity.ERROR if loosening.blanket else Severity.WARNING
        message = loosening.message
    rule = "suppression" if loosening.setting.startswith("#") else "loosening"
    return Finding(
        message=message, path=loosening.path, line=loosening.line, rule=rule, severity=severity
    )


# --- acknowledgements -------------------------------------------------------------------
def acknowledgements(ctx: VerifyContext) -> dict[str, str]:
    """item id -> reason, from the range's commits and the trusted ``--pbe-loosen``."""
    values: list[str] = []
    for commit in ctx.history():
        if commit.sha is not None:  # the uncommitted work has no message to carry one
            values += [v for k, v in commit.trailers if k.strip().lower() == TRAILER]
    values += [str(v) for v in ctx.config.getoption("pbe_loosen", default=None) or ()]
    out: dict[str, str] = {}
    for value in values:
        item, _, reason = value.partition(":")
        if item.strip():
            out.setdefault(item.strip(), reason.strip() or "(no reason given)")
    return out


# --- pytest-pbe's own settings ------------------------------------------------------------
def ini_loosenings(ctx: VerifyContext) -> list[Loosening]:
    """Each setting the configuration file made looser than the merge-base's."""
    root = ctx.repository().root.resolve()
    inipath = ctx.config.inipath
    current: Mapping[str, object] = {}
    where = "the configuration"
    if inipath is not None:
        inipath = Path(inipath).resolve()
        if not inipath.is_relative_to(root):
            return []  # chosen outside the repository: not part of the change
        current = _load(inipath)
        where = inipath.relative_to(root).as_posix()
    start = inipath.parent if inipath is not None else ctx.rootdir.resolve()
    if not start.is_relative_to(root):
        return []
    base_path, before = _base_config(ctx, root, start.relative_to(root).as_posix())
    trusted = _trusted_names(ctx.config.invocation_params.args)
    out: list[Loosening] = []
    for spec in OPTIONS:
        if spec.looser is None or spec.name in trusted:
            continue
        old, new = _effective(spec, before), _effective(spec, current)
        looser = weakened(spec, old, new)
        if spec.looser == "thresholds":  # each path against the minimum it had
            default = _SPECS["new_code_coverage"]
            lowered = _thresholds_lowered(
                _ids(old), _effective(default, before), _ids(new), _effective(default, current)
            )
            looser = spec.weakens if lowered else ()
        for item in looser:
            shown = where if base_path in (None, where) else f"{base_path} -> {where}"
            message = (
                f"{_label(spec)} in {shown} loosened: {_show(old)} at the merge-base, "
                f"{_show(new)} now"
            )
            out.append(Loosening(item, spec.ini, message, path=where))
    return out


def _label(spec: OptionSpec) -> str:
    return "pbe_test_files / python_files" if spec.name == "test_files" else spec.ini


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]" if value else "[] (none)"
    return repr(value)


def _trusted_names(invocation: Sequence[str]) -> set[str]:
    """Options the trusted command line sets itself: their file values do not count.

    The file's own ``addopts`` are not in pytest's invocation arguments; the environment's
    ``PYTEST_ADDOPTS`` is the machine's, so it counts as the command line.
    """
    args = [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *map(str, invocation)]
    names: set[str] = set()
    for n, arg in enumerate(args):
        for spec in OPTIONS:
            if arg == spec.cli or arg.startswith(spec.cli + "="):
                names.add(spec.name)
        override = arg.removeprefix("--override-ini=").removeprefix("-o")
        if arg in ("-o", "--override-ini") and n + 1 < len(args):
            override = args[n + 1]
        if override.startswith("pbe_") and "=" in override:
            names.add(override.split("=", 1)[0].removeprefix("pbe_"))
    return names


def _config_names() -> tuple[str, ...]:
    from _pytest.config import findpaths

    loaders = getattr(findpaths, "CONFIG_LOADERS_BY_NAME", None)
    if loaders:
        return tuple(loaders)
    return ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def _load(path: Path) -> dict[str, object]:
    """A configuration file's pytest values, parsed by pytest's own loader."""
    from _pytest.config import findpaths

    try:
        loaded = findpaths.load_config_dict_from_file(path) or {}
    except Exception as exc:  # pytest's UsageError, or a decoder's own error
        raise PbeError(f"{path.name}: cannot be read as pytest configuration: {exc}") from exc
    return {key: getattr(value, "value", value) for key, value in loaded.items()}


def _base_config(
    ctx: VerifyContext, root: Path, start: str
) -> tuple[str | None, dict[str, object]]:
    """The configuration pytest would have found at the merge-base, from ``start`` up."""
    repo, rev = ctx.repository(), ctx.base().merge_base
    dirs = [start]
    while dirs[-1] not in ("", "."):
        dirs.append(posixpath.dirname(dirs[-1]))
    candidates = [
        f"{d}/{name}" if d not in ("", ".") else name for d in dirs for name in _config_names()
    ]
    present = set(_regular_files(repo.run("ls-tree", "-z", rev, "--", *candidates)))
    with tempfile.TemporaryDirectory(prefix="pbe-base-config-") as tmp:
        for rel in candidates:
            if rel not in present:
                continue
            copy = Path(tmp) / rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(repo.run("cat-file", "blob", f"{rev}:{rel}"))
            values = _load(copy)
            if values or copy.name in ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"):
                return rel, values
    return None, {}


def _regular_files(listing: bytes) -> Iterator[str]:
    for entry in listing.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        if meta.split(b" ")[:1] in ([b"100644"], [b"100755"]):
            yield os.fsdecode(path)


def _effective(spec: OptionSpec, values: Mapping[str, object]) -> object:
    """The option's value from the file: a ``--pbe-*`` flag in its addopts wins."""
    raw = _from_addopts(spec, values.get("addopts"))
    if raw is None:
        raw = values.get(spec.ini)
    value = _normal(spec, raw)
    if spec.name == "test_files" and not value:  # pytest's python_files decide then
        files = values.get("python_files")
        names = files.split() if isinstance(files, str) else _strings(files)
        return tuple(names) or DEFAULT_PYTHON_FILES
    return value


def _from_addopts(spec: OptionSpec, addopts: object) -> object:
    if addopts is None:
        return None
    args = shlex.split(addopts) if isinstance(addopts, str) else _strings(addopts)
    found: object = None
    for n, arg in enumerate(args):
        if arg.startswith(spec.cli + "="):
            found = arg.split("=", 1)[1]
        elif arg == spec.cli:
            found = True if spec.kind == "bool" else (args[n + 1] if n + 1 < len(args) else "")
    return found


def _normal(spec: OptionSpec, raw: object) -> object:
    if raw is None:
        raw = spec.default
    if spec.kind == "bool":
        return (
            raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "yes", "on")
        )
    if spec.kind == "linelist":
        items = raw.splitlines() if isinstance(raw, str) else _strings(raw)
        return tuple(p.strip() for item in items for p in item.split(",") if p.strip())
    return str(raw).strip()


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


_SPECS = {spec.name: spec for spec in OPTIONS}


def _thresholds_lowered(
    old_lines: tuple[str, ...], old_default: object, new_lines: tuple[str, ...], new_default: object
) -> bool:
    """Does any path need less coverage now (its own line, else the new-code minimum)?"""
    spec = _SPECS["new_code_coverage"]
    old, new = _per_path(old_lines), _per_path(new_lines)
    before, after = _number(old_default, spec), _number(new_default, spec)
    return any(new.get(glob, after) < old.get(glob, before) for glob in {*old, *new})


def _per_path(lines: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in lines:
        glob, _, percent = line.rpartition("=")
        try:
            out[glob.strip()] = float(percent.strip().rstrip("%"))
        except ValueError:
            out[glob.strip()] = -math.inf  # unreadable: the loosest it could stand for
    return out


# --- the rules, as options.py names them --------------------------------------------------
def weakened(spec: OptionSpec, old: object, new: object) -> tuple[str, ...]:
    """The items a change of ``spec`` from ``old`` to ``new`` weakens (none: not looser)."""
    rule = spec.looser
    if rule in ("checks_items", "skip_items", "required_items"):
        return _items_weakened(rule, _ids(old), _ids(new))
    looser = False
    if rule == "allowlist":
        looser = bool(new) and (not old or bool(set(_ids(old)) - set(_ids(new))))
    elif rule == "denylist":
        looser = bool(set(_ids(new)) - set(_ids(old)))
    elif rule == "at_least":
        looser = _number(new, spec) < _number(old, spec)
    elif rule == "at_most":
        looser = _number(new, spec) > _number(old, spec)
    elif rule == "ranked":
        looser = _rank(new, spec) < _rank(old, spec)
    elif rule == "stays_on":
        looser = bool(old) and not new
    return spec.weakens if looser else ()


def _ids(value: object) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _items_weakened(rule: str, old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    every = set(BUILTIN_IDS) | set(old) | set(new)
    if rule == "checks_items":
        gone = (set(old) or every) - (set(new) or every)
    elif rule == "skip_items":
        gone = set(new) - set(old)
    else:
        by_default = every - NOT_REQUIRED_BY_DEFAULT
        gone = (set(old) or by_default) - (set(new) or by_default)
    order = [*BUILTIN_IDS, *sorted(every - set(BUILTIN_IDS))]
    return tuple(i for i in order if i in gone)


def _number(value: object, spec: OptionSpec) -> float:
    text = str(value).strip().rstrip("%").lower()
    if text in ("", "off", "none"):
        return math.inf
    try:
        number = float(text)
    except ValueError:
        # Unreadable: the loosest value it could stand for (a pass is never presumed).
        return math.inf if spec.looser == "at_most" else -math.inf
    return -math.inf if math.isnan(number) else number


def _rank(value: object, spec: OptionSpec) -> int:
    text = str(value).strip().lower()
    return spec.strictness.index(text) if text in spec.strictness else -1


# --- suppressions on new lines ------------------------------------------------------------
#: (pattern, item, shown name). A ``codes`` group names rule codes: such a suppression
#: is listed; one without (a blanket) needs acknowledging.
SUPPRESSIONS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"#\s*pragma[:\s]?\s*no\s*(?:cover|branch)", re.IGNORECASE),
        "coverage",
        "# pragma: no cover",
    ),
    (re.compile(r"#\s*type:\s*ignore(?:\[(?P<codes>[^\]]*)\])?"), "types", "# type: ignore"),
    (re.compile(r"#\s*mypy:\s*ignore-errors"), "types", "# mypy: ignore-errors"),
    (
        re.compile(
            r"#\s*(?:ruff|flake8):\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
            re.IGNORECASE,
        ),
        "lint",
        "# ruff: noqa",
    ),
    (
        re.compile(
            r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
        ),
        "lint",
        "# noqa",
    ),
    (
        re.compile(r"#\s*nosec\b(?::?[ \t]*(?P<codes>B[0-9]+(?:[, \t]+B[0-9]+)*))?", re.IGNORECASE),
        "security",
        "# nosec",
    ),
)


def suppressions(ctx: VerifyContext) -> list[Loosening]:
    root = ctx.repository().root
    out: list[Loosening] = []
    for change in ctx.changes().files:
        if not change.path.endswith(".py") or not change.lines:
            continue
        try:
            data = (root / change.path).read_bytes()
        except OSError:
            continue  # deleted or unreadable: the items that read it say so
        for line, comment in _comments(data):
            if line in change.lines:
                out += _suppressions_in(comment, change.path, line)
    return out


def _suppressions_in(comment: str, path: str, line: int) -> Iterator[Loosening]:
    for pattern, item, name in SUPPRESSIONS:
        for match in pattern.finditer(comment):
            codes = (match.groupdict().get("codes") or "").strip()
            shown = f"{name}[{codes}]" if codes and item == "types" else f"{name} {codes}".strip()
            what = "suppression" if codes else "blanket suppression (no rule code)"
            message = f"{what} '{shown}' added on new line {path}:{line}"
            yield Loosening(item, name, message, path=path, line=line, blanket=not codes)


def _comments(data: bytes) -> Iterable[tuple[int, str]]:
    """(line, text) of each comment; line by line where Python cannot tokenize it."""
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(data).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        text = data.decode("utf-8", "replace").splitlines()
        return [(n, line[line.index("#") :]) for n, line in enumerate(text, 1) if "#" in line]
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]


# --- a source module renamed into a test file ---------------------------------------------
def renamed_sources(ctx: VerifyContext) -> list[Loosening]:
    repo, classifier = ctx.repository(), ctx.classifier()
    head = None if ctx.settings.include_uncommitted else repo.head_sha()
    out: list[Loosening] = []
    for old, new in renamed_files(repo, ctx.base().merge_base, head):
        if not ctx.in_scope(new) or classifier.classify(new) != TEST:
            continue
        if classifier.classify(old) != SOURCE:
            continue
        message = f"source module {old} renamed to {new}: judged as a test from now on"
        out += [Loosening(item, "rename", message, path=new) for item in ("coverage", "tdd")]
    return out


# --- test code that source code imports ---------------------------------------------------
def imported_test_code(ctx: VerifyContext) -> list[Loosening]:
    """Modules judged as test code (in a tests/ directory, say) that a changed source file
    imports: production code kept there would be judged by nothing."""
    changes = ctx.changes().files
    support = {
        name: c.path
        for c in changes
        if c.kind == TEST and c.path.endswith(".py")
        for name in _dotted_names(c.path)
    }
    if not support:
        return []
    root = ctx.repository().root
    # A file that does not spell a module's last name cannot import it: most are not parsed.
    stems = {name.rsplit(".", 1)[-1].encode() for name in support}
    out: list[Loosening] = []
    named: set[tuple[str, str]] = set()
    for change in changes:
        if change.kind != SOURCE or not change.path.endswith(".py"):
            continue
        try:
            data = (root / change.path).read_bytes()
            if not any(stem in data for stem in stems):
                continue
            tree = ast.parse(data)
        except (OSError, SyntaxError, ValueError):
            continue  # the items that read it say so
        for module in _imported(tree, change.path):
            target = support.get(module)
            if target is not None and (change.path, target) not in named:
                named.add((change.path, target))
                message = f"{change.path} imports {target}, which is judged as test code"
                out += [
                    Loosening(item, "imported test code", message, path=target)
                    for item in ("coverage", "tdd")
                ]
    return out


def _dotted_names(path: str) -> list[str]:
    """``src/app/tests/logic.py`` -> ``src.app.tests.logic``, ``app.tests.logic``, ..."""
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return [".".join(parts[i:]) for i in range(len(parts) - 1) if parts[i:]]


def _imported(tree: ast.Module, path: str) -> Iterator[str]:
    """Every module an import statement of ``path`` names, relative ones resolved by path."""
    package = path.split("/")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)
