"""BM25 over Kiwi content morphemes: bm25s' scores, built and searched by our kernels.

The score matrix (bm25s' CSC layout: one column per vocabulary id, one row per chunk) is built from
the term ids stored in the docstore and saved as plain ``.npy`` files, with each column's largest
entry (``bm25_colmax.npy``) as the bound the pruned top-k needs. The entries are bm25s' own — its
idf and term-frequency formulas, in the same floating-point order, so an index holds the numbers
``bm25s.BM25(...).build_index_from_ids`` would — but the build and the search run in
:mod:`rabbit_rag.index.bm25_kernels` (numba): a million chunks build in seconds instead of
minutes, and a query reads only the postings that can change its top ``k``.

Vocabulary ids are the docstore's; ids newer than the matrix (added by a later ingest) score nothing.

**What a search imports.** Importing numba (and bm25s, which the build uses for its scoring
functions) costs about half a second of CPU per process, which a first ``rabbit-rag search`` on a
small index should not pay (issue 14), while at a hundred thousand chunks and more the pruned numba
top-k is several times faster than numpy and is what keeps BM25 at or below bm25s' own latency
(issue 17). So the kernels are imported lazily, only where they are used: when a matrix is **built**
(ingest), and when a matrix with at least :data:`JIT_MIN_ENTRIES` stored scores is **searched**. A
smaller matrix is scored with numpy (a scatter-add per query term, then a partial sort) and a search
never imports numba, bm25s or scipy. Both backends sum each chunk's score in float32, term by term in
query order, so the scores — and therefore the top ``k`` and its order — are the same to the bit
(tested). Loading a matrix imports neither: the column bounds are saved with it (or recomputed with
numpy for a generation written before they were).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.index.fsio import load_npy, save_npy

BM25_PARAMS: dict[str, Any] = {"k1": 1.2, "b": 0.75, "method": "lucene"}

#: The bm25s variants whose scores live wholly in the matrix (BM25L and BM25+ add a score for every
#: term a chunk lacks, which a sparse matrix cannot hold).
SUPPORTED_METHODS = ("lucene", "robertson", "atire")

#: Matrices with at least this many stored (chunk, term) scores — about 25,000 chunks of 40 terms —
#: are searched by the numba kernels; smaller ones by numpy, without importing numba (module docstring).
JIT_MIN_ENTRIES = 1_000_000
_NO_MASK = np.zeros(0, np.uint8)  # top_k without a filter (one array for every query)


def _check_method(params: dict[str, Any]) -> str:
    method = params.get("method", "lucene")
    if method not in SUPPORTED_METHODS:
        raise ValueError(f"BM25 method {method!r} is not supported; choose one of {', '.join(SUPPORTED_METHODS)}")
    return method


def _column_max(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Each column's largest entry (0 for an empty one), with numpy (no numba import on the read path)."""
    n_cols = len(indptr) - 1
    out = np.zeros(n_cols, np.float32)
    starts = np.asarray(indptr[:-1], np.int64)
    nonempty = np.flatnonzero(np.asarray(indptr[1:]) > starts)
    if len(nonempty) and len(data):
        out[nonempty] = np.maximum.reduceat(np.asarray(data, np.float32), starts[nonempty])
    return out


def _scorers(params: dict[str, Any]) -> tuple[Any, Any]:
    from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

    method = _check_method(params)
    return _select_idf_scorer(params.get("idf_method") or method), _select_tfc_scorer(method)


#: Entries scored at a time when a matrix is built (bounds the float64 temporaries).
_SCORE_BLOCK = 1 << 22


