"""Atomic file writes: a report is either the old file or the whole new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pytest_pbe.errors import ReportWriteError


def write_atomic(path: Path, data: str | bytes, *, what: str = "report") -> None:
    # A file name that is not UTF-8 reaches us as lone surrogates (os.fsdecode): written as
    # ``\udce9`` so that the report stays valid UTF-8 (and valid JSON) instead of crashing.
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot write the {what} to {str(path)!r}: {exc.strerror or exc}; "
            "choose a writable path"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportWriteError(
            f"cannot write the {what} to {str(path)!r}: {exc.strerror or exc}; "
            "choose a writable path"
        ) from exc
