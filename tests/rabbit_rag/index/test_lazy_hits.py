"""Search hits read their chunk rows on first use (``rabbit_rag/index/lazy.py``): callers see the same
chunks as an eager read, one docstore query per search, only the rows of hits still referenced."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from rabbit_rag.index import open_index
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.retrieval import BM25Retriever, HybridRetriever
from rabbit_rag.schemas import SearchHit
from rabbit_rag.types import Chunk, Document

QUERIES = ["대통령의 임기", "국회의원 임기", "대법원장", "헌법재판소 재판관", "임기는 몇 년"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lazy") / "idx"
    docs = [
        Document(
            source=f"법{i}.txt",
            text=f"제{i}조 {who}의 임기는 {i % 7 + 2}년으로 하며, 중임할 수 없다.\n"
            f"제{i + 1}조 {who}는 법률이 정하는 바에 의하여 임명한다.",
        )
        for i, who in enumerate(["대통령", "국회의원", "대법원장", "헌법재판소 재판관", "감사원장"] * 6)
    ]
    ingest_documents(docs, path, embed_model="none", progress=False)
    return path


def test_hits_are_the_chunks_an_eager_read_gives(index_dir: Path) -> None:
    index = open_index(index_dir)
    for q in QUERIES:
        hits = index.search(q, k=5, mode="bm25")
        assert hits
        eager = index.chunks([h.chunk.chunk_id for h in hits])
        assert [h.chunk for h in hits] == eager and [hash(h.chunk) for h in hits] == [hash(c) for c in eager]
        for hit, chunk in zip(hits, eager, strict=True):
            assert isinstance(hit.chunk, Chunk) and repr(hit.chunk) == repr(chunk)
            assert SearchHit.of(hit, 1).model_dump() == SearchHit.of(type(hit)(chunk, hit.score), 1).model_dump()
            assert index.document_text(hit.chunk.doc_id)[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    index.close()


def test_one_query_per_search_for_the_hits_still_referenced(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = open_index(index_dir)
    reads: list[list[int]] = []
    real = index._store.get_chunks

    def spy(ids, at=None):  # type: ignore[no-untyped-def]
        reads.append(sorted(int(i) for i in ids))
        return real(ids, at=at)

    monkeypatch.setattr(index._store, "get_chunks", spy)
    hits = index.search("대통령의 임기", k=5, mode="bm25")
    assert len(hits) == 5 and reads == []  # ranking reads no chunk row
    assert all(h.chunk.chunk_id >= 0 for h in hits) and reads == []  # nor does the id
    assert hits[3].chunk.text
    assert reads == [sorted(h.chunk.chunk_id for h in hits)]  # every hit of the search, in one query
    assert [h.chunk.source for h in hits] and len(reads) == 1

    # a fusion keeps 3 of its 2 × 20 candidates: only those 3 rows are read
    reads.clear()
    fused = HybridRetriever([BM25Retriever(index), BM25Retriever(index)]).retrieve("임기는 몇 년", k=3)
    assert len(fused) == 3 and reads == []
    assert [h.chunk.text for h in fused] and reads == [sorted(h.chunk.chunk_id for h in fused)]
    index.close()


def test_hits_stay_usable_after_close_and_copy_as_plain_chunks(index_dir: Path) -> None:
    index = open_index(index_dir)
    hits = index.search("국회의원 임기", k=3, mode="bm25")
    index.close()  # reads the pending rows before the docstore closes
    assert all("임기" in h.chunk.text or "임명" in h.chunk.text for h in hits)
    for hit in hits:
        for clone in (pickle.loads(pickle.dumps(hit.chunk)), copy.copy(hit.chunk), copy.deepcopy(hit.chunk)):
            assert type(clone) is Chunk and clone == hit.chunk
