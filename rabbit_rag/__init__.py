"""rabbit-rag: Korean retrieval-augmented generation.

Kiwi morphology for BM25, dense embeddings in FAISS, hybrid retrieval, and answers that cite the
exact characters they rest on. Nothing heavy happens at import time.

예::

    import rabbit_rag
    index = rabbit_rag.open_index("indexes/헌법")
    hits = index.search("대통령 임기는 몇 년이야?", k=3)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "open_index": "rabbit_rag.index.store",
    "Index": "rabbit_rag.index.store",
    "IndexWriter": "rabbit_rag.index.store",
    "Settings": "rabbit_rag.settings",
    "Document": "rabbit_rag.types",
    "Chunk": "rabbit_rag.types",
    "ScoredChunk": "rabbit_rag.types",
    "BM25Retriever": "rabbit_rag.retrievers",
    "DenseRetriever": "rabbit_rag.retrievers",
    "HybridRetriever": "rabbit_rag.retrievers",
    "RabbitRagError": "rabbit_rag.errors",
}

if TYPE_CHECKING:
    from rabbit_rag.errors import RabbitRagError
    from rabbit_rag.index.store import Index, IndexWriter, open_index
    from rabbit_rag.retrievers import BM25Retriever, DenseRetriever, HybridRetriever
    from rabbit_rag.settings import Settings
    from rabbit_rag.types import Chunk, Document, ScoredChunk


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rabbit_rag' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "BM25Retriever",
    "Chunk",
    "DenseRetriever",
    "Document",
    "HybridRetriever",
    "Index",
    "IndexWriter",
    "RabbitRagError",
    "ScoredChunk",
    "Settings",
    "open_index",
]
