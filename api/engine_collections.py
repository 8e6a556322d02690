"""Collections on a search engine (``RABBIT_RAG_BACKEND=milvus://…``): what makes API replicas stateless.

Every read — listing collections, search, answers, documents and their text — goes to the engine
(:class:`~rabbit_rag.backends.reader.EngineIndex`), so any number of replicas behind a load balancer
answer the same, and a document published through one replica is searchable through all of them at
once (the engine's collections use Strong consistency). Writes (create, upload, delete) run the usual
single writer on this replica's index folder (``<index_root>/<name>``), which stays the source of
truth and publishes to the engine when it closes; a replica whose folder is not the collection's
writer gets a 409 naming the writer (docs/scaling.md: route writes to one replica or a shared volume).

예::

    reg = EngineCollectionRegistry(Path("indexes"), Settings(backend="milvus://10.0.0.5:19530"))
    reg.get("헌법").search("대통령 임기", k=3)
"""

from __future__ import annotations

import shutil
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from rabbit_rag.api.collections import CollectionRegistry, check_name
from rabbit_rag.api.errors import ConflictError, GoneError
from rabbit_rag.backends import drop_engine_collection, engine_collection_names, open_engine_index
from rabbit_rag.backends.reader import EngineIndex
from rabbit_rag.errors import IndexLockedError, IndexNotFoundError
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.ingest import IngestOptions
from rabbit_rag.settings import Settings


class EngineCollectionRegistry(CollectionRegistry):
    """:class:`CollectionRegistry` whose collections live on the engine named by ``settings.backend``."""

    def __init__(self, root: Path, settings: Settings) -> None:
        super().__init__(root, settings)
        assert settings.backend is not None
        self.backend = settings.backend
        self.token = settings.backend_token.get_secret_value() if settings.backend_token else None
        self._engine: dict[str, EngineIndex] = {}
        self._engine_lock = threading.Lock()

    def exists(self, name: str) -> bool:
        name = check_name(name)
        if name in self._engine:
            return self._engine[name]._coll.exists()
        return name in engine_collection_names(self.backend, self.token)

    def names(self) -> list[str]:
        return engine_collection_names(self.backend, self.token)

    def at_revision(self, name: str, revision: int | None) -> tuple[EngineIndex, int]:  # type: ignore[override]
        """The engine holds only the current revision: an older one is 410 (search again)."""
        index = self.get(name)
        if revision is None or revision == index.revision:
            return index, index.revision
        raise GoneError(
            f"revision {revision} of collection {name!r} is not on the search engine, which holds only the "
            f"current one ({index.revision}); search again and use the revision it returns"
        )

    def get(self, name: str) -> EngineIndex:  # type: ignore[override]
        """The collection's reader (one per process; it holds no state but the embedding model)."""
        name = check_name(name)
        index = self._engine.get(name)
        if index is not None:
            return index
        with self._engine_lock:
            index = self._engine.get(name)
            if index is None:
                try:
                    index = open_engine_index(
                        self.backend, name, embed_device=self.settings.embed_device, token=self.token
                    )
                except IndexNotFoundError:
                    raise self._missing(name) from None
                if index.embed_model is not None:
                    index.embedder()
                self._engine[name] = index
        return index

    def reload(self, name: str) -> EngineIndex | None:  # type: ignore[override]
        name = check_name(name)
        index = self._engine.get(name)
        if index is None:
            return self.get(name) if self.exists(name) else None
        try:
            index.refresh()
        except IndexNotFoundError:
            self._engine.pop(name, None)
            return None
        return index

    def is_open(self, name: str) -> bool:
        return name in self._engine

    def create(self, name: str, embed_model: str | None = None, chunk_tokens: int | None = None) -> EngineIndex:  # type: ignore[override]
        """Create an empty collection (this replica's folder becomes its writer); 409 when it exists."""
        name = check_name(name)
        with self._lock:
            if self.exists(name):
                raise ConflictError(f"collection {name!r} already exists; upload documents to it or pick another name")
            path = self.path(name)
            if path.exists() and any(path.iterdir()) and not (path / "manifest.json").is_file():
                raise ConflictError(
                    f"{name!r}: a folder of that name exists under the index root and is not an index; "
                    "remove it or pick another name"
                )
            IngestOptions.from_settings(self.settings).writer(
                path, embed_model=embed_model, chunk_tokens=chunk_tokens
            ).close()
            return self.get(name)

    def delete(self, name: str) -> None:
        """Drop the engine collection and this replica's writer folder (409 while it is being written)."""
        name = check_name(name)
        with self._lock:
            if not self.exists(name):
                raise self._missing(name)
            path = self.path(name)
            lock = WriterLock(path) if path.is_dir() else None
            if lock is not None and not lock.acquire(blocking=False):
                raise IndexLockedError(f"collection {name!r} is being written; retry when it is done")
            try:
                self._engine.pop(name, None)
                drop_engine_collection(self.backend, name, self.token)
                if path.is_dir():
                    trash = self.root / f".deleting-{path.name}-{id(self)}"
                    path.rename(trash)
                    shutil.rmtree(trash, ignore_errors=True)
            finally:
                if lock is not None:
                    lock.release()

    def info(self, name: str) -> dict[str, Any]:
        index = self.get(name)
        index.refresh()
        out = super().info(name)
        out["backend"] = str(index.backend)
        return out

    def created(self, name: str) -> int:
        m = self.get(name).manifest
        try:
            return int(datetime.fromisoformat(m.get("updated_at", "")).timestamp())
        except ValueError:
            return 0
