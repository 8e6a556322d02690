"""Integrity: checksums recorded at publish and verified on open, derived files rebuilt from the
docstore, docstore damage as a one-line error, ``rabbit-rag check [--repair] [--json]``."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app
from rabbit_rag.errors import IndexCorruptError
from rabbit_rag.index import open_index
from rabbit_rag.index.docstore import DOCSTORE_FILE
from rabbit_rag.index.integrity import check_index
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.types import Document

runner = CliRunner()
DOCS = [
    Document(
        source="헌법.txt",
        text="제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.\n제42조 국회의원의 임기는 4년으로 한다.",
    ),
    Document(source="법원.txt", text="제105조 ① 대법원장의 임기는 6년으로 하며, 중임할 수 없다."),
]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "idx"
    ingest_documents(DOCS, path, embed_model="none", progress=False)
    return path


def _gen(index: Path) -> Path:
    return next(p for p in sorted(index.iterdir()) if p.name.startswith("gen-"))


def _current_gen(index: Path) -> Path:
    rev = json.loads((index / "manifest.json").read_text(encoding="utf-8"))["generation"]["revision"]
    return index / f"gen-{rev:08d}"


def _garble(path: Path, at: int, n: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for i in range(at, min(at + n, len(data))):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def test_checksums_are_recorded_and_verified(index: Path) -> None:
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    files = manifest["generation"]["files"]
    gen = _current_gen(index)
    assert set(files) == {p.name for p in gen.iterdir()}
    assert all(entry["size"] == (gen / name).stat().st_size and entry["xxh3_128"] for name, entry in files.items())
    assert check_index(index).ok


def test_garbled_npy_is_rebuilt_not_searched(index: Path) -> None:
    baseline = [h.chunk.chunk_id for h in open_index(index).search("대법원장 임기", k=3, mode="bm25")]
    data = _current_gen(index) / "bm25_data.npy"
    _garble(data, data.stat().st_size // 2, 8)  # wrong scores, same shape: only a checksum notices
    report = check_index(index)
    assert not report.ok and any("bm25_data.npy" in p.file and p.repairable for p in report.problems)
    idx = open_index(index)  # verified on open, rebuilt under the writer lock
    assert [h.chunk.chunk_id for h in idx.search("대법원장 임기", k=3, mode="bm25")] == baseline
    assert check_index(index).ok


def test_deleted_generations_are_rebuilt_by_open_and_by_ingest(index: Path) -> None:
    baseline = [h.chunk.chunk_id for h in open_index(index).search("임기", k=5, mode="bm25")]
    for gen in [p for p in index.iterdir() if p.name.startswith("gen-")]:
        shutil.rmtree(gen)
    # re-running ingest with nothing new rebuilds them (it used to report 0 added and leave the error)
    report = ingest_documents(DOCS, index, embed_model="none", progress=False)
    assert report.added == 0 and report.unchanged == 2
    assert [h.chunk.chunk_id for h in open_index(index).search("임기", k=5, mode="bm25")] == baseline
    for gen in [p for p in index.iterdir() if p.name.startswith("gen-")]:
        shutil.rmtree(gen)
    assert [h.chunk.chunk_id for h in open_index(index).search("임기", k=5, mode="bm25")] == baseline


@pytest.mark.parametrize("damage", ["delete", "empty", "not-utf8", "garbled"])
def test_damaged_manifest_is_rebuilt_from_the_docstore(index: Path, damage: str) -> None:
    baseline = [h.chunk.chunk_id for h in open_index(index).search("임기", k=5, mode="bm25")]
    manifest = index / "manifest.json"
    if damage == "delete":
        manifest.unlink()
    elif damage == "empty":
        manifest.write_bytes(b"")
    elif damage == "not-utf8":
        manifest.write_bytes(b"\xff\xfe" + manifest.read_bytes()[2:])
    else:  # a changed digit still parses: the manifest's own checksum notices
        text = manifest.read_text(encoding="utf-8").replace('"k1": 1.2', '"k1": 1.7')
        assert '"k1": 1.7' in text
        manifest.write_text(text, encoding="utf-8")
    assert [h.chunk.chunk_id for h in open_index(index).search("임기", k=5, mode="bm25")] == baseline
    assert json.loads(manifest.read_text(encoding="utf-8"))["bm25"]["k1"] == 1.2
    assert check_index(index).ok


@pytest.mark.parametrize("damage", ["empty", "missing", "header", "halved"])
def test_docstore_damage_is_a_one_line_error_never_an_empty_result(index: Path, damage: str) -> None:
    store = index / DOCSTORE_FILE
    if damage == "empty":
        store.write_bytes(b"")
    elif damage == "missing":
        store.unlink()
    elif damage == "header":
        _garble(store, 0, 32)
    else:
        with open(store, "r+b") as f:
            f.truncate(store.stat().st_size // 2)
    with pytest.raises(IndexCorruptError, match="docstore") as e:
        open_index(index)
    assert "\n" not in str(e.value) and "backup" in str(e.value)
    # ingest refuses too: it never starts an empty docstore over lost data
    with pytest.raises(IndexCorruptError, match="docstore"):
        ingest_documents(DOCS[:1], index, embed_model="none", progress=False)
    result = runner.invoke(app, ["search", "임기", "--index", str(index), "--json"])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert json.loads(result.stdout)["error"]["type"] == "IndexCorruptError"
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")


def _assert_one_line_docstore_error(index: Path) -> None:
    result = runner.invoke(app, ["search", "대통령의 임기", "--index", str(index), "--mode", "bm25", "--json"])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert json.loads(result.stdout)["error"]["type"] == "IndexCorruptError"
    assert len(result.stderr.strip().splitlines()) == 1 and str(index / DOCSTORE_FILE) in result.stderr


def test_garbled_schema_name_is_a_one_line_error(index: Path) -> None:
    # SQLite quotes the damaged name in its error message; sqlite3 decodes that message strictly and
    # raises UnicodeDecodeError, not a sqlite3 error
    db = sqlite3.connect(index / DOCSTORE_FILE)
    db.execute("PRAGMA writable_schema=ON")
    name = db.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL").fetchone()[0]
    db.execute("UPDATE sqlite_master SET name = CAST(x'ff41a5' AS TEXT) WHERE name = ?", (name,))
    db.commit()
    db.close()
    with pytest.raises(IndexCorruptError, match="not UTF-8"):
        open_index(index)
    _assert_one_line_docstore_error(index)


def test_damaged_vocabulary_page_is_a_one_line_error(index: Path) -> None:
    # the query vocabulary reads terms from the docstore at search time, after the index opened
    db = sqlite3.connect(index / DOCSTORE_FILE)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'vocab'").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(index / DOCSTORE_FILE, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff")  # not a b-tree page type
    with pytest.raises(IndexCorruptError, match="malformed"):
        open_index(index).search("대통령의 임기", k=3, mode="bm25")
    _assert_one_line_docstore_error(index)


def test_garbled_row_text_is_an_error_not_a_wrong_citation(index: Path) -> None:
    db = sqlite3.connect(index / DOCSTORE_FILE)
    db.execute("UPDATE chunks SET text = replace(text, '5년', '9년')")  # as a flipped byte would
    db.commit()
    db.close()
    with pytest.raises(IndexCorruptError, match="checksum"):  # when the hits' rows are read (on first use)
        [hit.chunk.text for hit in open_index(index).search("대통령 임기", k=3, mode="bm25")]
    report = check_index(index, repair=True)
    assert not report.ok and not report.repaired and all(not p.repairable for p in report.problems)


def test_docstore_older_than_the_search_files(index: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    shutil.copy(index / DOCSTORE_FILE, backup)
    ingest_documents([Document(source="추가.txt", text="헌법재판소 재판관의 임기는 6년이다.")], index,
                     embed_model="none", progress=False)  # fmt: skip
    shutil.copy(backup, index / DOCSTORE_FILE)  # restored from an older backup
    with pytest.raises(IndexCorruptError, match="older than the index"):
        open_index(index)
    result = runner.invoke(app, ["check", "--index", str(index), "--repair", "--json"])
    out = json.loads(result.stdout)
    assert result.exit_code == 0 and out["ok"] and out["repaired"], out
    assert {d.source for d in open_index(index).documents()} == {"헌법.txt", "법원.txt"}


def test_check_cli_human_and_json(index: Path) -> None:
    ok = runner.invoke(app, ["check", "--index", str(index)])
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: ")
    os.remove(_current_gen(index) / "doc_ord.npy")
    bad = runner.invoke(app, ["check", "--index", str(index), "--json"])
    out = json.loads(bad.stdout)
    assert bad.exit_code == 1 and not out["ok"]
    assert out["problems"][0]["file"].endswith("doc_ord.npy") and out["problems"][0]["repairable"]
    assert set(out) >= {"index", "ok", "revision", "docstore_revision", "counts", "problems", "repaired"}
    fixed = runner.invoke(app, ["check", "--index", str(index), "--repair"])
    assert fixed.exit_code == 0 and "repaired:" in fixed.stderr
    assert runner.invoke(app, ["check", "--index", str(index / "nope")]).exit_code == 1
    folder = _current_gen(index)
    shutil.rmtree(folder)
    gone = json.loads(runner.invoke(app, ["check", "--index", str(index), "--json"]).stdout)["problems"]
    assert [(p["file"], p["problem"]) for p in gone] == [(folder.name, "missing")]


def test_files_are_owner_only(index: Path) -> None:
    for p in [index / DOCSTORE_FILE, index / "manifest.json", index / ".lock", *_current_gen(index).iterdir()]:
        assert p.stat().st_mode & 0o077 == 0, p


def test_previous_generation_json_not_utf8_is_read_as_unknown(tmp_path: Path) -> None:
    from rabbit_rag.index.generation import GENERATION_FILE, _previous_vector_meta, generation_dir_name

    gen = tmp_path / generation_dir_name(1)
    gen.mkdir()
    (gen / GENERATION_FILE).write_bytes('{"sources": ["헌법.txt"], "vector_index": {"trained_on": 3}}'.encode()[:20])
    assert _previous_vector_meta(tmp_path, 1) == {}  # cut inside a Korean character: not UTF-8
    (gen / GENERATION_FILE).write_bytes(b"[1, 2]")
    assert _previous_vector_meta(tmp_path, 1) == {}
    (gen / GENERATION_FILE).write_text('{"vector_index": {"trained_on": 3}}', encoding="utf-8")
    assert _previous_vector_meta(tmp_path, 1) == {"trained_on": 3}


@pytest.mark.parametrize("how", ["halve", "garble-middle"])
def test_damaged_generation_json_with_vectors_is_rebuilt(tmp_path: Path, tiny_st_model: Path, how: str) -> None:
    path = tmp_path / "idx"
    ingest_documents(DOCS, path, embed_model=str(tiny_st_model), progress=False)
    args = ["search", "대통령의 임기", "--index", str(path), "-k", "3", "--mode", "hybrid", "--json"]
    expected = json.loads(runner.invoke(app, args).stdout)["results"]
    target = _current_gen(path) / "generation.json"
    data = target.read_bytes()
    cut = data.index("헌".encode()) + 1  # inside a Korean character: the file is no longer UTF-8
    if how == "halve":
        target.write_bytes(data[:cut])
    else:
        target.write_bytes(data[:cut] + bytes(b ^ 0xA5 for b in data[cut : cut + 64]) + data[cut + 64 :])
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"] == expected
    assert check_index(path).ok


# A stored value of the wrong type or shape, as damage or a hand edit leaves it: what it breaks must be
# an IndexCorruptError naming the docstore (one line in the CLI), and `check` must list it.
STORED_DAMAGE = {
    "chunk text as bytes": ("UPDATE chunks SET text = CAST(text AS BLOB)", "search"),
    "chunk blocks not JSON": ("UPDATE chunks SET blocks = '[[0, 1'", "search"),
    "document text as bytes": ("UPDATE documents SET text = CAST(text AS BLOB)", "text"),
    "document metadata not JSON": ("UPDATE documents SET metadata = '{\"bytes\": '", "documents"),
}


@pytest.mark.parametrize("damage", sorted(STORED_DAMAGE))
def test_stored_values_of_the_wrong_kind_are_a_one_line_error(index: Path, damage: str) -> None:
    sql, read = STORED_DAMAGE[damage]
    db = sqlite3.connect(index / DOCSTORE_FILE)
    assert db.execute(sql).rowcount > 0
    db.commit()
    db.close()
    idx = open_index(index)
    with pytest.raises(IndexCorruptError, match="docstore") as caught:
        if read == "search":  # the hits' rows are read on first use (rabbit_rag/index/lazy.py)
            [hit.chunk.text for hit in idx.search("대통령의 임기", k=3, mode="bm25")]
        elif read == "text":
            idx.document_text(idx.documents()[0].doc_id)
        else:
            idx.documents()
    assert str(index / DOCSTORE_FILE) in str(caught.value) and "\n" not in str(caught.value)
    if read == "search":
        _assert_one_line_docstore_error(index)
    if "bytes" in damage:  # the checksum pass reads every row: the changed type is a reported problem
        assert any("checksum" in p.problem for p in check_index(index).problems)
