"""``python -m pytest_pbe.report REPORT.json --md=… --sarif=… --gitlab=… --junitxml=… --html=…``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_pbe.errors import PbeError


def main(argv: list[str] | None = None) -> int:
    from pytest_pbe.report import gitlab, html, junit, markdown, sarif
    from pytest_pbe.report.load import read_report

    parser = argparse.ArgumentParser(
        prog="python -m pytest_pbe.report",
        description="write the other report formats from a pytest-pbe JSON report",
    )
    parser.add_argument("report", type=Path, help="the JSON report (--pbe-report-json)")
    parser.add_argument("--md", type=Path, help="Markdown")
    parser.add_argument("--sarif", type=Path, help="SARIF 2.1.0")
    parser.add_argument("--gitlab", type=Path, help="GitLab Code Quality JSON")
    parser.add_argument("--junitxml", type=Path, help="JUnit XML")
    parser.add_argument("--html", type=Path, metavar="DIR", help="HTML page into DIR")
    parser.add_argument("--root", type=Path, help="repository root (HTML shows file contents)")
    options = parser.parse_args(argv)
    try:
        report = read_report(options.report)
        if options.md:
            markdown.write(report, options.md)
        if options.sarif:
            sarif.write(report, options.sarif, root=options.root)
        if options.gitlab:
            gitlab.write(report, options.gitlab)
        if options.junitxml:
            junit.write(report, options.junitxml)
        if options.html:
            html.write(report, options.html, root=options.root)
    except PbeError as exc:
        print(f"pytest_pbe.report: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
