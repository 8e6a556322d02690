"""Retrievers over one :class:`~rabbit_rag.index.Index`: Kiwi BM25 and dense (embedding) similarity.

They only call the index's read interface (:meth:`~rabbit_rag.index.Index.bm25_top_k`,
:meth:`~rabbit_rag.index.Index.embed_query`, :meth:`~rabbit_rag.index.Index.dense_top_k`), so any
index with those operations can stand behind them.

예::

    BM25Retriever(index).retrieve("헌법재판소 재판관의 임기", k=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rabbit_rag.retrieval.base import check_query
from rabbit_rag.types import ScoredChunk

if TYPE_CHECKING:
    from rabbit_rag.index.filters import SearchFilter
    from rabbit_rag.index.reader import Index


class BM25Retriever:
    """Kiwi BM25 over an index. Unknown words simply match nothing."""

    name = "bm25"

    def __init__(self, index: Index) -> None:
        self.index = index

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        return self.index.bm25_top_k(check_query(query, k), k, filters)


class DenseRetriever:
    """Embedding similarity (cosine) through FAISS, with the index's own embedding model."""

    name = "dense"

    def __init__(self, index: Index) -> None:
        self.index = index

    def available(self) -> bool:
        return self.index.dense_unavailable_reason() is None

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        query = check_query(query, k)
        return self.index.dense_top_k(self.index.embed_query(query), k, filters)
