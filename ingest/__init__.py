"""rabbit-rag's write path: readers per format, then incremental sync into an index.

Files (or in-memory documents) are read and normalized (:mod:`rabbit_rag.ingest.readers`), split into
Kiwi-sentence chunks (:class:`rabbit_rag.text.KiwiChunker`), embedded, and written through the index's
one writer (:class:`rabbit_rag.index.IndexWriter`); :mod:`rabbit_rag.ingest.pipeline` drives it.

예::

    from rabbit_rag.ingest import ingest_paths
    report = ingest_paths(["samples"], "indexes/헌법", embed_model="none")
"""

from __future__ import annotations

import lazy_loader

# Declared once in __init__.pyi and imported on first use: the parse worker's child process imports
# rabbit_rag.ingest.readers and must start without numpy, the index and the embedding code.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
