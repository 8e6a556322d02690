"""The SQLite docstore: the single source of truth of an index.

It holds documents (normalized text, content hash, metadata), chunks (offsets, text, BM25 term ids,
float16 embeddings) and the term vocabulary. Every ingest commits here first; BM25 and FAISS files
are derived from it and can always be rebuilt without re-embedding.

Rows are never updated under a reader's feet: a replaced or deleted chunk is marked
``removed_rev`` and physically deleted only once no current generation can refer to it, so a
search that opened generation *R* finds every chunk of *R* even while an ingest commits *R+1*.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.schemas import DocumentInfo
from rabbit_rag.types import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    title TEXT,
    content_hash TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    n_chunks INTEGER NOT NULL DEFAULT 0,
    added_rev INTEGER NOT NULL,
    updated_rev INTEGER NOT NULL,
    removed_rev INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    section TEXT,
    text TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,
    terms BLOB NOT NULL,
    embedding BLOB,
    added_rev INTEGER NOT NULL,
    removed_rev INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_by_removed ON chunks(removed_rev);
CREATE INDEX IF NOT EXISTS chunks_by_added ON chunks(added_rev);
CREATE TABLE IF NOT EXISTS vocab (term TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE) WITHOUT ROWID;
"""

DOCSTORE_FILE = "docstore.sqlite3"


