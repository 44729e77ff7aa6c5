"""A self-contained HTML page (``--pbe-report-html DIR`` writes ``DIR/index.html``).

The checklist at the top, the findings of the items that failed, the TDD timeline as an
inline SVG picture, then every changed file with its new lines marked covered, uncovered
or with findings inline. No script, no external resource: a Content-Security-Policy
forbids both, and every value from code, git or a tool is HTML-escaped, so a commit
subject or a file name cannot inject anything.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pbe.model import CheckResult, Finding, Report, Status
from pytest_pbe.report.files import write_atomic
from pytest_pbe.report.findings import verdict

if TYPE_CHECKING:
    from pytest_pbe.git import ChangeSet


@dataclass(frozen=True)
class LineCoverage:
    """One file's measured lines: statements, those never run, and multi-line statements."""

    executable: frozenset[int]
    missing: frozenset[int]
    starts: Mapping[int, int] = field(default_factory=dict)  # line -> its statement's first

    def state(self, line: int) -> str | None:
        """covered / uncovered for a line of an executable statement, else None."""
        first = self.starts.get(line, line)
        if first in self.missing:
            return "uncovered"
        if first in self.executable:
            return "covered"
        return None


#: repo-relative path -> its measured lines, or None when the file was not measured.
CoverageLookup = Callable[[str], "LineCoverage | None"]

