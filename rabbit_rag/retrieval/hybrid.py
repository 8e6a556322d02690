"""Fusing several retrievers' rankings: weighted reciprocal rank (default) or min-max-normalized scores.

:class:`HybridRetriever` sees only the :class:`~rabbit_rag.retrieval.base.Retriever` protocol, so it
fuses any retrievers — ours, or a llama-index retriever wrapped as one.

예::

    hybrid = HybridRetriever([BM25Retriever(index), DenseRetriever(index)], weights=[1.0, 0.7])
    hits = hybrid.retrieve("헌법재판소 재판관의 임기", k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.retrieval.base import Retriever, check_query
from rabbit_rag.types import FUSIONS, Fusion, ScoredChunk

if TYPE_CHECKING:
    from rabbit_rag.index.filters import SearchFilter


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
        if fusion not in FUSIONS:
            raise InvalidInputError(f"fusion={fusion!r}; choose one of {', '.join(FUSIONS)}")
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
