"""Nothing in the change hides new code (issue 16, point 1).

Each case adds, through one vector, a module whose function no test runs, that has a type
error, calls ``eval`` and has a bare ``except``: the run must fail, with the items that
judge new code failing or in ``error`` naming the file, never a false pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Report = dict[str, Any] | None
CheckOf = Callable[[Report], Callable[[str], dict[str, Any]]]

HIDDEN = (
    "def hidden(text: str) -> int:\n"
    "    try:\n"
    "        return eval(text)\n"
    "    except:\n"
    '        return "oops"\n'
)
NEW_CODE_ITEMS = "tests,coverage,types,security,errors"
HIDDEN_PATH = "src/app/hidden.py"


def paths_of(check: dict[str, Any]) -> set[str]:
    return {f["path"] for f in check["findings"]}


def assert_hidden_code_judged(
    result: pytest.RunResult, report: Report, check_of: CheckOf, path: str = HIDDEN_PATH
) -> None:
    """Every new-code item failed with a finding in ``path``: the code was seen."""
    assert result.ret != 0, result.stdout.str()
    for check_id in ("coverage", "types", "security", "errors"):
        got = check_of(report)(check_id)
        assert got["status"] == "failed", (check_id, got)
        assert path in paths_of(got), (check_id, got)


def assert_error_naming(
    result: pytest.RunResult, report: Report, check_of: CheckOf, name: str, what: str
) -> None:
    assert result.ret != 0, result.stdout.str()
    for check_id in ("coverage", "types", "security", "errors"):
        got = check_of(report)(check_id)
        assert got["status"] == "error", (check_id, got)
        assert name in got["summary"], (check_id, got["summary"])
        assert what in got["summary"], (check_id, got["summary"])


# --- diff attributes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    ["*.py -diff", "*.py binary", "*.py diff=hide", "*.py -text"],
)
def test_committed_diff_attributes_do_not_hide_new_lines(
    project: Any, check_of: CheckOf, attributes: str
) -> None:
    # A textconv that shows nothing: the repository's config names it, we never run it.
    project.git("config", "diff.hide.textconv", "true")
    project.write(".gitattributes", attributes + "\n")
    project.write(HIDDEN_PATH, HIDDEN)
    project.commit("feat: hidden")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert_hidden_code_judged(result, report, check_of)


def test_untracked_gitattributes_does_not_hide_committed_lines(
    project: Any, check_of: CheckOf
) -> None:
    project.write(HIDDEN_PATH, HIDDEN)
    project.commit("feat: hidden")
    project.write(".gitattributes", "*.py -diff\n")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert_hidden_code_judged(result, report, check_of)


def test_info_attributes_do_not_hide_committed_lines(project: Any, check_of: CheckOf) -> None:
    info = Path(project.git("rev-parse", "--absolute-git-dir")) / "info"
    info.mkdir(exist_ok=True)
    (info / "attributes").write_text("*.py binary\n", encoding="utf-8")
    project.write(HIDDEN_PATH, HIDDEN)
    project.commit("feat: hidden")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert_hidden_code_judged(result, report, check_of)


def test_an_untracked_module_with_a_nul_byte_is_not_dropped(
    project: Any, check_of: CheckOf
) -> None:
    project.write(HIDDEN_PATH, HIDDEN + "# \0\n")
    result, report = project.run(checks="tests,coverage")
    assert result.ret != 0, result.stdout.str()
    got = check_of(report)("coverage")
    assert got["status"] in ("failed", "error"), got
    assert got["status"] == "error" or HIDDEN_PATH in paths_of(got), got


# --- tools' argument vectors and output ------------------------------------------------------


def test_a_file_named_like_an_option_is_a_path_for_every_tool(
    project: Any, check_of: CheckOf
) -> None:
    project.write("-c#.py", HIDDEN)
    project.commit("feat: a top-level module named like an option")
    result, report = project.run(checks="tests,types,lint,security,errors")
    assert result.ret != 0, result.stdout.str()
    for check_id in ("types", "lint", "security", "errors"):
        got = check_of(report)(check_id)
        assert got["status"] == "failed", (check_id, got)
        assert "-c#.py" in paths_of(got), (check_id, got)


@pytest.mark.parametrize(
    ("body", "printed"),
    [
        ("sys.exit(0)", "exited 0 with 0 characters on stdout: it did not produce mypy's output"),
        ("print('all good'); sys.exit(0)", "did not produce mypy's output"),
        ("print('{\"x\": 1}'); sys.exit(0)", "printed JSON of an unexpected shape"),
        ("sys.exit(1)", "exited 1 with 0 characters on stdout: it did not produce mypy's output"),
    ],
)
def test_a_mypy_that_prints_no_mypy_output_is_an_error(
    project: Any,
    check_of: CheckOf,
    fake_tool: Callable[[str, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    printed: str,
) -> None:
    monkeypatch.setenv("PBE_MYPY", os.fspath(fake_tool("mypy", body)))
    project.write(HIDDEN_PATH, HIDDEN)
    project.commit("feat: hidden")
    result, report = project.run(checks="tests,types")
    assert result.ret != 0, result.stdout.str()
    got = check_of(report)("types")
    assert got["status"] == "error", got
    assert printed in got["summary"], got["summary"]


def test_real_mypy_on_clean_new_code_still_passes(project: Any, check_of: CheckOf) -> None:
    # The positive sign is mypy's own: its empty success summary in json mode.
    result, report = project.run(checks="tests,types")
    assert check_of(report)("types")["status"] == "passed", check_of(report)("types")
    assert result.ret == 0, result.stdout.str()


# --- what "generated" means ------------------------------------------------------------------


def test_free_words_in_a_docstring_do_not_make_a_module_generated(
    project: Any, check_of: CheckOf
) -> None:
    project.write(HIDDEN_PATH, '"""Helpers, generated by hand. Auto-generated? No."""\n\n' + HIDDEN)
    sha = project.commit("feat: hidden")
    result, report = project.run(checks="tests,tdd")
    assert result.ret != 0, result.stdout.str()
    tdd = check_of(report)("tdd")
    assert tdd["status"] == "failed", tdd
    assert sha in {f["commit"] for f in tdd["findings"]}, tdd


@pytest.mark.parametrize(
    ("marker", "ini"),
    [
        ("# @generated by protoc", ""),
        ("# Code generated by tool. DO NOT EDIT.", ""),
        ("# built by make-tables", "pbe_generated_markers = built by make-tables\n"),
    ],
)
def test_a_tool_standard_or_configured_marker_still_exempts(
    project: Any, check_of: CheckOf, marker: str, ini: str
) -> None:
    if ini:
        # The marker is the project's standing config, in the base: a marker the judged
        # change adds is a loosening of it, and is refused as such.
        project.append("pytest.ini", ini)
        project.base = project.commit("build: the table generator's marker")
    project.write(HIDDEN_PATH, marker + "\n" + HIDDEN)
    sha = project.commit("build: generated table")
    _, report = project.run(checks="tests,tdd")
    tdd = check_of(report)("tdd")
    assert sha not in {f["commit"] for f in tdd["findings"]}, tdd
    assert tdd["status"] == "passed", tdd


# --- line numbering: Python's and git's agree, or the items cannot judge --------------------


def test_lone_cr_line_ends_are_an_error_naming_the_file(project: Any, check_of: CheckOf) -> None:
    body = "x = 1\n" + HIDDEN.replace("\n", "\r")
    project.write(HIDDEN_PATH, body.encode("utf-8"))
    project.commit("feat: hidden behind CR line ends")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    what = f"mixed line endings: lone CR at byte {body.index(chr(13))}; normalise to LF"
    assert_error_naming(result, report, check_of, HIDDEN_PATH, what)


def test_separators_python_does_not_end_lines_at_keep_the_numbering(
    project: Any, check_of: CheckOf
) -> None:
    # Form feed, vertical tab, NEL and U+2028 end no line for Python's tokenizer nor git.
    prefix = "\f# page\n# \v \x1c \x85 \u2028 in a comment\n"
    project.write(HIDDEN_PATH, prefix + HIDDEN)
    project.commit("feat: hidden after odd separators")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert_hidden_code_judged(result, report, check_of)
    bare = [f for f in check_of(report)("errors")["findings"] if f["path"] == HIDDEN_PATH]
    assert 2 + HIDDEN.splitlines().index("    except:") + 1 in {f["line"] for f in bare}, bare


# --- symlinked modules ---------------------------------------------------------------------


def test_a_module_symlinked_to_a_text_file_is_judged_by_its_content(
    project: Any, check_of: CheckOf
) -> None:
    project.write("src/app/hidden.txt", HIDDEN)
    (project.path / HIDDEN_PATH).symlink_to("hidden.txt")
    project.commit("feat: hidden behind a symlink")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert_hidden_code_judged(result, report, check_of)


@pytest.mark.parametrize("where", ["outside", "dangling"])
def test_a_module_symlinked_outside_the_repository_is_an_error_naming_the_link(
    project: Any, check_of: CheckOf, tmp_path_factory: pytest.TempPathFactory, where: str
) -> None:
    target = tmp_path_factory.mktemp("elsewhere") / "hidden.py"
    if where == "outside":
        target.write_text(HIDDEN, encoding="utf-8")
    (project.path / HIDDEN_PATH).symlink_to(target)
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert_error_naming(result, report, check_of, HIDDEN_PATH, "a symlinked module whose target")


# --- the judged bytes are the bytes the tests ran --------------------------------------------

REWRITER = """

