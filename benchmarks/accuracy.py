"""The tdd item's verdicts against hand-made labels of real public histories.

The corpus (``benchmarks/accuracy/corpus/*.json``) holds data only: for each repository,
ranges (base, head) and, for every non-merge commit of a range, the verdict a reviewer
gave it by reading the commit, with a one-line reason. No code of those projects is kept
here; this script clones each repository from a local mirror (``fetch`` puts one at
``/work/.mirror/<owner>+<name>/repo``; ``--mirrors`` names another place, or pass a
directory of clones named the same way), checks each range's head out in a temporary
directory and judges the range as the item would at that head.

Mapping: the projects' tests are not run here (their dependencies are not installed), so
units are mapped to tests by ``names`` (naming and imports), the item's fallback when a
session has no per-test coverage. Each run prints which mapping judged.

Figures printed, over all labelled commits and over the ``sure`` ones:

* accusation precision: of the commits judged a violation (untested, test-after), the
  share a reviewer labelled a violation;
* violation recall: of the commits labelled a violation, the share judged one;
* test-first precision: of the commits judged test-first, the share labelled test-first;
* precision and recall per verdict, and each disagreement with its label's reason.

Usage: python benchmarks/accuracy.py [--mirrors DIR] [--corpus DIR] [--only owner/name]
       [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from pytest_pbe.git import BaseRevision, Classifier, Repository, history
from pytest_pbe.tdd.judging import judge_range
from pytest_pbe.tdd.verdicts import VERDICTS

HERE = Path(__file__).parent
CORPUS = HERE / "accuracy" / "corpus"
MIRRORS = Path("/work/.mirror")
VIOLATIONS = frozenset({"test-after", "untested"})
SPARSE = ("*.py", "*.toml", "*.cfg", "*.ini")


@dataclass(frozen=True)
class Judged:
    repository: str
    sha: str
    subject: str
    expected: str
    got: str
    sure: bool
    reason: str
    mapping: str


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def mirror_of(mirrors: Path, repository: str) -> Path:
    name = repository.replace("/", "+")
    for candidate in (mirrors / name / "repo", mirrors / name):
        if (candidate / "HEAD").exists() or (candidate / ".git").exists():
            return candidate
    raise SystemExit(f"no mirror of {repository} under {mirrors}: fetch github:{repository}")


def testpaths_at(root: Path) -> tuple[str, ...]:
    """The project's pytest ``testpaths`` at the checked-out head, as pytest reads them."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        options = tomllib.loads(pyproject.read_text("utf-8"))
        found = options.get("tool", {}).get("pytest", {}).get("ini_options", {})
        if "testpaths" in found:
            value = found["testpaths"]
            return tuple(value.split() if isinstance(value, str) else value)
    for name, section in (
        ("pytest.ini", "pytest"),
        ("tox.ini", "pytest"),
        ("setup.cfg", "tool:pytest"),
    ):
        path = root / name
        if path.is_file():
            parser = ConfigParser(interpolation=None)
            parser.read(path, encoding="utf-8")
            if parser.has_option(section, "testpaths"):
                return tuple(parser.get(section, "testpaths").split())
    return ()


def judge_corpus_range(clone: Path, repository: str, block: dict[str, Any]) -> list[Judged]:
    head = block["head"]
    _git(clone, "checkout", "-q", "--force", "--detach", head)
    _git(clone, "clean", "-q", "-fdx")
    repo = Repository(clone)
    base_sha = block["base"]
    merge_base = _git(clone, "merge-base", base_sha, head)
    base = BaseRevision(ref=base_sha, sha=base_sha, merge_base=merge_base, source="option")
    classifier = Classifier(testpaths=testpaths_at(clone))
    commits = history(repo, base, include_uncommitted=False, classifier=classifier)
    judged = judge_range(repo, base, commits, classifier, rootdir=clone, coverage=None)
    by_sha = {v.commit.sha: v for v in judged.verdicts}
    out = []
    for label in block["commits"]:
        verdict = by_sha.get(label["sha"])
        if verdict is None:
            raise SystemExit(
                f"{repository} {label['sha'][:10]} is not in {base_sha[:10]}..{head[:10]}"
            )
        mapping = ",".join(sorted(verdict.mappings - {""})) or "-"
        out.append(
            Judged(
                repository, label["sha"], verdict.commit.subject, label["expected"],
                verdict.verdict, bool(label.get("sure", True)), label.get("reason", ""), mapping,
            )
        )  # fmt: skip
    return out


