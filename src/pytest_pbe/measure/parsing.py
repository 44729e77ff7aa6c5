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

After the tests the child also computes the total's figures, on the second core while the
pytest process judges the other items: the pytest process sends each measured file's
executed lines (or arcs) as coverage.py's ``CoverageData`` gives them (``ask_numbers``), and
the child keeps its parsers, re-checks each file's size and modification time, and answers
coverage.py's own ``Numbers`` of the file (``analysis_from_file_reporter`` on a
``PythonFileReporter`` whose parser is the child's). Whatever it does not answer (not parsed,
changed since, an error, a dead child) the pytest process analyses itself, as before.
A file's figures depend only on its bytes, what of it ran and a few settings: they are kept
in the parse cache too, keyed by a hash of all three, since the tests of an unchanged file
usually run the same lines again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import marshal  # only ever loads what our own child process wrote to our pipe
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from pytest_pbe.measure.collected import CollectedData
from pytest_pbe.measure.threads import OWN_THREADS, untraced
from pytest_pbe.tools.process import spawn, tool_environment

_FACTORIES: dict[Any, str] = {list: "list", set: "set", dict: "dict", int: "int"}
_BY_NAME = {name: factory for factory, name in _FACTORIES.items()}
_HEADER = struct.Struct("!I")  # each frame: its length, the file name, the marshalled state
#: Frames of the child that are no file's parse (a path never holds a NUL character).
_NUMBERS = "\0numbers"  # (coverage.py's version, [(name, Numbers' fields), ...])
_ANSWERED = "\0answered"  # every answer of the child is sent


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)  # noqa: PTH116  # thousands of calls: no Path objects
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class ParsedAhead:
    """The child's parses as they arrive; ``take`` one, or None to parse it yourself.

    After the tests, ``ask_numbers`` has the child compute the measured files' figures;
    ``numbers`` gives one file's, or None to analyse it yourself.
    """

    def __init__(self, files: Iterable[str], *, exclude: str, branch: bool, first: int = 0) -> None:
        self.exclude = exclude
        self.branch = branch
        self.first = first  # how many of ``files`` come first (the changed ones)
        self._frames: dict[str, bytes] = {}
        self._numbers: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._files = list(files)  # real paths: coverage.py names files that way
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._outbox: queue.SimpleQueue[bytes | None] | None = None
        self._job_sent = threading.Event()  # the writer's messages go after the parse job
        self._answered = threading.Event()

    def changed_files(self) -> frozenset[str]:
        """The files parsed first (the changed ones), as given."""
        return frozenset(self._files[: self.first])

    def start(self) -> None:
        if not self._files:
            return
        self._proc = spawn(  # our own module, no shell, at the lowest priority
            [sys.executable, "-m", "pytest_pbe.measure.parsing"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=tool_environment(os.environ),
            bufsize=_BATCH_BYTES,  # a batch in one read: one wake-up of the reader each
        )
        job = {
            "exclude": self.exclude,
            "branch": self.branch,
            "files": self._files,
            "first": self.first,
        }
        self._reader = threading.Thread(
            target=self._talk,
            args=(self._proc, _message("parse", job)),
            name="pbe-parse",
            daemon=True,
        )
        OWN_THREADS.add(self._reader)  # never runs the tests' code
        self._reader.start()

    def _talk(self, proc: subprocess.Popen[bytes], job: bytes) -> None:
        # In a thread: the pytest process never waits on the child's pipe.
        untraced()
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:  # pragma: no cover - both are pipes above
            return
        try:
            with contextlib.suppress(OSError, ValueError):
                stdin.write(job)
                stdin.flush()
        finally:
            self._job_sent.set()
        with contextlib.suppress(OSError, ValueError):
            for path, frame in _frames(stdout):
                if path == _NUMBERS:
                    self._receive(frame)
                elif path == _ANSWERED:
                    self._answered.set()
                else:
                    with self._lock:
                        self._frames[path] = frame

    def _receive(self, frame: bytes) -> None:
        import coverage

        try:
            version, answers = marshal.loads(frame)  # noqa: S302  # nosec B302  # ours
        except Exception:  # noqa: BLE001  # a bad frame: those files are analysed in-process
            return
        if version != coverage.__version__:  # another coverage.py's figures: never used
            return
        with self._lock:
            self._numbers.update(answers)

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
        return _rebuilt(real, key, state, defaults, branch=self.branch)

    def ask_numbers(self, request: Mapping[str, Any], files: Iterable[tuple[str, Any]]) -> bool:
        """Have the child compute coverage.py's ``Numbers`` of these measured files.

        ``request``: ``exclude``, ``precision``, ``has_arcs``, ``partial_list`` and
        ``partial_always_list`` as the data and coverage.py's configuration have them;
        ``files``: each file's name in the data and its executed lines (arcs with
        ``has_arcs``) as the data gives them, read here as the child is sent them. False
        (nothing read) when there is no live child to ask.
        """
        proc = self._proc
        if proc is None or self._outbox is not None or proc.poll() is not None:
            return False
        if request.get("exclude") != self.exclude or bool(request.get("has_arcs")) != self.branch:
            return False
        outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._outbox = outbox
        self._writer = threading.Thread(
            target=self._write, args=(proc, outbox), name="pbe-parse-ask", daemon=True
        )
        OWN_THREADS.add(self._writer)
        self._writer.start()
        outbox.put(_message("numbers", dict(request)))
        chunk: list[tuple[str, Any]] = []
        try:
            for item in files:
                chunk.append(item)
                if len(chunk) == _CHUNK:
                    outbox.put(_message("files", chunk))
                    chunk = []
            if chunk:
                outbox.put(_message("files", chunk))
        finally:  # the child answers what it was sent, and ends
            outbox.put(_message("end", None))
            outbox.put(None)
        return True

    def _write(
        self, proc: subprocess.Popen[bytes], outbox: queue.SimpleQueue[bytes | None]
    ) -> None:
        # In a thread: a busy child never holds up the pytest process.
        untraced()
        self._job_sent.wait()
        stdin = proc.stdin
        if stdin is None:  # pragma: no cover - a pipe above
            return
        with contextlib.suppress(OSError, ValueError):
            for message in iter(outbox.get, None):
                stdin.write(message)
                stdin.flush()
            stdin.close()

    def numbers(self, name: str) -> Any:
        """coverage.py's ``Numbers`` of the measured file ``name`` if the child computed them."""
        with self._lock:
            fields = self._numbers.pop(name, None)
        if fields is None:
            return None
        from coverage.results import Numbers

        try:
            return Numbers(**fields)
        except Exception:  # noqa: BLE001  # not this coverage.py's fields: analyse it here
            return None

    def answered(self) -> bool:
        """True once the child has sent every answer it will send."""
        return self._answered.is_set()

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
        if self._outbox is not None:
            self._outbox.put(None)
        for thread in (self._reader, self._writer):
            if thread is not None:
                thread.join(timeout=5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with self._lock:
            self._frames.clear()
            self._numbers.clear()


def _message(kind: str, body: Any) -> bytes:
    """One message to the child: its length, then ``(kind, body)`` marshalled."""
    payload = marshal.dumps((kind, body))
    return _HEADER.pack(len(payload)) + payload


def _read_message(stream: IO[bytes]) -> tuple[str, Any] | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    kind, body = marshal.loads(payload)  # noqa: S302  # nosec B302  # from our parent
    return str(kind), body


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


def _frame(name: str, frame: bytes) -> bytes:
    encoded = os.fsencode(name)
    return _HEADER.pack(len(frame)) + _HEADER.pack(len(encoded)) + encoded + frame


#: The child writes its frames in batches of about this size (or this often): each write
#: wakes the pytest process's reader thread, which takes the GIL from the tests.
_BATCH_BYTES = 1 << 20
_BATCH_SECONDS = 0.25
#: The pytest process sends the executed lines this many files at a time; the child
#: answers at least this often (the pytest process is judging, not running tests, then).
_CHUNK = 16
_ANSWER_SECONDS = 0.005
#: The child keeps its parsers (for the figures after the tests) up to this much source;
#: past it, a file it is asked about is parsed again.
_KEEP_BYTES = 32 << 20


class _Parsed:
    """What the child parsed: its parsers (with the stat key they were parsed at)."""

    def __init__(self, job: Mapping[str, Any]) -> None:
        self.exclude = str(job["exclude"])
        self.branch = bool(job["branch"])
        self.listed = frozenset(job["files"])
        # path -> (stat key, parser or cached state, digest of the bytes parsed or None)
        self.kept: dict[str, tuple[tuple[int, int], Any, bytes | None]] = {}
        self.failed: set[str] = set()
        self.kept_bytes = 0
        self.cache = _ParseCache(self.exclude, branch=self.branch)

    def keep(self, path: str, key: tuple[int, int], parsed: Any, content: bytes | None) -> None:
        """Keep a parser, or a cached ``(state, defaults)`` to rebuild one from."""
        size = key[0]
        if self.kept_bytes + size <= _KEEP_BYTES:
            self.kept[path] = (key, parsed, content)
            self.kept_bytes += size

    def content_of(self, path: str) -> bytes | None:
        """The digest of the bytes ``path`` was parsed from, if it is unchanged since."""
        entry = self.kept.get(path)
        if entry is None or entry[2] is None or _stat_key(path) != entry[0]:
            return None
        return entry[2]

    def parser_of(self, path: str) -> Any:
        """The parser of this very content of ``path``, parsing it now if it was not kept."""
        entry = self.kept.get(path)
        if entry is None:
            if path not in self.listed or path in self.failed:
                return None  # not ours to parse, or it did not parse: the pytest process's
            key = _stat_key(path)
            if key is None:
                return None
            state, defaults, parser, content = self.cache.parse(path)
            entry = (key, parser if parser is not None else (state, defaults), content)
        key, parser, _ = entry
        if isinstance(parser, tuple):  # from the cache: rebuilt as the pytest process does
            state, defaults = parser
            parser = _rebuilt(path, key, state, defaults, branch=self.branch)
        return parser if parser is not None and _stat_key(path) == key else None


def _parse(path: str, exclude: str, *, branch: bool) -> Any:
    from coverage.parser import PythonParser

    parser = PythonParser(filename=path, exclude=exclude)
    parser.parse_source()
    if branch:
        parser.arcs()  # ... which also lets go of the syntax tree
        parser.exit_counts()
    return parser


def _state_of(parser: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A parser's state as plain marshallable values, and which were defaultdicts."""
    state = dict(vars(parser))
    state["text"] = None  # read back where needed: half the bytes
    state["_ast_root"] = None  # only arcs() reads it, done when wanted
    # marshal knows plain dicts only: defaultdicts travel as dicts, named.
    defaults = {}
    for name, value in state.items():
        if isinstance(value, defaultdict):
            defaults[name] = _FACTORIES[value.default_factory]
            state[name] = dict(value)
    return state, defaults


def _rebuilt(
    path: str,
    key: tuple[int, int],
    state: dict[str, Any],
    defaults: dict[str, str],
    *,
    branch: bool,
) -> Any:
    """coverage.py's parser from ``_state_of``'s state, or None if ``path`` changed since."""
    from coverage.parser import PythonParser

    parser = PythonParser.__new__(PythonParser)
    parser.__dict__.update(state)
    for name, factory in defaults.items():
        setattr(parser, name, defaultdict(_BY_NAME[factory], state[name]))
    if branch:  # only branch analysis reads the text (coverage.py's partial regexes)
        from coverage.python import get_python_source

        try:
            parser.text = get_python_source(path)  # left out of the state: read it back
        except Exception:  # noqa: BLE001  # unreadable now: the in-process parse says so
            return None
        if _stat_key(path) != key:
            return None
    return parser


#: Bump when what a cache entry holds changes.
_CACHE_FORMAT = 1
_CACHE_DAYS = 14  # entries unused this long are removed (at most one sweep a day)


def _cache_root() -> Path | None:
    """The user's cache directory for pytest-pbe (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not Path(base).is_absolute():
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no home directory: no cache
            return None
    return Path(base) / "pytest-pbe" / "coverage-parses"


class _ParseCache:
    """coverage.py's parse of a file's exact content, kept across sessions.

    Like mypy's cache, so that a second run on an unchanged tree does not parse again: an
    entry per file path holds the parse and the hash of what it was made from (the file's
    bytes, coverage.py's and Python's versions, the ``exclude`` setting, branch or not),
    and is used only when the hash of the file's bytes now matches. It lives in the user's
    cache directory, not in the project, so that no repository can bring its own entries.
    Any failure (unwritable, damaged, a race with an edit) means parsing as before.
    """

    def __init__(self, exclude: str, *, branch: bool) -> None:
        import coverage

        self.exclude = exclude
        self.branch = branch
        self.root = _cache_root()
        salt = f"{_CACHE_FORMAT}\0{coverage.__version__}\0{sys.version}\0{branch}\0{exclude}"
        self._salt = salt.encode("utf-8", "surrogateescape") + b"\0"
        self._ready: bool | None = None

    def _content_key(self, path: str) -> bytes | None:
        import hashlib

        try:
            with open(path, "rb") as source:  # noqa: PTH123  # thousands of files
                data = source.read()
        except OSError:
            return None
        return hashlib.blake2b(self._salt + data, digest_size=20).digest()

    def _entry(self, path: str) -> Path | None:
        import hashlib

        if self.root is None:
            return None
        name = hashlib.blake2b(os.fsencode(path), digest_size=16).hexdigest()
        return self.root / name[:2] / name[2:]

    def parse(self, path: str) -> tuple[Any, Any, Any, bytes | None]:
        """``(state, defaults, parser, digest)`` of ``path``; parser None if from the cache.

        The digest is the hash of the bytes parsed (None when they could not be hashed).
        """
        content = self._content_key(path)
        entry = self._entry(path)
        if content is not None and entry is not None:
            try:
                stored, state, defaults = marshal.loads(entry.read_bytes())  # noqa: S302  # nosec B302  # ours, keyed
            except Exception:  # noqa: BLE001,S110  # missing or damaged: parse it  # nosec B110
                pass
            else:
                if stored == content and isinstance(state, dict) and isinstance(defaults, dict):
                    with contextlib.suppress(OSError):
                        os.utime(entry)  # in use: kept by the sweep
                    return state, defaults, None, content
        parser = _parse(path, self.exclude, branch=self.branch)
        state, defaults = _state_of(parser)
        # Stored only if the bytes are still those hashed: an edit meanwhile is parsed again.
        if content is not None and entry is not None and self._content_key(path) == content:
            self._store(entry, marshal.dumps((content, state, defaults)))
            return state, defaults, parser, content
        return state, defaults, parser, None

    def _numbers_entry(self, path: str) -> Path | None:
        entry = self._entry(path)
        return entry.with_name(entry.name + ".numbers") if entry is not None else None

    def numbers(self, path: str, key: bytes) -> dict[str, int] | None:
        """The ``Numbers`` fields stored for ``path`` under ``key`` (see ``_numbers_of``)."""
        entry = self._numbers_entry(path)
        if entry is None:
            return None
        try:
            stored, fields = marshal.loads(entry.read_bytes())  # noqa: S302  # nosec B302  # ours, keyed
        except Exception:  # noqa: BLE001  # missing or damaged: computed again
            return None
        if stored != key or not isinstance(fields, dict):
            return None
        with contextlib.suppress(OSError):
            os.utime(entry)  # in use: kept by the sweep
        return fields

    def store_numbers(self, path: str, key: bytes, fields: dict[str, int]) -> None:
        entry = self._numbers_entry(path)
        if entry is not None:
            self._store(entry, marshal.dumps((key, fields)))

    def _store(self, entry: Path, blob: bytes) -> None:
        if not self._prepared():
            return
        temporary = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        try:
            entry.parent.mkdir(exist_ok=True)
            temporary.write_bytes(blob)
            temporary.replace(entry)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()

    def _prepared(self) -> bool:
        if self._ready is None:
            self._ready = False
            if self.root is not None:
                with contextlib.suppress(OSError):
                    self.root.mkdir(parents=True, exist_ok=True)
                    _sweep(self.root)
                    self._ready = True
        return self._ready


def _sweep(root: Path) -> None:
    """Remove the cache entries unused for ``_CACHE_DAYS``; at most once a day."""
    stamp = root / ".swept"
    now = time.time()
    with contextlib.suppress(OSError):
        if now - stamp.stat().st_mtime < 86400:
            return
    stamp.touch()
    for entry in root.glob("*/*"):
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime > _CACHE_DAYS * 86400:
                entry.unlink()


def _parse_all(
    job: dict[str, Any], out: IO[bytes], stop: Callable[[], bool] | None = None
) -> _Parsed:
    """Parse the job's files in order, sending each parse; until ``stop()`` says so."""
    parsed = _Parsed(job)
    cache = parsed.cache
    first = int(job.get("first", 0))  # the changed files: sent as soon as they are parsed
    pending = bytearray()
    sent_at = time.monotonic()
    for index, path in enumerate(job["files"], start=1):
        if stop is not None and index > first and stop():
            break  # the tests are over: the figures come first now
        key = _stat_key(path)
        kept: Any = None
        content: bytes | None = None
        if key is not None:
            try:
                state, defaults, parser, content = cache.parse(path)
                frame = marshal.dumps((path, key, state, defaults))
                kept = parser if parser is not None else (state, defaults)
            except Exception:  # noqa: BLE001  # the pytest process parses it and says why
                kept = None
        if kept is None or key is None:  # unreadable, or it did not parse
            parsed.failed.add(path)
            frame = marshal.dumps((path, key, None, {}))
        else:
            parsed.keep(path, key, kept, content)
        pending += _frame(path, frame)
        now = time.monotonic()
        if index == first or len(pending) >= _BATCH_BYTES or now - sent_at >= _BATCH_SECONDS:
            out.write(pending)
            out.flush()
            pending.clear()
            sent_at = now
    if pending:
        out.write(pending)
        out.flush()
    return parsed


class _Config:
    """The parts of coverage.py's configuration a ``PythonFileReporter`` reads here."""

    relative_files = False  # the pytest process asks about absolute file names only

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.partial_list = list(request["partial_list"])
        self.partial_always_list = list(request["partial_always_list"])


class _Coverage:
    def __init__(self, config: _Config) -> None:
        self.config = config


def _answer(parsed: _Parsed, inbox: queue.Queue[tuple[str, Any] | None], out: IO[bytes]) -> None:
    """Answer the pytest process's request with each file's ``Numbers`` fields."""
    message = inbox.get()
    if message is None or message[0] != "numbers":
        return
    request = message[1]
    import coverage
    import coverage.results

    if not hasattr(coverage.results, "analysis_from_file_reporter"):
        # An older coverage.py: the pytest process analyses every file.
        out.write(_frame(_ANSWERED, b""))
        out.flush()
        return
    has_arcs = bool(request["has_arcs"])
    packed = bool(request.get("packed"))  # arcs as CTracer packs them (``measure.collected``)
    usable = request.get("exclude") == parsed.exclude and has_arcs == parsed.branch
    shim = _Coverage(_Config(request))
    precision = int(request["precision"])
    # What else the figures depend on, beside what the parse's digest covers (the file's
    # bytes, coverage.py's version, branch or not) and what ran of the file.
    settings = marshal.dumps((precision, shim.config.partial_list, shim.config.partial_always_list))
    pending: list[tuple[str, dict[str, int]]] = []
    sent_at = time.monotonic()

    def send() -> None:
        nonlocal sent_at
        if pending:
            out.write(_frame(_NUMBERS, marshal.dumps((coverage.__version__, pending))))
            out.flush()
            pending.clear()
        sent_at = time.monotonic()

    while True:
        if inbox.empty():
            send()  # before waiting for more: the pytest process may be waiting for these
        message = inbox.get()
        if message is None or message[0] != "files":
            break
        for name, executed in message[1] if usable else ():
            # The data shim: what coverage.py's ``CoverageData`` gave the pytest process.
            data = CollectedData(
                {} if executed is None else {name: executed}, has_arcs=has_arcs, packed=packed
            )
            ran = marshal.dumps(None if executed is None else sorted(executed))
            fields = _numbers_of(name, parsed, shim, data, precision, settings + ran)
            if fields is not None:
                pending.append((name, fields))
                if time.monotonic() - sent_at >= _ANSWER_SECONDS:
                    send()
    send()
    out.write(_frame(_ANSWERED, b""))
    out.flush()


def _numbers_of(
    name: str, parsed: _Parsed, shim: _Coverage, data: CollectedData, precision: int, inputs: bytes
) -> dict[str, int] | None:
    """coverage.py's ``Numbers`` fields of one measured file, or None to leave it.

    Kept across sessions beside the file's parse: a file's figures depend only on its
    bytes and ``inputs`` (the settings and what of it ran), so an entry keyed by the hash
    of both is exact (the tests of an unchanged tree usually run the same lines again).
    """
    import hashlib

    from coverage.python import PythonFileReporter
    from coverage.results import analysis_from_file_reporter

    try:
        reporter = PythonFileReporter(name, shim)  # type: ignore[arg-type]
        path = reporter.filename
        content = parsed.content_of(path)
        key = None
        if content is not None:
            key = hashlib.blake2b(content + inputs, digest_size=20).digest()
            stored = parsed.cache.numbers(path, key)
            if stored is not None:
                return stored
        parser = parsed.parser_of(path)
        if parser is None:
            return None
        reporter._parser = parser  # the child's parse of this very content
        numbers = analysis_from_file_reporter(
            data,  # type: ignore[arg-type]
            precision,
            reporter,
            name,
        ).numbers
    except Exception:  # noqa: BLE001  # the pytest process analyses it and says why
        return None
    fields = {f.name: getattr(numbers, f.name) for f in dataclasses.fields(numbers)}
    if key is not None and parsed.content_of(path) == content:  # unchanged while analysed
        parsed.cache.store_numbers(path, key, fields)
    return fields


def _inbox(stream: IO[bytes]) -> queue.Queue[tuple[str, Any] | None]:
    """The parent's further messages, read in a thread as they come (None: no more)."""
    inbox: queue.Queue[tuple[str, Any] | None] = queue.Queue()

    def read() -> None:
        with contextlib.suppress(Exception):  # a broken pipe: the same as its end
            while (message := _read_message(stream)) is not None:
                inbox.put(message)
        inbox.put(None)

    threading.Thread(target=read, name="pbe-parse-inbox", daemon=True).start()
    return inbox


def main() -> int:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)  # the tests come first (the spawner did this already on Linux)
    stdin = sys.stdin.buffer
    message = _read_message(stdin)
    if message is None or message[0] != "parse":
        return 0
    inbox = _inbox(stdin)
    with contextlib.suppress(BrokenPipeError):
        parsed = _parse_all(message[1], sys.stdout.buffer, stop=lambda: not inbox.empty())
        _answer(parsed, inbox, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
