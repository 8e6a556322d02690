"""The index folder: round trip, mismatch errors, crash safety, generations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.errors import IndexMismatchError, IndexNotFoundError
from rabbit_rag.index import generation as generation_mod
from rabbit_rag.index import open_index
from rabbit_rag.index.docstore import DOCSTORE_FILE, DocStore
from rabbit_rag.index.manifest import write_manifest
from rabbit_rag.ingest import ingest_documents, ingest_paths
from rabbit_rag.types import Document

DOCS = [
    Document(
        source="헌법.txt",
        text="제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.\n제42조 국회의원의 임기는 4년으로 한다.",
    ),
    Document(source="법원.txt", text="제105조 ① 대법원장의 임기는 6년으로 하며, 중임할 수 없다."),
]


def _files(index: Path) -> set[str]:
    return {p.name for p in index.iterdir()}


def test_round_trip_bm25_only(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    report = ingest_documents(DOCS, index, embed_model="none", progress=False)
    assert (report.added, report.updated) == (2, 0)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "rabbit-rag-index" and manifest["embedding"]["model"] is None
    assert manifest["tokenizer"]["name"] == "kiwi-content-morphemes"
    assert manifest["counts"]["documents"] == 2
    gen = f"gen-{manifest['generation']['revision']:08d}"
    assert {"manifest.json", "docstore.sqlite3", gen} <= _files(index)
    # every stored array loads without pickle
    for npy in (index / gen).glob("*.npy"):
        np.load(npy, allow_pickle=False)

    idx = open_index(index)
    hits = idx.search("대통령 임기", k=2, mode="bm25")
    assert hits[0].chunk.source == "헌법.txt"
    for doc in idx.documents():
        text = idx.document_text(doc.doc_id)
        for chunk in idx.document_chunks(doc.doc_id):
            assert text[chunk.start : chunk.end] == chunk.text


def test_round_trip_with_vectors(tmp_path: Path, tiny_st_model: Path) -> None:
    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model=str(tiny_st_model), progress=False)
    idx = open_index(index)
    assert idx.has_vectors and idx.manifest["embedding"]["dim"] == 32
    exact = "제105조 ① 대법원장의 임기는 6년으로 하며, 중임할 수 없다."
    dense = idx.search(exact, k=3, mode="dense")
    assert dense[0].chunk.text == exact and dense[0].score == pytest.approx(1.0, abs=1e-2)
    hybrid = idx.search("대통령의 임기", k=3, mode="hybrid")
    assert {"bm25", "dense"} <= set(hybrid[0].scores)
    # the index remembers its model: ingesting with no --embed-model embeds with the same one
    more = [Document(source="추가.txt", text="헌법재판소 재판관의 임기는 6년으로 한다.")]
    report = ingest_documents(more, index, progress=False)
    assert report.embedded == 1 and open_index(index).manifest["counts"]["vectors"] == 4


def test_embedding_model_mismatch_is_an_error(tmp_path: Path, tiny_st_model: Path) -> None:
    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model=str(tiny_st_model), progress=False)
    with pytest.raises(IndexMismatchError, match="embedding model"):
        ingest_documents(DOCS, index, embed_model="none", progress=False)
    with pytest.raises(IndexMismatchError, match="embedding model"):
        open_index(index, embed_model="someone/other-model")


def test_tokenizer_mismatch_is_an_error(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model="none", progress=False)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    manifest["tokenizer"]["version"] = 0
    write_manifest(index, manifest)  # as an index built elsewhere (a hand edit is damage: see test_integrity)
    with pytest.raises(IndexMismatchError, match="tokenizer"):
        open_index(index)
    with pytest.raises(IndexMismatchError, match="tokenizer"):
        ingest_documents(DOCS, index, embed_model="none", progress=False)


def test_kiwi_options_other_than_ours_are_refused_and_an_older_index_is_read(tmp_path: Path, capsys) -> None:
    """Other Kiwi dictionaries recorded by the index: refused. No record at all (an index built before
    they were left out, with Kiwi's defaults): searched as it is, with one notice saying to re-ingest."""
    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model="none", progress=False)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    manifest["tokenizer"]["kiwi_options"] = {"load_typo_dict": True, "load_multi_dict": True}
    write_manifest(index, manifest)
    with pytest.raises(IndexMismatchError, match="kiwi_options"):
        open_index(index)
    del manifest["tokenizer"]["kiwi_options"]
    write_manifest(index, manifest)
    capsys.readouterr()
    assert open_index(index).search("임기", k=1, mode="bm25")
    assert open_index(index).search("임기", k=1, mode="bm25")
    assert capsys.readouterr().err.count("typo and multi-word dictionaries") == 1


