"""The tool runs of one session, shared by the types, lint, security and errors items.

Each item's ``start`` calls ``ToolRuns.of(ctx).ensure(name)``: the first call computes the
new code and starts the tool as a background subprocess; later calls (another item that
needs the same run) find it started. ``collect`` waits for it after the test loop. The
object lives in ``ctx.stash[TOOL_RUNS]``, on the controller only.

Finding the tools: mypy and bandit run as ``sys.executable -m mypy`` / ``-m bandit`` (the
interpreter running pytest, so the project's own installed versions), ruff as the binary
its package ships (``ruff.find_ruff_bin()``). The environment variables ``PBE_MYPY``,
``PBE_RUFF`` and ``PBE_BANDIT`` name an executable to run instead (a tool installed
elsewhere, or a fake in tests); it is given the same arguments.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_pbe.errors import ToolError
from pytest_pbe.tools.mypyconfig import find_config, read_toml
from pytest_pbe.tools.newcode import NewCode
from pytest_pbe.tools.parse import Issue, parse_bandit, parse_mypy, parse_ruff
from pytest_pbe.tools.process import BackgroundRun, Completed

if TYPE_CHECKING:
    from pytest_pbe.context import VerifyContext

# Imported here, on the main thread: the tools are started on threads of their own, which
# must import nothing new (see ``measure.threads.untraced``).
try:
    from ruff import find_ruff_bin as _find_ruff_bin  # type: ignore[import-untyped, unused-ignore]
except ImportError:
    _find_ruff_bin = None

#: The error-handling rules the ``errors`` item runs ruff with, whatever the project selects.
ERROR_RULES: tuple[str, ...] = (
    "E722",  # bare except
    "BLE001",  # blind except Exception that swallows
    "S110",  # try / except / pass
    "S112",  # try / except / continue
    "B904",  # raise without ``from`` inside except
    "B012",  # return / break / continue in finally swallows the exception
    "TRY002",  # raise vanilla Exception
    "TRY004",  # isinstance check that raises something other than TypeError
    "TRY201",  # ``raise e`` instead of bare ``raise``
    "TRY203",  # except that only re-raises
    "TRY400",  # logging.error in except loses the traceback: use logging.exception
)

#: The tool each run needs: the environment variable that overrides it, how to install it.
_TOOLS = {
    "mypy": ("PBE_MYPY", "pip install mypy"),
    "ruff": ("PBE_RUFF", "pip install ruff"),
    "bandit": ("PBE_BANDIT", "pip install bandit"),
}


def tool_command(tool: str) -> list[str]:
    """The argument vector that starts ``tool`` (see the module docstring)."""
    variable, install = _TOOLS[tool]
    override = os.environ.get(variable, "").strip()
    if override:
        return [override]
    if tool == "ruff":
        if _find_ruff_bin is None:
            raise ToolError(
                f"ruff is not installed for {sys.executable}: {install} (or set {variable})"
            )
        try:
            return [os.fsdecode(_find_ruff_bin())]
        except FileNotFoundError as exc:
            raise ToolError(
                f"the ruff package is installed but its binary is missing ({exc}); "
                f"reinstall it: pip install --force-reinstall ruff (or set {variable})"
            ) from None
    if importlib.util.find_spec(tool) is None:
        raise ToolError(
            f"{tool} is not installed for {sys.executable}: {install} (or set {variable})"
        )
    return [sys.executable, "-m", tool]


@dataclass(frozen=True)
class RunSpec:
    """One run: which tool, with which arguments, parsed how; or why there is nothing to run."""

    name: str
    tool: str
    args: tuple[str, ...]
    parse: Callable[[Completed], list[Issue]]
    skip: str | None = None  # a reason: nothing for this tool to judge
    files: int = 0  # how many changed files it judges


class ToolRuns:
    """Started tool runs of the session, by name (mypy, ruff, ruff-errors, bandit)."""

    def __init__(self, new_code: NewCode, timeout: float, project_files: Callable[[], list[str]]):
        self.new_code = new_code
        self.timeout = timeout
        self._project_files = project_files
        self._specs: dict[str, RunSpec | ToolError] = {}
        self._runs: dict[str, BackgroundRun] = {}
        self._results: dict[str, list[Issue] | ToolError] = {}

    @classmethod
    def of(cls, ctx: VerifyContext) -> ToolRuns:
        """The session's runs (created on first use; git errors propagate: fail closed)."""
        with _STARTING:  # the tool items start on threads of their own, at once
            return cls._of(ctx)

    @classmethod
    def _of(cls, ctx: VerifyContext) -> ToolRuns:
        runs = ctx.stash.get(TOOL_RUNS, None)
        if runs is None:
            new_code = NewCode.from_context(ctx)

            def project_files() -> list[str]:
                cwd = new_code.cwd
                return [
                    p for p in ctx.working_files()
                    if p.endswith((".py", ".pyi"))
                    and cwd in (new_code.root / p).parents and (new_code.root / p).is_file()
                ]  # fmt: skip

            runs = cls(new_code, ctx.settings.tool_timeout, project_files)
            ctx.stash[TOOL_RUNS] = runs
        return runs

    # --- what to run ----------------------------------------------------------------------
    def spec(self, name: str) -> RunSpec:
        if name not in self._specs:
            try:
                self._specs[name] = self._build(name)
            except ToolError as exc:
                self._specs[name] = exc
        spec = self._specs[name]
        if isinstance(spec, ToolError):
            raise spec
        return spec

    def _targets(self, suffixes: tuple[str, ...]) -> list[str]:
        """The files ruff and bandit are given: the changed ones, or all under ``all``."""
        nc = self.new_code
        if nc.mode == "all":
            paths = [p for p in self._project_files() if p.endswith(suffixes)]
        else:
            paths = nc.python_files(suffixes)
        return [nc.for_tool(p) for p in paths]

    def _build(self, name: str) -> RunSpec:
        nc = self.new_code
        cwd, root = nc.cwd, nc.root
        if name == "mypy":
            config = find_config(cwd, root)
            judged = [p for p in nc.python_files() if config.covers(nc.absolute(p), cwd)]
            if not nc.files:
                return RunSpec(name, "mypy", (), _never, skip="no new Python code")
            if not judged:
                where = config.path.name if config.path else "its configuration"
                files = ", ".join(config.files or ())
                skip = f"no new Python code that mypy checks (files = {files} in {where})"
                return RunSpec(name, "mypy", (), _never, skip=skip)
            # --error-summary: in json mode the success summary is an empty line, the sign
            # that mypy itself ran (a config's error_summary = False would remove it).
            args: list[str] = ["--output", "json", "--error-summary"]
            if config.path is not None:
                args += ["--config-file", os.path.relpath(config.path, cwd)]
            if config.files is None:  # "--": a file named "-c#.py" is a path, not an option
                args += ["--", *(nc.for_tool(p) for p in judged)]
            parser = _parser(parse_mypy, cwd, root)
            return RunSpec(name, "mypy", tuple(args), parser, files=len(judged))
        if name in ("ruff", "ruff-errors"):
            if not nc.files:
                return RunSpec(name, "ruff", (), _never, skip="no new Python code")
            args = ["check", "--output-format", "json", "--no-fix", "--force-exclude"]
            if name == "ruff-errors":
                args += ["--select", ",".join(ERROR_RULES)]
            args += ["--", *self._targets((".py", ".pyi"))]
            parser = _parser(parse_ruff, cwd, root)
            return RunSpec(name, "ruff", tuple(args), parser, files=len(nc.files))
        if name == "bandit":
            if not nc.python_files((".py",)):
                return RunSpec(name, "bandit", (), _never, skip="no new Python code")
            args = ["-f", "json", "-q", *_bandit_config(cwd)]
            args += ["--", *self._targets((".py",))]
            parser = _parser(parse_bandit, cwd, root)
            count = len(nc.python_files((".py",)))
            return RunSpec(name, "bandit", tuple(args), parser, files=count)
        raise ValueError(f"unknown tool run {name!r}")  # pragma: no cover - programming error

    # --- running --------------------------------------------------------------------------
    def ensure(self, name: str) -> None:
        """Start the run unless it is started, skipped or known to be impossible."""
        with _STARTING:
            self._ensure(name)

    def _ensure(self, name: str) -> None:
        if name in self._runs or name in self._results:
            return
        try:
            spec = self.spec(name)
        except ToolError as exc:
            self._results[name] = exc
            return
        if spec.skip is not None:
            return
        try:
            argv = [*tool_command(spec.tool), *spec.args]
        except ToolError as exc:
            self._results[name] = exc
            return
        _, install = _TOOLS[spec.tool]
        self._runs[name] = BackgroundRun(
            spec.tool,
            argv,
            cwd=self.new_code.cwd,
            timeout=self.timeout,
            hint=f"install it ({install}) or fix {_TOOLS[spec.tool][0]}",
        )

    def skip_reason(self, name: str) -> str | None:
        return self.spec(name).skip

    def collect(self, name: str) -> list[Issue]:
        """The run's findings (every one, before the new-code filter); ToolError if none."""
        self.ensure(name)
        if name not in self._results:
            spec = self.spec(name)
            try:
                self._results[name] = spec.parse(self._runs[name].collect())
            except ToolError as exc:
                self._results[name] = exc
        result = self._results[name]
        if isinstance(result, ToolError):
            raise result
        return result

    def seconds(self, name: str) -> float | None:
        run = self._runs.get(name)
        return None if run is None else run.seconds

    def stop(self) -> None:
        """Kill every run still going (the session ended early or an item gave up)."""
        for run in self._runs.values():
            run.kill()


TOOL_RUNS = pytest.StashKey[ToolRuns]()
#: Held while the session's runs are created or started (items start on several threads).
_STARTING = threading.RLock()


def _never(run: Completed) -> list[Issue]:  # pragma: no cover - skipped runs never run
    raise ToolError(f"{run.tool} ran although it had nothing to check")


def _parser(
    parse: Callable[..., list[Issue]], cwd: Path, root: Path
) -> Callable[[Completed], list[Issue]]:
    return lambda run: parse(run, cwd=cwd, root=root)


def _bandit_config(cwd: Path) -> list[str]:
    """bandit reads ``[tool.bandit]`` only when told to (``-c pyproject.toml``)."""
    args: list[str] = []
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = read_toml(pyproject)
        except (OSError, ValueError) as exc:  # TOMLDecodeError is a ValueError
            raise ToolError(
                f"cannot read {pyproject} for bandit's [tool.bandit] settings: {exc}; fix the file"
            ) from exc
        tool = data.get("tool")
        if isinstance(tool, dict) and "bandit" in tool:
            args += ["-c", "pyproject.toml"]
    if (cwd / ".bandit").is_file():
        args += ["--ini", ".bandit"]
    return args
