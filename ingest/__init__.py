"""rabbit-rag's write path: readers per format, then incremental sync into an index.

Files (or in-memory documents) are read and normalized (:mod:`rabbit_rag.ingest.readers`), split into
Kiwi-sentence chunks (:class:`rabbit_rag.text.KiwiChunker`), embedded, and written through the index's
one writer (:class:`rabbit_rag.index.IndexWriter`); :mod:`rabbit_rag.ingest.pipeline` drives it.

예::

    from rabbit_rag.ingest import ingest_paths
    report = ingest_paths(["samples"], "indexes/헌법", embed_model="none")
"""

from __future__ import annotations

from rabbit_rag.ingest.options import IngestOptions
from rabbit_rag.ingest.pipeline import FileOutcome, IngestReport, ingest_documents, ingest_files, ingest_paths

__all__ = ["FileOutcome", "IngestOptions", "IngestReport", "ingest_documents", "ingest_files", "ingest_paths"]
