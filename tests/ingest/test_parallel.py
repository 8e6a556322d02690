"""Parallel ingest (``--workers N``, ``--ray``) builds the same index as the serial pipeline: the same
documents, chunks, offsets, term ids and vectors, in the same order, through the single writer."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.index import open_index
from rabbit_rag.ingest import IngestOptions, ingest_documents, ingest_files, ingest_paths
from rabbit_rag.types import Document
from tests.conftest import SAMPLES

# every test starts worker processes that each load Kiwi (tens of CPU-seconds): out of the fast loop
pytestmark = pytest.mark.slow


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(SAMPLES, root, ignore=shutil.ignore_patterns("README.md"))
    (root / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "empty.txt").write_text("   \n", encoding="utf-8")
    return root


def snapshot(index_dir: Path) -> dict:
    """Everything a reader can see: documents, chunks with offsets and terms, the vocabulary, vectors."""
    idx = open_index(index_dir)
    store = idx._store
    docs = [(d.doc_id, d.source, d.content_hash, d.n_chunks) for d in idx.documents()]
    chunks = [
        (c.chunk_id, c.doc_id, c.start, c.end, c.text, c.page, c.section)
        for d in idx.documents()
        for c in idx.document_chunks(d.doc_id)
    ]
    terms = {cid: bytes(blob) for cid, _doc, blob in store.iter_live_terms()}
    vectors = dict(idx.stored_vectors())
    return {"docs": docs, "chunks": chunks, "terms": terms, "vocab": store.load_vocab(), "vectors": vectors}


def assert_same_index(a: Path, b: Path) -> None:
    sa, sb = snapshot(a), snapshot(b)
    for key in ("docs", "chunks", "terms", "vocab"):
        assert sa[key] == sb[key], key
    assert sa["vectors"].keys() == sb["vectors"].keys()
    for cid, v in sa["vectors"].items():
        assert np.allclose(v, sb["vectors"][cid], atol=1e-3)
    ia, ib = open_index(a), open_index(b)
    for q in ("대통령의 임기", "육아휴직 자녀 나이", "국회"):
        assert [(h.chunk.chunk_id, h.score) for h in ia.bm25_top_k(q, 10)] == [
            (h.chunk.chunk_id, h.score) for h in ib.bm25_top_k(q, 10)
        ]


def _report(r) -> tuple:
    return (r.added, r.updated, r.unchanged, r.chunks_added, sorted(map(str, r.skipped)), sorted(map(str, r.failed)))


def test_two_workers_build_the_serial_index(corpus: Path, tmp_path: Path) -> None:
    serial = ingest_paths([corpus], tmp_path / "serial", embed_model="none", progress=False)
    opts = IngestOptions(workers=2)
    par = ingest_paths([corpus], tmp_path / "par", embed_model="none", options=opts, progress=False)
    assert _report(par) == _report(serial)
    assert par.failed and par.failed[0]["source"].endswith("broken.docx")  # named, with its reason
    assert any(s["source"].endswith("empty.txt") for s in par.skipped)
    assert_same_index(tmp_path / "serial", tmp_path / "par")
    # incremental as before: unchanged files are skipped without being sent to a worker
    again = ingest_paths([corpus], tmp_path / "par", embed_model="none", options=opts, progress=False)
    assert (again.added, again.updated, again.chunks_added) == (0, 0, 0) and again.unchanged == par.added
    f = corpus / "constitution.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("5년으로", "7년으로"), encoding="utf-8")
    upd = ingest_paths([corpus], tmp_path / "par", embed_model="none", options=opts, progress=False)
    assert upd.updated == 1
    ingest_paths([corpus], tmp_path / "serial", embed_model="none", progress=False)
    assert_same_index(tmp_path / "serial", tmp_path / "par")


def test_workers_embed_with_the_index_model(corpus: Path, tmp_path: Path, tiny_st_model: Path) -> None:
    model = str(tiny_st_model)
    kobill = corpus / "kobill"
    serial = ingest_paths([kobill], tmp_path / "serial", embed_model=model, progress=False)
    par = ingest_paths([kobill], tmp_path / "par", embed_model=model, options=IngestOptions(workers=2), progress=False)
    assert par.embedded == serial.embedded == serial.chunks_added > 0
    assert_same_index(tmp_path / "serial", tmp_path / "par")


def test_staged_uploads_and_documents(tmp_path: Path) -> None:
    staged = []
    for i, text in enumerate(["대통령의 임기는 5년이다.", "국회의원의 임기는 4년이다."]):
        p = tmp_path / f"upload-{i}"
        p.write_text(text, encoding="utf-8")
        staged.append((p, f"공지/{i}.txt"))
    opts = IngestOptions(workers=2, parse_isolation=False)
    report = ingest_files(staged, tmp_path / "up", options=opts, embed_model="none")
    assert report.added == 2 and not any(p.exists() for p, _ in staged)  # read once, then deleted
    assert [d.source for d in open_index(tmp_path / "up").documents()] == ["공지/0.txt", "공지/1.txt"]
    docs = [Document(source=f"메모{i}.txt", text=f"회의는 {i}시에 한다.") for i in range(5)]
    a = ingest_documents(docs, tmp_path / "mem-serial", embed_model="none", progress=False)
    b = ingest_documents(docs, tmp_path / "mem-par", embed_model="none", options=opts, progress=False)
    assert _report(a) == _report(b)
    assert_same_index(tmp_path / "mem-serial", tmp_path / "mem-par")


def test_ray_runs_the_same_workers(corpus: Path, tmp_path: Path) -> None:
    """``--ray local`` starts a local Ray instance and runs the workers as Ray actors."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    serial = ingest_paths([corpus], tmp_path / "serial", embed_model="none", progress=False)
    opts = dataclasses.replace(IngestOptions(), workers=2, ray_address="local")
    par = ingest_paths([corpus], tmp_path / "ray", embed_model="none", options=opts, progress=False)
    assert _report(par) == _report(serial)
    assert_same_index(tmp_path / "serial", tmp_path / "ray")


