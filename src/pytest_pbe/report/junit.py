"""JUnit XML (``--pbe-junitxml``): one testcase per checklist item, for CI test widgets.

An item that blocks the run is a ``<failure>`` (``failed``) or an ``<error>`` (``error``)
with its findings as the text; a skipped item is ``<skipped>``; an item that failed but is
not required is ``<skipped>`` too, its message saying so, because it does not fail the run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # nosec B405  # only writes XML, never parses any
from pathlib import Path

from pytest_pbe.model import CheckResult, Report, Status
from pytest_pbe.report.files import write_atomic

SUITE = "pytest-pbe"
# XML 1.0 forbids most control characters even escaped; they become U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _findings_text(check: CheckResult) -> str:
    lines = []
    for finding in check.findings:
        where = finding.location()
        commit = f" [{finding.commit[:12]}]" if finding.commit else ""
        rule = f"{finding.rule}: " if finding.rule else ""
        lines.append(f"{where}{commit}  {rule}{finding.message}".strip())
    lines.extend(check.details)
    # XML parsers turn a raw CR in text into LF anyway: say so in the file itself.
    text = "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n")
    return clean(text)


def to_element(report: Report) -> ET.Element:
    failures = sum(1 for c in report.checks if c.blocks and c.status is Status.FAILED)
    errors = sum(1 for c in report.checks if c.blocks and c.status is Status.ERROR)
    skipped = sum(1 for c in report.checks if not c.blocks and c.status is not Status.PASSED)
    attrs = {
        "name": SUITE,
        "tests": str(len(report.checks)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for check in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": SUITE, "name": clean(f"{check.id}: {check.title}")},
        )
        summary = clean(check.summary)
        if check.blocks:
            tag = "failure" if check.status is Status.FAILED else "error"
            node = ET.SubElement(case, tag, {"message": summary, "type": check.status.value})
            node.text = _findings_text(check) or summary
        elif check.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", {"message": summary})
        elif check.status is not Status.PASSED:
            node = ET.SubElement(
                case, "skipped", {"message": f"{check.status.value} (not required): {summary}"}
            )
            node.text = _findings_text(check) or None
        elif check.findings or check.details:
            ET.SubElement(case, "system-out").text = _findings_text(check)
    return root


def render(report: Report) -> str:
    root = to_element(report)
    ET.indent(root)
    text: str = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return text + "\n"


def write(report: Report, path: Path) -> None:
    write_atomic(path, render(report), what="JUnit XML report")
