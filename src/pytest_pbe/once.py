"""Values computed once per key, safely from several threads.

The git facts of a session are asked for by the background starts at once: a thread asking
for a fact another is computing waits for that single computation, while other facts are
computed beside it (one lock per key; a fact only asks for the facts it derives from, so
the locks are always taken in one order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class OncePerKey:
    """``get(key, compute)``: ``compute()`` the first time, the kept value after.

    Exceptions of the ``remember`` types are kept too and raised again to every later
    asker (a failed git question is not asked twice); any other is raised and not kept.
    """

    def __init__(self, *, remember: tuple[type[BaseException], ...] = ()) -> None:
        self._remember = remember
        self._values: dict[str, object] = {}
        self._lock = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    def _lock_of(self, key: str) -> threading.RLock:
        with self._lock:
            return self._locks.setdefault(key, threading.RLock())

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock_of(key):
            if key not in self._values:
                try:
                    self._values[key] = compute()
                except self._remember as exc:
                    self._values[key] = _Failed(exc)
            value = self._values[key]
        if isinstance(value, _Failed):
            raise value.error
        return value  # type: ignore[return-value]

    def put(self, key: str, value: object) -> None:
        """Keep ``value`` as known already (read beside another answer)."""
        with self._lock_of(key):
            self._values[key] = value

    def forget(self, key: str) -> None:
        """The next ``get`` computes the value afresh."""
        with self._lock_of(key):
            self._values.pop(key, None)
