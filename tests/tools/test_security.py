"""The `security` item: real bandit with the project's [tool.bandit], on new code."""

from __future__ import annotations

NEW_SECURITY = """\


def new_shell(cmd: str) -> None:
    subprocess.run(cmd, shell=True)


def new_assert(x: int) -> None:
    assert x
"""


def test_it_fails_on_new_findings_at_or_above_the_levels_and_warns_below(
    project, write, verify, old_lines
):
    write("src/app/old.py", NEW_SECURITY, append=True)

    verdict = verify("security")

    security = verdict.checks["security"]
    assert security["status"] == "failed", security
    findings = [(f["line"], f["rule"], f["severity"]) for f in security["findings"]]
    # B602 (shell=True: high severity) fails; B101 (assert: low severity) is a warning.
    assert findings == [(25, "B602", "error"), (29, "B101", "warning")]
    assert security["metrics"]["below_threshold"] == 1
    assert all(f["line"] != old_lines["security"] for f in security["findings"])
    assert security["findings"][0]["url"].startswith("https://bandit.readthedocs.io/")


def test_a_lower_threshold_makes_low_findings_fail(project, write, verify):
    write("src/app/new.py", "def f(x: int) -> None:\n    assert x\n")

    verdict = verify("security", "-o", "pbe_bandit_severity=low")

    assert verdict.checks["security"]["status"] == "failed"
    assert verdict.lines("security") == [("src/app/new.py", 2, 2, "B101")]


def test_only_low_findings_pass_with_warnings(project, write, verify):
    write("src/app/new.py", "def f(x: int) -> None:\n    assert x\n")

    security = verify("security").checks["security"]

    assert security["status"] == "passed", security
    assert [f["severity"] for f in security["findings"]] == ["warning"]
    assert "1 below that listed as warnings" in security["summary"]


def test_it_honours_nosec(project, write, verify):
    write(
        "src/app/new.py",
        "import subprocess\n\n\ndef f(cmd: str) -> None:\n"
        "    subprocess.run(cmd, shell=True)  # nosec B602\n",
    )

    security = verify("security").checks["security"]

    assert security["status"] == "passed", security
    assert all(f["rule"] != "B602" for f in security["findings"])


def test_it_honours_the_projects_bandit_config(project, write, verify):
    # [tool.bandit] exclude_dirs = ["tests"]: a new test file with asserts is not scanned.
    write(
        "tests/test_more.py",
        "import subprocess\n\n\ndef test_x():\n    subprocess.run('true', shell=True)\n",
    )

    security = verify("security").checks["security"]

    assert security["status"] == "passed", security
    assert security["findings"] == []


def test_a_syntax_error_is_an_error(project, write, verify):
    write("src/app/new.py", "def broken(:\n    pass\n")

    security = verify("security").checks["security"]

    assert security["status"] == "error"
    assert "bandit could not scan src/app/new.py" in security["summary"]


def test_a_bandit_that_prints_no_report_is_an_error(project, write, verify, monkeypatch, fake_tool):
    monkeypatch.setenv(
        "PBE_BANDIT",
        fake_tool(
            "echo 'Traceback (most recent call last):' >&2\n"
            "echo 'AttributeError: boom' >&2\nexit 1\n"
        ),
    )
    write("src/app/new.py", "X = 1\n")

    security = verify("security").checks["security"]

    assert security["status"] == "error"
    assert "AttributeError: boom" in security["summary"]
