"""The `errors` item, static part: error-handling anti-patterns on new code (real ruff)."""

from __future__ import annotations

NEW_ERRORS = """\


def swallow() -> None:
    try:
        old_shell("true")
    except Exception:
        pass


def reraise() -> None:
    try:
        old_shell("true")
    except KeyError:
        raise ValueError("bad")


def loop() -> None:
    for cmd in ("a", "b"):
        try:
            old_shell(cmd)
        except Exception:
            continue
"""


def test_it_names_new_error_handling_anti_patterns_whatever_the_project_selects(
    project, write, verify, old_lines
):
    # The project selects only E, F and B: BLE001, S110 and S112 are reported anyway.
    write("src/app/old.py", NEW_ERRORS, append=True)

    verdict = verify("errors", "--pbe-skip", "coverage")

    errors = verdict.checks["errors"]
    assert errors["status"] == "failed", errors
    static = [(line, end, rule) for _, line, end, rule in verdict.lines("errors")]
    assert (27, 27, "BLE001") in static
    assert (27, 28, "S110") in static
    assert (35, 35, "B904") in static
    assert (42, 43, "S112") in static
    assert all(line != old_lines["errors"] for line, _, _ in static)


def test_the_projects_ignores_do_not_switch_the_rules_off_but_noqa_does(project, write, verify):
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    lint_section = 'select = ["E", "F", "B"]\n'
    pyproject.write_text(text.replace(lint_section, lint_section + 'ignore = ["E722", "BLE001"]\n'))
    write(
        "src/app/new.py",
        """\
        def a() -> None:
            try:
                print(1)
            except:
                print(2)


        def b() -> None:
            try:
                print(1)
            except Exception:  # noqa: BLE001
                print(2)
        """,
    )

    verdict = verify("errors", "--pbe-skip", "coverage")

    static = [rule for _, _, _, rule in verdict.lines("errors") if rule != "unexercised-handler"]
    assert static == ["E722"]


def test_without_new_handlers_it_passes_without_needing_coverage(project, write, verify):
    write("src/app/new.py", "def f(x: int) -> int:\n    return x + 1\n")

    errors = verify("errors").checks["errors"]

    assert errors["status"] == "passed", errors
    assert errors["metrics"]["new_handlers"] == 0


def test_it_skips_when_no_new_python_code(project, write, verify):
    write("notes.txt", "nothing\n")

    errors = verify("errors").checks["errors"]

    assert errors["status"] == "skipped"
    assert errors["summary"] == "no new Python code"


def test_when_the_coverage_item_is_switched_off_handlers_are_left_unjudged_and_said_so(
    project, write, verify
):
    write(
        "src/app/new.py",
        "def f() -> int:\n    try:\n        return int('1')\n    except ValueError:\n"
        "        return 0\n",
    )

    errors = verify("errors", "--pbe-skip", "coverage").checks["errors"]

    # Judged statically (clean); the summary says the handler part was not judged, or,
    # if the shared measurement ran anyway, it judged it.
    assert errors["status"] in ("passed", "failed"), errors
    if "could not judge" in errors["summary"]:
        assert errors["status"] == "passed"
        assert "the coverage item is switched off" in errors["summary"]


def test_a_syntax_error_is_an_error(project, write, verify):
    write("src/app/new.py", "def broken(:\n    pass\n")

    errors = verify("errors").checks["errors"]

    assert errors["status"] == "error"
    assert "src/app/new.py:1" in errors["summary"]
