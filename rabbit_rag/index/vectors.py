"""Dense vectors in FAISS: inner product over L2-normalized embeddings, ids = chunk ids.

Two kinds of index, recorded in each generation and in the manifest:

- ``flat`` — ``IndexIDMap2(IndexFlatIP)``: exact; every query reads every vector (about 10 ms per
  100k vectors of 1024 dimensions on one core), so it is the right index for small collections.
- ``ivf`` — ``IndexIVFFlat`` (inner product) with ``nlist`` ≈ 2·√n lists: a query reads the
  ``nprobe`` lists whose centroids are nearest, a few percent of the vectors. Chosen by measurement
  (``benchmarks/ann_choice.py``): it met recall@10 ≥ 0.98 against exact search where HNSW needed
  a far larger ``efSearch`` on the same vectors, builds an order of magnitude faster than HNSW (k-means
  and assignment are matrix products), removes ids natively (HNSW cannot remove, so deletions would
  need tombstones and rebuilds), and keeps recall under a filter by probing more lists.

``auto`` (the default) builds ``flat`` below :data:`APPROXIMATE_FROM` vectors and ``ivf`` from there.
A generation is derived from the previous one when possible (remove the replaced chunks' ids, add the
new ones); an ``ivf`` index is trained again — a full rebuild from the docstore's stored vectors — when
the collection has grown past :data:`RETRAIN_GROWTH` times the size it was trained on, or when the
kind asked for changes.

예::

    vi = VectorIndex.create("ivf", dim=1024, n_vectors=1_000_000)
    vi.train(sample)             # a few hundred thousand vectors at most
    vi.add(chunk_ids, vectors)
    ids, scores = vi.search(query_vector, k=10)
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

FAISS_FILE = "vectors.faiss"

#: The choices of the ``vector_index`` setting (``RABBIT_RAG_VECTOR_INDEX``).
VECTOR_INDEX_CHOICES = ("auto", "flat", "ivf")
DEFAULT_VECTOR_INDEX = "auto"
#: From this many vectors on, ``auto`` builds the approximate index: below it, exact search costs less
#: than ~5 ms per query on one core and building lists would not pay.
APPROXIMATE_FROM = 50_000
#: Below this many vectors even an explicit ``ivf`` builds ``flat`` (k-means needs points to learn from).
MIN_IVF_VECTORS = 1_000
#: An ``ivf`` index is retrained once the collection is this many times the size it was trained on.
RETRAIN_GROWTH = 4.0
#: Training points per list (FAISS warns below 39); capped so training stays a small part of a build.
TRAIN_PER_LIST = 40
MAX_TRAIN = 100_000
#: k-means iterations (FAISS' default is 25): the centroids only route queries to lists, and
#: 10 iterations train a million-vector index in a fraction of the time at no measurable recall cost.
KMEANS_ITERATIONS = 10
#: Lists probed per query, as a share of ``nlist`` (with a floor): measured to give recall@10 ≥ 0.98.
NPROBE_SHARE = 1 / 32
MIN_NPROBE = 16


def resolve_kind(requested: str, n_vectors: int) -> str:
    """The index kind to build for ``n_vectors`` vectors when ``requested`` (a setting) is asked for."""
    if requested not in VECTOR_INDEX_CHOICES:
        raise ValueError(f"vector index {requested!r} is not one of {', '.join(VECTOR_INDEX_CHOICES)}")
    if requested == "auto":
        return "ivf" if n_vectors >= APPROXIMATE_FROM else "flat"
    if requested == "ivf" and n_vectors < MIN_IVF_VECTORS:
        return "flat"  # too few vectors to learn lists from; exact search costs nothing here
    return requested


def ivf_lists(n_vectors: int) -> int:
    """Lists of an ``ivf`` index for ``n_vectors``: about 2·√n (a power of two; 2048 for a million), and
    no more than k-means can learn from the vectors there are (:data:`TRAIN_PER_LIST` each). More
    lists make a probe cheaper but training and assignment dearer (both grow with the list count)."""
    n = max(n_vectors, 1)
    return max(1, min(2 ** round(math.log2(2 * math.sqrt(n))), n // TRAIN_PER_LIST))


@contextlib.contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """Run FAISS with ``n`` OpenMP threads: one for single queries (thread start-up dominates)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class VectorIndex:
    """A FAISS inner-product index keyed by chunk id (``flat`` or ``ivf``)."""

    def __init__(self, index: Any, dim: int) -> None:
        import faiss

        self.index = index
        self.dim = dim
        self._ivf = None
        with contextlib.suppress(RuntimeError):
            self._ivf = faiss.extract_index_ivf(index)
        self.kind = "ivf" if self._ivf is not None else "flat"
        self.nprobe = max(MIN_NPROBE, round(self._ivf.nlist * NPROBE_SHARE)) if self._ivf is not None else 0
        if self._ivf is not None:
            self.nprobe = min(self.nprobe, self._ivf.nlist)

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        """An exact (``flat``) index."""
        return cls.create("flat", dim, 0)

    @classmethod
    def create(cls, kind: str, dim: int, n_vectors: int) -> VectorIndex:
        """An empty index of ``kind`` sized for about ``n_vectors`` (``ivf`` must be trained before adding)."""
        import faiss

        if kind == "flat":
            return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim)
        if kind == "ivf":
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, ivf_lists(n_vectors), faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = KMEANS_ITERATIONS
            # unit centroids: with inner-product assignment, a centroid of larger norm would draw points
            # (and queries) that lie nearer another one
            index.cp.spherical = True
            index.own_fields = True
            quantizer.this.disown()
            return cls(index, dim)
        raise ValueError(f"vector index kind {kind!r} is not one of flat, ivf")

    def describe(self) -> dict[str, Any]:
        """What the manifest and ``generation.json`` record about this index."""
        if self._ivf is None:
            return {"type": "flat"}
        return {"type": "ivf", "nlist": int(self._ivf.nlist), "nprobe": int(self.nprobe)}

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def is_trained(self) -> bool:
        return bool(self.index.is_trained)

    def train_size(self) -> int:
        """How many vectors :meth:`train` wants (0 when the index needs no training)."""
        if self._ivf is None:
            return 0
        return min(MAX_TRAIN, TRAIN_PER_LIST * int(self._ivf.nlist))

    def train(self, vectors: np.ndarray) -> None:
        """Learn the lists' centroids (k-means) from a sample of the vectors; no-op for ``flat``."""
        if self._ivf is None or self.index.is_trained:
            return
        self.index.train(np.ascontiguousarray(vectors, dtype=np.float32))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        if not len(ids):
            return 0
        return int(self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index, index.d)

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores of the ``k`` nearest vectors (optionally among ``allowed_ids``).

        With a filter, an ``ivf`` index probes more lists — as many more as the filter is selective —
        so about as many allowed vectors are compared as without one."""
        import faiss

        if len(self) == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        sel = None
        if allowed_ids is not None:
            if not len(allowed_ids):
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            sel = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
        if self._ivf is not None:
            nprobe = self.nprobe
            if allowed_ids is not None:
                share = max(len(allowed_ids) / len(self), 1e-9)
                nprobe = min(int(self._ivf.nlist), math.ceil(nprobe / share))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        with faiss_threads(1):
            scores, ids = self.index.search(q, min(k, len(self)), params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]
