"""``pytest_pbe_amend_results``, called one plugin at a time: stricter, never better.

A hook may add items and findings and make a built-in item's verdict stricter. Any other
change to a built-in item (a better status, a dropped finding or metric, ``required``
switched off, a rewritten summary under the same status, a result of another class) is
refused: the verdict before that hook stands, with a ``hook-refused`` finding naming the
plugin, and the report's notes say the same. A conftest.py is part of the change being
judged, so it must not be able to turn the checklist green. Items that third parties add
are theirs: hooks may change them freely.

Strictness, from best to worst: ``passed`` < ``skipped`` < ``failed`` < ``error``. A skip
claims no measurement, so ``passed -> skipped`` is allowed and ``skipped -> passed`` (a
pass nobody measured) is refused; ``error -> failed`` is refused, since it would claim
that an item that could not run was judged.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

import pytest
from pluggy import HookImpl

from pytest_pbe.config import BUILTIN_IDS
from pytest_pbe.model import CheckResult, Finding, Severity, Status

HOOK_NAME = "pytest_pbe_amend_results"
REFUSED_RULE = "hook-refused"

#: Worse verdicts rank higher; a hook may only move a built-in item up this scale.
STRICTNESS: dict[Status, int] = {
    Status.PASSED: 0,
    Status.SKIPPED: 1,
    Status.FAILED: 2,
    Status.ERROR: 3,
}


def amend_results(
    config: pytest.Config, results: Sequence[CheckResult]
) -> tuple[list[CheckResult], tuple[str, ...]]:
    """Run every amend hook in pluggy's order; the results, and a note per refusal."""
    current = list(results)
    notes: list[str] = []
    impls: list[HookImpl] = getattr(config.pluginmanager.hook, HOOK_NAME).get_hookimpls()
    plugins = [impl.plugin for impl in impls]
    # pluggy calls the last registered (and tryfirst) implementation first.
    for impl in _one_per_plugin(reversed(impls)):
        others = [plugin for plugin in plugins if plugin is not impl.plugin]
        caller = config.pluginmanager.subset_hook_caller(HOOK_NAME, others)
        # The hook gets copies: whatever it does to them (object.__setattr__ on a frozen
        # result, a metrics dict changed in place), the verdicts kept here are untouched.
        handed = copy.deepcopy(current)
        kept = copy.deepcopy(current)
        caller(config=config, results=handed)
        current, refused = judge_amendment(plugin_name(config, impl), kept, handed)
        notes.extend(refused)
    return current, tuple(notes)


def _one_per_plugin(impls: Iterable[HookImpl]) -> list[HookImpl]:
    seen: list[object] = []
    unique = []
    for impl in impls:
        if not any(plugin is impl.plugin for plugin in seen):
            seen.append(impl.plugin)
            unique.append(impl)
    return unique


def plugin_name(config: pytest.Config, impl: HookImpl) -> str:
    """The plugin's registered name; a conftest's path relative to the rootdir."""
    name = impl.plugin_name
    try:
        return Path(name).relative_to(config.rootpath).as_posix()
    except ValueError:
        return name


def judge_amendment(
    plugin: str,
    before: Sequence[CheckResult],
    after: Sequence[object],
    protected: Collection[str] = BUILTIN_IDS,
) -> tuple[list[CheckResult], list[str]]:
    """What one plugin's amendment leaves: built-ins judged, the rest as it returned them."""
    originals = _first_by_id(before, protected)
    out: list[CheckResult] = []
    notes: list[str] = []
    seen: set[str] = set()
    for entry in after:
        check_id = getattr(entry, "id", None)
        if not isinstance(check_id, str) or check_id not in originals:
            out.append(entry)  # type: ignore[arg-type]  # junk is dropped by the engine
            continue
        if check_id in seen:
            notes.append(_note(plugin, check_id, "add a second result for it"))
            continue
        seen.add(check_id)
        original = originals[check_id]
        reasons = refusals(original, entry)
        if reasons:
            out.append(_refused(plugin, original, reasons))
            notes.append(_note(plugin, check_id, "; ".join(reasons)))
        else:
            out.append(_plain(entry))  # type: ignore[arg-type]  # refusals() checked it
    for check_id, original in originals.items():
        if check_id not in seen:
            out.append(_removed(plugin, original))
            notes.append(_note(plugin, check_id, "remove it", outcome="it is an error"))
    return out, notes


def refusals(before: CheckResult, after: object) -> list[str]:
    """Why ``after`` would make the built-in verdict ``before`` better (empty: it does not)."""
    if type(after) is not CheckResult or not isinstance(after.status, Status):
        return [f"replace it with {type(after).__name__} {after!r:.80}"]
    reasons: list[str] = []
    stricter = STRICTNESS[after.status] > STRICTNESS[before.status]
    if STRICTNESS[after.status] < STRICTNESS[before.status]:
        reasons.append(f"improve its status from {before.status} to {after.status}")
    if after.title != before.title:
        reasons.append("change its title")
    if before.required and after.required is not True:
        reasons.append("make it not required")
    if _dropped(before.findings, after.findings):
        reasons.append("drop its findings")
    if _changed_metrics(before, after):
        reasons.append(f"change its metrics ({', '.join(_changed_metrics(before, after))})")
    # Under a stricter status the hook explains its own verdict; under the same one it
    # may only add to the item's words.
    if not stricter and not _extends(before, after):
        reasons.append("rewrite its summary or details")
    return reasons


def _first_by_id(results: Sequence[CheckResult], ids: Collection[str]) -> dict[str, CheckResult]:
    first: dict[str, CheckResult] = {}
    for result in results:
        if result.id in ids:
            first.setdefault(result.id, result)
    return first


def _dropped(before: Sequence[Finding], after: object) -> bool:
    if not isinstance(after, tuple) or not all(type(f) is Finding for f in after):
        return True
    return bool(Counter(before) - Counter(after))


def _changed_metrics(before: CheckResult, after: CheckResult) -> list[str]:
    metrics: object = after.metrics  # a hook can put anything there
    if not isinstance(metrics, Mapping):
        return ["all"]
    return [key for key, value in before.metrics.items() if metrics.get(key, ...) != value]


def _extends(before: CheckResult, after: CheckResult) -> bool:
    summary: object = after.summary  # a hook can put anything there
    details: object = after.details
    if not isinstance(summary, str) or not isinstance(details, tuple):
        return False
    return summary.startswith(before.summary) and details[: len(before.details)] == before.details


def _plain(result: CheckResult) -> CheckResult:
    """An exact CheckResult of its own copies: no later change reaches it through the hook."""
    return copy.deepcopy(result)


def _refused(plugin: str, before: CheckResult, reasons: list[str]) -> CheckResult:
    finding = Finding(
        f"{HOOK_NAME} in {plugin} tried to {'; '.join(reasons)}: refused, the built-in "
        "verdict stands",
        rule=REFUSED_RULE,
        severity=Severity.WARNING,
    )
    return dataclasses.replace(before, findings=(*before.findings, finding))


def _removed(plugin: str, before: CheckResult) -> CheckResult:
    return dataclasses.replace(
        before,
        status=Status.ERROR,
        summary=f"removed by a {HOOK_NAME} hook ({plugin}): not judged",
        findings=(
            *before.findings,
            Finding(f"{HOOK_NAME} in {plugin} removed this item", rule=REFUSED_RULE),
        ),
    )


def _note(
    plugin: str, check_id: str, attempt: str, outcome: str = "refused, the built-in verdict stands"
) -> str:
    return (
        f"{HOOK_NAME} in {plugin} tried to change built-in item {check_id} ({attempt}): {outcome}"
    )
