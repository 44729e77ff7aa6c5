"""Trust, end to end: the change cannot move the base, hostile CI input is a clear error, and
git runs no program the repository's configuration names (filters of any name, included
config, submodules' configs, the deepening fetch's transport).

Each program a repository could name is a marker program: if anything runs it, it leaves a
file. Every test runs a real ``pytest --pbe-verify`` session in a real repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Report = dict[str, Any] | None
CheckOf = Callable[[Report], Callable[[str], dict[str, Any]]]
FakeTool = Callable[[str, str], Path]
Marker = Callable[..., Path]

TRIPLE = "\n\ndef triple(a: int) -> int:\n    return a * 3\n"
TRIPLE_TEST = (
    "\n\ndef test_triple():\n    from app.calc import triple\n\n    assert triple(2) == 6\n"
)
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
def marker(fake_tool: FakeTool, marks: Path) -> Marker:
    """``marker(name)``: a program that leaves ``marks/name`` if run.

    As a clean or smudge filter it passes stdin on; as anything else (``passes=False``: a
    transport, a long-running filter) it reads nothing and fails, so git never waits on it.
    """

    def make(name: str, passes: bool = True) -> Path:
        body = "sys.stdout.write(sys.stdin.read())" if passes else "sys.exit(1)"
        return fake_tool(
            f"marker-{name}", f"open(os.path.join({str(marks)!r}, {name!r}), 'w').close()\n{body}"
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


# --- (6) git runs no program named by the repository's configuration -------------------


# BENCHMARK_RUNS_GIT: pytest-benchmark runs ``git describe --dirty`` in every session (the
# replayed ones too) with the repository's config: the project's own test run, not the
# plugin's git. Plugins are not autoloaded in these sessions so that it does not.


def _dirty_python_file(project: Any) -> None:
    """Unstaged work in a .py file: diffing the work tree runs its clean filter, if any."""
    project.append("src/app/calc.py", "\n\ndef unstaged() -> int:\n    return 2\n")


def _filter_config(path: Path, name: str, marker: Marker) -> None:
    programs = {
        "clean": marker("clean"),
        "smudge": marker("smudge"),
        "process": marker("process", False),
    }
    for var, program in programs.items():
        subprocess.run(
            ["git", "config", "-f", str(path), f"filter.{name}.{var}", str(program)], check=True
        )
    subprocess.run(
        ["git", "config", "-f", str(path), f"filter.{name}.required", "true"], check=True
    )


# How the repository's config defines the filter, and the ``includeIf`` condition (if any).
FILTER_SOURCES = {
    "name-with-equals": ("a=b", None),
    "include.path": ("inc", "include.path"),
    "includeIf-onbranch": ("branchy", "includeIf.onbranch:feature.path"),
}


@pytest.mark.parametrize("how", list(FILTER_SOURCES))
def test_a_filter_of_any_name_or_from_an_include_never_runs(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    name, include = FILTER_SOURCES[how]
    project.write(".gitattributes", f"*.py filter={name}\n")
    project.commit("chore: attributes")
    _dirty_python_file(project)
    git_config = project.path / ".git" / "config"
    if include is None:
        _filter_config(git_config, name, marker)
    else:
        included = tmp_path_factory.mktemp("included") / "filters.gitconfig"
        _filter_config(included, name, marker)
        project.git("config", include, str(included))
    for leftover in marks.iterdir():  # the test's own git calls obey the config too
        leftover.unlink()
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # see BENCHMARK_RUNS_GIT
    result, report = project.run("-p", "pytest_pbe.plugin", checks="tests,coverage,tdd")
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    assert report["head"]["dirty"] is True
    coverage = check_of(report)("coverage")
    # The diff was still read: double() and unstaged(), two lines each, count as new.
    assert coverage["metrics"]["new_lines"] == 4, coverage
    assert coverage["metrics"]["new_lines_covered"] == 3, coverage  # unstaged's body never ran


def test_a_filter_included_only_in_worktrees_never_runs_in_the_replay_checkout(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project.write(".gitattributes", "*.py filter=wt\n")
    project.commit("chore: attributes")
    # A test-first pair after it: replay checks out commits that have the attributes.
    project.append("tests/test_calc.py", TRIPLE_TEST)
    project.commit("test: triple")
    project.append("src/app/calc.py", TRIPLE)
    project.commit("feat: triple")
    included = tmp_path_factory.mktemp("included") / "worktrees.gitconfig"
    _filter_config(included, "wt", marker)
    project.git("config", "includeIf.gitdir:**/worktrees/**.path", str(included))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # see BENCHMARK_RUNS_GIT
    result, report = project.run(
        "-p", "pytest_pbe.plugin", "--pbe-tdd", "replay", checks="tests,coverage,tdd"
    )
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    tdd = check_of(report)("tdd")
    assert tdd["metrics"]["replay_verified"] >= 1, tdd


def test_a_submodules_own_config_never_runs(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    upstream = tmp_path_factory.mktemp("upstream")
    for args in (("init", "-q", "-b", "main"), ("commit", "-q", "--allow-empty", "-m", "init")):
        subprocess.run(["git", *args], cwd=upstream, check=True)
    (upstream / ".gitattributes").write_text("*.txt filter=sub\n", encoding="utf-8")
    (upstream / "data.txt").write_text("one\n", encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=upstream, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "data"], cwd=upstream, check=True)
    project.git(
        "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(upstream), "vendor"
    )
    project.commit("chore: vendor")
    sub = project.path / "vendor"
    subprocess.run(
        ["git", "config", "filter.sub.clean", str(marker("sub-clean"))], cwd=sub, check=True
    )
    subprocess.run(
        ["git", "config", "core.fsmonitor", str(marker("sub-fsmonitor", False))],
        cwd=sub,
        check=True,
    )
    # Only the submodule is dirty: ``git diff --quiet`` stops at the first change it meets.
    (sub / "data.txt").write_text("two\n", encoding="utf-8")
    for leftover in marks.iterdir():  # the test's own git calls obey the config too
        leftover.unlink()
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # see BENCHMARK_RUNS_GIT
    result, report = project.run("-p", "pytest_pbe.plugin", checks="tests,coverage,tdd")
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "passed", coverage
    assert coverage["metrics"]["new_lines"] == 2, coverage


# --- the deepening fetch of a shallow clone ---------------------------------------------


def _make_shallow(project: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project becomes a one-commit shallow clone of itself: its base is not there."""
    origin = tmp_path_factory.mktemp("origin") / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project.path), str(origin)], check=True)
    for entry in project.path.iterdir():
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "-b",
            "feature",
            f"file://{origin}",
            str(project.path),
        ],
        check=True,
    )
    assert project.git("rev-parse", "--is-shallow-repository") == "true"
    return origin


