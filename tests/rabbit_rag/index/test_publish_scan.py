"""The publish reads every live chunk in one pass (terms and, for a full vector rebuild, the float16
vectors) and keeps them in arrays: what it writes must equal what reading the docstore apart gives,
the manifest's counts and checksums must hold, and a build killed while publishing must leave the
previous generation intact and the committed data in the docstore."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rabbit_rag import embeddings
from rabbit_rag.errors import IndexCorruptError
from rabbit_rag.index import IndexWriter, open_index
from rabbit_rag.index import generation as generation_mod
from rabbit_rag.index.bm25 import BM25_PARAMS, BM25Matrix
from rabbit_rag.index.docstore import DOCSTORE_FILE, DocStore
from rabbit_rag.index.generation import generation_dir_name
from rabbit_rag.index.publish import generation_problems, repair
from rabbit_rag.index.vectors import VectorIndex, faiss_threads
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.types import Document

from .test_vectors import DIM, FixedEncoder, clustered, write_docs


@pytest.fixture
def fixed_model(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(embeddings._cache, (FixedEncoder.model_id, None), FixedEncoder())
    return FixedEncoder.model_id


def _gen_dir(index: Path) -> Path:
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    return index / generation_dir_name(manifest["generation"]["revision"])


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_one_pass_publish_equals_the_docstore_read_apart(tmp_path: Path, fixed_model: str, kind: str) -> None:
    rng = np.random.default_rng(7)
    index = tmp_path / "idx"
    with faiss_threads(1), IndexWriter(index, embed_model=fixed_model, vector_index=kind) as w:
        write_docs(w, clustered(rng, 1200), first_doc=0)
        w.remove(w.find("doc:4").doc_id)  # a removed document's chunks are not in the generation
    gen = _gen_dir(index)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert generation_problems(index, manifest) == []  # every file matches its recorded checksum

    store = DocStore(index / DOCSTORE_FILE, readonly=True)
    try:
        # what the old three passes read: terms in chunk-id order, then every stored vector
        live = list(store.iter_live_terms())
        ids = np.array([c for c, _, _ in live], np.int64)
        assert len(ids) == 1200 - 20
        np.testing.assert_array_equal(np.load(gen / "chunk_ids.npy"), ids)
        doc_pos: dict[str, int] = {}
        np.testing.assert_array_equal(
            np.load(gen / "doc_ord.npy"), [doc_pos.setdefault(d, len(doc_pos)) for _, d, _ in live]
        )
        meta = json.loads((gen / "generation.json").read_text(encoding="utf-8"))
        assert meta["doc_ids"] == list(doc_pos)
        assert meta["sources"] == [store.get_document(d).source for d in doc_pos]
        want = BM25Matrix.build(
            [np.frombuffer(b, "<u4") for _, _, b in live], store.counts()["vocabulary"], BM25_PARAMS
        )
        got = BM25Matrix.load(gen, n_docs=len(ids))
        for name in ("data", "indices", "indptr", "col_max"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        stored = list(store.live_embeddings())
        f16 = np.vstack([np.frombuffer(b, "<f2") for _, b in stored])
        assert [c for c, _ in stored] == ids.tolist()
        # the manifest's counts are the docstore's own (counted by the scan, not again)
        assert manifest["counts"] == store.counts()
        vi = VectorIndex.load(gen / "vectors.faiss")
        assert vi.kind == kind and len(vi) == len(ids)
        if kind == "ivf":
            np.testing.assert_array_equal(np.load(gen / "vectors_ids.npy"), ids)
            assert np.load(gen / "vectors_f16.npy").tobytes() == f16.tobytes()  # the stored float16, bit for bit
        # the FAISS index equals one built by reading the docstore apart (the sample, then every vector)
        with faiss_threads(1):
            apart, trained_on = generation_mod._build_vectors(index, store, 0, None, DIM, len(ids), kind)
        assert trained_on == len(ids)
        import faiss

        assert faiss.serialize_index(vi.index).tobytes() == faiss.serialize_index(apart.index).tobytes()
    finally:
        store.close()

    idx = open_index(index)
    q = clustered(rng, 1)[0]
    exact = np.lexsort((ids, -(f16.astype(np.float32) @ q)))[:5]
    assert [h.chunk.chunk_id for h in idx.dense_top_k(q, 5)] == ids[exact].tolist()
    idx.close()


def test_a_damaged_stored_vector_is_reported_by_the_one_pass_rebuild(tmp_path: Path, fixed_model: str) -> None:
    index = tmp_path / "idx"
    with IndexWriter(index, embed_model=fixed_model) as w:
        write_docs(w, clustered(np.random.default_rng(3), 40), first_doc=0)
    victim = int(np.load(_gen_dir(index) / "chunk_ids.npy")[7])
    conn = sqlite3.connect(index / DOCSTORE_FILE)
    conn.execute("UPDATE chunks SET embedding = x'0000' WHERE chunk_id = ?", (victim,))
    conn.commit()
    conn.close()
    # the search files are lost: the rebuild reads every vector in its one pass, and names the bad row
    for p in _gen_dir(index).iterdir():
        p.unlink()
    with pytest.raises(IndexCorruptError, match=f"chunk {victim} has the wrong size"):
        repair(index)


def test_term_ids_of_known_and_new_terms(tmp_path: Path) -> None:
    with IndexWriter(tmp_path / "idx", embed_model="none") as w:
        first = w.term_ids(["국회", "임기", "국회"])
        assert first.tolist() == [0, 1, 0] and first.dtype == np.uint32
        assert w.term_ids(["임기", "국회"]).tolist() == [1, 0]  # all known: the lookup without the loop
        assert w.term_ids(iter(["대통령", "임기"])).tolist() == [2, 1]  # any iterable; a new term is added
        assert w.term_ids([]).tolist() == []
        assert w._pending_terms == [("국회", 0), ("임기", 1), ("대통령", 2)]


_KILL_CHILD = """
import sys, time
from pathlib import Path
from rabbit_rag.index import generation
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.types import Document

