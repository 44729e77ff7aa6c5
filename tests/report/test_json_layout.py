"""The JSON report's text: the same content as a plain ``json.dumps``, laid out for people.

The outer levels are indented as ``json.dumps(indent=2)`` would; a record (an object of
plain values, such as one finding or one file's figures) nested four levels deep or more
is written on one line, so a report of ten thousand findings is ten thousand lines.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_pbe.model import CheckResult, Finding, Report, Scope, Status
from pytest_pbe.report import json as json_report


class Colour(enum.Enum):  # not JSON: ``default=str`` names it, as before
    RED = "red"


def reference(report: Report) -> str:
    """What the report's text was made by before its layout changed."""
    data = json_report.report_to_dict(report)
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def ordered(text: str) -> Any:
    """The parsed text with every object as its list of (key, value) pairs: order counts."""
    return json.loads(text, object_pairs_hook=list)


def test_the_json_report_holds_the_same_keys_values_and_order_as_before(
    hostile_report: Report,
) -> None:
    text = json_report.render(hostile_report)
    assert ordered(text) == ordered(reference(hostile_report))
    assert text.endswith("}\n")


def test_every_kind_of_metric_and_odd_value_survives_the_layout(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    metrics = {
        "files": {
            "src/é.py": {"new_lines": 6, "percent": 66.66, "measured": True, "note": None},
            "src/b.py": {"nested": {"deep": [1, 2.5, "x", None, False]}},
        },
        "slowest": [{"nodeid": "t.py::test_a", "seconds": 2.1}, [1, [2, []]], {}],
        "per_file": {"a}.py": {"n": 1, "s": "}\x1f{"}, "b.py": {}, "c.py": {"k": Path("p")}},
        "by_key": {7: {"a": 1}, 2.5: [1], True: [], None: {"x": [1]}, "s": {1: "one"}},
        "empty_list": [],
        "empty_map": {},
        "path": Path("src/app.py"),
        "colour": Colour.RED,
        "huge": 10**30,
        "ratio": 1e-7,
        "text": 'tab\tquote" backslash\\ nul\x00 emoji 🎉 line\u2028sep',
    }
    findings = [
        Finding(f'finding {n} ünïcode "q"\n{n} }}\x1f{{}}', f"src/m{n}}}.py", n, rule="R1")
        for n in range(50)
    ]
    report = make_report(
        make_check("coverage", Status.FAILED, *findings, metrics=metrics, details=("a", "b")),
        make_check("docs", Status.PASSED),
    )
    report = Report(
        checks=report.checks,
        tests_passed=True,
        base=report.base,
        head_sha=None,
        dirty=True,
        scope=Scope("sub/dir", ("sub/dir/a.py", "sub/dir/ü.py"), 3),
        notes=("a note",),
    )
    text = json_report.render(report)
    assert ordered(text) == ordered(reference(report))
    assert "ünïcode" in text
    assert "🎉" in text


def test_each_finding_is_one_line_under_indented_outer_levels(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    findings = [Finding(f"message {n}", "src/app.py", n, rule="F401") for n in range(1, 1001)]
    report = make_report(make_check("lint", Status.FAILED, *findings))
    lines = json_report.render(report).splitlines()
    one_line = [ln for ln in lines if '"rule": "F401"' in ln]
    assert len(one_line) == 1000
    assert one_line[0].startswith("        {")
    assert one_line[0].endswith("},")
    assert one_line[-1].endswith("}")  # the last of its list: no comma
    assert json.loads(one_line[0].strip().rstrip(","))["message"] == "message 1"
    assert '  "checks": [' in lines
    assert '      "findings": [' in lines
    assert len(lines) < 1100


def test_a_report_without_records_deep_down_reads_exactly_as_before(
    make_report: Callable[..., Report], make_check: Callable[..., CheckResult]
) -> None:
    report = make_report(
        make_check("tdd", Status.PASSED, metrics={"commits": 3, "mode": "order"}, details=("x",)),
        make_check("docs", Status.SKIPPED, required=False),
    )
    assert json_report.render(report) == reference(report)


def test_the_json_report_file_is_written_with_that_text(
    hostile_report: Report, tmp_path: Path
) -> None:
    target = tmp_path / "r.json"
    json_report.write(hostile_report, target)
    assert target.read_text(encoding="utf-8") == json_report.render(hostile_report)
