"""Dense vectors in FAISS: inner product over L2-normalized embeddings, ids = chunk ids.

Two kinds of index, recorded in each generation and in the manifest:

- ``flat`` — ``IndexIDMap2(IndexFlatIP)``: exact; every query reads every vector (about 10 ms per
  100k vectors of 1024 dimensions on one core), so it is the right index for small collections.
- ``ivf`` — candidates from an inverted-file index of 4-bit product-quantized codes scanned with SIMD
  (FAISS ``IVF{nlist},PQ{d/8}x4fs``: 64 bytes per 1024-dim vector, ``nlist`` ≈ 2·√n lists, a quarter
  of them probed, at most an eighth from 2048 lists on: :func:`ivf_probes`), then re-ranked exactly against the vectors themselves, kept as float16 (the
  docstore's own precision, so the re-ranking is exact) in ``vectors_f16.npy``, memory-mapped. Chosen
  by measurement (``benchmarks/ann_choice.py``): on the same vectors HNSW reached recall@10 0.94 at
  ``efSearch`` 128 and IVF-Flat 0.98 only when scanning a fifth of the vectors (8.6 ms), while this
  reached 0.985 in 1 ms at 100k; it builds far faster than HNSW on two cores, removes ids natively
  (HNSW cannot, so deletions would need tombstones and rebuilds), and filters by probing the allowed ids.

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

#: OpenMP threads that wait for work sleep instead of spinning. FAISS' k-means and adding run in many
#: short parallel regions; with the default (spinning) waits on a machine whose cores are busy with
#: other work, the threads spin against each other: training an ``ivf`` index of 100k vectors on two
#: busy cores took 166 s wall / 47 s CPU, and 25 s / 10.5 s with passive waits. OpenMP reads this when
#: FAISS loads (imported only in this module, after this line); a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
#: Lists probed per query: a quarter of ``nlist``, but no more than an eighth of it or
#: :data:`NPROBE_CAP` lists, whichever is more (:func:`ivf_probes`). Measured (docs/search.md, dense
#: recall@10 against exact search, strict / counting ties): at 100k vectors (512 lists) a quarter (128)
#: gives 0.978 / 0.982 and an eighth 0.966 / 0.970, so small indexes keep the quarter; at 1M (2048
#: lists) 256 gives 0.982 / 0.991, the same as 512 (the old quarter) at 1.1-1.6 ms less per query.
NPROBE_SHARE = 1 / 4
NPROBE_CAP = 256
#: Candidates re-ranked exactly: ``k`` times this, at least :data:`MIN_RERANK`.
RERANK_FACTOR = 20
MIN_RERANK = 200
#: ... and at most this many: the hybrid retriever asks each side for 40 (4 × k) candidates, whose
#: fused top 10 rests on the head of the dense ranking; 800 re-ranked vectors would cost more than the
#: rest of the query (measured 3 ms of CPU at 800 against 0.8 ms at 200 on this machine).
MAX_RERANK = 400
RERANK_IDS_FILE = "vectors_ids.npy"
RERANK_VECTORS_FILE = "vectors_f16.npy"


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


def ivf_probes(nlist: int) -> int:
    """Lists an ``ivf`` index of ``nlist`` lists probes per query (see :data:`NPROBE_SHARE`): 128 of 512,
    256 of 1024, 256 of 2048, 512 of 4096."""
    quarter = max(1, round(nlist * NPROBE_SHARE))
    return min(quarter, max(NPROBE_CAP, nlist // 8))


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


def _pq_subquantizers(dim: int) -> int:
    """Product-quantizer parts: one per 8 dimensions when they divide evenly."""
    for m in (dim // 8, dim // 4, dim // 2):
        if m >= 1 and dim % m == 0:
            return m
    return dim


class VectorIndex:
    """A FAISS inner-product index keyed by chunk id (``flat``, or ``ivf`` with exact re-ranking)."""

    def __init__(self, index: Any, dim: int, ids: np.ndarray | None = None, vectors: np.ndarray | None = None) -> None:
        import faiss

        self.index = index
        self.dim = dim
        self._ivf = None
        with contextlib.suppress(RuntimeError):
            self._ivf = faiss.extract_index_ivf(index)
        self.kind = "ivf" if self._ivf is not None else "flat"
        # ivf: the exact vectors (float16, rows in ascending chunk-id order) the candidates are re-ranked with
        self.ids = ids if ids is not None else np.zeros(0, np.int64)
        self.vectors = vectors if vectors is not None else np.zeros((0, dim), np.float16)
        self.nprobe = 0
        if self._ivf is not None:
            self.nprobe = ivf_probes(int(self._ivf.nlist))

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
            spec = f"IVF{ivf_lists(n_vectors)},PQ{_pq_subquantizers(dim)}x4fs"
            index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
            ivf = faiss.extract_index_ivf(index)
            ivf.cp.niter = KMEANS_ITERATIONS
            # unit centroids: with inner-product assignment, a centroid of larger norm would draw points
            # (and queries) that lie nearer another one
            ivf.cp.spherical = True
            return cls(index, dim)
        raise ValueError(f"vector index kind {kind!r} is not one of flat, ivf")

    def describe(self) -> dict[str, Any]:
        """What the manifest and ``generation.json`` record about this index."""
        if self._ivf is None:
            return {"type": "flat"}
        return {"type": "ivf", "nlist": int(self._ivf.nlist), "nprobe": int(self.nprobe),
                "codes": f"PQ{_pq_subquantizers(self.dim)}x4fs", "rerank": "float16"}  # fmt: skip

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
        """Learn the lists' centroids (k-means) and the codebooks from a sample; no-op for ``flat``."""
        if self._ivf is None or self.index.is_trained:
            return
        self.index.train(np.ascontiguousarray(vectors, dtype=np.float32))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under chunk ids (for ``ivf``, ids larger than any already there: chunk ids grow)."""
        if not len(ids):
            return
        ids = np.asarray(ids, dtype=np.int64)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        if self._ivf is not None:
            self.ids = np.concatenate([self.ids, ids])
            self.vectors = np.concatenate([self.vectors, np.asarray(vectors, np.float16)])
            if len(self.ids) > 1 and np.any(np.diff(self.ids) <= 0):
                order = np.argsort(self.ids, kind="stable")
                self.ids, self.vectors = self.ids[order], self.vectors[order]

    def add_sorted(self, ids: np.ndarray, vectors: np.ndarray, batch: int = 20_000) -> None:
        """Add every vector of an empty index at once: ``ids`` ascending, ``vectors`` float16 (the
        docstore's precision). FAISS gets them as float32 ``batch`` rows at a time (a million float32
        vectors of 1024 dimensions would be 4 GB); an ``ivf`` index keeps ``vectors`` itself, not a
        copy, as its re-ranking vectors."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(self) or (len(ids) > 1 and np.any(np.diff(ids) <= 0)):
            raise ValueError("add_sorted needs an empty index and ascending ids")
        for start in range(0, len(ids), batch):
            part = np.asarray(vectors[start : start + batch], np.float32)
            self.index.add_with_ids(part, ids[start : start + batch])
        if self._ivf is not None:
            self.ids, self.vectors = ids, vectors

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        if not len(ids):
            return 0
        ids = np.asarray(ids, dtype=np.int64)
        removed = int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))
        if self._ivf is not None:
            keep = ~np.isin(self.ids, ids)
            self.ids, self.vectors = self.ids[keep], self.vectors[keep]
        return removed

    def save(self, path: Path) -> None:
        """Write the FAISS file at ``path`` (and, for ``ivf``, the re-ranking vectors beside it)."""
        import faiss

        from rabbit_rag.index.fsio import open_new, save_npy

        # through a file we opened owner-only (0600, like every index file: the folder's files hold the
        # documents' content); ``faiss.write_index(index, str(path))`` would create it with the umask
        with open_new(path) as f:
            writer = faiss.PyCallbackIOWriter(f.write)
            faiss.write_index(self.index, writer)
            del writer  # flushes FAISS' buffer into ``f`` before it is closed
            f.flush()
            os.fsync(f.fileno())
        if self._ivf is not None:
            save_npy(path.parent / RERANK_IDS_FILE, self.ids)
            save_npy(path.parent / RERANK_VECTORS_FILE, self.vectors)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        import faiss

        from rabbit_rag.index.fsio import load_npy

        index = faiss.read_index(str(path))
        vi = cls(index, index.d)
        if vi._ivf is not None:
            vi.ids = load_npy(path.parent / RERANK_IDS_FILE)
            vi.vectors = load_npy(path.parent / RERANK_VECTORS_FILE, mmap=True)
            if len(vi.ids) != len(vi) or vi.vectors.shape != (len(vi), vi.dim):
                from rabbit_rag.errors import IndexCorruptError

                raise IndexCorruptError(f"{path.parent}: the re-ranking vectors do not match {path.name}")
        return vi

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores of the ``k`` nearest vectors (optionally among ``allowed_ids``).

        ``ivf``: the codes give ``k`` × :data:`RERANK_FACTOR` candidates, whose exact scores decide; a
        filter is applied while the lists are scanned, with as many more lists probed as it is selective."""
        import faiss

        if len(self) == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        sel = None
        if allowed_ids is not None:
            if not len(allowed_ids):
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            sel = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
        if self._ivf is None:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
            with faiss_threads(1):
                scores, ids = self.index.search(q, min(k, len(self)), params=params)
            keep = ids[0] >= 0
            return ids[0][keep], scores[0][keep]
        nprobe = self.nprobe
        if allowed_ids is not None:
            share = max(len(allowed_ids) / len(self), 1e-9)
            nprobe = min(int(self._ivf.nlist), math.ceil(nprobe / share))
        n_cand = min(len(self), max(min(k * RERANK_FACTOR, MAX_RERANK), MIN_RERANK))
        with faiss_threads(1):
            _, cand = self.index.search(q, n_cand, params=faiss.SearchParametersIVF(sel=sel, nprobe=nprobe))
        cand = cand[0][cand[0] >= 0]
        rows = np.searchsorted(self.ids, cand)
        # einsum, not ``@``: a matrix-vector product goes to BLAS, whose threads spin for a few ms per
        # call on a busy machine (measured: 800 candidates 8.0 ms CPU with ``@``, 3.3 ms with einsum)
        exact = np.einsum("ij,j->i", self.vectors[rows].astype(np.float32), q[0])
        order = np.lexsort((cand, -exact))[:k]
        return cand[order], exact[order]
