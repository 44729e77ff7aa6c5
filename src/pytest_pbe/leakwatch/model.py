"""What a leak finding is, and how it travels in ``report.user_properties``."""

from __future__ import annotations

import json
from dataclasses import dataclass

#: The user property name under which each leak travels (one property per leak).
PROPERTY = "pbe_leak"
#: The pytest-xdist ``workeroutput`` key: how many tests a worker's watcher saw.
WATCHED_KEY = "pbe_leaks_watched"

KINDS = (
    "resource-warning",
    "unraisable",
    "thread-exception",
    "thread",
    "process",
    "fd",
    "coroutine",
    "task",
)


@dataclass(frozen=True)
class Leak:
    """One thing a test left behind."""

    kind: str  # one of KINDS
    what: str  # what was leaked, for a human
    origin: str | None = None  # where it was created, when Python can tell
    hint: str | None = None  # how to learn more (e.g. switch tracemalloc on)
    # The test it belongs to when that is not the test whose report carries it: a wider
    # fixture's leak surfaces at its teardown (after the module's last test) but belongs
    # to the test that set the fixture up.
    test: str | None = None

    def to_property(self) -> tuple[str, str]:
        """A ``(name, value)`` user property; the value is JSON text (junitxml-friendly)."""
        data = {
            "kind": self.kind,
            "what": self.what,
            "origin": self.origin,
            "hint": self.hint,
            "test": self.test,
        }
        return PROPERTY, json.dumps(data, sort_keys=True)

    @classmethod
    def from_property(cls, value: object) -> Leak:
        """Parse a property value written by :meth:`to_property`; ``ValueError`` if it isn't."""
        data = json.loads(value) if isinstance(value, str) else None
        kind = data.get("kind") if isinstance(data, dict) else None
        what = data.get("what") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(kind, str) or not isinstance(what, str):
            # ValueError like json's own: the caller handles every malformed record alike.
            raise ValueError(f"not a leak record: {str(value)[:80]!r}")  # noqa: TRY004
        origin, hint, test = data.get("origin"), data.get("hint"), data.get("test")
        return cls(
            kind=kind,
            what=what,
            origin=origin if isinstance(origin, str) else None,
            hint=hint if isinstance(hint, str) else None,
            test=test if isinstance(test, str) else None,
        )