def test_rewrites_the_source():
    from pathlib import Path

    path = Path(__file__).parents[1] / "src" / "app" / "calc.py"
    path.write_text(path.read_text() + "\\n\\nANSWER = 42\\n")
"""


def test_a_source_file_rewritten_during_the_session_is_an_error(
    project: Any, check_of: CheckOf
) -> None:
    project.append("tests/test_calc.py", REWRITER)
    project.commit("test: a test that edits the code under test")
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert result.ret != 0, result.stdout.str()
    for check_id in ("coverage", "types", "security", "errors"):
        got = check_of(report)(check_id)
        assert got["status"] == "error", (check_id, got)
        assert got["summary"].startswith("src/app/calc.py changed during the session"), got
    assert report is not None
    assert report["head"]["dirty"] is True


def test_a_clean_tree_left_clean_is_reported_clean(project: Any, check_of: CheckOf) -> None:
    result, report = project.run(checks=NEW_CODE_ITEMS)
    assert result.ret == 0, result.stdout.str()
    assert report is not None
    assert report["head"]["dirty"] is False


def test_diff_attributes_do_not_hide_a_commit_from_tdd(project: Any, check_of: CheckOf) -> None:
    project.write(".gitattributes", "*.py -diff\n")
    project.write(HIDDEN_PATH, HIDDEN)
    sha = project.commit("feat: hidden, no test")
    result, report = project.run(checks="tests,tdd")
    assert result.ret != 0, result.stdout.str()
    tdd = check_of(report)("tdd")
    assert tdd["status"] == "failed", tdd
    assert sha in {f["commit"] for f in tdd["findings"]}, tdd