def bm25_entries(
    terms: np.ndarray, offsets: np.ndarray, vocab_size: int, params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, term, score)`` of every (chunk, distinct term) pair, in row order, as bm25s computes them.

    bm25s: ``idf`` per term in float64 (``math.log``) stored as float32; ``tfc = tf / (k1 * ((1 - b) +
    b * l_d / l_avg) + tf)`` in float64 with ``l_avg`` the mean chunk length; entry = float32(idf * tfc).
    """
    from rabbit_rag.index import bm25_kernels as K

    idf_fn, tfc_fn = _scorers(params)
    n_docs = len(offsets) - 1
    doc_len = np.diff(offsets)
    l_avg = doc_len.mean()  # the same float64 as bm25s' np.array([len(d) for d in corpus]).mean()
    rows, cols, tf = K.count_terms(terms, offsets)
    df = np.bincount(cols, minlength=vocab_size)
    # idf depends on df only: compute it once per distinct df, with bm25s' own scalar function
    uniq_df, inverse = np.unique(df, return_inverse=True)
    idf_of_df = np.array([idf_fn(int(x), N=n_docs) if x else 0.0 for x in uniq_df], np.float64).astype(np.float32)
    idf = idf_of_df[inverse]
    # the same element-wise arithmetic block by block: its float64 temporaries (a few per entry, 50M
    # entries at a million chunks) stay small instead of gigabytes
    scores = np.empty(len(rows), np.float32)
    for s in range(0, len(rows), _SCORE_BLOCK):
        e = s + _SCORE_BLOCK
        tfc = tfc_fn(tf_array=tf[s:e].astype(np.float32), l_d=doc_len[rows[s:e]].astype(np.float64), l_avg=l_avg,
                     k1=params["k1"], b=params["b"])  # fmt: skip
        scores[s:e] = idf[cols[s:e]] * np.asarray(tfc, np.float64)
    return rows, cols, scores


@dataclass
class BM25Matrix:
    """A built BM25 index: CSC arrays, the number of chunks (rows) and each column's largest entry."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_docs: int
    col_max: np.ndarray

    @classmethod
    def build(cls, corpus_term_ids: Sequence[np.ndarray], vocab_size: int, params: dict[str, Any]) -> BM25Matrix:
        """Build from one array of vocabulary ids per chunk (ids in ``[0, vocab_size)``)."""
        lens = np.fromiter((len(a) for a in corpus_term_ids), np.int64, count=len(corpus_term_ids))
        offsets = np.zeros(len(lens) + 1, np.int64)
        np.cumsum(lens, out=offsets[1:])
        terms = np.concatenate([np.asarray(a, np.int64) for a in corpus_term_ids]) if len(lens) else np.zeros(0)
        return cls.build_flat(terms.astype(np.int64), offsets, vocab_size, params)

    @classmethod
    def build_flat(cls, terms: np.ndarray, offsets: np.ndarray, vocab_size: int, params: dict[str, Any]) -> BM25Matrix:
        """Build from all chunks' term ids laid end to end (chunk ``i`` is ``terms[offsets[i]:offsets[i+1]]``)."""
        from rabbit_rag.index import bm25_kernels as K

        n_docs = len(offsets) - 1
        n_cols = vocab_size + 1
        if n_docs == 0:
            return cls(np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(n_cols + 1, np.int64), 0,
                       np.zeros(n_cols, np.float32))  # fmt: skip
        terms = np.asarray(terms, np.int64)
        offsets = np.asarray(offsets, np.int64)
        # An empty chunk (only punctuation) still counts one term so the average length matches bm25s',
        # which we give it: id ``vocab_size``, a sentinel column that no query can ask for.
        empty = np.flatnonzero(offsets[1:] == offsets[:-1])
        if len(empty):
            terms = np.insert(terms, offsets[empty], vocab_size)
            offsets = offsets + np.searchsorted(empty, np.arange(n_docs + 1), side="left")
        rows, cols, scores = bm25_entries(terms, offsets, n_cols, params)
        data, indices, indptr = K.to_csc(rows, cols, scores, n_cols)
        return cls(data, indices, indptr, n_docs, K.column_max(data, indptr))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_npy(folder / "bm25_data.npy", self.data)
        save_npy(folder / "bm25_indices.npy", self.indices)
        save_npy(folder / "bm25_indptr.npy", self.indptr)
        save_npy(folder / "bm25_colmax.npy", self.col_max)

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> BM25Matrix:
        """Memory-map the matrix copy-on-write: nothing is read until a query touches it, and the arrays
        are writable in numba's eyes, so the kernels compiled (and cached on disk) for in-memory arrays
        serve them; a read-only map is another numba type and would compile them again at the first
        query of every new installation (15-25 s of CPU here). Nothing ever writes to them."""

        def mapped(name: str) -> np.ndarray:
            return np.load(folder / name, allow_pickle=False, mmap_mode="c")

        data = mapped("bm25_data.npy")
        indptr = load_npy(folder / "bm25_indptr.npy")
        colmax_file = folder / "bm25_colmax.npy"
        # a generation written before the bounds were saved gets them from numpy
        col_max = load_npy(colmax_file) if colmax_file.is_file() else _column_max(np.asarray(data), indptr)
        return cls(data, mapped("bm25_indices.npy"), indptr, n_docs, col_max)


