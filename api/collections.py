"""Collections: one index folder per collection under the index root, opened once and shared.

A collection name is validated before any path is built from it (:func:`check_name`: letters,
digits, Hangul syllables, ``_`` and ``-``; at most 64), so no client-supplied name can point
outside the root. Each open collection is an immutable snapshot — one :class:`Index` object of one
generation. After an ingest the registry takes the new generation (:meth:`Index.latest`: a new
snapshot sharing the docstore connection and the embedding model) and swaps it in with one
assignment: a search that started on the old snapshot finishes on it (BM25, vectors and chunks of
the same generation), a search that starts later sees the new one — never a mix. A generation
published by another process (``rabbit-rag ingest`` into the same folder) is noticed by the
manifest's change time and swapped in the same way.

A replaced snapshot's generation stays *pinned* for :data:`SNAPSHOT_GRACE_S` seconds (a shared lock
on its files, nothing loaded), so a client that searched revision *R* can still read the documents as
of *R* (``GET …/documents/{id}?revision=R``) while newer revisions are published; the writer keeps
the rows of a pinned revision. Only what a pin needs is kept: no search structures, no vectors.

예::

    reg = CollectionRegistry(Path("indexes"), Settings())
    reg.get("헌법").search("대통령 임기", k=3)
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import unicodedata
from collections import deque
from pathlib import Path
from typing import Any

from rabbit_rag.api.errors import ConflictError, GoneError
from rabbit_rag.components import open_index_from_settings
from rabbit_rag.errors import IndexLockedError, IndexNotFoundError, InvalidInputError
from rabbit_rag.index import Index
from rabbit_rag.index.docstore import DOCSTORE_FILE
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.index.manifest import MANIFEST_FILE
from rabbit_rag.ingest import IngestOptions
from rabbit_rag.settings import Settings

NAME_RE = r"^[0-9A-Za-z가-힣_-]{1,64}$"
_NAME = re.compile(NAME_RE)
#: How long a replaced snapshot's revision stays readable (``?revision=`` on the document endpoints).
SNAPSHOT_GRACE_S = 120.0
#: At most this many replaced revisions are pinned per collection (the oldest go first).
MAX_PINNED = 32


def check_name(name: str) -> str:
    """The collection name in NFC, or :class:`InvalidInputError` naming the allowed characters.

    예: ``check_name("헌법")`` → ``'헌법'``; ``check_name("../x")`` raises.
    """
    n = unicodedata.normalize("NFC", name) if isinstance(name, str) else ""
    if not _NAME.fullmatch(n):
        raise InvalidInputError(
            f"collection name {name!r} is not allowed: use 1-64 letters, digits, Hangul syllables, '_' or '-' "
            "(e.g. '헌법', 'kobill-2024')"
        )
    return n


class CollectionRegistry:
    """The collections under ``root``: existence, creation, deletion and the shared open indexes."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self._lock = threading.RLock()
        self._open: dict[str, tuple[Index, int | None]] = {}  # name → (snapshot, manifest stamp)
        self._open_locks: dict[str, threading.Lock] = {}
        # name → (revision, descriptor holding that generation, when it was replaced), oldest first
        self._pinned: dict[str, deque[tuple[int, int, float]]] = {}

    # -- names and paths ---------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """The folder of collection ``name`` (validated first; always a direct child of the root)."""
        p = self.root / check_name(name)
        assert p.parent == self.root  # a validated name has no separators; this states the invariant
        return p

    def exists(self, name: str) -> bool:
        """A folder with a manifest, or with a docstore (whose lost manifest is rebuilt on open)."""
        p = self.path(name)
        return (p / MANIFEST_FILE).is_file() or (p / DOCSTORE_FILE).is_file()

    def names(self) -> list[str]:
        """Collections on disk (folders with a manifest or a docstore whose names are valid), sorted."""
        out = []
        for child in self.root.iterdir():
            if (
                child.is_dir()
                and _NAME.fullmatch(child.name)
                and ((child / MANIFEST_FILE).is_file() or (child / DOCSTORE_FILE).is_file())
            ):
                out.append(unicodedata.normalize("NFC", child.name))
        return sorted(out)

    def _missing(self, name: str) -> IndexNotFoundError:
        return IndexNotFoundError(
            f"collection {name!r} does not exist under {self.root.name}/; create it with POST /v1/collections "
            f'{{"name": "{name}"}} (GET /v1/collections lists the existing ones)'
        )

    # -- open indexes --------------------------------------------------------------------------------
    def _stamp(self, name: str) -> int | None:
        """The manifest's change time: a writer publishing a generation rewrites the manifest. A folder
        whose manifest is gone but whose docstore is there stamps -1 (opening it rebuilds the manifest)."""
        p = self.path(name)
        try:
            return (p / MANIFEST_FILE).stat().st_mtime_ns
        except FileNotFoundError:
            return -1 if (p / DOCSTORE_FILE).is_file() else None

    def get(self, name: str) -> Index:
        """The shared open snapshot of ``name``; 404 when it does not exist. A generation published by
        another process (``rabbit-rag ingest`` into the same folder) is picked up here: one ``stat``."""
        name = check_name(name)
        entry = self._open.get(name)
        stamp = self._stamp(name)
        if entry is not None and entry[1] == stamp:
            return entry[0]
        if stamp is None:
            self._open.pop(name, None)
            raise self._missing(name)
        with self._lock:
            lock = self._open_locks.setdefault(name, threading.Lock())
        with lock:  # one opener per collection; the others wait for its snapshot
            entry = self._open.get(name)
            if entry is None or entry[1] != self._stamp(name):
                return self._swap_in(name)
            return entry[0]

    def _swap_in(self, name: str) -> Index:
        stamp = self._stamp(name)  # before opening: a later publish makes the next get() reopen
        entry = self._open.get(name)
        if entry is not None:
            index = entry[0].latest()  # a new snapshot sharing the docstore connection and the model
        else:
            index = open_index_from_settings(self.settings, self.path(name))
            if index.embed_model is not None:
                index.embedder()  # load (cached per process) before the snapshot is visible
        self._open[name] = (index, stamp)  # one assignment: searches see the old or the new snapshot
        if entry is not None and entry[0] is not index:
            self._pin(name, entry[0])
        return index

    # -- pinned revisions ----------------------------------------------------------------------------
    def _pin(self, name: str, old: Index) -> None:
        """Keep the replaced snapshot's revision readable for a while (a shared lock, nothing loaded)."""
        gen = old.generation
        with self._lock:
            pins = self._pinned.setdefault(name, deque())
            if gen is not None:
                pins.append((gen.revision, gen.pin(), time.monotonic()))
            self._expire(pins)

    @staticmethod
    def _expire(pins: deque[tuple[int, int, float]]) -> None:
        now = time.monotonic()
        while pins and (len(pins) > MAX_PINNED or now - pins[0][2] > SNAPSHOT_GRACE_S):
            os.close(pins.popleft()[1])

    def _unpin_all(self, name: str) -> None:
        with self._lock:
            for _, fd, _ in self._pinned.pop(name, ()):
                os.close(fd)

    def revisions(self, name: str) -> list[int]:
        """The revisions of ``name`` that can be read now: the current snapshot's and the pinned ones."""
        index = self.get(name)
        with self._lock:
            pins = self._pinned.get(name, deque())
            self._expire(pins)
            held = [rev for rev, _, _ in pins]
        return sorted({*held, index.revision})

    def at_revision(self, name: str, revision: int | None) -> tuple[Index, int]:
        """The snapshot to read ``name`` from and the revision to read it at: the current one for
        None, else ``revision`` when it is still readable (410 when it is not)."""
        index = self.get(name)
        if revision is None or revision == index.revision:
            return index, index.revision
        if revision not in self.revisions(name):
            raise GoneError(
                f"revision {revision} of collection {name!r} is no longer kept (revisions stay readable "
                f"{SNAPSHOT_GRACE_S:g} s after a newer one is published; the current one is {index.revision}); "
                "search again and use the revision it returns"
            )
        return index, revision

    def reload(self, name: str) -> Index | None:
        """Open the newest generation of ``name`` as a new snapshot and swap it in (after a write)."""
        name = check_name(name)
        if not self.exists(name):
            self._open.pop(name, None)
            self._unpin_all(name)
            return None
        with self._lock:
            lock = self._open_locks.setdefault(name, threading.Lock())
        with lock:
            return self._swap_in(name)

    def is_open(self, name: str) -> bool:
        return name in self._open

    # -- creating and deleting -------------------------------------------------------------------
    def create(self, name: str, embed_model: str | None = None, chunk_tokens: int | None = None) -> Index:
        """Create an empty collection; 409 when it exists."""
        name = check_name(name)
        with self._lock:
            path = self.path(name)
            if self.exists(name):
                raise ConflictError(f"collection {name!r} already exists; upload documents to it or pick another name")
            if path.exists() and any(path.iterdir()):
                raise ConflictError(
                    f"{name!r}: a folder of that name exists under the index root and is not an index; "
                    "remove it or pick another name"
                )
            IngestOptions.from_settings(self.settings).writer(
                path, embed_model=embed_model, chunk_tokens=chunk_tokens
            ).close()
            return self.reload(name) or self.get(name)

    def delete(self, name: str) -> None:
        """Remove the collection's folder; 409 while another process writes to it."""
        name = check_name(name)
        with self._lock:
            if not self.exists(name):
                raise self._missing(name)
            path = self.path(name)
            lock = WriterLock(path)
            if not lock.acquire(blocking=False):
                raise IndexLockedError(
                    f"collection {name!r} is being written by another process; retry when it is done"
                )
            try:
                self._open.pop(name, None)
                self._unpin_all(name)
                # Rename first so the name is free at once and no reader opens a half-deleted folder.
                trash = self.root / f".deleting-{path.name}-{id(lock)}"
                path.rename(trash)
            finally:
                lock.release()
            shutil.rmtree(trash, ignore_errors=True)

    def info(self, name: str) -> dict[str, Any]:
        index = self.get(name)
        st = index.stats()
        emb = st["embedding"]
        return {
            "name": name,
            "documents": st["counts"].get("documents", 0),
            "chunks": st["counts"].get("chunks", 0),
            "vectors": st["counts"].get("vectors", 0),
            "embedding_model": emb.get("model"),
            "embedding_note": emb.get("reason"),
            "chunk_tokens": st["chunking"].get("max_tokens"),
            "revision": st["revision"],
            "updated_at": index.manifest.get("updated_at"),
        }

    def created(self, name: str) -> int:
        """When the collection last changed (seconds since the epoch): its manifest's change time."""
        return int((self.path(name) / MANIFEST_FILE).stat().st_mtime)

    def clean_trash(self) -> None:
        """Finish deletions a crash interrupted."""
        for child in self.root.glob(".deleting-*"):
            shutil.rmtree(child, ignore_errors=True)
