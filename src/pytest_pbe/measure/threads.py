"""Threads of pytest-pbe's own, kept out of coverage.py's measurement."""

from __future__ import annotations

import sys


def untraced() -> None:
    """Stop tracing the calling thread; call it first thing in a thread of our own.

    coverage.py traces every thread started after it (``threading.settrace``). Ours run no
    project code, so tracing them only slows them, and worse: the tracer, meeting a file
    for the first time after pytest changed ``sys.path``, re-finds the measured packages
    inside a window that drops modules imported meanwhile from ``sys.modules``; a thread of
    ours in that window can make a concurrent import of the project fail with a
    ``KeyError`` (coverage.py issue 2247). Until this first line runs, a new thread is
    traced, and its first call into a file coverage.py has not seen yet can open that
    window: so the background starts end before collection (engine). The converse holds
    too: a thread of ours must not import a module for the first time while the traced
    main thread may open the window (a new module can vanish the same way), so whatever
    the background starts need is imported before they begin.
    """
    sys.settrace(None)
    sys.setprofile(None)