class BM25Scorer:
    """Exact BM25 top-k over a :class:`BM25Matrix` (scores equal to bm25s' ``get_scores_from_ids``):
    numpy for a matrix under :data:`JIT_MIN_ENTRIES` entries, the numba kernels (imported on first
    use) for a larger one; the same numbers either way (see the module docstring).

    Thread-safe: each thread gets its own scratch accumulator (4 bytes per chunk) on first use.

    예: ``BM25Scorer(matrix).top_k([12, 40], k=5)`` → (rows, scores), best first
    """

    def __init__(self, matrix: BM25Matrix, params: dict[str, Any] | None = None) -> None:
        # k1, b and the method are baked into the matrix when it is built; Lucene, Robertson and ATIRE
        # give nothing to a term a chunk lacks, so the columns are the whole score (BM25L and BM25+
        # would need a non-occurrence term, which these indexes never hold).
        _check_method(params or BM25_PARAMS)
        self.matrix = matrix
        self._n_terms = len(matrix.indptr) - 1
        self._local = threading.local()
        self._jit = len(matrix.data) >= JIT_MIN_ENTRIES

    @property
    def backend(self) -> str:
        """``numba`` or ``numpy``: what searches this matrix."""
        return "numba" if self._jit else "numpy"

    def warm(self) -> None:
        """Compile the search kernel now (numba caches it on disk) when this matrix will use it: the
        writer calls this after building a large matrix, so the first query after an ingest does not
        pay for the compilation."""
        if self._jit and self.matrix.n_docs:
            self.top_k([0], 1)

    def _ids(self, term_ids: Sequence[int]) -> np.ndarray:
        # the last column is the empty-chunk sentinel: never a query term
        top = self._n_terms - 1
        return np.array([t for t in term_ids if 0 <= t < top], np.int64)  # a query's few ids: no array masks

    def _numpy_scores(self, ids: np.ndarray) -> np.ndarray:
        m = self.matrix
        out = np.zeros(m.n_docs, np.float32)
        for t in ids:
            a, b = int(m.indptr[t]), int(m.indptr[t + 1])
            if b > a:  # one entry per chunk within a column, so a fancy-index add is exact
                out[m.indices[a:b]] += m.data[a:b]
        return out

    def scores(self, term_ids: Sequence[int], weight_mask: np.ndarray | None = None) -> np.ndarray:
        """Every chunk's score (float32), as bm25s would give it (a repeated query term counts again)."""
        m = self.matrix
        ids = self._ids(term_ids)
        if self._jit:
            from rabbit_rag.index import bm25_kernels as K

            scores = K.full_scores(m.data, m.indices, m.indptr, ids, m.n_docs)
        else:
            scores = self._numpy_scores(ids)
        if weight_mask is not None:
            scores *= weight_mask
        return scores

    def top_k(
        self, term_ids: Sequence[int], k: int, weight_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and scores of the ``k`` best chunks with a positive score, best first (ties:
        lower row first). ``weight_mask``: 0 for rows to leave out (a filter), else 1."""
        m = self.matrix
        ids = self._ids(term_ids)
        if not len(ids) or m.n_docs == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if not self._jit:
            scores = self._numpy_scores(ids)
            if weight_mask is not None:
                scores[np.asarray(weight_mask) <= 0] = 0
            cand = np.flatnonzero(scores > 0)
            if len(cand) > k:  # everything tied with the k-th best stays, so ties resolve by row below
                kth = np.partition(scores[cand], len(cand) - k)[len(cand) - k]
                cand = cand[scores[cand] >= kth]
            order = cand[np.lexsort((cand, -scores[cand]))][:k]
            return order.astype(np.int64), scores[order]
        from rabbit_rag.index import bm25_kernels as K

        acc = getattr(self._local, "acc", None)
        if acc is None or len(acc) != m.n_docs:
            acc = self._local.acc = np.zeros(m.n_docs, np.float32)
        mask = _NO_MASK if weight_mask is None else (np.asarray(weight_mask) > 0).view(np.uint8)
        return K.top_k(m.data, m.indices, m.indptr, m.col_max, ids, mask, int(k), acc)