real = generation.{hook}

def slow(*args, **kwargs):
    out = real(*args, **kwargs)
    Path(sys.argv[2]).write_text("publishing")  # the docstore has committed; the publish is under way
    time.sleep(120)
    return out

generation.{hook} = slow
ingest_documents([Document(source="새 문서.txt", text="새 문서는 국회의 의결을 거친 법률안이다.")], sys.argv[1],
                 embed_model="none", progress=False)
"""


@pytest.mark.slow  # a child process ingests (a Kiwi load, about 4 s of CPU each), as the killed-ingest test
@pytest.mark.parametrize("hook", ["_read_live", "file_entries"])  # after the scan; with every new file written
def test_a_build_killed_while_publishing_keeps_the_previous_generation(tmp_path: Path, hook: str) -> None:
    index = tmp_path / "idx"
    docs = [Document(source="헌법.txt", text="제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.")]
    ingest_documents(docs, index, embed_model="none", progress=False)
    manifest_before = (index / "manifest.json").read_bytes()
    gen_before = _gen_dir(index)
    files_before = {p.name: p.read_bytes() for p in gen_before.iterdir()}

    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_CHILD.format(hook=hook), str(index), str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the child ended before publishing"
            assert time.monotonic() < deadline, "the child never reached the publish"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # the published index is untouched: same manifest, same generation files, all verifying
    assert (index / "manifest.json").read_bytes() == manifest_before
    assert {p.name: p.read_bytes() for p in gen_before.iterdir()} == files_before
    assert generation_problems(index, json.loads(manifest_before)) == []
    # the committed document is not lost: opening rebuilds the search files from the docstore
    idx = open_index(index)
    assert {d.source for d in idx.documents()} == {"헌법.txt", "새 문서.txt"}
    assert idx.search("법률안 의결", k=1, mode="bm25")[0].chunk.source == "새 문서.txt"
    assert idx.search("대통령 임기", k=1, mode="bm25")[0].chunk.source == "헌법.txt"
    idx.close()
    assert not [p.name for p in index.iterdir() if p.name.endswith(".tmp")]  # the half-built folder is gone
