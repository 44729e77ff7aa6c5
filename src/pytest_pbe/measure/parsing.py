"""coverage.py's parse of the project's files, done in a child process while the tests run.

Which statements, exclusions and branches a file has depends only on its source and the
``exclude`` setting, not on what the tests ran; coverage.py finds them with its own parser
(tokenize, ast and the compiled code objects: about half a millisecond per small file).
Parsed at the end, in the pytest process, that is seconds on a large change. So a child
process parses them from the start of the session (the changed files first, then the rest
of the project's Python files, for the total), at a lower priority, on what is otherwise an
idle core, and sends back the state of coverage.py's own ``PythonParser`` objects (plain
sets and dicts, marshalled: several times faster to load than a pickle of the object).

The pytest process uses a parse only if the file is unchanged since (same size and
modification time) and the ``exclude`` setting is the same; anything else (not parsed yet,
a parse error, a dead child) is parsed in the pytest process as before, so the figures are
coverage.py's own either way. The child is ours: the same interpreter, started by us, its
output read from a pipe only we hold.
"""

from __future__ import annotations

import contextlib
import json
import marshal  # only ever loads what our own child process wrote to our pipe
import os
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import IO, Any

from pytest_pbe.measure.threads import untraced
from pytest_pbe.tools.process import dying_with_parent, tool_environment

_FACTORIES: dict[Any, str] = {list: "list", set: "set", dict: "dict", int: "int"}
_BY_NAME = {name: factory for factory, name in _FACTORIES.items()}
_HEADER = struct.Struct("!I")  # each frame: its length, the file name, the marshalled state


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)  # noqa: PTH116  # thousands of calls: no Path objects
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class ParsedAhead:
    """The child's parses as they arrive; ``take`` one, or None to parse it yourself."""

    def __init__(self, files: Iterable[str], *, exclude: str, branch: bool, first: int = 0) -> None:
        self.exclude = exclude
        self.branch = branch
        self.first = first  # how many of ``files`` come first (the changed ones)
        self._frames: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._files = list(files)  # real paths: coverage.py names files that way
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        if not self._files:
            return
        self._proc = subprocess.Popen(  # our own module, no shell
            dying_with_parent([sys.executable, "-m", "pytest_pbe.measure.parsing"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=tool_environment(os.environ),
            bufsize=_BATCH_BYTES,  # a batch in one read: one wake-up of the reader each
        )
        job = json.dumps(
            {
                "exclude": self.exclude,
                "branch": self.branch,
                "files": self._files,
                "first": self.first,
            }
        )
        self._reader = threading.Thread(
            target=self._talk, args=(self._proc, job.encode()), name="pbe-parse", daemon=True
        )
        from pytest_pbe.leakwatch.probes import OWN_THREADS  # not in the lean parsing child

        OWN_THREADS.add(self._reader)  # never runs the tests' code
        self._reader.start()

    def _talk(self, proc: subprocess.Popen[bytes], job: bytes) -> None:
        # In a thread: the pytest process never waits on the child's pipe.
        untraced()
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:  # pragma: no cover - both are pipes above
            return
        with contextlib.suppress(OSError):
            stdin.write(job)
            stdin.close()
        with contextlib.suppress(OSError, ValueError):
            for path, frame in _frames(stdout):
                with self._lock:
                    self._frames[path] = frame

    def take(self, path: str, exclude: str) -> Any:
        """coverage.py's parser of ``path`` if the child parsed this very content, else None."""
        if exclude != self.exclude:
            return None
        real = path  # coverage.py's file names are real paths already, like ours
        with self._lock:
            frame = self._frames.pop(real, None)
            if frame is None:
                real = os.path.realpath(path)
                frame = self._frames.pop(real, None)
        if frame is None:
            return None
        try:
            path_seen, key, state, defaults = marshal.loads(frame)  # noqa: S302  # nosec B302  # ours
        except Exception:  # noqa: BLE001  # a bad frame: parse it in-process instead
            return None
        if state is None or path_seen != real or key is None or key != _stat_key(real):
            return None
        from coverage.parser import PythonParser

        parser = PythonParser.__new__(PythonParser)
        parser.__dict__.update(state)
        for name, factory in defaults.items():
            setattr(parser, name, defaultdict(_BY_NAME[factory], state[name]))
        if self.branch:  # only branch analysis reads the text (coverage.py's partial regexes)
            from coverage.python import get_python_source

            try:
                parser.text = get_python_source(real)  # left out of the frame: read it back
            except Exception:  # noqa: BLE001  # unreadable now: the in-process parse says so
                return None
            if _stat_key(real) != key:
                return None
        return parser

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._frames.clear()


def _frames(stream: IO[bytes]) -> Iterable[tuple[str, bytes]]:
    while True:
        head = stream.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(head)
        name_size = stream.read(_HEADER.size)
        if len(name_size) < _HEADER.size:
            return
        name = stream.read(_HEADER.unpack(name_size)[0])
        frame = stream.read(size)
        if len(frame) < size:
            return
        yield os.fsdecode(name), frame


#: The child writes its frames in batches of about this size (or this often): each write
#: wakes the pytest process's reader thread, which takes the GIL from the tests.
_BATCH_BYTES = 1 << 20
_BATCH_SECONDS = 0.25


def _parse_all(job: dict[str, Any], out: IO[bytes]) -> None:
    from coverage.parser import PythonParser

    exclude = str(job["exclude"])
    branch = bool(job["branch"])
    first = int(job.get("first", 0))  # the changed files: sent as soon as they are parsed
    pending = bytearray()
    sent_at = time.monotonic()
    for index, path in enumerate(job["files"], start=1):
        key = _stat_key(path)
        parser: Any = None
        if key is not None:
            try:
                parser = PythonParser(filename=path, exclude=exclude)
                parser.parse_source()
                if branch:
                    parser.arcs()  # ... which also lets go of the syntax tree
                    parser.exit_counts()
                state = dict(vars(parser))
                state["text"] = None  # the pytest process reads it back: half the bytes
                state["_ast_root"] = None  # only arcs() reads it, done above when wanted
                # marshal knows plain dicts only: defaultdicts travel as dicts, named.
                defaults = {}
                for name, value in state.items():
                    if isinstance(value, defaultdict):
                        defaults[name] = _FACTORIES[value.default_factory]
                        state[name] = dict(value)
                frame = marshal.dumps((path, key, state, defaults))
            except Exception:  # noqa: BLE001  # the pytest process parses it and says why
                parser = None
        if parser is None:
            frame = marshal.dumps((path, key, None, {}))
        name = os.fsencode(path)
        pending += _HEADER.pack(len(frame)) + _HEADER.pack(len(name)) + name + frame
        now = time.monotonic()
        if index == first or len(pending) >= _BATCH_BYTES or now - sent_at >= _BATCH_SECONDS:
            out.write(pending)
            out.flush()
            pending.clear()
            sent_at = now
    if pending:
        out.write(pending)
        out.flush()


def main() -> int:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)  # the tests come first (the launcher did this already on Linux)
    job = json.loads(sys.stdin.buffer.read())
    with contextlib.suppress(BrokenPipeError):
        _parse_all(job, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