MAX_FILE_BYTES = 1024 * 1024  # larger files are listed, not shown
MAX_ROWS_PER_FILE = 3000
CONTEXT = 2  # unchanged lines shown around new lines and findings
MAX_TIMELINE = 60

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;
background:#fff}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:24px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:16px 0 6px}
.ok{color:#1a7f37}.bad{color:#cf222e}.muted{color:#656d76}
table{border-collapse:collapse;width:100%}
.checklist td,.checklist th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;
vertical-align:top}
.badge{display:inline-block;min-width:56px;text-align:center;border-radius:10px;padding:0 8px;
font-weight:600;font-size:12px;color:#fff}
.s-passed{background:#1a7f37}.s-failed{background:#cf222e}.s-error{background:#8250df}
.s-skipped{background:#9a6700}
ul.findings{margin:4px 0 12px;padding-left:20px}
ul.findings code{background:#f6f8fa;padding:0 3px}
.scroll{overflow-x:auto;margin:4px 0 12px}
.code{font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.code td{padding:0 6px;white-space:pre;vertical-align:top}
.code td.n{color:#656d76;text-align:right;width:1%;user-select:none}
.code td.m{width:1%;font-weight:700}
tr.covered td{background:#dafbe1}tr.uncovered td{background:#ffebe9}
tr.new td{background:#ddf4ff}tr.finding td{background:#fff8c5}
tr.note td{background:#fff8c5;color:#6f4e00;white-space:pre-wrap;font-family:system-ui,sans-serif}
tr.gap td{color:#656d76;text-align:center;background:#f6f8fa}
.legend span{display:inline-block;padding:0 8px;margin-right:8px;border:1px solid #d0d7de}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
svg text{font:12px ui-monospace,Menlo,Consolas,monospace}
"""

_MARK = {"covered": "✓", "uncovered": "✗", "finding": "!", "new": "+", "context": ""}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class _FileView:
    path: str
    status: str
    new_lines: frozenset[int]
    kind: str = "source"
    findings: dict[int, list[tuple[str, Finding]]] = field(default_factory=dict)
    uncovered: set[int] = field(default_factory=set)


def render(
    report: Report,
    *,
    root: Path | None = None,
    changes: ChangeSet | None = None,
    coverage: CoverageLookup | None = None,
) -> str:
    """The page as one string of HTML5."""
    root = changes.root if changes is not None else root
    ok = report.passed
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>pytest-pbe: {_e(verdict(report))}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f'<h1 class="{"ok" if ok else "bad"}" id="verdict">'
        f"{'✓' if ok else '✗'} pytest-pbe: {_e(verdict(report))}</h1>",
        _revision(report),
        _checklist(report),
        _failures(report),
        _timeline(report.get("tdd")),
        _files(report, root, changes, coverage),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _revision(report: Report) -> str:
    base = report.base
    bits = []
    if base.ref is not None and base.merge_base is not None:
        bits.append(
            f"New code since <code>{_e(base.ref)}</code> (merge-base "
            f"<code>{_e(base.merge_base[:12])}</code>, from {_e(base.source or 'unknown')})"
        )
    if report.head_sha:
        bits.append(f"HEAD <code>{_e(report.head_sha[:12])}</code>")
    if report.dirty:
        bits.append("with uncommitted work")
    if not report.complete:
        bits.append("<strong>the session was interrupted: the checklist is incomplete</strong>")
    if not report.tests_passed:
        bits.append("<strong>the tests did not pass</strong>")
    return f'<p class="muted">{"; ".join(bits)}</p>' if bits else ""


def _checklist(report: Report) -> str:
    rows = [
        '<h2>Checklist</h2><table class="checklist" id="checklist">',
        "<tr><th>Result</th><th>Item</th><th>Summary</th><th>Required</th></tr>",
    ]
    for check in report.checks:
        rows.append(
            f'<tr id="item-{_e(check.id)}"><td><span class="badge s-{check.status.value}">'
            f"{check.status.value}</span></td><td><strong>{_e(check.id)}</strong> "
            f"{_e(check.title)}</td><td>{_e(check.summary)}</td>"
            f"<td>{'yes' if check.required else 'no'}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _finding_text(finding: Finding) -> str:
    rule = f"{finding.rule}: " if finding.rule else ""
    commit = f" (commit {finding.commit[:12]})" if finding.commit else ""
    return f"{rule}{finding.message}{commit}"


def _failures(report: Report) -> str:
    out = []
    for check in report.checks:
        if check.status not in (Status.FAILED, Status.ERROR) or not (
            check.findings or check.details
        ):
            continue
        out.append(f"<h3>{_e(check.id)}: {_e(check.summary)}</h3>")
        if check.findings:
            out.append('<ul class="findings">')
            for finding in check.findings:
                where = f"<code>{_e(finding.location())}</code> " if finding.path else ""
                out.append(f"<li>{where}{_e(_finding_text(finding))}</li>")
            out.append("</ul>")
        if check.details and check.id != "tdd":
            out.append(f"<pre>{_e(chr(10).join(check.details))}</pre>")
    return ("<h2>Findings</h2>\n" + "\n".join(out)) if out else ""


# --- the TDD timeline -------------------------------------------------------------------
def _timeline(tdd: CheckResult | None) -> str:
    head = '<h2>TDD timeline</h2><div id="timeline">'
    if tdd is None:
        return f'{head}<p class="muted">no tdd item in this report</p></div>'
    if tdd.status is Status.SKIPPED and not tdd.details:
        return f'{head}<p class="muted">tdd item skipped: {_e(tdd.summary)}</p></div>'
    violations = [f for f in tdd.findings if f.commit]
    bad_shas = {f.commit for f in violations if f.commit}
    nodes: list[tuple[str, str]] = []  # (label, state)
    if tdd.details:
        for line in tdd.details:
            if not line.strip():
                continue
            state = "bad" if any(_mentions(line, sha) for sha in bad_shas) else "good"
            if tdd.status is Status.ERROR:
                state = "unknown"
            nodes.append((line.strip(), state))
    else:
        seen: set[str] = set()
        for finding in violations:
            if finding.commit and finding.commit not in seen:
                seen.add(finding.commit)
                nodes.append((f"{finding.commit[:10]}  {finding.message}", "bad"))
    if not nodes:
        return f'{head}<p class="muted">{_e(tdd.summary) or "no commits judged"}</p></div>'
    hidden = max(0, len(nodes) - MAX_TIMELINE)
    nodes = nodes[:MAX_TIMELINE]
    svg = _timeline_svg(nodes)
    note = f'<p class="muted">{hidden} more not drawn</p>' if hidden else ""
    caption = f'<p class="muted">{_e(tdd.summary)}</p>' if tdd.summary else ""
    return f"{head}{caption}{svg}{note}</div>"


def _mentions(line: str, sha: str) -> bool:
    return any(sha[:n] in line for n in (40, 12, 10, 8, 7)) if sha else False


def _timeline_svg(nodes: Sequence[tuple[str, str]]) -> str:
    colour = {"good": "#1a7f37", "bad": "#cf222e", "unknown": "#9a6700"}
    step = 26
    height = 20 + step * len(nodes)
    items = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" height="{height}" '
        f'viewBox="0 0 1100 {height}" aria-label="TDD timeline, oldest first">',
        f'<line x1="18" y1="16" x2="18" y2="{height - 14}" stroke="#d0d7de" stroke-width="3"/>',
    ]
    for n, (label, state) in enumerate(nodes):
        y = 16 + n * step
        text = label if len(label) <= 140 else label[:139] + "…"
        mark = "✗" if state == "bad" else ("?" if state == "unknown" else "✓")
        items.append(
            f'<circle cx="18" cy="{y}" r="8" fill="{colour[state]}" class="{state}"/>'
            f'<text x="34" y="{y + 4}" fill="{colour[state]}">{mark}</text>'
            f'<text x="50" y="{y + 4}" fill="#1f2328">{_e(text)}</text>'
        )
    items.append("</svg>")
    return "".join(items)


# --- changed files ----------------------------------------------------------------------
def _file_views(report: Report, changes: ChangeSet | None) -> dict[str, _FileView]:
    views: dict[str, _FileView] = {}
    if changes is not None:
        for change in sorted(changes.files, key=lambda c: c.path):
            views[change.path] = _FileView(change.path, change.status, change.lines, change.kind)
    for check in report.checks:
        if check.status is Status.SKIPPED:
            continue
        for finding in check.findings:
            if not finding.path or finding.line is None:
                continue
            view = views.get(finding.path)
            if view is None:
                if changes is not None:
                    continue  # not a changed file: listed in the findings above
                view = views[finding.path] = _FileView(finding.path, "", frozenset())
            end = finding.end_line if finding.end_line and finding.end_line >= finding.line else 0
            if finding.rule == "uncovered":
                view.uncovered.update(range(finding.line, max(end, finding.line) + 1))
            else:
                view.findings.setdefault(finding.line, []).append((check.id, finding))
    return views


def _files(
    report: Report,
    root: Path | None,
    changes: ChangeSet | None,
    coverage: CoverageLookup | None,
) -> str:
    views = _file_views(report, changes)
    out = ['<h2>Changed files</h2><div id="files">']
    if changes is None:
        out.append(
            '<p class="muted">The new code was not computed in this session (no item '
            "needed it), so only the files with findings are shown, around their findings.</p>"
        )
    coverage_item = report.get("coverage")
    judged = coverage_item is not None and coverage_item.status in (Status.PASSED, Status.FAILED)
    if coverage is None and not judged:
        out.append(
            '<p class="muted">Coverage was not measured: new lines are marked new, and '
            "uncovered only where a finding says so.</p>"
        )
    out.append(
        '<p class="legend"><span class="covered">✓ new, covered</span>'
        '<span class="uncovered">✗ new, not run by any test</span>'
        '<span class="finding">! finding</span><span class="new">+ new</span></p>'
    )
    if not views:
        out.append('<p class="muted">no changed files</p>')
    kinds = {"source": 0, "test": 1}

    def order(view: _FileView) -> tuple[bool, int, str]:
        # Files with something to fix first, then sources, tests and the rest, by path.
        return (not (view.findings or view.uncovered), kinds.get(view.kind, 2), view.path)

    for view in sorted(views.values(), key=order):
        out.append(_file(view, root, coverage, judged))
    out.append("</div>")
    return "\n".join(out)


def _read(root: Path | None, path: str) -> tuple[list[str] | None, str]:
    if root is None:
        return None, "the repository root is unknown"
    full = root / path
    try:
        if not full.is_file():
            return None, "not in the working tree (deleted or moved)"
        if full.stat().st_size > MAX_FILE_BYTES:
            return None, f"larger than {MAX_FILE_BYTES // 1024} KiB: not shown"
        data = full.read_bytes()
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if b"\0" in data[:8192]:
        return None, "binary: not shown"
    return data.decode("utf-8", errors="replace").splitlines(), ""


def _file(view: _FileView, root: Path | None, coverage: CoverageLookup | None, judged: bool) -> str:
    lines, problem = _read(root, view.path)
    measured = coverage(view.path) if coverage is not None else None
    state: dict[int, str] = {}
    for number in view.new_lines:
        if number in view.uncovered:
            state[number] = "uncovered"
        elif measured is not None:
            state[number] = measured.state(number) or "new"
        elif (
            coverage is None
            and judged
            and view.kind != "other"
            and _looks_executable(lines, number)
        ):
            state[number] = "covered"  # the coverage item judged it and did not flag it
        else:
            state[number] = "new"
    for number in view.uncovered:
        state[number] = "uncovered"
    for number in view.findings:
        state.setdefault(number, "finding")
        if state[number] in ("new", "covered"):
            state[number] = "finding"
    counts = {k: sum(1 for v in state.values() if v == k) for k in ("covered", "uncovered")}
    described = f"{len(view.new_lines)} new line(s)"
    if counts["covered"] or counts["uncovered"]:
        described += f": {counts['covered']} covered, {counts['uncovered']} uncovered"
    noted = sum(len(v) for v in view.findings.values())
    if noted:
        described += f", {noted} finding(s)"
    if coverage is not None and measured is None and view.new_lines and view.kind != "other":
        described += ", not measured by coverage"
    status = f"{view.status}, " if view.status else ""
    out = [
        f'<details open class="file"><summary><code>{_e(view.path)}</code> '
        f'<span class="muted">({_e(status)}{described})</span></summary>'
    ]
    if lines is None:
        out.append(f'<p class="muted">{_e(problem)}</p></details>')
        return "\n".join(out)
    interesting = set(state) | set(view.findings)
    shown = sorted(
        {
            n
            for k in interesting
            for n in range(k - CONTEXT, k + CONTEXT + 1)
            if 1 <= n <= len(lines)
        }
    )
    out.append('<div class="scroll"><table class="code">')
    previous = 0
    rows = 0
    for number in shown:
        if rows >= MAX_ROWS_PER_FILE:
            out.append(
                f'<tr class="gap"><td colspan="3">… {len(shown) - rows} more lines</td></tr>'
            )
            break
        if number != previous + 1:
            out.append('<tr class="gap"><td colspan="3">⋯</td></tr>')
        kind = state.get(number, "context")
        out.append(
            f'<tr class="{kind}" id="{_e(view.path)}-L{number}"><td class="n">{number}</td>'
            f'<td class="m">{_MARK[kind]}</td><td>{_e(lines[number - 1])}</td></tr>'
        )
        for check_id, finding in view.findings.get(number, []):
            out.append(
                f'<tr class="note"><td class="n"></td><td class="m">!</td>'
                f"<td>{_e(check_id)}: {_e(_finding_text(finding))}</td></tr>"
            )
        previous = number
    out.append("</table></div></details>")
    return "\n".join(out)


def _looks_executable(lines: Sequence[str] | None, number: int) -> bool:
    if lines is None or not 1 <= number <= len(lines):
        return False
    text = lines[number - 1].strip()
    return bool(text) and not text.startswith("#")


def write(
    report: Report,
    directory: Path,
    *,
    root: Path | None = None,
    changes: ChangeSet | None = None,
    coverage: CoverageLookup | None = None,
) -> Path:
    """Write ``directory/index.html`` (the directory is made if missing); its path."""
    from pytest_pbe.errors import ReportWriteError

    try:
        directory.mkdir(exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot create the HTML report directory {str(directory)!r}: "
            f"{exc.strerror or exc}; choose a writable path"
        ) from exc
    target = directory / "index.html"
    page = render(report, root=root, changes=changes, coverage=coverage)
    write_atomic(target, page, what="HTML report")
    return target
