"""The base each CI system names, end to end: env vars and a payload file, as the CI sets them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ReadJson = Callable[[Path], dict[str, Any]]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(repo: Path, pytester: pytest.Pytester, probe: Callable[..., Path]) -> dict[str, str]:
    """main: root -> m1 -> m2; feature (checked out) from m1: f1. Tests and probe committed."""
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    probe(status="passed", summary="asked for the new code")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "tests")
    shas = {"root": git(repo, "rev-parse", "HEAD")}
    shas["m1"] = commit(repo, "one.txt", "1\n")
    git(repo, "checkout", "-q", "-b", "feature")
    shas["f1"] = commit(repo, "feature.txt", "f\n")
    git(repo, "checkout", "-q", "main")
    shas["m2"] = commit(repo, "two.txt", "2\n")
    git(repo, "checkout", "-q", "feature")
    return shas


def run(pytester: pytest.Pytester, read_json: ReadJson, repo: Path) -> dict[str, Any]:
    result = pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-checks", "tests,probe", "--pbe-report-json", "r.json",
        "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    return read_json(repo / "r.json")["base"]


def event(tmp_path: Path, payload: dict[str, Any]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def github_env(monkeypatch: pytest.MonkeyPatch, name: str, payload_path: str) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", payload_path)


@pytest.fixture(autouse=True)
def _no_annotations(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npbe_github_annotations = off\n")


def test_a_github_pull_request_is_measured_from_the_payloads_base(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson, history: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    payload = {"pull_request": {"base": {"sha": history["m2"]}, "head": {"sha": history["f1"]}}}
    github_env(monkeypatch, "pull_request", event(tmp_path, payload))
    monkeypatch.setenv("GITHUB_SHA", history["f1"])
    base = run(pytester, read_json, repo)
    assert (base["source"], base["sha"], base["merge_base"]) == (
        "github:pull_request",
        history["m2"],
        history["m1"],
    )


def test_a_github_pull_request_merge_checkout_is_measured_from_the_merge_first_parent(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson, history: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    # actions/checkout builds refs/pull/N/merge: the PR merged into the base's newest commit.
    git(repo, "checkout", "-q", "--detach", history["m2"])
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature into main", history["f1"])
    merge = git(repo, "rev-parse", "HEAD")
    payload = {"pull_request": {"base": {"sha": history["m1"]}, "head": {"sha": history["f1"]}}}
    github_env(monkeypatch, "pull_request", event(tmp_path, payload))
    monkeypatch.setenv("GITHUB_SHA", merge)
    base = run(pytester, read_json, repo)
    assert (base["source"], base["sha"]) == ("github:pull_request", history["m2"])


def test_a_github_merge_queue_build_is_measured_from_the_merge_groups_base(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson, history: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    payload = {"merge_group": {"base_sha": history["m1"], "head_sha": history["f1"]}}
    github_env(monkeypatch, "merge_group", event(tmp_path, payload))
    base = run(pytester, read_json, repo)
    assert (base["source"], base["sha"]) == ("github:merge_group", history["m1"])


def test_a_github_push_is_measured_from_the_commit_before_the_push(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson, history: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    payload = {"before": history["root"], "after": history["f1"]}
    github_env(monkeypatch, "push", event(tmp_path, payload))
    base = run(pytester, read_json, repo)
    assert (base["source"], base["sha"]) == ("github:push", history["root"])


def test_a_gitlab_merge_request_pipeline_is_measured_from_the_diff_base(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson, history: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_PIPELINE_SOURCE", "merge_request_event")
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
    monkeypatch.setenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", history["m1"])
    base = run(pytester, read_json, repo)
    assert (base["source"], base["sha"]) == ("gitlab", history["m1"])


def test_outside_ci_the_default_branch_is_the_base(
    repo: Path, pytester: pytest.Pytester, read_json: ReadJson, history: dict[str, str]
) -> None:
    base = run(pytester, read_json, repo)
    assert (base["source"], base["ref"], base["sha"]) == ("default-branch", "main", history["m2"])