def judge_repository(mirrors: Path, corpus: dict[str, Any]) -> list[Judged]:
    repository = corpus["repository"]
    mirror = mirror_of(mirrors, repository)
    with tempfile.TemporaryDirectory(prefix="pbe-accuracy-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(
            ["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(clone)],
            check=True,
        )
        # Pull requests' own branches (refs/pull/N/head) keep the authors' commit order.
        _git(clone, "fetch", "-q", "origin", "+refs/pull/*:refs/pull/*")
        # Only what judging reads: a snapshot may lack its largest (binary) files.
        _git(clone, "sparse-checkout", "set", "--no-cone", *SPARSE)
        return [
            r for block in corpus["ranges"] for r in judge_corpus_range(clone, repository, block)
        ]


def _ratio(hits: int, total: int) -> str:
    return f"{hits / total:.2f} ({hits}/{total})" if total else "n/a (0/0)"


def figures(rows: Sequence[Judged]) -> dict[str, Any]:
    accused = [r for r in rows if r.got in VIOLATIONS]
    violating = [r for r in rows if r.expected in VIOLATIONS]
    first = [r for r in rows if r.got == "test-first"]
    per_verdict = {}
    for verdict in VERDICTS:
        got = [r for r in rows if r.got == verdict]
        expected = [r for r in rows if r.expected == verdict]
        per_verdict[verdict] = {
            "precision": _ratio(sum(r.expected == verdict for r in got), len(got)),
            "recall": _ratio(sum(r.got == verdict for r in expected), len(expected)),
        }
    return {
        "commits": len(rows),
        "repositories": len({r.repository for r in rows}),
        "accusation_precision": _ratio(
            sum(r.expected in VIOLATIONS for r in accused), len(accused)
        ),
        "violation_recall": _ratio(sum(r.got in VIOLATIONS for r in violating), len(violating)),
        "test_first_precision": _ratio(sum(r.expected == "test-first" for r in first), len(first)),
        "agreement": _ratio(sum(r.expected == r.got for r in rows), len(rows)),
        "per_verdict": per_verdict,
    }


def _print_figures(title: str, found: dict[str, Any]) -> None:
    print(f"\n{title}: {found['commits']} commits of {found['repositories']} repositories")
    for key in ("accusation_precision", "violation_recall", "test_first_precision", "agreement"):
        print(f"  {key.replace('_', ' '):<22} {found[key]}")
    for verdict, numbers in found["per_verdict"].items():
        print(f"  {verdict:<12} precision {numbers['precision']:<14} recall {numbers['recall']}")


def load(corpus_dir: Path, only: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(only)
    found = []
    for path in sorted(corpus_dir.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if not wanted or data["repository"] in wanted:
            found.append(data)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, default=MIRRORS)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", action="append", default=[], metavar="OWNER/NAME")
    parser.add_argument("--json", type=Path, help="write every row and the figures here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[Judged] = []
    for corpus in load(args.corpus, args.only):
        rows += judge_repository(args.mirrors, corpus)
    print(f"{'repository':<28} {'sha':<10} {'expected':<10} {'got':<10} mapping  reason")
    for r in rows:
        mark = " " if r.expected == r.got else "x"
        sure = "" if r.sure else " (unsure)"
        print(
            f"{mark} {r.repository:<26} {r.sha[:10]} {r.expected:<10} {r.got:<10} "
            f"{r.mapping:<8} {r.reason}{sure}"
        )
    everything = figures(rows)
    sure = figures([r for r in rows if r.sure])
    _print_figures("all labels", everything)
    _print_figures("sure labels", sure)
    print(f"\n({time.perf_counter() - started:.1f} s; mapping: names, the projects' tests not run)")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"rows": [r.__dict__ for r in rows], "all": everything, "sure": sure}, indent=2
            )
            + "\n",
            "utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
