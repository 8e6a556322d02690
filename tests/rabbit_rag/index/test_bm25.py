"""The BM25 matrix holds bm25s' numbers, and the pruned top-k is exactly full scoring's top-k, whether
numba (large matrices) or numpy (small ones, no numba import on the read path: checked in a child process
by ``tests/rabbit_rag/cli/test_first_answer.py``) searches it."""

from __future__ import annotations

import numpy as np
import pytest

from rabbit_rag.index import bm25
from rabbit_rag.index.bm25 import BM25_PARAMS, BM25Matrix, BM25Scorer


@pytest.fixture(params=["numba", "numpy"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each search backend, whatever the matrix size."""
    monkeypatch.setattr(bm25, "JIT_MIN_ENTRIES", 0 if request.param == "numba" else 10**12)
    return request.param


def zipf_corpus(rng: np.random.Generator, n_docs: int, vocab: int) -> list[np.ndarray]:
    """Chunks of 0-60 term ids drawn Zipf-like: a few terms in most chunks (하, 있), most terms rare."""
    weights = 1.0 / np.arange(1, vocab + 1) ** 1.1
    weights /= weights.sum()
    return [rng.choice(vocab, size=rng.integers(0, 60), p=weights).astype(np.uint32) for _ in range(n_docs)]


def reference_scores(matrix: BM25Matrix, query: list[int]) -> np.ndarray:
    import bm25s

    model = bm25s.BM25(**{**BM25_PARAMS}, backend="numpy")
    model.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": matrix.n_docs}
    model.nonoccurrence_array = None
    return model.get_scores_from_ids(query) if query else np.zeros(matrix.n_docs, np.float32)


def reference_top_k(matrix: BM25Matrix, query: list[int], k: int, mask: np.ndarray | None = None):
    """bm25s' own scores for every chunk, sorted by score then row: what the pruned search must return."""
    import bm25s

    model = bm25s.BM25(**{**BM25_PARAMS}, backend="numpy")
    model.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": matrix.n_docs}
    model.nonoccurrence_array = None
    scores = model.get_scores_from_ids(query, weight_mask=mask) if query else np.zeros(matrix.n_docs, np.float32)
    order = np.lexsort((np.arange(len(scores)), -scores))
    order = order[scores[order] > 0][:k]
    return order, scores[order]


@pytest.mark.parametrize(("method", "block"), [("lucene", None), ("robertson", None), ("atire", None), ("lucene", 7)])
def test_matrix_equals_bm25s_build(method: str, block: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    import bm25s

    from rabbit_rag.index import bm25 as bm25_mod

    if block is not None:  # scored a few entries at a time, as a large matrix is: the same bits
        monkeypatch.setattr(bm25_mod, "_SCORE_BLOCK", block)

    rng = np.random.default_rng(0)
    vocab = 300
    corpus = zipf_corpus(rng, 500, vocab)
    params = {**BM25_PARAMS, "method": method}
    ours = BM25Matrix.build(corpus, vocab, params)
    model = bm25s.BM25(k1=params["k1"], b=params["b"], method=method, backend="numpy")
    theirs = model.build_index_from_ids(
        unique_token_ids=list(range(vocab + 1)),
        corpus_token_ids=[c.tolist() if len(c) else [vocab] for c in corpus],
        show_progress=False,
    )
    assert np.array_equal(ours.indptr, theirs["indptr"])
    assert np.array_equal(ours.indices, theirs["indices"])
    assert np.array_equal(ours.data, theirs["data"].astype(np.float32))  # bit for bit, not approximately
    assert ours.col_max[5] == ours.data[ours.indptr[5] : ours.indptr[6]].max()


def test_unsupported_method_is_refused() -> None:
    with pytest.raises(ValueError, match="bm25l"):
        BM25Matrix.build([np.array([1, 2], np.uint32)], 3, {**BM25_PARAMS, "method": "bm25l"})
    matrix = BM25Matrix.build([np.array([0, 1], np.uint32)], 2, BM25_PARAMS)
    with pytest.raises(ValueError, match="bm25\\+"):
        BM25Scorer(matrix, {**BM25_PARAMS, "method": "bm25+"})


@pytest.mark.parametrize("trials", [60, pytest.param(300, marks=pytest.mark.slow)])
def test_pruned_top_k_is_the_exact_top_k(backend: str, trials: int) -> None:
    """Queries of common and rare terms, repeated terms, filters and k from 1 to beyond the matches."""
    rng = np.random.default_rng(1)
    vocab = 2000
    matrix = BM25Matrix.build(zipf_corpus(rng, 3000, vocab), vocab, BM25_PARAMS)
    scorer = BM25Scorer(matrix)
    assert scorer.backend == backend
    mask = (rng.random(matrix.n_docs) < 0.3).astype(np.float32)
    checked = 0
    for trial in range(trials):
        n = int(rng.integers(1, 12))
        common = rng.integers(0, 20, size=n // 2)  # terms in many chunks
        rare = rng.integers(20, vocab + 5, size=n - n // 2)  # rare ones, and a few ids beyond the vocabulary
        query = [int(t) for t in rng.permutation(np.concatenate([common, rare]))]
        if trial % 7 == 0:
            query += query[:2]  # a repeated term counts twice, as in bm25s
        valid = [t for t in query if t < vocab]
        for k in (1, 3, 10, 40, 5000):
            for m in (None, mask):
                rows, scores = scorer.top_k(query, k, weight_mask=m)
                ref_rows, ref_scores = reference_top_k(matrix, valid, k, m)
                assert rows.tolist() == ref_rows.tolist(), (query, k)
                assert np.array_equal(scores, ref_scores)
                if k == 40 and m is None:  # all scores, bit for bit
                    assert np.array_equal(scorer.scores(query), reference_scores(matrix, valid))
                checked += 1
    assert checked == trials * 5 * 2


def test_ties_rank_lower_rows_first(backend: str) -> None:
    # ten identical chunks: every score ties, and the order is by row
    matrix = BM25Matrix.build([np.array([0, 1], np.uint32)] * 10 + [np.array([2], np.uint32)], 3, BM25_PARAMS)
    rows, scores = BM25Scorer(matrix).top_k([0], 4)
    assert rows.tolist() == [0, 1, 2, 3]
    assert len(set(scores.tolist())) == 1


def test_empty_chunks_and_empty_index(backend: str) -> None:
    matrix = BM25Matrix.build(
        [np.array([], np.uint32), np.array([1], np.uint32), np.array([], np.uint32)], 2, BM25_PARAMS
    )
    assert matrix.n_docs == 3
    rows, _ = BM25Scorer(matrix).top_k([1], 5)
    assert rows.tolist() == [1]
    assert BM25Scorer(matrix).top_k([2], 5)[0].tolist() == []  # the empty-chunk sentinel is no query term
    empty = BM25Matrix.build([], 4, BM25_PARAMS)
    assert BM25Scorer(empty).top_k([1], 5)[0].tolist() == []


SENTENCES = [
    "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
    "국회의원의 임기는 4년으로 한다.",
    "대법원장의 임기는 6년으로 하며, 중임할 수 없다.",
    "헌법재판소 재판관의 임기는 6년으로 하며, 법률이 정하는 바에 의하여 연임할 수 있다.",
    "국회는 국민의 보통·평등·직접·비밀선거에 의하여 선출된 국회의원으로 구성한다.",
    "모든 국민은 법 앞에 평등하다.",
    "대통령은 국가의 원수이며, 외국에 대하여 국가를 대표한다.",
    "국무총리는 국회의 동의를 얻어 대통령이 임명한다.",
    "감사원은 원장을 포함한 5인 이상 11인 이하의 감사위원으로 구성한다.",
    "지방자치단체는 주민의 복리에 관한 사무를 처리하고 재산을 관리한다.",
]


def test_index_bm25_top_k_equals_full_scoring(tmp_path, backend: str) -> None:
    """Through the real path (Kiwi query terms, the vocabulary, the pruned kernel, chunk rows), the
    top-10 is full scoring's: every chunk scored, sorted by score then chunk."""
    import random

    from rabbit_rag.index import open_index
    from rabbit_rag.ingest import ingest_documents
    from rabbit_rag.types import Document

    rng = random.Random(0)
    docs = [
        Document(source=f"{i}.txt", text="\n".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 4))))
        for i in range(120)
    ]
    ingest_documents(docs, tmp_path / "idx", embed_model="none", progress=False)
    index = open_index(tmp_path / "idx")
    gen = index.generation
    vocab = gen.query_vocabulary(index._store.lookup_terms)
    for query in [
        "대통령 임기",
        "국회의원의 임기는 몇 년인가?",
        "헌법재판소 재판관 연임",
        "국민 평등",
        "임기",
        "자동차",
    ]:
        hits = index.bm25_top_k(query, 10)
        ids = vocab.term_ids(query)
        full = gen.bm25.scores(ids)
        order = np.lexsort((np.arange(len(full)), -full))[:10]
        order = order[full[order] > 0]
        assert [h.chunk.chunk_id for h in hits] == gen.chunk_ids[order].tolist(), query
    assert gen.bm25.backend == backend
    if backend == "numba":
        # the build compiled the search kernel for the arrays a reader maps (copy-on-write: writable, the
        # same numba type as in memory), so queries after it compile nothing more
        from rabbit_rag.index import bm25_kernels

        assert gen.bm25.matrix.data.flags.writeable
        compiled = len(bm25_kernels.top_k.signatures)
        index.bm25_top_k("대통령 임기", 10)
        assert len(bm25_kernels.top_k.signatures) == compiled
        assert [h.score for h in hits] == pytest.approx(full[order].tolist(), rel=0, abs=0)
    assert vocab.term_ids("국회의원") == [vocab.ids(["국회의원"])["국회의원"]]  # the compound, not 국회 + 의원
    assert index.bm25_top_k("자동차 엔진", 5) == []  # words the index never saw match nothing
    index.close()


def test_column_bounds_without_numba() -> None:
    """An old generation without saved bounds gets them from numpy: the same as the build's."""
    rng = np.random.default_rng(3)
    matrix = BM25Matrix.build(zipf_corpus(rng, 400, 200), 200, BM25_PARAMS)
    assert np.array_equal(bm25._column_max(matrix.data, matrix.indptr), matrix.col_max)
