"""The errors item finds the new ``except`` handlers in the outlines the tdd item made of
the same working tree: each changed file is parsed once per session, not once per item."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

GUARD = """\
def parse(text):
    try:
        return int(text)
    except ValueError:
        return -1
"""
GUARD_TEST = """\
from shop.guard import parse


def test_parse_reads_numbers():
    assert parse("12") == 12
"""

# Counts, in the pytest process, the parses of the source file's content (the tools and
# the coverage parse-ahead child run in processes of their own).
COUNTER = """
import ast
import pathlib

WATCHED = pathlib.Path("src/shop/guard.py").read_bytes()
PARSES = []
_parse = ast.parse


def counting_parse(source, *args, **kwargs):
    if source == WATCHED:
        PARSES.append(1)
    return _parse(source, *args, **kwargs)


ast.parse = counting_parse


def pytest_unconfigure(config):
    pathlib.Path({log!r}).write_text(str(len(PARSES)))
"""


def test_the_errors_item_reuses_the_outlines_of_the_tdd_item(story: Any, tmp_path: Path) -> None:
    story.commit("test: parse", tests__test_guard_py=GUARD_TEST)
    story.commit("feat: parse", src__shop__guard_py=GUARD)
    log = tmp_path / "parses"
    (story.path / "conftest.py").write_text(textwrap.dedent(COUNTER.format(log=str(log))))
    with (story.path / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("conftest.py\n")  # not part of the change
    result = story.pytester.runpytest_subprocess(
        "--pbe-verify", "--pbe-base", story.base, "--pbe-checks", "tests,coverage,tdd,errors"
    )
    result.stdout.fnmatch_lines(
        [
            "*PASS*tdd*1 test-first*",
            "*FAIL*errors*1 of 1 new except handler never entered by a test*",
        ]
    )
    assert log.read_text() == "1"  # the tdd item's parse; the errors item parsed nothing