def doc_id_for(key: str) -> str:
    """A stable document id derived from its key (file URI or source name)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document row without its text (see :meth:`DocStore.document_text`)."""

    doc_id: str
    uri: str
    source: str
    title: str | None
    content_hash: str
    size: int | None
    mtime_ns: int | None
    n_chars: int
    n_chunks: int
    metadata: dict[str, Any]
    created_at: str
    updated_at: str

    def info(self) -> DocumentInfo:
        """What may be shown of the document (:class:`rabbit_rag.schemas.DocumentInfo`): no file path."""
        return DocumentInfo(
            doc_id=self.doc_id, source=self.source, title=self.title, content_hash=self.content_hash,
            size=self.size, n_chars=self.n_chars, n_chunks=self.n_chunks, metadata=self.metadata,
            created_at=self.created_at, updated_at=self.updated_at,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return self.info().model_dump()


@dataclass(slots=True)
class ChunkRow:
    """A chunk about to be written."""

    ord: int
    start: int
    end: int
    text: str
    n_tokens: int
    term_ids: np.ndarray
    page: int | None = None
    section: str | None = None
    embedding: np.ndarray | None = None


_DOC_COLUMNS = (
    "doc_id, uri, source, title, content_hash, size, mtime_ns, length(text), n_chunks, metadata, created_at, updated_at"
)


def _row_to_doc(r: Sequence[Any]) -> StoredDocument:
    return StoredDocument(
        doc_id=r[0], uri=r[1], source=r[2], title=r[3], content_hash=r[4], size=r[5], mtime_ns=r[6],
        n_chars=r[7], n_chunks=r[8], metadata=json.loads(r[9]), created_at=r[10], updated_at=r[11],
    )  # fmt: skip


class DocStore:
    """Thin typed access to the docstore file. One connection, guarded by a lock, per instance."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        """Open the docstore. ``readonly`` (readers) opens the file read-only and runs no DDL: a reader
        never writes; the writer (and a repair under the writer lock) opens it writable."""
        self.path = Path(path)
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        if not readonly:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(SCHEMA)
        self._conn.execute("PRAGMA busy_timeout=30000")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- meta ---------------------------------------------------------------------------------
    def revision(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        return int(row[0]) if row else 0

    # -- transactions (writer only) ----------------------------------------------------------------
    def begin(self) -> int:
        """Start a write transaction for the next revision and return that revision number."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            return self.revision() + 1

    def commit(self, rev: int) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta(key, value) VALUES('revision', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(rev),),
            )
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        with self._lock:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    # -- vocabulary --------------------------------------------------------------------------------
    def load_vocab(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT term, id FROM vocab"))

    def add_terms(self, terms: Iterable[tuple[str, int]]) -> None:
        with self._lock:
            self._conn.executemany("INSERT INTO vocab(term, id) VALUES(?, ?)", terms)

    def known_terms(self, terms: Sequence[str]) -> set[str]:
        """Which of ``terms`` the vocabulary holds."""
        if not terms:
            return set()
        uniq = list(dict.fromkeys(terms))
        with self._lock:
            rows = self._conn.execute(f"SELECT term FROM vocab WHERE term IN ({','.join('?' * len(uniq))})", uniq)
            return {r[0] for r in rows}

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Vocabulary ids of ``terms`` (unknown terms are left out), for queries."""
        if not terms:
            return []
        uniq = list(dict.fromkeys(terms))
        with self._lock:
            found = dict(
                self._conn.execute(f"SELECT term, id FROM vocab WHERE term IN ({','.join('?' * len(uniq))})", uniq)
            )
        return [found[t] for t in terms if t in found]

    # -- documents ---------------------------------------------------------------------------------
    def find_document(self, uri: str) -> StoredDocument | None:
        """The live document with this URI, if any."""
        with self._lock:
            r = self._conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE uri=? AND removed_rev IS NULL", (uri,)
            ).fetchone()
        return _row_to_doc(r) if r else None

    def get_document(self, doc_id: str) -> StoredDocument | None:
        with self._lock:
            r = self._conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id=? AND removed_rev IS NULL", (doc_id,)
            ).fetchone()
        return _row_to_doc(r) if r else None

    def document_text(self, doc_id: str) -> str | None:
        """The normalized text that chunk and citation offsets point into."""
        with self._lock:
            r = self._conn.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return r[0] if r else None

    def list_documents(self, limit: int | None = None, offset: int = 0) -> list[StoredDocument]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE removed_rev IS NULL ORDER BY source LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset),
            ).fetchall()
        return [_row_to_doc(r) for r in rows]

    def iter_live_uris(self) -> Iterator[tuple[str, str]]:
        """``(doc_id, uri)`` of every live document."""
        with self._lock:
            rows = self._conn.execute("SELECT doc_id, uri FROM documents WHERE removed_rev IS NULL").fetchall()
        yield from rows

    def touch_document(self, doc_id: str, size: int | None, mtime_ns: int | None) -> None:
        """Record a new mtime for an unchanged file, so the next ingest can skip hashing it."""
        with self._lock:
            self._conn.execute("UPDATE documents SET size=?, mtime_ns=? WHERE doc_id=?", (size, mtime_ns, doc_id))

    def begin_document(
        self,
        rev: int,
        *,
        uri: str,
        source: str,
        title: str | None,
        content_hash: str,
        size: int | None,
        mtime_ns: int | None,
        text: str,
        metadata: dict[str, Any],
    ) -> tuple[str, bool]:
        """Insert or replace a document row (its old chunks are marked removed) inside a savepoint;
        add chunks with :meth:`add_chunks`, then :meth:`end_document` or :meth:`cancel_document`.
        Returns ``(doc_id, was_update)``."""
        doc_id = doc_id_for(uri)
        ts = now_iso()
        meta = json.dumps(metadata, ensure_ascii=False)
        with self._lock:
            c = self._conn
            c.execute("SAVEPOINT document")
            old = c.execute("SELECT removed_rev FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
            c.execute("UPDATE chunks SET removed_rev=? WHERE doc_id=? AND removed_rev IS NULL", (rev, doc_id))
            if old is None:
                c.execute(
                    "INSERT INTO documents(doc_id, uri, source, title, content_hash, size, mtime_ns, text, metadata,"
                    " n_chunks, added_rev, updated_rev, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,0,?,?,?,?)",
                    (doc_id, uri, source, title, content_hash, size, mtime_ns, text, meta, rev, rev, ts, ts),
                )
            else:
                c.execute(
                    "UPDATE documents SET source=?, title=?, content_hash=?, size=?, mtime_ns=?, text=?, metadata=?,"
                    " n_chunks=0, updated_rev=?, removed_rev=NULL, updated_at=? WHERE doc_id=?",
                    (source, title, content_hash, size, mtime_ns, text, meta, rev, ts, doc_id),
                )
        return doc_id, old is not None and old[0] is None

    def add_chunks(self, rev: int, doc_id: str, chunks: Sequence[ChunkRow]) -> None:
        with self._lock:
            self._conn.executemany(
                'INSERT INTO chunks(doc_id, ord, start, "end", page, section, text, n_tokens, terms, embedding,'
                " added_rev) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (doc_id, ch.ord, ch.start, ch.end, ch.page, ch.section, ch.text, ch.n_tokens,
                     np.asarray(ch.term_ids, dtype="<u4").tobytes(),
                     None if ch.embedding is None else np.asarray(ch.embedding, dtype="<f2").tobytes(), rev)
                    for ch in chunks
                ),
            )  # fmt: skip

    def end_document(self, doc_id: str, n_chunks: int) -> None:
        with self._lock:
            self._conn.execute("UPDATE documents SET n_chunks=? WHERE doc_id=?", (n_chunks, doc_id))
            self._conn.execute("RELEASE document")

    def cancel_document(self) -> None:
        """Undo everything since :meth:`begin_document` (the old version, if any, stays)."""
        with self._lock:
            self._conn.execute("ROLLBACK TO document")
            self._conn.execute("RELEASE document")

    def remove_document(self, rev: int, doc_id: str) -> bool:
        """Mark a document and its chunks removed as of ``rev``. Returns whether it was live."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE documents SET removed_rev=? WHERE doc_id=? AND removed_rev IS NULL", (rev, doc_id)
            )
            self._conn.execute("UPDATE chunks SET removed_rev=? WHERE doc_id=? AND removed_rev IS NULL", (rev, doc_id))
        return cur.rowcount > 0

    def collect_garbage(self, keep_from_rev: int) -> None:
        """Physically delete rows removed before ``keep_from_rev`` (no live generation needs them)."""
        with self._lock:
            self._conn.execute("DELETE FROM chunks WHERE removed_rev IS NOT NULL AND removed_rev < ?", (keep_from_rev,))
            self._conn.execute(
                "DELETE FROM documents WHERE removed_rev IS NOT NULL AND removed_rev < ?", (keep_from_rev,)
            )

    # -- chunks ------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            docs = self._conn.execute("SELECT count(*) FROM documents WHERE removed_rev IS NULL").fetchone()[0]
            chunks, vectors = self._conn.execute(
                "SELECT count(*), count(embedding) FROM chunks WHERE removed_rev IS NULL"
            ).fetchone()
            vocab = self._conn.execute("SELECT count(*) FROM vocab").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "vectors": vectors, "vocabulary": vocab}

    def iter_live_terms(self, batch: int = 20000) -> Iterator[tuple[int, str, bytes]]:
        """``(chunk_id, doc_id, term_blob)`` of every live chunk in chunk-id order."""
        last = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT chunk_id, doc_id, terms FROM chunks WHERE removed_rev IS NULL AND chunk_id > ?"
                    " ORDER BY chunk_id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def _iter_embeddings(self, where: str, params: Sequence[Any], batch: int = 20000) -> Iterator[tuple[int, bytes]]:
        last = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT chunk_id, embedding FROM chunks WHERE ({where}) AND embedding IS NOT NULL"
                    " AND chunk_id > ? ORDER BY chunk_id LIMIT ?",
                    (*params, last, batch),
                ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def live_embeddings(self) -> Iterator[tuple[int, bytes]]:
        """``(chunk_id, float16 blob)`` of every live chunk that has an embedding, in chunk-id order."""
        return self._iter_embeddings("removed_rev IS NULL", ())

    def embeddings_added_after(self, rev: int) -> Iterator[tuple[int, bytes]]:
        """``(chunk_id, float16 blob)`` of live chunks added after revision ``rev``."""
        return self._iter_embeddings("removed_rev IS NULL AND added_rev > ?", (rev,))

    def chunk_ids_removed_after(self, rev: int) -> np.ndarray:
        """Ids of chunks that were live at revision ``rev`` and have been removed since."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT chunk_id FROM chunks WHERE removed_rev IS NOT NULL AND removed_rev > ? AND added_rev <= ?",
                (rev, rev),
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def get_chunks(self, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        """Chunks by id (removed ones included: a reader of an older generation still needs them)."""
        if not chunk_ids:
            return {}
        ids = [int(i) for i in chunk_ids]
        with self._lock:
            rows = self._conn.execute(
                'SELECT c.chunk_id, c.doc_id, d.source, c.start, c."end", c.text, c.page, c.section, d.title'
                f" FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        return {
            r[0]: Chunk(chunk_id=r[0], doc_id=r[1], source=r[2], start=r[3], end=r[4], text=r[5], page=r[6],
                        section=r[7], title=r[8])
            for r in rows
        }  # fmt: skip

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        with self._lock:
            ids = [
                r[0]
                for r in self._conn.execute(
                    "SELECT chunk_id FROM chunks WHERE doc_id=? AND removed_rev IS NULL ORDER BY ord",
                    (doc_id,),
                )
            ]
        got = self.get_chunks(ids)
        return [got[i] for i in ids if i in got]
