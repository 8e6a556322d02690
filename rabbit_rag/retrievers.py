"""Retrievers: ``retrieve(query, k) -> list[ScoredChunk]``, composable.

- :class:`BM25Retriever` — Kiwi content morphemes, bm25s scoring.
- :class:`DenseRetriever` — the index's embedding model and FAISS.
- :class:`HybridRetriever` — fuses any retrievers by weighted reciprocal rank (default) or by
  min-max-normalized scores.

예::

    bm25 = BM25Retriever(index)
    hybrid = HybridRetriever([bm25, DenseRetriever(index)], weights=[1.0, 1.0])
    hits = hybrid.retrieve("헌법재판소 재판관의 임기", k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.text.terms import bm25_query_terms
from rabbit_rag.types import ScoredChunk

if TYPE_CHECKING:
    from rabbit_rag.index.store import Index, SearchFilter

MAX_QUERY_CHARS = 4000


@runtime_checkable
class Retriever(Protocol):
    name: str

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]: ...


def check_query(query: str, k: int) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("the query is empty; give a question or keywords, e.g. '대통령 임기'")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
    if k < 1:
        raise InvalidInputError(f"k={k}: ask for at least one result")
    return query.strip()


def _hits(index: Index, ids: np.ndarray, scores: np.ndarray, name: str) -> list[ScoredChunk]:
    chunks = index.store.get_chunks([int(i) for i in ids])
    return [
        ScoredChunk(chunks[int(i)], float(s), {name: float(s)})
        for i, s in zip(ids, scores, strict=True)
        if int(i) in chunks
    ]


class BM25Retriever:
    """Kiwi BM25 over an index. Unknown words simply match nothing."""

    name = "bm25"

    def __init__(self, index: Index) -> None:
        self.index = index

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        query = check_query(query, k)
        gen = self.index.generation
        if gen is None or not len(gen):
            return []
        store = self.index.store
        term_ids = store.term_ids(bm25_query_terms(query, store.known_terms))
        mask = filters.mask(gen) if filters else None
        rows, scores = gen.bm25.top_k(term_ids, k, weight_mask=mask)
        return _hits(self.index, gen.chunk_ids[rows], scores, self.name)


class DenseRetriever:
    """Embedding similarity (cosine) through FAISS."""

    name = "dense"

    def __init__(self, index: Index) -> None:
        self.index = index

    def available(self) -> bool:
        return self.index.dense_unavailable_reason() is None

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        query = check_query(query, k)
        reason = self.index.dense_unavailable_reason()
        if reason is not None:
            raise InvalidInputError(f"dense search is not possible on {self.index.path}: {reason}")
        gen = self.index.generation
        embedder = self.index.embedder()
        assert gen is not None and gen.vectors is not None and embedder is not None
        allowed = gen.chunk_ids[filters.mask(gen) > 0] if filters else None
        ids, scores = gen.vectors.search(embedder.embed_query(query), k, allowed_ids=allowed)
        return _hits(self.index, ids, scores, self.name)


Fusion = Literal["rrf", "score"]


class HybridRetriever:
    """Fuses several retrievers' rankings.

    ``fusion="rrf"``: score = Σ wᵢ / (rrf_k + rankᵢ) — robust to incomparable score scales.
    ``fusion="score"``: score = Σ wᵢ · minmax(scoreᵢ). Each retriever is asked for
    ``max(k * candidates_factor, 20)`` candidates.
    """

    name = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        weights: Sequence[float] | None = None,
        fusion: Fusion = "rrf",
        rrf_k: int = 60,
        candidates_factor: int = 4,
    ) -> None:
        if not retrievers:
            raise InvalidInputError("HybridRetriever needs at least one retriever")
        self.retrievers = list(retrievers)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.retrievers)
        if len(self.weights) != len(self.retrievers):
            raise InvalidInputError(f"{len(self.weights)} weights for {len(self.retrievers)} retrievers")
        if fusion not in ("rrf", "score"):
            raise InvalidInputError(f"fusion={fusion!r}; choose 'rrf' or 'score'")
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.candidates_factor = candidates_factor

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        query = check_query(query, k)
        n_cand = max(k * self.candidates_factor, 20)
        fused: dict[int, float] = {}
        parts: dict[int, dict[str, float]] = {}
        best: dict[int, ScoredChunk] = {}
        for retriever, weight in zip(self.retrievers, self.weights, strict=True):
            hits = retriever.retrieve(query, n_cand, filters)
            if not hits:
                continue
            if self.fusion == "score":
                vals = np.array([h.score for h in hits])
                lo, hi = float(vals.min()), float(vals.max())
                norm = (vals - lo) / (hi - lo) if hi > lo else np.ones_like(vals)
            for rank, hit in enumerate(hits):
                cid = hit.chunk.chunk_id
                contrib = weight / (self.rrf_k + rank + 1) if self.fusion == "rrf" else weight * float(norm[rank])
                fused[cid] = fused.get(cid, 0.0) + contrib
                parts.setdefault(cid, {}).update(hit.scores)
                best.setdefault(cid, hit)
        order = sorted(fused, key=lambda c: (-fused[c], c))[:k]
        return [ScoredChunk(best[c].chunk, fused[c], parts[c]) for c in order]


def make_retriever(
    index: Index,
    mode: str,
    weights: tuple[float, float] = (1.0, 1.0),
    rrf_k: int = 60,
    fusion: Fusion = "rrf",
) -> Retriever:
    """The retriever for a search mode; ``hybrid``/``dense`` fall back to BM25 with a notice when the
    index has no usable vectors (the notice says why)."""
    from rabbit_rag.index.store import SEARCH_MODES, notice

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
