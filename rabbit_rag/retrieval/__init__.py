"""Retrievers: ``retrieve(query, k) -> list[ScoredChunk]``, composable.

- :class:`BM25Retriever` — Kiwi content morphemes, bm25s scoring.
- :class:`DenseRetriever` — the index's embedding model and FAISS.
- :class:`HybridRetriever` — fuses any retrievers by weighted reciprocal rank (default) or by
  min-max-normalized scores.
- :func:`make_retriever` — the retriever for a search mode over one index.

예::

    bm25 = BM25Retriever(index)
    hybrid = HybridRetriever([bm25, DenseRetriever(index)], weights=[1.0, 1.0])
    hits = hybrid.retrieve("헌법재판소 재판관의 임기", k=5)
"""

from __future__ import annotations

from rabbit_rag.retrieval.base import Retriever, check_query
from rabbit_rag.retrieval.hybrid import HybridRetriever
from rabbit_rag.retrieval.index_retrievers import BM25Retriever, DenseRetriever
from rabbit_rag.retrieval.modes import make_retriever

__all__ = ["BM25Retriever", "DenseRetriever", "HybridRetriever", "Retriever", "check_query", "make_retriever"]
