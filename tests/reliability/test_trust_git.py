"""Trust, end to end: the change cannot move the base, hostile CI input is a clear error, and
git runs no program the repository's configuration names (filters of any name, included
config, submodules' configs, the deepening fetch's transport).

Each program a repository could name is a marker program: if anything runs it, it leaves a
file. Every test runs a real ``pytest --pbe-verify`` session in a real repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Report = dict[str, Any] | None
CheckOf = Callable[[Report], Callable[[str], dict[str, Any]]]
FakeTool = Callable[[str, str], Path]

UNTESTED = "\n\ndef untested(a: int) -> int:\n    return a - 1\n"


def session(project: Any, *args: str, checks: str, timeout: float = 120) -> tuple[Any, Report]:
    """``pytest --pbe-verify`` with no ``--pbe-base``: the base is found as in CI."""
    report = project.path / "r.json"
    report.unlink(missing_ok=True)
    result = project.pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", checks, "--pbe-report-json", "r.json",
        "-p", "no:cacheprovider", "-o", "pbe_github_annotations=off", *args,
        timeout=timeout,
    )  # fmt: skip
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return result, data


@pytest.fixture
def marks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("marks")


@pytest.fixture
def marker(fake_tool: FakeTool, marks: Path) -> Callable[[str], Path]:
    """``marker(name)``: a program that leaves ``marks/name`` if run, and passes stdin on."""

    def make(name: str) -> Path:
        return fake_tool(
            f"marker-{name}",
            f"open(os.path.join({str(marks)!r}, {name!r}), 'w').close()\n"
            "sys.stdout.write(sys.stdin.read() if not sys.stdin.isatty() else '')\n"
            "sys.exit(int(os.environ.get('MARKER_EXIT', '0')))",
        )

    return make


def ran(marks: Path) -> list[str]:
    return sorted(p.name for p in marks.iterdir())


# --- (3) the base cannot be moved by the change -----------------------------------------


@pytest.mark.parametrize(
    "ini_line", ["pbe_base = HEAD", "addopts = --pbe-base=HEAD"], ids=["pbe_base", "addopts"]
)
def test_a_base_committed_in_the_ini_does_not_outrank_the_pull_request_base(
    project: Any, check_of: CheckOf, monkeypatch: pytest.MonkeyPatch, ini_line: str
) -> None:
    project.append("pytest.ini", f"{ini_line}\n")
    project.append("src/app/calc.py", UNTESTED)
    project.commit("feat: untested, and the base moved to HEAD")
    event = project.path.parent / "event.json"
    payload = {"pull_request": {"base": {"sha": project.base}, "head": {"sha": "f" * 40}}}
    event.write_text(json.dumps(payload), encoding="utf-8")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    result, report = session(project, checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert report["base"]["sha"] == project.base
    assert report["base"]["source"] == "github:pull_request"
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "failed", coverage
    assert result.ret != 0


def test_the_ini_base_still_counts_outside_ci(project: Any, check_of: CheckOf) -> None:
    project.append("pytest.ini", f"pbe_base = {project.base}\n")
    project.commit("chore: name the base")
    result, report = session(project, checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert (report["base"]["sha"], report["base"]["source"]) == (project.base, "pbe_base")


# --- (7) hostile CI input is a clear error ----------------------------------------------


def _fifo(where: Path) -> str:
    path = where / "event.fifo"
    os.mkfifo(path)
    return str(path)


def _huge(where: Path) -> str:
    path = where / "huge.json"
    with path.open("wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)  # sparse: the size alone must refuse it
    return str(path)


def _text(text: str) -> Callable[[Path], str]:
    def make(where: Path) -> str:
        path = where / "event.json"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return make


PAYLOADS: dict[str, tuple[Callable[[Path], str], str]] = {
    "fifo": (_fifo, "is not a regular file"),
    "dev-zero": (lambda _: "/dev/zero", "is not a regular file"),
    "huge": (_huge, "is larger than 16 MiB"),
    "malformed": (_text('{"pull_request": '), "is not valid JSON"),
    "array": (_text("[]"), "is a JSON list, not an object"),
    "int-sha": (
        _text('{"pull_request": {"base": {"sha": 42}}}'),
        "has pull_request.base.sha a JSON int, not a commit sha",
    ),
    "non-hex-sha": (
        _text('{"pull_request": {"base": {"sha": "main"}}}'),
        "has pull_request.base.sha = 'main', not a full hex commit sha",
    ),
    "no-sha": (
        _text('{"pull_request": {}}'),
        "has pull_request.base.sha missing, not a commit sha",
    ),
}


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_a_hostile_event_payload_is_a_one_line_error_naming_the_variable(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
) -> None:
    make, problem = PAYLOADS[kind]
    path = make(tmp_path_factory.mktemp("event"))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", path)
    result, report = session(project, checks="tests,coverage,tdd", timeout=60)
    assert report is not None, result.stdout.str()
    for check_id in ("coverage", "tdd"):
        got = check_of(report)(check_id)
        assert got["status"] == "error", got
        assert got["summary"].startswith(f"GITHUB_EVENT_PATH={path}: the GitHub event payload ")
        assert problem in got["summary"], got["summary"]
        assert "\n" not in got["summary"]
    assert result.ret != 0
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
