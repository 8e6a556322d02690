"""Our Kiwi BM25 as an inner product an engine can compute: document weights × query weights.

The local index scores with bm25s' Lucene variant::

    score(q, d) = Σ_{t in q} idf(t) · tf(t,d) / (tf(t,d) + k1 · (1 - b + b · dl(d) / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

The engine stores, for each chunk, the sparse vector ``{term id: tf / (tf + k1 (1 - b + b dl/avgdl))}``
and a query sends ``{term id: idf(t) × (times t occurs in the query)}``; their inner product is that
score. The idf is computed at query time from the document frequencies the engine keeps per term, so
it is always the current one; only ``avgdl`` is frozen in the stored weights, and the publisher
rewrites every chunk's weights when the live ``avgdl`` has moved by more than
:data:`AVGDL_TOLERANCE` (docs/scaling.md has the measured effect). ``N``, ``dl`` and ``avgdl`` count
a chunk without terms as length 1, as bm25s does with its sentinel column.

예::

    w = chunk_weights(np.array([3, 3, 7], np.uint32), avgdl=12.0, params={"k1": 1.2, "b": 0.75})
    q = query_weights([3, 9], df={3: 10, 9: 2}, n_docs=1000)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

#: Rewrite every chunk's stored weights when the corpus' mean chunk length has moved by more than this
#: share since they were written. 0 rewrites on every change (exact, costly for a large collection).
AVGDL_TOLERANCE = 0.02


def doc_length(term_ids: np.ndarray) -> int:
    """A chunk's length as bm25s counts it (a chunk without terms counts 1)."""
    return max(1, len(term_ids))


def chunk_weights(term_ids: np.ndarray, avgdl: float, params: Mapping[str, Any]) -> dict[int, float]:
    """The chunk's stored sparse vector: the BM25 term-frequency part of each distinct term."""
    if not len(term_ids):
        return {}
    ids, tf = np.unique(np.asarray(term_ids, dtype=np.int64), return_counts=True)
    k1, b = float(params["k1"]), float(params["b"])
    norm = k1 * (1.0 - b + b * doc_length(term_ids) / max(avgdl, 1e-9))
    w = (tf / (tf + norm)).astype(np.float32)
    return {int(i): float(x) for i, x in zip(ids, w, strict=True)}


def idf(df: int, n_docs: int) -> float:
    """Lucene's idf, as bm25s computes it."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def query_weights(term_ids: Iterable[int], df: Mapping[int, int], n_docs: int) -> dict[int, float]:
    """The query's sparse vector: idf of each known term times how often the query has it (bm25s adds
    a repeated query term once per occurrence). Terms no live chunk holds are left out."""
    out: dict[int, float] = {}
    for tid, count in Counter(int(t) for t in term_ids).items():
        d = df.get(tid, 0)
        if d > 0:
            out[tid] = idf(d, n_docs) * count
    return out


def unique_terms(term_ids: np.ndarray) -> np.ndarray:
    return np.unique(np.asarray(term_ids, dtype=np.int64))
