"""Snapshot isolation: a reader of generation R sees the documents, text and chunks of revision R,
however often the documents are updated meanwhile; the writer collects old versions only when no
reader holds them. And the migration of a format-1 index (one text per document, overwritten)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from rabbit_rag.index import open_index
from rabbit_rag.index.docstore import DOCSTORE_FILE
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.types import Document

V1_INDEX = Path(__file__).parent / "data" / "v1-index"


def _doc(version: int) -> Document:
    # every sentence names its version, so a chunk of one version can never match another's text
    return Document(
        source="헌법.txt",
        text=f"제70조 대통령의 임기는 {version}년으로 한다 (판본 {version}).\n"
        f"제42조 국회의원의 임기는 {version + 1}년이다 (판본 {version}).",
    )


def _ingest(index: Path, *docs: Document) -> None:
    ingest_documents(list(docs), index, embed_model="none", progress=False)


def _assert_offsets(idx, hits) -> None:
    for h in hits:
        text = idx.document_text(h.chunk.doc_id)
        assert text is not None and text[h.chunk.start : h.chunk.end] == h.chunk.text


def test_reader_keeps_its_text_documents_and_chunks_through_many_updates(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    _ingest(index, _doc(1), Document(source="법원.txt", text="제105조 대법원장의 임기는 6년이다."))
    reader = open_index(index)
    hits = reader.search("대통령 임기", k=5, mode="bm25")
    doc_id = hits[0].chunk.doc_id
    before = (reader.document(doc_id), reader.document_text(doc_id), reader.document_chunks(doc_id))
    for v in range(2, 6):  # four updates and a delete: the old version is collected by none of them
        _ingest(index, _doc(v))
    _ingest(index, Document(source="새문서.txt", text="새 문서가 추가되었다."))
    assert reader.search("대통령 임기", k=5, mode="bm25")[0].chunk.text == hits[0].chunk.text
    _assert_offsets(reader, reader.search("대통령 임기", k=5, mode="bm25"))
    assert (reader.document(doc_id), reader.document_text(doc_id), reader.document_chunks(doc_id)) == before
    assert "판본 1" in before[1] and [d.source for d in reader.documents()] == ["법원.txt", "헌법.txt"]
    assert reader.document_count() == 2
    # a new reader sees the newest version, and its offsets hold too
    fresh = open_index(index)
    assert "판본 5" in fresh.document_text(doc_id)
    assert fresh.document_count() == 3
    _assert_offsets(fresh, fresh.search("대통령 임기", k=5, mode="bm25"))


def test_old_versions_are_collected_once_no_reader_holds_them(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    _ingest(index, _doc(1))
    reader = open_index(index)
    held = reader.revision
    _ingest(index, _doc(2))
    _ingest(index, _doc(3))
    db = sqlite3.connect(index / DOCSTORE_FILE)
    versions = lambda: db.execute("SELECT count(*) FROM documents").fetchone()[0]  # noqa: E731
    assert versions() == 3  # the held version, the previous generation's and the live one
    assert (index / f"gen-{held:08d}").is_dir()
    reader.close()  # lets go of its generation
    _ingest(index, _doc(4))
    assert versions() == 2  # only the previous generation's version and the live one remain
    assert not (index / f"gen-{held:08d}").exists()
    gens = sorted(p.name for p in index.iterdir() if p.name.startswith("gen-"))
    assert len(gens) == 2


def test_deleted_document_stays_readable_by_its_generation(tmp_path: Path) -> None:
    from rabbit_rag.index import IndexWriter

    index = tmp_path / "idx"
    _ingest(index, _doc(1))
    reader = open_index(index)
    doc_id = reader.documents()[0].doc_id
    with IndexWriter(index) as writer:
        assert writer.remove(doc_id)
    assert reader.document(doc_id) is not None and "판본 1" in reader.document_text(doc_id)
    assert open_index(index).document(doc_id) is None
    assert open_index(index).document_text(doc_id) is None


def test_latest_snapshots_answer_each_for_their_own_revision(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    _ingest(index, _doc(1))
    first = open_index(index)
    _ingest(index, _doc(2))
    second = first.latest()
    assert second is not first and second.revision > first.revision
    doc_id = first.documents()[0].doc_id
    assert "판본 1" in first.document_text(doc_id) and "판본 2" in second.document_text(doc_id)
    # an explicit revision this process holds can be read through any snapshot
    assert "판본 1" in second.document_text(doc_id, revision=first.revision)
    assert second.document(doc_id, revision=first.revision).n_chars == len(first.document_text(doc_id))


def test_format_1_index_is_read_then_migrated_by_the_first_write(tmp_path: Path) -> None:
    index = tmp_path / "v1"
    shutil.copytree(V1_INDEX, index)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 1 and "checksum" not in manifest
    # read as is (read-only: nothing is written)
    before = {p.name: p.stat().st_mtime_ns for p in index.iterdir()}
    idx = open_index(index)
    hits = idx.search("대통령 임기", k=3, mode="bm25")
    assert "7년" in hits[0].chunk.text
    _assert_offsets(idx, hits)
    assert sorted(d.source for d in idx.documents()) == ["메모.txt", "법원.txt", "헌법.txt"]
    idx.close()
    assert {p.name: p.stat().st_mtime_ns for p in index.iterdir() if p.name in before} == before
    # the first write migrates: versions, checksums, format 2
    _ingest(index, _doc(9))
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 2 and manifest["checksum"] and manifest["generation"]["files"]
    db = sqlite3.connect(index / DOCSTORE_FILE)
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == "2"
    assert db.execute("SELECT count(*) FROM chunks WHERE crc IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM documents WHERE text_crc IS NULL").fetchone()[0] == 0
    fresh = open_index(index)
    assert sorted(d.source for d in fresh.documents()) == ["메모.txt", "법원.txt", "헌법.txt"]
    assert "판본 9" in fresh.search("대통령 임기", k=1, mode="bm25")[0].chunk.text
    _assert_offsets(fresh, fresh.search("임기", k=10, mode="bm25"))
    from rabbit_rag.index.integrity import check_index

    assert check_index(index).ok


def test_a_reader_of_a_format_1_index_keeps_working_while_a_writer_migrates_it(tmp_path: Path) -> None:
    index = tmp_path / "v1"
    shutil.copytree(V1_INDEX, index)
    reader = open_index(index)
    hits = reader.search("대통령 임기", k=5, mode="bm25")
    _ingest(index, Document(source="헌법.txt", text="완전히 새로운 판본이다. 대통령 임기는 9년이다."))
    assert (index / DOCSTORE_FILE).stat().st_mode & 0o077 == 0  # the migration made it owner-only
    again = reader.search("대통령 임기", k=5, mode="bm25")
    assert [h.chunk.text for h in again] == [h.chunk.text for h in hits]
    _assert_offsets(reader, again)


def test_format_newer_than_this_code_is_refused(tmp_path: Path) -> None:
    from rabbit_rag.errors import IndexMismatchError
    from rabbit_rag.index.manifest import write_manifest

    index = tmp_path / "idx"
    _ingest(index, _doc(1))
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 99
    write_manifest(index, manifest)
    with pytest.raises(IndexMismatchError, match="format version 99"):
        open_index(index)
