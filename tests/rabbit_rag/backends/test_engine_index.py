"""The Milvus backend answers exactly as the local index: BM25 (our Kiwi weights), dense, hybrid,
filters, documents and offsets — through a full publish, incremental publishes and resyncs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.backends import engine_collection_names, open_engine_index
from rabbit_rag.backends.publisher import EnginePublisher, WriterConflictError
from rabbit_rag.index import Index, IndexWriter, open_index
from rabbit_rag.index.docstore import ChunkRow
from rabbit_rag.ingest import IngestOptions, ingest_paths
from rabbit_rag.text.terms import text_terms
from tests.conftest import SAMPLES

# Milvus Lite is a real server process (started by the first test, with pymilvus' gRPC client): about 13 s
# of CPU in all, so the module runs in the full suite, like the API's real-server tests. The backend URI
# rules stay in the fast loop (test_uri.py).
pytestmark = pytest.mark.slow

QUERIES = [
    "대통령의 임기는 몇 년인가?",
    "국회의원 임기",
    "헌법재판소 재판관",
    "육아휴직 대상 자녀 나이",
    "국민의 기본권과 의무",
    "예산안 심의",
    "없는단어입니다",
    "법률",
    # quotes and a backslash inside query terms (a KorQuAD question: '#'은 무엇인가): the term lookup
    # must quote them, not break the filter expression
    "'#'은 무엇인가? \"대통령\" 임기 \\ 법률",
]


def assert_same_hits(local: list, engine: list, places: int = 4) -> None:
    """Same scores in the same order, and at each score the same chunks (text, offsets, page, section,
    title): equal scores may come in another order, and a tie at the cut-off may keep another one."""
    assert [round(h.score, places) for h in local] == [round(h.score, places) for h in engine]
    if not local:
        return
    floor = round(local[-1].score, places)
    groups_a: dict[float, set] = {}
    groups_b: dict[float, set] = {}
    for hits, groups in ((local, groups_a), (engine, groups_b)):
        for h in hits:
            if round(h.score, places) > floor:
                groups.setdefault(round(h.score, places), set()).add(h.chunk)
    assert groups_a == groups_b


@pytest.fixture(scope="module")
def bm25_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, object, str]:
    tmp = tmp_path_factory.mktemp("engine")
    uri = f"milvus://{tmp}/engine.db"
    opts = IngestOptions(backend=uri, parse_isolation=False)
    ingest_paths([SAMPLES], tmp / "sample", embed_model="none", options=opts, progress=False)
    return open_index(tmp / "sample"), open_engine_index(uri, "sample"), uri


def test_bm25_is_ours(bm25_pair: tuple) -> None:
    local, engine, _ = bm25_pair
    assert engine.counts() == local.counts()
    for q in QUERIES:
        assert_same_hits(local.bm25_top_k(q, 1000), engine.bm25_top_k(q, 1000))
        top_local, top_engine = local.bm25_top_k(q, 5), engine.bm25_top_k(q, 5)
        assert [round(h.score, 4) for h in top_local] == [round(h.score, 4) for h in top_engine]


def test_filters_match_the_local_rules(bm25_pair: tuple) -> None:
    local, engine, _ = bm25_pair
    some = local.documents()[1]
    for kwargs in (
        {"source": "kobill/*"},
        {"source": "constitution.txt"},
        {"source": ["nothing.txt"]},
        {"doc_id": some.doc_id},
        {"doc_id": "not-a-doc"},
        {"source": "kobill/*", "doc_id": some.doc_id},
    ):
        a = local.search("임기 법률 자녀", k=50, mode="bm25", **kwargs)
        b = engine.search("임기 법률 자녀", k=50, mode="bm25", **kwargs)
        assert_same_hits(a, b)


def test_documents_text_and_offsets(bm25_pair: tuple) -> None:
    local, engine, _ = bm25_pair
    assert [d.doc_id for d in engine.documents()] == [d.doc_id for d in local.documents()]
    assert engine.documents(limit=2, offset=1) == local.documents(limit=2, offset=1)
    for doc in local.documents():
        text = engine.document_text(doc.doc_id)
        assert text == local.document_text(doc.doc_id)
        assert engine.document(doc.doc_id) == doc
        assert engine.find_document(doc.uri) == doc
        chunks = engine.document_chunks(doc.doc_id)
        assert chunks == local.document_chunks(doc.doc_id)
        for c in chunks:
            assert text[c.start : c.end] == c.text  # the offsets contract, answered by the engine
    ids = local.chunk_ids()
    assert np.array_equal(engine.chunk_ids(), ids)
    assert engine.chunks([int(ids[3]), int(ids[0]), 10**9]) == local.chunks([int(ids[3]), int(ids[0]), 10**9])
    assert engine.document("0" * 16) is None and engine.document_text("0" * 16) is None
    assert "sample" in engine_collection_names(bm25_pair[2])


# embeds the sample twice and fills a second engine collection
def test_dense_and_hybrid_are_ours(tmp_path: Path, tiny_st_model: Path) -> None:
    uri = f"milvus://{tmp_path}/engine.db"
    opts = IngestOptions(backend=uri, parse_isolation=False)
    ingest_paths([SAMPLES], tmp_path / "dense", embed_model=str(tiny_st_model), options=opts, progress=False)
    local, engine = open_index(tmp_path / "dense"), open_engine_index(uri, "dense")
    assert engine.has_vectors and engine.dense_unavailable_reason() is None
    compared = 0
    for q in QUERIES:
        vec = local.embed_query(q)
        assert np.allclose(engine.embed_query(q), vec)
        assert_same_hits(local.dense_top_k(vec, 10), engine.dense_top_k(vec, 10))
        # hybrid: the same fusion of the same two lists. Equal dense scores (the random tiny model maps
        # some queries and chunks onto one vector) rank in either order, and RRF follows the ranks, so
        # those queries are compared only on their ranked lists above.
        dense = [round(h.score, 6) for h in local.dense_top_k(vec, 60)]
        if len(set(dense)) == len(dense):
            hybrid_local, hybrid_engine = local.search(q, k=5, mode="hybrid"), engine.search(q, k=5, mode="hybrid")
            assert [h.chunk for h in hybrid_local] == [h.chunk for h in hybrid_engine]
            assert np.allclose([h.score for h in hybrid_local], [h.score for h in hybrid_engine])
            compared += 1
    assert compared >= 4
    got = dict(engine.stored_vectors())
    want = dict(local.stored_vectors())
    assert got.keys() == want.keys() and all(np.allclose(got[i], want[i], atol=1e-6) for i in want)


def _write(writer: IndexWriter, source: str, sentences: list[str]) -> None:
    text = " ".join(sentences)
    rows, pos = [], 0
    for i, s in enumerate(sentences):
        start = text.index(s, pos)
        pos = start + len(s)
        rows.append(
            ChunkRow(ord=i, start=start, end=pos, text=s, n_tokens=len(s), term_ids=writer.term_ids(text_terms(s)))
        )
    writer.upsert(chunks=rows, uri=source, source=source, title=None, content_hash=str(hash(text)), text=text)


def test_incremental_publish_and_resync(tmp_path: Path) -> None:
    uri = f"milvus://{tmp_path}/engine.db"
    folder = tmp_path / "memo"
    with IndexWriter(folder, embed_model="none", mirror=EnginePublisher(uri)) as w:
        _write(w, "a.txt", ["대한민국은 민주공화국이다.", "대한민국의 주권은 국민에게 있다."])
        _write(w, "b.txt", ["대통령의 임기는 5년으로 한다.", "국회의원의 임기는 4년으로 한다."])
        _write(w, "c.txt", ["헌법재판소 재판관의 임기는 6년이다.", "법률이 정하는 바에 의한다."])
    engine = open_engine_index(uri, "memo")
    # a tolerance that never forces a rewrite: only the changed rows travel
    loose = EnginePublisher(uri, avgdl_tolerance=10.0)
    with IndexWriter(folder, mirror=loose) as w:
        _write(w, "b.txt", ["대통령의 임기는 4년으로 하며 연임할 수 있다."])
        w.remove(w.find("c.txt").doc_id)  # type: ignore[union-attr]
    assert loose.last_sync["mode"] == "incremental"
    assert loose.last_sync["chunks_removed"] == 4 and loose.last_sync["chunks_written"] == 1
    local = open_index(folder)
    assert engine.counts() == local.counts()
    assert [d.doc_id for d in engine.documents()] == [d.doc_id for d in local.documents()]
    # idf and N are exact after an incremental publish; only avgdl is the one frozen in the weights
    for q in ("대통령 임기", "헌법재판소", "국민 주권"):
        a, b = local.bm25_top_k(q, 10), engine.bm25_top_k(q, 10)
        assert [h.chunk.chunk_id for h in a] == [h.chunk.chunk_id for h in b]
        assert np.allclose([h.score for h in a], [h.score for h in b], rtol=0.1)
    assert engine.bm25_top_k("헌법재판소", 5) == []
    # a strict tolerance rewrites every weight: exact again
    strict = EnginePublisher(uri, avgdl_tolerance=0.0)
    with IndexWriter(folder, mirror=strict) as w:
        _write(w, "d.txt", ["예산안은 국회가 심의한다."])
    assert strict.last_sync["mode"] == "full"
    local = open_index(folder)
    for q in ("대통령 임기", "국민 주권", "예산안 심의"):
        assert_same_hits(local.bm25_top_k(q, 10), engine.bm25_top_k(q, 10))
    # nothing changed: nothing travels
    with IndexWriter(folder, mirror=strict):
        pass
    assert strict.last_sync["mode"] == "none"


def test_engine_left_behind_catches_up_with_a_full_copy(tmp_path: Path) -> None:
    """A crash between the local publish and the engine's leaves the engine behind; the next writer
    (even one that changes nothing) brings it up to date, dropping rows that are gone."""
    uri = f"milvus://{tmp_path}/engine.db"
    folder = tmp_path / "memo"
    with IndexWriter(folder, embed_model="none", mirror=EnginePublisher(uri)) as w:
        _write(w, "a.txt", ["대한민국은 민주공화국이다."])
        _write(w, "b.txt", ["국회의원의 임기는 4년으로 한다."])
    with IndexWriter(folder) as w:  # published locally only (as if the engine publish had crashed)
        w.remove(w.find("b.txt").doc_id)  # type: ignore[union-attr]
        _write(w, "c.txt", ["대통령의 임기는 5년이다."])
    with IndexWriter(folder) as w:
        _write(w, "d.txt", ["예산안은 국회가 심의한다."])
    engine = open_engine_index(uri, "memo")
    assert engine.revision < open_index(folder).revision
    pub = EnginePublisher(uri)
    with IndexWriter(folder, mirror=pub):
        pass
    assert pub.last_sync["mode"] == "full"
    local = open_index(folder)
    assert engine.counts() == local.counts()
    assert np.array_equal(engine.chunk_ids(), local.chunk_ids())
    assert [d.source for d in engine.documents()] == ["a.txt", "c.txt", "d.txt"]
    for q in ("국회의원 임기", "대통령 임기", "예산안"):
        assert_same_hits(local.bm25_top_k(q, 10), engine.bm25_top_k(q, 10))


def test_a_second_writer_folder_is_refused(tmp_path: Path) -> None:
    uri = f"milvus://{tmp_path}/engine.db"
    with IndexWriter(tmp_path / "a" / "memo", embed_model="none", mirror=EnginePublisher(uri)) as w:
        _write(w, "a.txt", ["대한민국은 민주공화국이다."])
    with pytest.raises(WriterConflictError, match="another index folder"):
        IndexWriter(tmp_path / "b" / "memo", embed_model="none", mirror=EnginePublisher(uri))
    shutil.rmtree(tmp_path / "b")
    assert open_engine_index(uri, "memo").counts()["documents"] == 1


def test_chunk_text_longer_than_a_milvus_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk whose text exceeds a VARCHAR is read back from the document text, offsets intact."""
    import rabbit_rag.backends.milvus as milvus_mod
    import rabbit_rag.backends.publisher as publisher_mod

    monkeypatch.setattr(publisher_mod, "MAX_VARCHAR_BYTES", 30)
    monkeypatch.setattr(publisher_mod, "TEXT_PART_CHARS", 7)
    monkeypatch.setattr(milvus_mod, "TEXT_PART_CHARS", 7)
    import rabbit_rag.backends.reader as reader_mod

    monkeypatch.setattr(reader_mod, "TEXT_PART_CHARS", 7)
    uri = f"milvus://{tmp_path}/engine.db"
    with IndexWriter(tmp_path / "long", embed_model="none", mirror=EnginePublisher(uri)) as w:
        _write(
            w, "a.txt", ["짧다.", "헌법재판소 재판관의 임기는 6년으로 하며, 법률이 정하는 바에 의하여 연임할 수 있다."]
        )
    local, engine = open_index(tmp_path / "long"), open_engine_index(uri, "long")
    doc = local.documents()[0]
    assert engine.document_text(doc.doc_id) == local.document_text(doc.doc_id)
    assert engine.document_chunks(doc.doc_id) == local.document_chunks(doc.doc_id)
    assert_same_hits(local.bm25_top_k("헌법재판소 임기", 5), engine.bm25_top_k("헌법재판소 임기", 5))
    # the document shrinks to fewer text parts: the parts past its end are deleted, not left behind
    with IndexWriter(tmp_path / "long", mirror=EnginePublisher(uri)) as w:
        _write(w, "a.txt", ["짧다.", "임기는 6년."])
    local = open_index(tmp_path / "long")
    doc = local.documents()[0]
    assert engine.document_text(doc.doc_id) == local.document_text(doc.doc_id) == "짧다. 임기는 6년."
    coll = engine._coll
    parts = coll.query(coll.texts, f'doc_id == "{doc.doc_id}"', ["part"])
    assert sorted(int(r["part"]) for r in parts) == [0, 1]  # 11 characters in parts of 7


# a second process runs Kiwi over the constitution
def test_an_engine_file_written_by_another_process(tmp_path: Path) -> None:
    """`rabbit-rag ingest --backend milvus:///x.db` then `rabbit-rag search` with the same URI: the second
    process finds the collections released (Milvus Lite loads nothing on open) and must load them; the
    engine file's folder need not exist before the first."""
    uri = f"milvus://{tmp_path}/new/folder/engine.db"
    code = (
        "import sys; from pathlib import Path; from rabbit_rag.ingest import IngestOptions, ingest_paths; "
        "ingest_paths([Path(sys.argv[1])], Path(sys.argv[2]), embed_model='none', "
        "options=IngestOptions(backend=sys.argv[3], parse_isolation=False), progress=False)"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(SAMPLES / "constitution.txt"), str(tmp_path / "law"), uri],
        check=True,
        timeout=600,
        capture_output=True,
    )
    local, engine = open_index(tmp_path / "law"), open_engine_index(uri, "law")
    assert engine.counts() == local.counts()
    for q in QUERIES[:4]:
        assert_same_hits(local.bm25_top_k(q, 20), engine.bm25_top_k(q, 20))