def test_not_an_index_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "notes.txt").write_text("중요한 메모", encoding="utf-8")
    with pytest.raises(IndexNotFoundError, match="not a rabbit-rag index"):
        open_index(folder)
    with pytest.raises(IndexNotFoundError, match="nothing was written"):
        ingest_documents(DOCS, folder, embed_model="none", progress=False)
    assert _files(folder) == {"notes.txt"}
    with pytest.raises(IndexNotFoundError, match="no such index folder"):
        open_index(tmp_path / "missing")


def test_crash_between_commit_and_publish_is_repaired_on_open(tmp_path: Path, monkeypatch) -> None:
    index = tmp_path / "idx"
    ingest_documents(DOCS[:1], index, embed_model="none", progress=False)
    real_build = generation_mod.build_generation

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after the docstore commit, before publishing

    monkeypatch.setattr("rabbit_rag.index.publish.build_generation", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest_documents(DOCS[1:], index, embed_model="none", progress=False)
    monkeypatch.setattr("rabbit_rag.index.publish.build_generation", real_build)
    # the docstore has the new document; opening rebuilds the search files from it
    idx = open_index(index)
    assert idx.revision == DocStore(index / DOCSTORE_FILE, readonly=True).revision() > 0
    assert idx.search("대법원장 임기", k=1, mode="bm25")[0].chunk.source == "법원.txt"


def test_interrupted_ingest_leaves_the_previous_index(tmp_path: Path, monkeypatch) -> None:
    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model="none", progress=False)
    before = open_index(index).search("임기", k=5, mode="bm25")

    def docs():
        yield Document(source="new.txt", text="새 문서는 저장되지 않는다.")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_documents(docs(), index, embed_model="none", progress=False)
    idx = open_index(index)
    assert [d.source for d in idx.documents()] == ["법원.txt", "헌법.txt"]
    assert [h.chunk.chunk_id for h in idx.search("임기", k=5, mode="bm25")] == [h.chunk.chunk_id for h in before]


def test_reader_keeps_its_generation_during_updates(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model="none", progress=False)
    reader = open_index(index)
    old_hits = reader.search("대통령 임기", k=3, mode="bm25")
    changed = [Document(source="헌법.txt", text="제70조 대통령의 임기는 7년이다.")]
    ingest_documents(changed, index, embed_model="none", progress=False)
    # the open reader still answers from its generation, with the chunk texts of that generation
    assert [h.chunk.text for h in reader.search("대통령 임기", k=3, mode="bm25")] == [h.chunk.text for h in old_hits]
    assert reader.refresh() is True
    assert "7년" in reader.search("대통령 임기", k=1, mode="bm25")[0].chunk.text
    assert reader.refresh() is False


