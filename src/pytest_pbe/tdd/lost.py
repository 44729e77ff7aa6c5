"""Tests the range deleted or emptied: the code they exercised is judged without them.

A test function of the merge base that is gone by the end (its file deleted or emptied
too), or that no longer uses a name it used, has *lost* those names. The end's mappings
cannot see it any more, and the ``names`` mapping would hand its unit to the other tests
of the same file: an agent that deletes the only test of a function it breaks would get
"refactor". So a changed unit that a lost test used (same naming and import rules as the
``names`` mapping) is named by a finding, and under ``names`` only the tests that still
use the unit's name count for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pytest_pbe.tdd.mapping import names_module, unit_names
from pytest_pbe.tdd.source import MODULE, Outline


@dataclass(frozen=True)
class LostTest:
    path: str  # the test file, as named at the merge base
    qualname: str
    deleted: bool  # gone by the end (else it lost some of the names it used)
    lost: frozenset[str]  # names it used at the merge base and no longer does
    imports: frozenset[str]  # what its file imported at the merge base

    def exercised(self, head_path: str, unit: str) -> bool:
        """Whether this test, as it was, exercised ``unit`` of ``head_path``."""
        if not names_module(self.path, self.imports, head_path):
            return False
        if unit == MODULE:
            return self.deleted
        return bool(unit_names(unit) & self.lost)

    def describe(self) -> str:
        what = "was deleted" if self.deleted else f"no longer uses {', '.join(sorted(self.lost))}"
        return f"{self.path}::{self.qualname} {what}"


def lost_tests(
    base_outlines: Mapping[str, Outline], end_outline: Callable[[str], Outline | None]
) -> list[LostTest]:
    """``base_outlines``: test files of the merge base the range touched, by path, each
    with ``end_outline`` giving the same file at the end (its final name; None: gone)."""
    out: list[LostTest] = []
    for path, base in base_outlines.items():
        end = end_outline(path)
        end_tests = {t.qualname for t in end.test_functions()} if end is not None else set()
        end_mentions = end.mentions if end is not None else {}
        for test in base.test_functions():
            used = base.mentions.get(test.qualname, frozenset())
            deleted = test.qualname not in end_tests
            gone = used if deleted else used - end_mentions.get(test.qualname, frozenset())
            if deleted or gone:
                out.append(LostTest(path, test.qualname, deleted, gone, base.imports))
    return out
