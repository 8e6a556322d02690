"""BM25 scoring: numpy on a small matrix (no bm25s import), bm25s' numba kernel on a large one, the
same scores to the bit either way."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rabbit_rag.index import bm25
from rabbit_rag.index.bm25 import BM25_PARAMS, BM25Matrix, BM25Scorer, _bm25s_model


def _random_corpus(seed: int, n_docs: int = 300, vocab: int = 120) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n_docs):
        n = int(rng.integers(0, 40))  # some chunks are empty (the sentinel column)
        docs.append(rng.zipf(1.3, n).clip(1, vocab).astype(np.int64) - 1)
    return docs


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_equal_bm25s_bit_for_bit(seed: int, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = 120
    matrix = BM25Matrix.build(_random_corpus(seed, vocab=vocab), vocab, BM25_PARAMS)
    monkeypatch.setattr(bm25, "JIT_MIN_ENTRIES", 0 if backend == "numba" else 10**9)
    ours = BM25Scorer(matrix, BM25_PARAMS)
    assert ours.backend == backend
    theirs = _bm25s_model(BM25_PARAMS)
    theirs.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": matrix.n_docs}
    theirs.nonoccurrence_array = None
    rng = np.random.default_rng(seed + 100)
    mask = (rng.random(matrix.n_docs) > 0.3).astype(np.float32)
    for query in ([0], [1, 5, 9], [3, 3, 7], list(rng.integers(0, vocab, 12))):
        expected = theirs.get_scores_from_ids(query)
        np.testing.assert_array_equal(ours.scores(query), expected)
        np.testing.assert_array_equal(ours.scores(query, weight_mask=mask), theirs.get_scores_from_ids(query, mask))
    # ids the matrix does not know (a later ingest's words) and the empty-chunk sentinel score nothing
    assert not ours.scores([vocab, vocab + 5, -1]).any()
    _rows, scores = ours.top_k([1, 5, 9], 5)
    assert list(scores) == sorted(scores, reverse=True) and (scores > 0).all()


def test_unsupported_method_is_refused() -> None:
    matrix = BM25Matrix.build([np.array([0, 1])], 2, BM25_PARAMS)
    with pytest.raises(ValueError, match="bm25\\+"):
        BM25Scorer(matrix, {**BM25_PARAMS, "method": "bm25+"})


def test_reading_an_index_does_not_import_bm25s(sample_index_ro) -> None:
    code = (
        "import sys; from rabbit_rag import open_index; "
        f"idx = open_index({str(sample_index_ro)!r}); "
        "assert idx.bm25_top_k('국회의원 임기', 3); "
        "print(sorted(m for m in ('bm25s', 'numba', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
