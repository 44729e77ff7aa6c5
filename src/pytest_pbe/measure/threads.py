"""Threads of pytest-pbe's own, kept out of coverage.py's measurement."""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Collection
from types import FrameType
from typing import Any

#: Threads pytest-pbe starts that never run the tests' code (the background starters, the
#: tools' spawner, the parsing child's reader, the git tree reader). No tracer ever sees
#: them (``hide_from_tracers``); their children (mypy, ruff, bandit, the parsing child)
#: are nobody's leak and are never read, nor are the threads themselves ever blamed. Add
#: a thread before starting it: ``OWN_THREADS.add(thread)``.
OWN_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()

_MONITORING_TOOLS = range(6)  # sys.monitoring's tool ids (0-5)


def untraced() -> None:
    """Stop tracing the calling thread; call it first thing in a thread of our own.

    coverage.py traces every thread started after it (``threading.settrace``). Ours run no
    project code, so tracing them only slows them, and worse: the tracer, meeting a file
    for the first time after pytest changed ``sys.path``, re-finds the measured packages
    inside a window that drops modules imported meanwhile from ``sys.modules``; a thread of
    ours in that window can make a concurrent import of the project fail with a
    ``KeyError`` (coverage.py issue 2247). Until this first line runs, a new thread is
    traced, and its first call can open that window: ``hide_from_tracers`` makes sure it
    is never traced at all. The converse holds too: a thread of ours must not import a
    module for the first time while the traced main thread may open the window (a new
    module can vanish the same way), so whatever the background starts need is imported
    before they begin.
    """
    sys.settrace(None)
    sys.setprofile(None)


def hide_from_tracers(own: Collection[threading.Thread]) -> Callable[[], None]:
    """The trace hook ``threading`` gives new threads skips ``own``; returns the undo.

    coverage.py's hook (``threading.settrace``) installs its tracer at a new thread's
    first call, before any line of ours runs: wrapped, a thread of ours gets no tracer,
    not even for a moment, while every other thread gets coverage.py's as before.
    """
    hook = threading.gettrace()
    if hook is None:
        return lambda: None
    forward: Any = hook  # called with what it is called with

    def except_ours(frame: FrameType, event: str, arg: Any) -> Any:
        if threading.current_thread() in own:
            sys.settrace(None)
            return None
        return forward(frame, event, arg)

    threading.settrace(except_ours)

    def undo() -> None:
        if threading.gettrace() is except_ours:  # coverage.py may have set its own since
            threading.settrace(hook)

    return undo


def hidden_from_every_tracer() -> bool:
    """Whether ``hide_from_tracers`` keeps every tracer out of our threads.

    A ``sys.monitoring`` tool (coverage.py's sysmon core, Python 3.12+) sees every thread,
    whatever the trace hooks say.
    """
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return True
    return all(monitoring.get_tool(tool) is None for tool in _MONITORING_TOOLS)
