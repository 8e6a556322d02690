"""rabbit-rag's write path: readers, Kiwi sentence chunking, embedding and incremental sync.

예::

    from ingest import ingest_paths
    report = ingest_paths(["samples"], "indexes/헌법", embed_model="none")
"""

from ingest.chunker import ChunkSpan, KiwiChunker
from ingest.pipeline import IngestReport, ingest_documents, ingest_paths

__all__ = ["ChunkSpan", "IngestReport", "KiwiChunker", "ingest_documents", "ingest_paths"]
