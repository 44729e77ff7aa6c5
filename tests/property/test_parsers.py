"""Parsers of git and tool output, fed arbitrary input: they parse or raise a PbeError.

Never an ``AttributeError``/``KeyError``/``AssertionError``/``UnicodeDecodeError`` from
hostile or broken output: the runner would still turn it into an ``error``, but as an
"internal error" without saying which tool printed what.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_pbe.errors import PbeError
from pytest_pbe.git import Classifier
from pytest_pbe.git.diff import file_changes, parse_raw_z, parse_unified_zero
from pytest_pbe.git.history import parse_log
from pytest_pbe.tools.parse import Issue, parse_bandit, parse_mypy, parse_ruff
from pytest_pbe.tools.process import Completed

ROOT = Path("/repo")
MARKER = b"0123456789abcdef01234567"

# Bytes biased towards the tokens the parsers look for, so that examples get deep.
TOKENS = [
    b"\0", b"\n", b":", b" ", b"@@ -1,2 +3,4 @@", b"@@ -0,0 +1 @@", b"diff --git a/x b/x",
    b"+", b"-", b"\\ No newline", b"100644", b"000000", b"M", b"R100", b"A", b"T", b"x.py",
    b"* Unmerged path ", b"--- a/x", b"+++ b/x", MARKER, MARKER + b".", b"\xff\xfe",
    b"abc", b"1", b"@@", b"Key", b"value",
]  # fmt: skip
git_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join),
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
json_values = st.recursive(
    scalars | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "code", "filename", "location", "end_location", "row", "message", "url", "file", "line",
    "end_line", "severity", "errors", "results", "reason", "line_number", "line_range",
    "test_id", "issue_text", "more_info", "issue_severity", "issue_confidence",
]  # fmt: skip
shaped = st.recursive(
    st.none()
    | st.integers(-2, 5)
    | st.sampled_from(["", "x.py", "/abs/x.py", "E1", "syntax", "high"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)
    ),
    max_leaves=16,
)
tool_stdout = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
    json_values.map(json.dumps),
    shaped.map(json.dumps),
    st.lists(shaped.map(json.dumps), max_size=3).map("\n".join),
)


@settings(max_examples=200, deadline=None)
@given(git_bytes)
def test_parse_raw_z_parses_or_raises_a_pbe_error(data: bytes) -> None:
    try:
        entries, rest = parse_raw_z(data)
    except PbeError:
        return
    assert isinstance(rest, bytes)
    assert all(isinstance(e.path, str) for e in entries)


@settings(max_examples=200, deadline=None)
@given(git_bytes)
def test_parse_unified_zero_parses_or_raises_a_pbe_error(data: bytes) -> None:
    try:
        sections = parse_unified_zero(data)
    except PbeError:
        return
    assert all(all(isinstance(n, int) for n in s) for s in sections)


@settings(max_examples=200, deadline=None)
@given(git_bytes)
def test_file_changes_parses_or_raises_a_pbe_error(data: bytes) -> None:
    try:
        changes = file_changes(data, classifier=Classifier())
    except PbeError:
        return
    assert all(isinstance(c.path, str) for c in changes)


@settings(max_examples=200, deadline=None)
@given(git_bytes)
def test_parse_log_parses_or_raises_a_pbe_error(data: bytes) -> None:
    try:
        commits = parse_log(data, MARKER, Classifier())
    except PbeError:
        return
    assert all(isinstance(c.subject, str) for c in commits)


def _run(tool: str, stdout: str, stderr: str, code: int) -> Completed:
    return Completed(tool, (tool, "--json"), code, stdout, stderr, 0.1)


def _parses_or_raises(parse: Any, run: Completed) -> None:
    try:
        issues = parse(run, cwd=ROOT, root=ROOT)
    except PbeError as exc:
        message = str(exc)
    else:
        for issue in issues:
            assert isinstance(issue, Issue)
            assert issue.path is None or isinstance(issue.path, str)
            assert issue.line is None or isinstance(issue.line, int)
            assert isinstance(issue.rule, str)
            assert isinstance(issue.message, str)
        return
    assert message.strip(), "an error without a message"
    assert "\n" not in message.strip(), message


codes = st.sampled_from([0, 1, 2, -9, 127])
stderr = st.sampled_from(["", "warning: x", "Traceback (most recent call last):\nBoom: x"])


@settings(max_examples=200, deadline=None)
@given(tool_stdout, stderr, codes)
@example("[null]", "", 1)
@example('[{"code": "F401", "filename": 7, "location": "row"}]', "", 1)
@example('[{"code": "F401", "filename": "x.py", "location": {"row": "x"}}]', "", 1)
@example('[{"code": ["E1"], "filename": null}]', "", 1)
@example('[{"code": "F401", "filename": "x.py", "location": {"row": 3}, "end_location": 5}]', "", 1)
def test_parse_ruff_parses_or_raises_a_pbe_error(stdout: str, err: str, code: int) -> None:
    _parses_or_raises(parse_ruff, _run("ruff", stdout, err, code))


@settings(max_examples=200, deadline=None)
@given(tool_stdout, stderr, codes)
@example('{"errors": "x.py"}', "", 1)
@example('{"errors": [null]}', "", 1)
@example('{"results": [null]}', "", 1)
@example('{"results": {"a": 1}}', "", 1)
@example('{"results": [{"filename": "x.py", "line_number": 2, "line_range": 7}]}', "", 1)
@example('{"results": [{"filename": 3, "line_number": 2}]}', "", 1)
def test_parse_bandit_parses_or_raises_a_pbe_error(stdout: str, err: str, code: int) -> None:
    _parses_or_raises(parse_bandit, _run("bandit", stdout, err, code))


@settings(max_examples=200, deadline=None)
@given(tool_stdout, stderr, codes)
@example('{"file": 1, "line": "x", "code": ["a"], "severity": "error", "message": 3}', "", 1)
def test_parse_mypy_parses_or_raises_a_pbe_error(stdout: str, err: str, code: int) -> None:
    _parses_or_raises(parse_mypy, _run("mypy", stdout, err, code))