def test_old_generations_are_pruned(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    for i in range(4):
        ingest_documents(
            [Document(source=f"d{i}.txt", text=f"문서 {i}번의 내용이다.")], index, embed_model="none", progress=False
        )
    gens = sorted(p.name for p in index.iterdir() if p.name.startswith("gen-"))
    assert len(gens) == 2  # the current one and the one before it
    assert not [p for p in index.iterdir() if p.name.endswith(".tmp")]


def test_copy_of_an_index_is_self_contained(sample_index: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.move(str(sample_index), moved)
    hits = open_index(moved).search("대통령 임기는 몇 년이야?", k=1, mode="bm25")
    assert "대통령의 임기는 5년" in hits[0].chunk.text


def test_filters(sample_index_ro: Path) -> None:
    idx = open_index(sample_index_ro)
    hits = idx.search("법률 개정", k=10, mode="bm25", source="kobill/*")
    assert hits and all(h.chunk.source.startswith("samples/kobill/") for h in hits)
    const = idx.search("임기", k=3, mode="bm25", source="samples/constitution.txt")
    assert const and all(h.chunk.source == "samples/constitution.txt" for h in const)
    one = const[0].chunk.doc_id
    assert all(h.chunk.doc_id == one for h in idx.search("국민", k=5, mode="bm25", doc_id=one))
    assert idx.search("임기", k=3, mode="bm25", source="nothing-matches") == []


def test_paths_ingest_uses_relative_sources(tmp_path: Path) -> None:
    root = tmp_path / "자료"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("가나다 문서.", encoding="utf-8")
    report = ingest_paths([root], tmp_path / "idx", embed_model="none", progress=False)
    assert [f.source for f in report.files] == ["자료/sub/a.txt"]


@pytest.mark.slow  # lets a child ingest run 4 s before killing it
def test_killed_ingest_leaves_a_readable_index(tmp_path: Path) -> None:
    """SIGKILL a real ingest process at some point; the index must open and answer afterwards."""
    import os
    import signal
    import subprocess
    import sys
    import time

    index = tmp_path / "idx"
    ingest_documents(DOCS, index, embed_model="none", progress=False)
    corpus = tmp_path / "many"
    corpus.mkdir()
    for i in range(400):
        (corpus / f"{i:03d}.txt").write_text(
            f"제{i}조 이 문서는 {i}번째 시험 문서이며 국회의 의결을 거친다. " * 40, encoding="utf-8"
        )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    code = "import sys; from rabbit_rag.ingest import ingest_paths; ingest_paths([sys.argv[1]], sys.argv[2], progress=False)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(corpus), str(index)], env=env)
    time.sleep(4.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    idx = open_index(index)
    docs = {d.source for d in idx.documents()}
    assert {"헌법.txt", "법원.txt"} <= docs  # what was there before is still there
    assert idx.search("대통령 임기", k=1, mode="bm25")[0].chunk.source == "헌법.txt"
    for doc in idx.documents():  # whatever was committed is whole
        assert doc.n_chunks == len(idx.document_chunks(doc.doc_id))


def test_chunk_blocks_round_trip_and_older_indexes_read_without_them(tmp_path: Path) -> None:
    import sqlite3

    from rabbit_rag.types import Block

    text = "# 업무 분담\n| 업무 | 담당 |\n|---|---|\n| API 문서 정리 | 김민수 |"
    blocks = (
        Block(0, 8, "heading", level=1),
        Block(9, 20, "table_row"),
        Block(31, 48, "table_row", header="업무 | 담당"),
    )
    index = tmp_path / "idx"
    ingest_documents(
        [Document(source="회의록.md", text=text, blocks=blocks)], index, embed_model="none", progress=False
    )
    idx = open_index(index)
    (chunk,) = idx.document_chunks(idx.documents()[0].doc_id)
    assert chunk.blocks == blocks  # document offsets, header kept
    hit = idx.search("API 문서 정리", k=1, mode="bm25")[0]
    assert hit.chunk.blocks == blocks
    idx.close()

    # an index written before chunks had blocks: readers see none, the next writer adds the column
    with sqlite3.connect(index / DOCSTORE_FILE) as db:
        db.execute("ALTER TABLE chunks DROP COLUMN blocks")
    old = open_index(index)
    assert old.document_chunks(old.documents()[0].doc_id)[0].blocks == ()
    old.close()
    fresh = Document(source="새.md", text="# 제목\n본문이다.", blocks=(Block(0, 4, "heading", level=1),))
    ingest_documents([fresh], index, embed_model="none", progress=False)
    new = open_index(index)
    by_source = {d.source: d.doc_id for d in new.documents()}
    assert new.document_chunks(by_source["회의록.md"])[0].blocks == ()
    assert new.document_chunks(by_source["새.md"])[0].blocks == fresh.blocks
    new.close()


def _journal_mode(path: Path) -> str:
    """The docstore file's journal mode, from its header (bytes 18-19: 2 is WAL, 1 a rollback journal)."""
    with open(path / DOCSTORE_FILE, "rb") as f:
        return {b"\x02\x02": "wal", b"\x01\x01": "rollback"}[f.read(20)[18:20]]


_KILLED_FIRST_INGEST = """
import os, sys
from rabbit_rag.index.writer import IndexWriter
from rabbit_rag.ingest import IngestOptions, ingest_paths

calls = 0
checkpoint = IndexWriter.checkpoint

def dies_at_the_third(self):
    global calls
    calls += 1
    if calls == 3:  # the third document is written but not committed
        with self._store._db() as c:  # (it wrote with the rollback journal)
            assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        os._exit(9)
    checkpoint(self)

IndexWriter.checkpoint = dies_at_the_third
ingest_paths([sys.argv[1]], sys.argv[2], embed_model="none", progress=False, options=IngestOptions(checkpoint_seconds=0))
"""


def test_a_first_ingest_writes_with_a_rollback_journal_and_a_crash_keeps_its_checkpoints(tmp_path: Path) -> None:
    """A first ingest (nothing published, so no reader) writes rows once, with SQLite's rollback
    journal; a published index is back in WAL mode for its readers. Killed after two checkpoints,
    the two acknowledged documents are there, whole, and the third is not."""
    import os
    import subprocess
    import sys

    from rabbit_rag.index.integrity import check_index

    corpus = tmp_path / "docs"
    corpus.mkdir()
    for i in range(5):
        (corpus / f"{i}.txt").write_text(
            f"제{i}조 이 문서는 {i}번째 시험 문서이며 국회의 의결을 거친다. " * 30, encoding="utf-8"
        )
    index = tmp_path / "idx"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.run([sys.executable, "-c", _KILLED_FIRST_INGEST, str(corpus), str(index)], env=env, timeout=120)
    assert proc.returncode == 9
    assert _journal_mode(index) == "rollback" and (index / f"{DOCSTORE_FILE}-journal").stat().st_size > 0

    idx = open_index(index)  # rolls the third document back and builds the first generation
    docs = idx.documents()
    assert len(docs) == 2 and all(d.n_chunks == len(idx.document_chunks(d.doc_id)) > 0 for d in docs)
    idx.close()
    assert check_index(index).ok and _journal_mode(index) == "wal"

    ingest_paths([corpus], index, embed_model="none", progress=False)
    assert _journal_mode(index) == "wal"
    idx = open_index(index)
    assert len(idx.documents()) == 5
    idx.close()


def test_an_update_of_a_published_index_keeps_the_write_ahead_log(tmp_path: Path) -> None:
    """Readers may hold a published index: its writer never leaves WAL mode (a rollback journal would
    block them while it commits)."""
    from rabbit_rag.index.writer import IndexWriter

    index = tmp_path / "idx"
    ingest_documents(DOCS[:1], index, embed_model="none", progress=False)
    reader = open_index(index)
    with IndexWriter(index) as writer, writer._store._db() as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ingest_documents(DOCS, index, embed_model="none", progress=False)
    assert _journal_mode(index) == "wal" and len(reader.latest().documents()) == len(DOCS)
    reader.close()


def test_a_failing_bm25_build_beside_the_vectors_fails_the_publish_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The BM25 matrix is built on a second thread during a publish: its error is the publish's
    error and the temporary generation folder goes. The docstore had committed (the data is
    acknowledged), so the next open rebuilds the generation from it."""
    from rabbit_rag.index.bm25 import BM25Matrix

    index = tmp_path / "idx"
    ingest_documents(DOCS[:1], index, embed_model="none", progress=False)
    before = open_index(index)
    revision = before.revision
    before.close()

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError("no room for the matrix")

    monkeypatch.setattr(BM25Matrix, "build_flat", classmethod(broken))
    with pytest.raises(MemoryError, match="no room"):
        ingest_documents(DOCS, index, embed_model="none", progress=False)
    assert not [p.name for p in index.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    idx = open_index(index)
    assert idx.revision > revision and len(idx.documents()) == len(DOCS)
    assert idx.search("대통령 임기", k=1, mode="bm25")[0].chunk.source == "헌법.txt"
    idx.close()