def test_workers_are_started_once_per_process(corpus: Path, tmp_path: Path) -> None:
    """A second ingest with the same settings reuses the worker processes (their start-up, Kiwi's model
    included, is paid once); other settings start new ones, and the index is the same either way."""
    from rabbit_rag.ingest.parallel import SharedProcessPool

    opts = IngestOptions(workers=2, parse_isolation=False)
    kobill = corpus / "kobill"
    ingest_paths([kobill], tmp_path / "a", embed_model="none", options=opts, progress=False)
    pool = SharedProcessPool._pool
    assert pool is not None and SharedProcessPool._users == 0
    pids = pool.pids()
    assert len(pids) == 2
    ingest_paths([kobill], tmp_path / "b", embed_model="none", options=opts, progress=False)
    assert SharedProcessPool._pool is pool and pool.pids() == pids
    assert_same_index(tmp_path / "a", tmp_path / "b")
    other = dataclasses.replace(opts, parse_isolation=True)
    ingest_paths([kobill], tmp_path / "c", embed_model="none", options=other, progress=False)
    assert SharedProcessPool._pool is not pool and not (SharedProcessPool._pool.pids() & pids)
    assert pool._ex._shutdown_thread  # the old pool was shut down, not left running
    assert_same_index(tmp_path / "a", tmp_path / "c")


def test_a_pool_in_use_is_not_replaced() -> None:
    """Two ingests at once with different settings (two API collections): the second gets a private pool,
    closed when it is done; the shared one stays for the first."""
    from rabbit_rag.ingest.parallel import SharedProcessPool, WorkerSpec

    SharedProcessPool.shutdown()
    a = WorkerSpec(chunk_tokens=256, overlap_sentences=0, embed_model=None, options=IngestOptions(workers=1))
    b = dataclasses.replace(a, chunk_tokens=512)
    shared = SharedProcessPool.acquire(a, 1)
    private = SharedProcessPool.acquire(b, 1)
    assert private is not shared and SharedProcessPool._pool is shared
    again = SharedProcessPool.acquire(a, 1)
    assert again is shared and SharedProcessPool._users == 2
    SharedProcessPool.release(private)
    assert private._ex._shutdown_thread and not shared._ex._shutdown_thread
    SharedProcessPool.release(again)
    SharedProcessPool.release(shared)
    assert SharedProcessPool._users == 0 and not shared._ex._shutdown_thread
    SharedProcessPool.shutdown()
    assert shared._ex._shutdown_thread and SharedProcessPool._pool is None
