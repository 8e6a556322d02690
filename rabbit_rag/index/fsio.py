"""Crash-safe file writes, the writer lock and the readers' holds on generations.

A reader must never see a half-written file: we write beside the target, fsync, rename over it and
fsync the folder, so after a crash either the old or the new file is there, whole. Index files are
created owner-only (``0600``): they hold the documents' text.

Locks are ``flock``s, which the kernel drops when a process dies: a killed ingest or server never
leaves one stuck. The writer holds ``<index>/.lock`` exclusively. A reader holds a *shared* lock on
the ``generation.json`` of the generation it searches (:func:`hold_shared`); the writer collects a
generation, and the docstore rows only it still needs, only when it can lock that file exclusively
(:func:`try_exclusive`), so no reader ever loses the chunks or the text of its snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def fsync_dir(path: Path) -> None:
    """Make a rename or new file inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


FILE_MODE = 0o600


def open_new(path: Path) -> Any:
    """A new file (replacing any), owner-only, for binary writing."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "wb")


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write an array as ``.npy`` (never pickled) and fsync it."""
    with open_new(path) as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def load_npy(path: Path, mmap: bool = False) -> np.ndarray:
    return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)


def write_json_file(path: Path, obj: Any) -> None:
    """Write JSON into a not-yet-published folder (the folder rename publishes it)."""
    with open_new(path) as f:
        f.write(json.dumps(obj, ensure_ascii=False).encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


class WriterLock:
    """An exclusive ``flock`` on ``<index>/.lock``: one writer per index, across processes.

    The kernel drops the lock when the process dies, so a killed ingest never leaves it stuck.
    """

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / ".lock"
        self._fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def hold_shared(path: Path) -> int | None:
    """Open ``path`` read-only and take a shared ``flock`` on it: a reader's hold on a generation.
    Returns the descriptor (close it to let go), or None when the writer is collecting that
    generation (it holds the file exclusively). Raises FileNotFoundError when the file is gone.

    The file is checked to still be linked after the lock is taken: a writer that collected it in
    between has already removed it."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        st, now = os.fstat(fd), os.stat(path)
        if (st.st_ino, st.st_dev) != (now.st_ino, now.st_dev):
            raise FileNotFoundError(path)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def try_exclusive(path: Path) -> int | None:
    """An exclusive ``flock`` on ``path`` without waiting: the descriptor, or None while any reader
    holds it shared. Raises FileNotFoundError when the file is gone."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd
