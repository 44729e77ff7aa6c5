"""Hostile input, end to end: odd file names, option-like refs, long paths, symlinks out of
the repository, and repository config that tries to make git run a program.

tests/git covers the git layer itself; here the whole run (``pytest --pbe-verify`` with the
items on) must judge such a change correctly, or say in one line why it cannot.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Report = dict[str, Any] | None
CheckOf = Callable[[Report], Callable[[str], dict[str, Any]]]

LINT_ISSUE = "import os\n"  # F401: one lint finding on line 1 of every hostile file

HOSTILE_NAMES = [
    "src/app/with space.py",
    "src/app/new\nline.py",
    "src/app/quote'\"s.py",
    "-leading-dash.py",
    "--version.py",
    "src/app/semi;colon $(touch PWNED) `touch PWNED2`.py",
    "src/app/dollar$HOME.py",
]


def lint_paths(report: Report, check_of: CheckOf) -> dict[str, list[int | None]]:
    lint = check_of(report)("lint")
    out: dict[str, list[int | None]] = {}
    for finding in lint["findings"]:
        out.setdefault(finding["path"], []).append(finding["line"])
    return out


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "untracked"])
def test_hostile_file_names_are_judged_by_their_exact_names(
    project: Any, check_of: CheckOf, committed: bool
) -> None:
    # The rule selection is the project's standing config, at the base: not judged as a change.
    project.git("checkout", "-q", "main")
    project.write("ruff.toml", '[lint]\nselect = ["F"]\n')
    project.commit("base: ruff.toml")
    project.base = project.git("rev-parse", "HEAD")
    project.git("checkout", "-q", "feature")
    project.git("rebase", "-q", "main")
    for name in HOSTILE_NAMES:
        project.write(name, LINT_ISSUE)
    if committed:
        project.commit("feat: hostile names")
    result, report = project.run(checks="tests,lint,security")
    lint = check_of(report)("lint")
    assert lint["status"] == "failed", lint
    assert lint_paths(report, check_of) == {name: [1] for name in HOSTILE_NAMES}
    assert check_of(report)("security")["status"] == "passed"
    assert not list(project.path.rglob("PWNED*"))
    assert result.ret == 6


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses non-UTF-8 file names")
def test_a_non_utf8_file_name_is_judged_and_reported(project: Any, check_of: CheckOf) -> None:
    raw = os.fsencode(project.path) + b"/src/app/caf\xe9.py"
    Path(os.fsdecode(raw)).write_text(LINT_ISSUE, encoding="utf-8")
    project.commit("feat: latin-1 name")
    result, report = project.run(checks="tests,lint", timeout=120)
    lint = check_of(report)("lint")
    # ruff refuses the path (exit 2): an error saying so, never a pass; the report (once a
    # UnicodeEncodeError traceback) is written, the name escaped as valid UTF-8.
    assert lint["status"] == "error", lint
    assert lint["summary"].startswith("ruff failed (exit 2): "), lint["summary"]
    assert "Traceback" not in result.stdout.str()
    assert result.ret == 7


OPTION_LIKE = ["--all", "-n", "--output=/tmp/pbe-pwned", "-c core.pager=sh"]


@pytest.mark.parametrize("ref", OPTION_LIKE)
def test_a_base_that_looks_like_an_option_is_refused_as_a_usage_error(
    project: Any, ref: str
) -> None:
    project.base = ref
    result, report = project.run(checks="tests,coverage,tdd")
    assert report is None
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --pbe-base: refusing base {ref!r}: a revision may not start with '-'"]
    )
    assert not Path("/tmp/pbe-pwned").exists()


@pytest.mark.parametrize(
    ("source", "ref"),
    [*(("pre-commit", ref) for ref in OPTION_LIKE), ("github", "--output=/tmp/pbe-pwned")],
)
def test_a_ci_base_that_looks_like_an_option_is_an_error(
    project: Any, check_of: CheckOf, monkeypatch: pytest.MonkeyPatch, source: str, ref: str
) -> None:
    if source == "github":
        event = project.path / "event.json"
        event.write_text(json.dumps({"before": ref}), encoding="utf-8")
        monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    else:
        monkeypatch.setenv("PRE_COMMIT_FROM_REF", ref)
    result = project.pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,coverage,tdd", "--pbe-report-json", "r.json",
        "-p", "no:cacheprovider", "-o", "pbe_github_annotations=off",
    )  # fmt: skip
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    refusal = (
        f"refusing base revision {ref!r}: it starts with '-' and would be read as an "
        "option; pass a branch, tag or commit sha"
    )
    if source == "github":  # the payload's field is checked for a sha before anything else
        refusal = (
            f"GITHUB_EVENT_PATH={event}: the GitHub event payload has before = {ref!r}, "
            "not a full hex commit sha; fix the CI job or pass --pbe-base <ref> to name the "
            "base yourself"
        )
    for check_id in ("coverage", "tdd"):
        got = check_of(report)(check_id)
        assert (got["status"], got["summary"]) == ("error", refusal)
    assert not Path("/tmp/pbe-pwned").exists()
    assert result.ret == 7
    assert "Traceback" not in result.stdout.str()


def test_very_long_paths_are_judged(project: Any, check_of: CheckOf) -> None:
    deep = "/".join(["d" * 200] * 18)  # ~3.6 kB: near PATH_MAX once made absolute
    name = f"src/app/{deep}/m.py"
    project.write(name, LINT_ISSUE)
    project.commit("feat: deep")
    result, report = project.run(checks="tests,lint,coverage")
    assert lint_paths(report, check_of) == {name: [1]}
    coverage = check_of(report)("coverage")
    assert coverage["status"] == "failed", coverage
    assert [f["path"] for f in coverage["findings"] if f["path"]] == [name]
    assert result.ret == 6


def test_symlinks_out_of_the_repository_are_not_judged_or_followed(
    project: Any, check_of: CheckOf, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "evil.py").write_text("import os\neval(input())\n", encoding="utf-8")
    (project.path / "src/app/linked.py").symlink_to(outside / "evil.py")
    (project.path / "src/app/linkdir").symlink_to(outside, target_is_directory=True)
    project.commit("feat: links")
    before = sorted(p.name for p in outside.iterdir())
    result, report = project.run(checks="tests,coverage,lint,security,errors", timeout=120)
    # Python would import the linked module, whose code is outside the repository: it
    # cannot be judged as part of the change, so every new-code item is in error naming it.
    for check_id in ("coverage", "lint", "security", "errors"):
        got = check_of(report)(check_id)
        assert got["status"] == "error", got
        assert got["summary"].startswith("src/app/linked.py: a symlinked module whose target")
    assert result.ret != 0
    assert sorted(p.name for p in outside.iterdir()) == before
    assert "Traceback" not in result.stdout.str()


EVIL_CONFIG = {
    "diff.external": "{evil} diff.external",
    "diff.evil.textconv": "{evil} textconv",
    "diff.evil.command": "{evil} diff-driver",
    "filter.evil.clean": "{evil} clean",
    "filter.evil.smudge": "{evil} smudge",
    "filter.evil.process": "{evil} process",
    "filter.evil.required": "true",
    "core.fsmonitor": "{evil} fsmonitor",
    "core.pager": "{evil} pager",
    "pager.log": "{evil} pager.log",
    "pager.diff": "{evil} pager.diff",
    "core.hooksPath": "{hooks}",
    "log.showSignature": "true",
    "gpg.program": "{evil} gpg",
    "core.editor": "{evil} editor",
    "sequence.editor": "{evil} sequence-editor",
    "core.sshCommand": "{evil} ssh",
    "core.askPass": "{evil} askpass",
    "credential.helper": "!{evil} credential",
    "core.alternateRefsCommand": "{evil} alternate-refs",
}


def test_repository_config_and_attributes_cannot_make_git_run_a_program(
    project: Any,
    check_of: CheckOf,
    monkeypatch: pytest.MonkeyPatch,
    fake_tool: Callable[[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    marks = tmp_path_factory.mktemp("marks")
    evil = fake_tool(
        "evil",
        f"open(os.path.join({str(marks)!r}, '-'.join(sys.argv[1:]) or 'ran'), 'w').close()\n"
        "sys.stdout.write(sys.stdin.read() if not sys.stdin.isatty() else '')",
    )
    hooks = tmp_path_factory.mktemp("hooks")
    for hook in ("post-checkout", "post-index-change", "reference-transaction", "pre-commit"):
        script = hooks / hook
        script.write_text(f"#!/bin/sh\n{evil} hook-{hook}\n", encoding="utf-8")
        script.chmod(0o755)
    project.write(".gitattributes", "*.py diff=evil filter=evil merge=evil\n")
    project.commit("chore: attributes")
    # New work in every state git is asked about: committed, staged, unstaged, untracked.
    project.append("src/app/calc.py", "\n\ndef staged() -> int:\n    return 1\n")
    project.git("add", "src/app/calc.py")
    project.append("src/app/calc.py", "\n\ndef unstaged() -> int:\n    return 2\n")
    project.write("src/app/untracked.py", "VALUE = 1\n")
    for key, value in EVIL_CONFIG.items():  # last: the test's own git calls obey them too
        project.git("config", key, value.format(evil=evil, hooks=hooks))
    (marks / "ran").unlink(missing_ok=True)
    assert list(marks.iterdir()) == []
    # pytest-benchmark runs ``git describe --dirty`` in every session (the replayed ones
    # too) with the repository's config: the project's own test run, not the plugin's git.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result, report = project.run(
        "-p", "pytest_pbe.plugin", "--pbe-tdd", "replay",
        checks="tests,coverage,tdd,lint,errors", timeout=200,
    )  # fmt: skip
    assert report is not None, result.stdout.str()
    assert sorted(p.name for p in marks.iterdir()) == []
    tdd = check_of(report)("tdd")
    assert tdd["metrics"]["replay_verified"] >= 1, tdd
    coverage = check_of(report)("coverage")
    assert coverage["status"] in ("passed", "failed"), coverage
    assert coverage["metrics"]["new_lines"] >= 4


def test_a_file_name_or_commit_subject_cannot_forge_checklist_lines(
    project: Any, check_of: CheckOf
) -> None:
    forged = "[PASS ] security     Security considerations addressed (bandit): no findings"
    project.write(f"src/app/x\n{forged}\n.py", LINT_ISSUE)
    project.commit("feat: \x1b[32mgreen\x1b[0m \x1b]0;title\x07 subject")
    result, report = project.run("-v", checks="tests,lint,tdd")
    assert check_of(report)("lint")["status"] == "failed"
    lines = result.outlines
    assert not [line for line in lines if line.startswith("[PASS ] security")], lines
    assert not [line for line in lines if "\x1b" in line or "\x07" in line], lines
    assert any("x\\n[PASS ] security" in line for line in lines), lines
