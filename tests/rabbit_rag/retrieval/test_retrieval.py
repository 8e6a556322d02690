"""Retrieval quality on the sample corpus and the retriever interface."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.index import open_index
from rabbit_rag.retrieval import BM25Retriever, HybridRetriever, Retriever
from rabbit_rag.types import Chunk, ScoredChunk
from tests.conftest import shared_data


def test_president_term_finds_article_70_first(sample_index_ro: Path) -> None:
    hit = open_index(sample_index_ro).search("대통령 임기는 몇 년이야?", k=1, mode="bm25")[0]
    assert hit.chunk.text.startswith("제70조") and "대통령의 임기는 5년" in hit.chunk.text


def test_constitution_questions_find_their_evidence(sample_index_ro: Path) -> None:
    qa = [
        json.loads(line)
        for line in shared_data("corpus", "constitution_qa.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    idx = open_index(sample_index_ro)
    found = [
        q["id"] for q in qa if any(q["evidence"] in h.chunk.text for h in idx.search(q["question"], k=3, mode="bm25"))
    ]
    assert len(qa) == 16
    assert len(found) >= 15, sorted({q["id"] for q in qa} - set(found))


def test_hybrid_fuses_by_reciprocal_rank() -> None:
    def hit(i: int, score: float) -> ScoredChunk:
        return ScoredChunk(Chunk(i, "d", "s", 0, 1, "x"), score, {})

    class Fixed:
        def __init__(self, name: str, ids: list[int]):
            self.name, self.ids = name, ids

        def retrieve(self, query: str, k: int, filters=None) -> list[ScoredChunk]:
            return [hit(i, 10.0 - r) for r, i in enumerate(self.ids)][:k]

    a, b = Fixed("a", [1, 2, 3]), Fixed("b", [2, 4, 3])
    assert isinstance(a, Retriever)
    fused = HybridRetriever([a, b]).retrieve("q", 3)
    assert [h.chunk.chunk_id for h in fused] == [2, 3, 1]  # 2 and 3 are in both lists, 1 ranks first in one
    weighted = HybridRetriever([a, b], weights=[1.0, 0.0]).retrieve("q", 3)
    assert [h.chunk.chunk_id for h in weighted] == [1, 2, 3]
    scored = HybridRetriever([a, b], fusion="score").retrieve("q", 2)
    assert [h.chunk.chunk_id for h in scored] == [2, 1]  # min-max: 2 → 0.5 + 1.0, 1 → 1.0 + 0
    with pytest.raises(InvalidInputError):
        HybridRetriever([a, b], weights=[1.0])


def _hit(i: int, score: float) -> ScoredChunk:
    return ScoredChunk(Chunk(i, "d", "s", 0, 1, "x"), score, {})


class _Meeting:
    """A retriever that returns its ids only once every retriever of the barrier has started: with the
    retrievers run one after the other, the barrier times out."""

    def __init__(self, name: str, ids: list[int], barrier: threading.Barrier, log: list[str]) -> None:
        self.name, self.ids, self.barrier, self.log = name, ids, barrier, log

    def retrieve(self, query: str, k: int, filters=None) -> list[ScoredChunk]:
        self.log.append(f"{self.name}:{threading.current_thread().name}")
        self.barrier.wait()
        return [_hit(i, 10.0 - r) for r, i in enumerate(self.ids)][:k]


def test_hybrid_runs_its_retrievers_concurrently_with_the_same_fusion() -> None:
    log: list[str] = []
    barrier = threading.Barrier(2, timeout=10)
    a, b = _Meeting("a", [1, 2, 3], barrier, log), _Meeting("b", [2, 4, 3], barrier, log)
    fused = HybridRetriever([a, b], concurrent=True).retrieve("q", 3)
    assert [h.chunk.chunk_id for h in fused] == [2, 3, 1]  # as fused one after the other (above)
    assert log[0] != log[1] and f"a:{threading.current_thread().name}" in log  # the first runs in the caller
    serial = HybridRetriever([a, b])  # the default
    barrier2 = threading.Barrier(1)
    a.barrier = b.barrier = barrier2
    assert [h.chunk.chunk_id for h in serial.retrieve("q", 3)] == [2, 3, 1]
    # a hybrid of hybrids (the inner one runs in the pool) does not wait on the pool it runs in
    inner = HybridRetriever([a, b], concurrent=True)
    assert [h.chunk.chunk_id for h in HybridRetriever([a, inner], concurrent=True).retrieve("q", 3)][:1] == [2]


def test_hybrid_raises_a_retrievers_error_after_the_others_finish() -> None:
    done: list[str] = []

    class Slow:
        name = "slow"

        def retrieve(self, query: str, k: int, filters=None) -> list[ScoredChunk]:
            time.sleep(0.2)
            done.append("slow")
            return [_hit(1, 1.0)]

    class Broken:
        name = "broken"

        def retrieve(self, query: str, k: int, filters=None) -> list[ScoredChunk]:
            raise InvalidInputError("broken retriever")

    with pytest.raises(InvalidInputError, match="broken retriever"):
        HybridRetriever([Broken(), Slow()], concurrent=True).retrieve("q", 3)
    assert done == ["slow"]  # the search in the pool was waited for, not left running
    with pytest.raises(InvalidInputError, match="broken retriever"):
        HybridRetriever([Slow(), Broken()], concurrent=True).retrieve("q", 3)


def test_bad_queries(sample_index_ro: Path) -> None:
    bm25 = BM25Retriever(open_index(sample_index_ro))
    with pytest.raises(InvalidInputError, match="empty"):
        bm25.retrieve("  ", 3)
    with pytest.raises(InvalidInputError, match="limit"):
        bm25.retrieve("가" * 5000, 3)
    assert bm25.retrieve("zzzqqq", 3) == []  # unknown words match nothing
    with pytest.raises(InvalidInputError, match="mode"):
        open_index(sample_index_ro).search("임기", mode="fuzzy")


def test_dense_mode_without_vectors_is_an_error(sample_index_ro: Path, capsys) -> None:
    index = open_index(sample_index_ro)
    with pytest.raises(InvalidInputError, match=r"no vectors.*mode bm25 or hybrid"):
        index.search("대통령 임기", k=1, mode="dense")
    # hybrid asked for by name says it answered with BM25; the default mode on a BM25-only index is quiet
    assert index.search("대통령 임기", k=1, mode="hybrid") and "BM25 only" in capsys.readouterr().err
    assert index.search("대통령 임기", k=1) and capsys.readouterr().err == ""
    # a notice is said once per process: the next hybrid searches (a chat's next turns) stay quiet
    assert index.search("국회의원 임기", k=1, mode="hybrid") and capsys.readouterr().err == ""
    assert open_index(sample_index_ro).search("임기", k=1, mode="hybrid") and capsys.readouterr().err == ""
