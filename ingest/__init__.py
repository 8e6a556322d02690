"""rabbit-rag's write path: readers, Kiwi sentence chunking, embedding and incremental sync.

예::

    from rabbit_rag.ingest import ingest_paths
    report = ingest_paths(["samples"], "indexes/헌법", embed_model="none")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rabbit_rag.ingest.chunker import ChunkSpan, KiwiChunker
    from rabbit_rag.ingest.pipeline import IngestReport, ingest_documents, ingest_paths

__all__ = ["ChunkSpan", "IngestReport", "KiwiChunker", "ingest_documents", "ingest_paths"]

_HOME = {
    "ChunkSpan": "rabbit_rag.ingest.chunker",
    "KiwiChunker": "rabbit_rag.ingest.chunker",
    "IngestReport": "rabbit_rag.ingest.pipeline",
    "ingest_documents": "rabbit_rag.ingest.pipeline",
    "ingest_paths": "rabbit_rag.ingest.pipeline",
}


def __getattr__(name: str) -> Any:
    # Lazy, so the parser child process (rabbit_rag.ingest.readers.isolation) starts without numpy and the index
    # code; `from rabbit_rag.ingest import ingest_paths` works as before.
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
