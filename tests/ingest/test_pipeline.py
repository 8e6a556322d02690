"""Incremental ingest of files: unchanged, changed, removed, failing, empty, odd encodings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.index import open_index
from rabbit_rag.ingest import IngestOptions, ingest_paths
from tests.conftest import SAMPLES


def _head(text: str, chars: int) -> str:
    """The text up to the first line break after ``chars`` characters."""
    cut = text.find("\n", chars)
    return text if cut < 0 else text[: cut + 1]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The 11 sample files, shortened: the bills to their first 1,000 characters and the constitution to
    article 70 (대통령의 임기). These tests are about files, not text, and Kiwi's analysis of the whole
    samples (about 2 s of CPU per ingest) was most of their time."""
    root = tmp_path / "corpus"
    shutil.copytree(SAMPLES, root, ignore=shutil.ignore_patterns("README.md"))
    for f in root.rglob("*.txt"):
        text = f.read_text(encoding="utf-8")
        f.write_text(_head(text, text.find("대통령의 임기는") + 100 if f.name == "constitution.txt" else 1000), "utf-8")
    return root


def _ingest(root: Path, index: Path, **kw):
    return ingest_paths([root], index, embed_model="none", progress=False, **kw)


def test_reingest_unchanged_does_nothing(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    first = _ingest(corpus, index)
    assert (first.added, first.updated, first.unchanged) == (11, 0, 0)
    rev = open_index(index).revision
    second = _ingest(corpus, index)
    assert (second.added, second.updated, second.unchanged, second.chunks_added, second.embedded) == (0, 0, 11, 0, 0)
    assert open_index(index).revision == rev  # nothing was written
    # a touched but identical file is recognised by its hash and still counts as unchanged
    f = corpus / "constitution.txt"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    third = _ingest(corpus, index)
    assert (third.added, third.updated, third.unchanged) == (0, 0, 11)


def test_changed_file_replaces_its_chunks(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    _ingest(corpus, index)
    f = corpus / "constitution.txt"
    f.write_text(
        f.read_text(encoding="utf-8").replace("대통령의 임기는 5년으로", "대통령의 임기는 7년으로"), encoding="utf-8"
    )
    report = _ingest(corpus, index)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 10)
    idx = open_index(index)
    hit = idx.search("대통령 임기는 몇 년이야?", k=1, mode="bm25")[0]
    assert "7년" in hit.chunk.text
    doc = idx.document(hit.chunk.doc_id)
    assert doc is not None and doc.n_chunks == len(idx.document_chunks(doc.doc_id))
    assert all("5년으로 하며, 중임" not in c.text for c in idx.document_chunks(doc.doc_id))


def test_sync_removes_documents_whose_files_are_gone(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    _ingest(corpus, index)
    gone = sorted((corpus / "kobill").iterdir())[:2]
    for f in gone:
        f.unlink()
    kept = _ingest(corpus, index)
    assert kept.removed == 0 and open_index(index).manifest["counts"]["documents"] == 11
    synced = _ingest(corpus, index, sync=True)
    assert synced.removed == 2
    assert {f.source for f in synced.files if f.status == "removed"} == {f"corpus/kobill/{g.name}" for g in gone}
    idx = open_index(index)
    assert idx.manifest["counts"]["documents"] == 9
    assert all(not d.source.endswith(gone[0].name) for d in idx.documents())


def test_bad_files_are_reported_and_the_rest_is_committed(corpus: Path, tmp_path: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.md").write_text("  \n\n ", encoding="utf-8")
    (corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2048))
    (corpus / "legacy.txt").write_bytes(
        "국가는 전통문화의 계승·발전과 민족문화의 창달에 노력하여야 한다.".encode("cp949")
    )
    (corpus / "image.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    locked = corpus / "locked.txt"
    locked.write_text("비밀", encoding="utf-8")
    locked.chmod(0)
    index = tmp_path / "idx"
    try:
        report = _ingest(corpus, index)
    finally:
        locked.chmod(0o644)
    failed = {f["source"]: f["reason"] for f in report.failed}
    skipped = {s["source"]: s["reason"] for s in report.skipped}
    assert "the content is PNG image, not text" in failed["corpus/photo.txt"]  # judged by content, as uploads are
    if os.geteuid() != 0:  # root can read anything
        assert "permission denied" in failed["corpus/locked.txt"]
    assert "empty" in skipped["corpus/empty.txt"]
    assert "corpus/blank.md" in skipped
    assert "unsupported type" in skipped["corpus/image.jpg"]
    assert report.added >= 12  # 11 samples + the CP949 file
    idx = open_index(index)
    hit = idx.search("전통문화 계승", k=1, mode="bm25")[0]
    assert hit.chunk.source == "corpus/legacy.txt"
    assert idx.document(hit.chunk.doc_id).metadata["encoding"] == "cp949"


def test_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    # alone: nothing to ingest, an error before anything is written
    with pytest.raises(InvalidInputError, match="없는폴더: no such file or folder"):
        ingest_paths([tmp_path / "없는폴더"], tmp_path / "idx", embed_model="none", progress=False)
    assert not (tmp_path / "idx").exists()
    # beside a real file: reported, and the rest is ingested
    (tmp_path / "ok.txt").write_text("대한민국의 수도는 서울이다.\n", encoding="utf-8")
    report = ingest_paths([tmp_path / "없는폴더", tmp_path / "ok.txt"], tmp_path / "idx", embed_model="none")
    assert report.failed == [{"source": str(tmp_path / "없는폴더"), "reason": "no such file or folder"}]
    assert report.added == 1


def test_broken_link_in_a_folder_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("대한민국의 수도는 서울이다.\n", encoding="utf-8")
    (folder / "gone.txt").symlink_to(tmp_path / "deleted.txt")
    report = ingest_paths([folder], tmp_path / "idx", embed_model="none", progress=False)
    assert report.added == 1
    assert report.failed == [{"source": "docs/gone.txt", "reason": f"broken link to {tmp_path / 'deleted.txt'}"}]


def test_file_size_limit(tmp_path: Path) -> None:

    big = tmp_path / "big.txt"
    big.write_text("가" * 600_000, encoding="utf-8")  # 1.8 MB
    report = ingest_paths(
        [big], tmp_path / "idx", embed_model="none", progress=False, options=IngestOptions(max_file_bytes=1_000_000)
    )
    assert "limit is 1 MB" in report.failed[0]["reason"]


def test_index_inside_the_ingested_folder_is_not_ingested(corpus: Path) -> None:
    index = corpus / "index"
    _ingest(corpus, index)
    again = _ingest(corpus, index)
    assert again.added == 0 and not again.failed
