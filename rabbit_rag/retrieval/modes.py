"""The retriever for a search mode (``hybrid``, ``bm25`` or ``dense``) over one index.

예: ``make_retriever(index, "hybrid").retrieve("대통령 임기", k=3)``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.notices import notice
from rabbit_rag.retrieval.base import Retriever
from rabbit_rag.retrieval.hybrid import HybridRetriever
from rabbit_rag.retrieval.index_retrievers import BM25Retriever, DenseRetriever
from rabbit_rag.types import SEARCH_MODES, Fusion

if TYPE_CHECKING:
    from rabbit_rag.index.reader import Index


def make_retriever(
    index: Index,
    mode: str,
    weights: tuple[float, float] = (1.0, 1.0),
    rrf_k: int = 60,
    fusion: Fusion = "rrf",
) -> Retriever:
    """The retriever for a search mode; ``hybrid``/``dense`` fall back to BM25 with a notice when the
    index has no usable vectors (the notice says why)."""
    if mode not in SEARCH_MODES:
        raise InvalidInputError(f"search mode {mode!r} is not one of {', '.join(SEARCH_MODES)}")
    bm25 = BM25Retriever(index)
    if mode == "bm25":
        return bm25
    reason = index.dense_unavailable_reason()
    if reason is not None:
        notice(f"{mode} search answered with BM25 only: {reason}")
        return bm25
    dense = DenseRetriever(index)
    if mode == "dense":
        return dense
    return HybridRetriever([bm25, dense], weights=list(weights), fusion=fusion, rrf_k=rrf_k)
