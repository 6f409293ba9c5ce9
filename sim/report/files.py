"""Writing outputs so that a crash never leaves a half-written file behind.

A write the file system refuses (a full disk, a read-only mount, a folder this user may not
write) is raised as `WriteRefused`, an OSError that names the file meant rather than its
temporary name, so that the commands can say which file and what was kept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Errors that come from the place written to, not from the program: the user can fix them
# (free space, another folder, permissions) and run the same command again.
REFUSED = frozenset(
    code
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM)
    if code is not None
)


class WriteRefused(OSError):
    """The file system refused to write `filename` (full, read-only, or not permitted)."""


def refused(error: BaseException) -> bool:
    """Whether an error is the file system refusing a write (see REFUSED)."""
    return isinstance(error, OSError) and error.errno in REFUSED


def reason(error: OSError) -> str:
    """The system's short wording for an error ("No space left on device"), whoever raised it.

    pyarrow, for one, puts its own words before the system's; the errno says the same in one phrase.
    """
    if error.errno is not None:
        return os.strerror(error.errno)
    return error.strerror or str(error) or type(error).__name__


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file beside `path`, then rename it into place in one step.

    If the file system refuses (see REFUSED), the temporary file is removed, `path` keeps what
    it held, and WriteRefused names `path`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        _raise_named(error, path)
        raise
    try:
        os.close(handle)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
        write(Path(temporary))
        os.replace(temporary, path)
    except OSError as error:
        _discard(Path(temporary))
        _raise_named(error, path)
        raise
    except BaseException:
        _discard(Path(temporary))
        raise


def _raise_named(error: OSError, path: Path) -> None:
    """Raise a refused write as WriteRefused naming `path`; return for any other error (re-raised as is)."""
    if refused(error) and not isinstance(error, WriteRefused):
        raise WriteRefused(error.errno, reason(error), str(path)) from error


def _discard(temporary: Path) -> None:
    """Remove a temporary file; a failure here must not hide the error that brought us here."""
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(path: Path, text: str) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")