def test_the_deepening_fetch_runs_no_upload_pack_the_repository_names(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _make_shallow(project, tmp_path_factory)
    project.git("config", "remote.origin.uploadpack", str(marker("upload-pack", False)))
    result, report = project.run(checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    assert report["base"]["sha"] == project.base  # fetched with git's own upload-pack
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "passed", coverage


def test_the_deepening_fetch_never_uses_the_ext_transport(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _make_shallow(project, tmp_path_factory)
    project.git("config", "protocol.ext.allow", "always")
    project.git("config", "remote.origin.url", f"ext::{marker('ext', False)} %S")
    result, report = project.run(checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "error", coverage
    assert "git fetch" in coverage["summary"], coverage


def test_the_deepening_fetch_uses_the_users_ssh_command_not_the_repositorys(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _make_shallow(project, tmp_path_factory)
    users = tmp_path_factory.mktemp("home") / "gitconfig"
    users.write_text(f"[core]\n\tsshCommand = {marker('users-ssh', False)}\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(users))
    project.git("config", "core.sshCommand", str(marker("repository-ssh", False)))
    project.git("config", "remote.origin.url", "ssh://git@example.invalid/origin.git")
    result, report = project.run(checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert ran(marks) == ["users-ssh"]
    assert check_of(report)("coverage")["status"] == "error"


def test_the_deepening_fetch_runs_no_alternate_refs_command_the_repository_names(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    origin = _make_shallow(project, tmp_path_factory)
    alternates = project.path / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{origin / 'objects'}\n", encoding="utf-8")
    project.git("config", "core.alternateRefsCommand", str(marker("alternate-refs", False)))
    result, report = project.run(checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    assert report["base"]["sha"] == project.base
    assert check_of(report)("coverage")["status"] == "passed"


def test_a_git_proxy_the_repository_names_is_refused_with_how_to_unset_it(
    project: Any,
    check_of: CheckOf,
    marker: Marker,
    marks: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # No option of git's overrides core.gitProxy for one fetch: the fetch is not made at all.
    _make_shallow(project, tmp_path_factory)
    project.git("config", "core.gitProxy", str(marker("git-proxy", False)))
    project.git("config", "remote.origin.url", "git://example.invalid/origin.git")
    result, report = project.run(checks="tests,coverage")
    assert report is not None, result.stdout.str()
    assert ran(marks) == []
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "error", coverage
    assert "git config --unset-all core.gitProxy" in coverage["summary"], coverage
