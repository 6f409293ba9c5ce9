"""Output folders that are checked before a run, locked while written, and replaced whole.

`sim run`, `sim whatif` and `sim analyze` write a set of files that belong together. The set is written
into a hidden sibling folder and then swapped with the output folder in one step
(rename(2) with RENAME_EXCHANGE on Linux; two renames elsewhere, undone on the next use if
interrupted between them). So the folder always holds one complete set, the previous or
the new one, whatever moment a process is killed at. A lock file beside the folder keeps
two processes from writing one folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sim.report.files import reason, refused

T = TypeVar("T")
MAX_NAME_BYTES = 255
STAGING = "staging"
RETIRED = "old"


class OutputConflict(Exception):
    """The output folder cannot take these results (another scenario's, in use, not writable)."""


@dataclass(frozen=True)
class Identity:
    """What a set of outputs is of: its marker file, the key holding its hash, and the hash.

    `name` is for messages only: two sets are the same when their hashes are. A folder
    holding every file of `earlier` but no marker is a set of this kind whose identity is
    unknown: replaced only with `replace`.
    """

    marker: str
    key: str
    value: str
    name: str
    earlier: tuple[str, ...] = ()  # files that all mark a set written before the marker existed


@dataclass
class Claim:
    """An output folder this process holds the lock of, ready to take a complete set of files."""

    folder: Path
    lock: int

    def commit(self, write: Callable[[Path], T]) -> T:
        """Write the set into a fresh hidden sibling with `write(folder)`, then swap it into place."""
        try:
            staging = Path(tempfile.mkdtemp(prefix=_hidden(self.folder, STAGING), dir=self.folder.parent))
        except OSError as error:
            raise OutputConflict(f"cannot write in {self.folder.parent}: {error.strerror}") from None
        try:
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; outputs are ordinary folders
            written = write(staging)
            _retarget(written, staging, self.folder)
            _install(staging, self.folder)
        except OSError as error:
            why = reason(error)
            raise OutputConflict(f"cannot write {self.folder}: {why}; what it held before is unchanged") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return written


@contextlib.contextmanager
def claimed_folder(
    folder: Path, identity: Identity, replace: bool = False, belongs_to: Path | None = None
) -> Iterator[Claim]:
    """Check `folder` before any work, lock it, and yield a Claim; the lock ends with the block.

    Refused (OutputConflict): a path whose name cannot be a folder, a folder below a file, a
    dangling symbolic link, a folder that cannot be written, a folder inside another
    run's outputs (other than `belongs_to`, e.g. the sweep an analysis is of), a non-empty
    folder holding no outputs of this kind, another process writing it, and (unless
    `replace`) outputs of something else, compared by hash.
    """
    folder = _target(folder)
    _check_parents(folder, None if belongs_to is None else _target(belongs_to))
    lock = _lock(folder)
    try:
        _recover(folder)
        _check_contents(folder, identity, replace)
        yield Claim(folder, lock)
    finally:
        _unlock(folder, lock)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[Path]:
    """Hold the folder's lock for the block (for folders written in place, like a sweep's).

    While it is held no other process writes the folder, so temporary `.part` files found
    there belong to a process that died: they are removed on entry.
    """
    folder = _target(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputConflict(f"cannot create {folder.parent}: {error.strerror}; choose another --out") from None
    lock = _lock(folder)
    try:
        if folder.is_dir():
            for part in folder.rglob(".*.part"):
                with contextlib.suppress(OSError):  # a folder no longer writable: its writes will say so
                    part.unlink(missing_ok=True)
        yield folder
    finally:
        _unlock(folder, lock)


@contextlib.contextmanager
def kept_if_refused(folder: Path, kept: str) -> Iterator[None]:
    """For folders written in place (a sweep's, a calibration's), which cannot be swapped whole.

    Each of their files is written whole or not at all (sim.report.files), so when the file
    system refuses a write (full, read-only, not permitted) what the folder holds is still
    sound. The refusal ends as an OutputConflict, one line: the file that could not be
    written, the system's reason, and `kept`, what the folder still holds and how to go on.
    """
    try:
        yield
    except OSError as error:
        if not refused(error):
            raise
        where = error.filename or folder
        raise OutputConflict(f"cannot write {where}: {reason(error)}; {kept}") from None


def _target(folder: Path) -> Path:
    text = str(folder)
    if "\0" in text:
        raise OutputConflict("--out: the path contains a NUL character")
    folder = Path(os.path.abspath(folder))
    if len(os.fsencode(folder.name)) > MAX_NAME_BYTES - 40:
        raise OutputConflict(f"{folder.name[:60]}...: the folder name is too long; choose a shorter --out")
    if folder.is_symlink():
        if not folder.exists():
            raise OutputConflict(f"{folder} is a symbolic link to nothing; remove it or choose another --out")
        folder = folder.resolve()
    return folder


def _check_parents(folder: Path, belongs_to: Path | None = None) -> None:
    """The nearest existing parent must be a writable folder that is not inside another run
    (`belongs_to` excepted)."""
    parent = folder.parent
    while not parent.exists():
        if parent.is_symlink():
            raise OutputConflict(f"{parent} is a symbolic link to nothing; choose another --out")
        parent = parent.parent
    if not parent.is_dir():
        raise OutputConflict(f"{folder} would be below {parent}, which is a file, not a folder; choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputConflict(f"{parent} is not writable; choose another folder with --out")
    for ancestor in [parent, *parent.parents]:
        if not _same_place(ancestor, belongs_to) and any((ancestor / marker).is_file() for marker in MARKERS):
            raise OutputConflict(f"{folder} would be inside the outputs in {ancestor}; choose another --out")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputConflict(f"cannot create {folder.parent}: {error.strerror}") from None


def _same_place(folder: Path, other: Path | None) -> bool:
    """Whether two paths name one folder, whatever symbolic links lead to it."""
    return other is not None and os.path.realpath(folder) == os.path.realpath(other)


MARKERS = ("summary.json", "whatif.json", "manifest.json", "analysis.json")


def _lock(folder: Path) -> int:
    """An exclusive lock on `.<name>.lock` beside the folder; refused at once if another holds it.

    The lock file is removed on release; a process that opened it just before is caught by
    comparing the locked file with the one now at the path.
    """
    path = folder.parent / f"{_hidden(folder, '')}lock"
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise OutputConflict(
            f"cannot write in {folder.parent}: {reason(error)}; nothing was written: choose another --out"
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not _same_file(handle, path):
            raise BlockingIOError
    except BlockingIOError:
        os.close(handle)
        raise OutputConflict(f"{folder} is being written by another sim process; wait for it to finish") from None
    return handle


def _same_file(handle: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def _unlock(folder: Path, handle: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(folder.parent / f"{_hidden(folder, '')}lock")
    os.close(handle)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _hidden(folder: Path, kind: str) -> str:
    return f".{folder.name}.{kind}{'-' if kind else ''}"


def _recover(folder: Path) -> None:
    """Finish what a killed process left: put back a retired set if the folder is missing, drop stagings."""
    for entry in folder.parent.iterdir():
        if entry.name.startswith(_hidden(folder, RETIRED)):
            if not folder.exists():
                os.rename(entry, folder)
            else:
                shutil.rmtree(entry, ignore_errors=True)
    for entry in folder.parent.iterdir():
        if entry.name.startswith(_hidden(folder, STAGING)):
            shutil.rmtree(entry, ignore_errors=True)


def _check_contents(folder: Path, identity: Identity, replace: bool) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputConflict(f"{folder} is a file, not a folder; choose another folder with --out")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputConflict(f"{folder} is not writable; choose another folder with --out")
    marker = folder / identity.marker
    if not marker.exists():
        if identity.earlier and all((folder / name).is_file() for name in identity.earlier):
            if replace:
                return
            raise OutputConflict(
                f"{folder} holds earlier results with no {identity.marker} (what they are of is unknown); "
                "pass --force to replace them, or choose another folder with --out"
            )
        if any(folder.iterdir()):
            raise OutputConflict(
                f"{folder} is not empty and holds no {identity.marker}; its files would be replaced, so it is "
                "refused even with --force: choose a new or empty folder with --out"
            )
        return
    existing = _read_identity(marker, identity.key)
    if existing[0] != identity.value and not replace:
        edited = " (an edited version of it)" if existing[1] == identity.name else ""
        raise OutputConflict(
            f"{folder} holds results of {existing[1]!r} (hash {existing[0][:12]}), not of {identity.name!r}{edited} "
            f"(hash {identity.value[:12]}); choose another folder with --out, or pass --force to replace them"
        )


def _read_identity(marker: Path, key: str) -> tuple[str, str]:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        return str(data.get(key, "")), str(data.get("scenario", data.get("name", "?")))
    except (OSError, ValueError, AttributeError):
        return "", "unreadable results"


def _retarget(written: object, staging: Path, folder: Path) -> None:
    """Paths returned by `write` point into the staging folder; make them point to the final one."""
    if isinstance(written, dict):
        for kind, path in written.items():
            if isinstance(path, Path) and path.parent == staging:
                written[kind] = folder / path.name


def _install(staging: Path, folder: Path) -> None:
    """Put the staged set at `folder`: one atomic exchange when the system has it, else two renames."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        return
    retired = folder.parent / f"{_hidden(folder, RETIRED)}{os.getpid()}"
    os.rename(folder, retired)
    os.rename(staging, folder)
    shutil.rmtree(retired, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False if unsupported here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))
