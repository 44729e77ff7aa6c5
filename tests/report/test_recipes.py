"""The CI recipes this project ships: pre-commit hook, tox, workflow files in the docs."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_pbe.options import OPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "ci.md"
FLAGS = {spec.cli for spec in OPTIONS if spec.flag}
#: Every variable pytest-pbe reads from the environment (the tox recipe must pass each).
READ_ENV = {
    "PBE_BASE", "GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_SHA",
    "GITHUB_STEP_SUMMARY", "CI_MERGE_REQUEST_DIFF_BASE_SHA", "SYSTEM_PULLREQUEST_TARGETBRANCH",
    "CHANGE_TARGET", "PRE_COMMIT_FROM_REF",
}  # fmt: skip


def blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_every_variable_the_plugin_reads_is_in_the_list_the_tox_recipes_pass() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    read = set(
        re.findall(r"environ(?:\.get)?[\(\[]\"((?:PBE|GITHUB|CI|PRE_COMMIT)_[A-Z_]+)\"", source)
    )
    read -= {name for name in read if name.startswith("PBE_REPLAY")}  # internal, parent to child
    assert read <= READ_ENV | {"PBE_MYPY", "PBE_RUFF", "PBE_BANDIT"}, read - READ_ENV


def test_the_documented_tox_verify_env_passes_the_ci_variables_one_by_one() -> None:
    (snippet,) = blocks("ini")
    parser = configparser.ConfigParser()
    parser.read_string(snippet)
    pass_env = parser["testenv:verify"]["pass_env"].split()
    assert set(pass_env) >= READ_ENV
    assert not [name for name in pass_env if "*" in name]  # one by one, no globs
    assert "--pbe-verify" in parser["testenv:verify"]["commands"]


def test_the_example_services_tox_verify_env_passes_them_as_tox_reads_it() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tox", "config", "-e", "verify", "-k", "pass_env", "commands"],
        cwd=ROOT / "examples" / "user-service",
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert set(re.findall(r"^\s+([A-Z_]+)$", proc.stdout, flags=re.MULTILINE)) >= READ_ENV
    assert "pytest --pbe-verify" in proc.stdout


def test_the_github_workflow_fetches_all_history_and_runs_in_the_merge_queue() -> None:
    workflow = next(yaml.safe_load(b) for b in blocks("yaml") if "runs-on" in b)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert {"pull_request", "push", "merge_group"} <= set(triggers)
    steps = workflow["jobs"]["verify"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    run = next(s["run"] for s in steps if "--pbe-verify" in s.get("run", ""))
    assert_real_flags(run)
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] in run


def test_the_gitlab_job_fetches_all_history_and_reports_to_the_widgets() -> None:
    config = next(yaml.safe_load(b) for b in blocks("yaml") if "GIT_DEPTH" in b)
    job = config["verify"]
    assert str(job["variables"]["GIT_DEPTH"]) == "0"
    assert any("merge_request_event" in rule["if"] for rule in job["rules"])
    command = next(line for line in job["script"] if "--pbe-verify" in line)
    assert_real_flags(command)
    reports = job["artifacts"]["reports"]
    assert f"--pbe-report-gitlab={reports['codequality']}" in command
    assert f"--pbe-junitxml={reports['junit']}" in command


def assert_real_flags(command: str) -> None:
    used = {word.split("=", 1)[0] for word in shlex.split(command) if word.startswith("--pbe")}
    assert used
    assert used <= FLAGS, used - FLAGS


def pre_commit_hook() -> dict[str, Any]:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hook, dict)
    return hook


def test_the_pre_commit_hook_runs_on_push_without_filenames() -> None:
    hook = pre_commit_hook()
    assert hook["id"] == "pytest-pbe"
    assert hook["language"] == "system"
    assert hook["pass_filenames"] is False
    assert hook["stages"] == ["pre-push"]
    assert shlex.split(hook["entry"])[:2] == ["pytest", "--pbe-verify"]


def test_the_pre_commit_hook_measures_new_code_from_the_pushed_range(
    repo: Path,
    pytester: pytest.Pytester,
    probe: Callable[..., Path],
    read_json: Callable[[Path], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    probe(status="passed")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "tests"], cwd=repo, check=True)
    pushed_from = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    (repo / "feature.py").write_text("X = 1\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "feature"], cwd=repo, check=True)
    # What pre-commit does for a pre-push hook: set the range, run the entry, no filenames.
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", pushed_from)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", "HEAD")
    entry = shlex.split(pre_commit_hook()["entry"])
    result = pytester.runpytest_subprocess(
        *entry[1:], "--pbe-checks=tests,probe", "--pbe-report-json=r.json", "-p", "no:cacheprovider"
    )
    assert result.ret == 0, result.stdout.str()
    base = read_json(repo / "r.json")["base"]
    assert (base["source"], base["sha"]) == ("pre-commit", pushed_from)
