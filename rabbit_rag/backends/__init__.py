"""Search backends: where an index's search data lives and who answers its searches.

The local index folder (:class:`rabbit_rag.index.Index`: SQLite docstore, bm25s matrices, FAISS) is the
default. An engine backend — Milvus, embedded as Milvus Lite or as a server/cluster — holds a published
copy of everything readers need and answers BM25 (our Kiwi weights as sparse vectors) and dense
searches, so any number of stateless API replicas can serve one collection. The writer's index folder
stays the source of truth (docs/scaling.md). Everything needing ``pymilvus`` is imported on first use:
``pip install -e '.[milvus]'``.

예::

    from rabbit_rag.backends import open_engine_index
    index = open_engine_index("milvus:///srv/rag/engine.db", "헌법")
    index.search("국회의원 임기", k=3, mode="bm25")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rabbit_rag.backends.uri import BackendURI, parse_backend

if TYPE_CHECKING:
    from rabbit_rag.backends.publisher import EnginePublisher
    from rabbit_rag.backends.reader import EngineIndex

__all__ = [
    "BackendURI",
    "drop_engine_collection",
    "engine_collection_names",
    "engine_publisher",
    "open_engine_index",
    "parse_backend",
]


def open_engine_index(
    backend: str | BackendURI,
    name: str,
    *,
    embed_model: str | None = None,
    embed_device: str | None = None,
    token: str | None = None,
) -> EngineIndex:
    """The collection ``name`` on an engine backend, for reading (an error when it does not exist).

    예: ``open_engine_index("milvus://10.0.0.5:19530", "헌법")``
    """
    from rabbit_rag.backends.reader import EngineIndex

    return EngineIndex(backend, name, embed_model=embed_model, embed_device=embed_device, token=token)


def engine_publisher(backend: str | BackendURI | None, token: str | None = None) -> EnginePublisher | None:
    """What an :class:`~rabbit_rag.index.IndexWriter` publishes to (``mirror=``), None for the local index.

    예: ``IndexWriter("indexes/헌법", mirror=engine_publisher("milvus:///srv/engine.db"))``
    """
    parsed = parse_backend(backend) if isinstance(backend, str) or backend is None else backend
    if parsed is None:
        return None
    from rabbit_rag.backends.publisher import EnginePublisher

    return EnginePublisher(parsed, token=token)


def engine_collection_names(backend: str | BackendURI, token: str | None = None) -> list[str]:
    """The rabbit-rag collections on an engine backend, sorted."""
    from rabbit_rag.backends.milvus import list_collection_names

    parsed = parse_backend(backend) if isinstance(backend, str) else backend
    return list_collection_names(parsed, token) if parsed is not None else []


def drop_engine_collection(backend: str | BackendURI, name: str, token: str | None = None) -> None:
    """Remove collection ``name`` from an engine backend (its writer folder is left alone)."""
    from rabbit_rag.backends.milvus import MilvusCollections

    parsed = parse_backend(backend) if isinstance(backend, str) else backend
    if parsed is not None:
        MilvusCollections(parsed, name, token).drop()
