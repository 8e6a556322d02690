"""BM25 over Kiwi content morphemes, built by bm25s; queries scored by numpy or bm25s' numba kernel.

The score matrix (bm25s' CSC layout: one column per vocabulary id, one row per chunk) is built from
the term ids stored in the docstore and saved as plain ``.npy`` files. Vocabulary ids are the
docstore's, so a query is mapped to ids with one indexed SQLite lookup and nothing else needs to be
loaded; ids newer than the matrix (added by a later ingest) simply score nothing.

Scoring a query is a sum of a few precomputed columns. Importing bm25s, numba and scipy costs about
half a second of CPU per process, which a first ``rabbit-rag search`` should not pay on a small index,
while on a large one numba's loop is several times faster per query than numpy's scatter-add
(``benchmarks/bm25_scoring.py``: at 10k chunks 0.43 vs 0.17 ms per query, at 100k chunks 11.5 vs
2.6 ms). So a matrix under :data:`JIT_MIN_ENTRIES` stored scores is scored with numpy and never
imports them, a larger one with bm25s' kernel. Both sum in float32, term by term, in the same order:
the scores are identical to the bit.

A constraint for whoever changes this module (a faster large-index search, a numba build): the read
path of a *small* index — loading the matrix, :class:`BM25Scorer` and its ``scores``/``top_k`` —
must not import torch, and should not import numba, scipy or bm25s either, because it is most of
what a first ``rabbit-rag search`` costs beyond Kiwi (``tests/rabbit_rag/cli/test_first_answer.py``
checks the imports; ``benchmarks/first_answer.py`` measures the time). Keep heavy imports inside the
branch for large matrices (``JIT_MIN_ENTRIES``) or inside the build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.index.fsio import load_npy, save_npy

BM25_PARAMS: dict[str, Any] = {"k1": 1.2, "b": 0.75, "method": "lucene"}
_NO_NONOCCURRENCE = ("lucene", "robertson", "atire")
#: Matrices with at least this many stored (chunk, term) scores — about 25,000 chunks of 40 terms —
#: are scored by bm25s' numba kernel; smaller ones by numpy (see the module docstring).
JIT_MIN_ENTRIES = 1_000_000


def _bm25s_model(params: dict[str, Any]) -> Any:
    import bm25s

    try:
        import numba  # noqa: F401

        backend = "numba"
    except ImportError:  # pragma: no cover - numba is a dependency, but keep search working without it
        backend = "numpy"
    return bm25s.BM25(k1=params["k1"], b=params["b"], method=params["method"], backend=backend)


@dataclass
class BM25Matrix:
    """A built BM25 index: CSC arrays plus the number of chunks (rows)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_docs: int

    @classmethod
    def build(cls, corpus_term_ids: Sequence[np.ndarray], vocab_size: int, params: dict[str, Any]) -> BM25Matrix:
        """Build from one array of vocabulary ids per chunk (ids in ``[0, vocab_size)``)."""
        n_docs = len(corpus_term_ids)
        if n_docs == 0:
            return cls(np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(vocab_size + 1, np.int64), 0)
        model = _bm25s_model(params)
        # An empty chunk (only punctuation) still needs one id so bm25s' averages stay defined; id
        # ``vocab_size`` is a sentinel column that no query can ask for.
        corpus = [ids.tolist() if len(ids) else [vocab_size] for ids in corpus_term_ids]
        scores = model.build_index_from_ids(
            unique_token_ids=list(range(vocab_size + 1)), corpus_token_ids=corpus, show_progress=False
        )
        return cls(
            np.asarray(scores["data"], np.float32),
            np.asarray(scores["indices"], np.int32),
            np.asarray(scores["indptr"], np.int64),
            n_docs,
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_npy(folder / "bm25_data.npy", self.data)
        save_npy(folder / "bm25_indices.npy", self.indices)
        save_npy(folder / "bm25_indptr.npy", self.indptr)

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> BM25Matrix:
        return cls(
            load_npy(folder / "bm25_data.npy", mmap=True),
            load_npy(folder / "bm25_indices.npy", mmap=True),
            load_npy(folder / "bm25_indptr.npy"),
            n_docs,
        )


class BM25Scorer:
    """Scores a query's vocabulary ids against a :class:`BM25Matrix`: numpy for a small matrix, bm25s'
    numba kernel for a large one (see the module docstring); the scores are the same either way.

    예: ``BM25Scorer(matrix).top_k([12, 40], k=5)`` → (rows, scores), best first
    """

    def __init__(self, matrix: BM25Matrix, params: dict[str, Any] | None = None) -> None:
        # ``params`` (k1, b, method) are baked into the matrix when it is built. Lucene, Robertson and
        # ATIRE BM25 give nothing to a term a chunk lacks, so the columns are the whole score; BM25L
        # and BM25+ would need bm25s' non-occurrence array, which these indexes never use.
        method = (params or BM25_PARAMS).get("method", "lucene")
        if method not in _NO_NONOCCURRENCE:
            raise ValueError(f"BM25 method {method!r} is not supported for search; use one of {_NO_NONOCCURRENCE}")
        self.matrix = matrix
        self._n_terms = len(matrix.indptr) - 1
        self._jit: Any = None
        if len(matrix.data) >= JIT_MIN_ENTRIES:
            self._jit = _bm25s_model(params or BM25_PARAMS)
            self._jit.scores = {
                "data": matrix.data,
                "indices": matrix.indices,
                "indptr": matrix.indptr,
                "num_docs": matrix.n_docs,
            }
            self._jit.nonoccurrence_array = None

    @property
    def backend(self) -> str:
        """``numba`` (bm25s' kernel) or ``numpy``: what scores this matrix."""
        return "numba" if self._jit is not None else "numpy"

    def scores(self, term_ids: Sequence[int], weight_mask: np.ndarray | None = None) -> np.ndarray:
        """The BM25 score of every chunk row (a repeated query term counts again, as in bm25s)."""
        m = self.matrix
        # the last column is the build's sentinel for empty chunks: never a query term
        ids = [i for i in term_ids if 0 <= i < self._n_terms - 1]
        if not ids or m.n_docs == 0:
            return np.zeros(m.n_docs, np.float32)
        if self._jit is not None:
            return self._jit.get_scores_from_ids(ids, weight_mask=weight_mask)
        out = np.zeros(m.n_docs, np.float32)
        for t in ids:
            a, b = int(m.indptr[t]), int(m.indptr[t + 1])
            if b > a:
                # one entry per chunk within a column, so a fancy-index add is exact
                out[m.indices[a:b]] += m.data[a:b]
        if weight_mask is not None:
            out *= weight_mask
        return out

    def top_k(
        self, term_ids: Sequence[int], k: int, weight_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and scores of the ``k`` best chunks with a positive score, best first."""
        scores = self.scores(term_ids, weight_mask)
        n = len(scores)
        if n == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        k = min(k, n)
        idx = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        keep = scores[idx] > 0
        return idx[keep], scores[idx][keep]
