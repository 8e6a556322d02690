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
    mode: str | None,
    weights: tuple[float, float] = (1.0, 1.0),
    rrf_k: int = 60,
    fusion: Fusion = "rrf",
) -> Retriever:
    """The retriever for a search mode (None: the default, ``hybrid``).

    Without usable vectors ``dense`` is an error saying why, and ``hybrid`` is BM25 alone. That
    fallback is said once per process (stderr) when it is news: when ``hybrid`` was asked for by
    name, or when the index should have vectors (its model failed to load). An index built BM25-only
    on purpose (``--embed-model none``) answers the default mode with BM25 quietly — the user chose
    that, and a notice on every search of the quick start would only be noise."""
    requested = mode is not None
    mode = mode or "hybrid"
    if mode not in SEARCH_MODES:
        raise InvalidInputError(f"search mode {mode!r} is not one of {', '.join(SEARCH_MODES)}")
    bm25 = BM25Retriever(index)
    if mode == "bm25":
        return bm25
    reason = index.dense_unavailable_reason()
    if reason is not None:
        if mode == "dense":
            raise InvalidInputError(
                f"dense search is not possible on {index.path}: {reason}. Search with mode bm25 or hybrid, "
                "or ingest into a new index with an embedding model (--embed-model)"
            )
        if requested or not index.bm25_only_by_choice:
            notice(f"hybrid search answered with BM25 only: {reason}")
        return bm25
    dense = DenseRetriever(index)
    if mode == "dense":
        return dense
    return HybridRetriever([bm25, dense], weights=list(weights), fusion=fusion, rrf_k=rrf_k)
