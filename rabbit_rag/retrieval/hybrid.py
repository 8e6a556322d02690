"""Fusing several retrievers' rankings: weighted reciprocal rank (default) or min-max-normalized scores.

:class:`HybridRetriever` sees only the :class:`~rabbit_rag.retrieval.base.Retriever` protocol, so it
fuses any retrievers — ours, or a llama-index retriever wrapped as one.

예::

    hybrid = HybridRetriever([BM25Retriever(index), DenseRetriever(index)], weights=[1.0, 0.7])
    hits = hybrid.retrieve("헌법재판소 재판관의 임기", k=5)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.retrieval.base import Retriever, check_query
from rabbit_rag.types import FUSIONS, Fusion, ScoredChunk

if TYPE_CHECKING:
    from rabbit_rag.index.filters import SearchFilter


#: Threads that run the other retrievers of hybrid searches while the calling thread runs the first.
#: Searches from several threads share them; a search that finds them all busy waits for one, so this
#: bounds the extra threads, not the searches.
POOL_THREADS = 4
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_pool = threading.local()


def _mark_pool_thread() -> None:
    _in_pool.active = True


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(POOL_THREADS, "rabbit-rag-hybrid", initializer=_mark_pool_thread)
        return _pool


class HybridRetriever:
    """Fuses several retrievers' rankings.

    ``fusion="rrf"``: score = Σ wᵢ / (rrf_k + rankᵢ) — robust to incomparable score scales.
    ``fusion="score"``: score = Σ wᵢ · minmax(scoreᵢ). Each retriever is asked for
    ``max(k * candidates_factor, 20)`` candidates.

    ``concurrent=True`` runs the retrievers after the first in a shared thread pool while the calling
    thread runs the first: our BM25 kernels (numba ``nogil``) and FAISS release the GIL, so the two
    halves of a hybrid search can overlap on two idle cores. It is off by default because it did not pay
    where we measured (docs/search.md: 1M chunks on two cores busy with other work, wall p50 13.1 ms
    against 11.4 ms one after the other, CPU p50 8.7 against 8.2 ms: waking the pool thread and handing
    the GIL back and forth cost more than the overlap saved). The fused result is the same either way
    (each ranking is its retriever's own, fused in the given order); a retriever that raises makes the
    search raise, after the others have finished. Retrievers that must not run beside each other (two
    sharing a connection that is not thread-safe) must stay serial. A concurrent hybrid search that
    itself runs in the pool (a hybrid of hybrids) runs its retrievers one after the other, so the pool
    never waits on itself.
    """

    name = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        weights: Sequence[float] | None = None,
        fusion: Fusion = "rrf",
        rrf_k: int = 60,
        candidates_factor: int = 4,
        concurrent: bool = False,
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
        self.concurrent = concurrent

    def _rankings(self, query: str, n_cand: int, filters: SearchFilter | None) -> list[list[ScoredChunk]]:
        """Each retriever's ``n_cand`` best, in the retrievers' order (see ``concurrent``)."""
        first, rest = self.retrievers[0], self.retrievers[1:]
        if not rest or not self.concurrent or getattr(_in_pool, "active", False):
            return [r.retrieve(query, n_cand, filters) for r in self.retrievers]
        pool = _shared_pool()
        futures: list[Future[list[ScoredChunk]]] = [pool.submit(r.retrieve, query, n_cand, filters) for r in rest]
        try:
            mine = first.retrieve(query, n_cand, filters)
        finally:  # never leave a search running behind a raised error
            for f in futures:
                f.exception()
        return [mine] + [f.result() for f in futures]

    def retrieve(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        query = check_query(query, k)
        n_cand = max(k * self.candidates_factor, 20)
        fused: dict[int, float] = {}
        parts: dict[int, dict[str, float]] = {}
        best: dict[int, ScoredChunk] = {}
        for hits, weight in zip(self._rankings(query, n_cand, filters), self.weights, strict=True):
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
