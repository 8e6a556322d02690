"""The SQLite docstore: the single source of truth of an index.

It holds documents (normalized text, content hash, metadata), chunks (offsets, text, BM25 term ids,
float16 embeddings) and the term vocabulary. Every ingest commits here first; BM25 and FAISS files
are derived from it and can always be rebuilt without re-embedding.

Rows are never changed under a reader's feet. A replaced or deleted chunk is marked ``removed_rev``;
a replaced document keeps its old *version* row (text included) marked the same way, and the new
version is a new row. Both are physically deleted only once no reader can ask for them, so a reader
of generation *R* finds every chunk of *R* and the exact text those chunks point into
(``document_text[start:end] == chunk.text``) even while an ingest commits *R+1*. A row is visible at
revision *R* when it was written at or before *R* and not removed at or before *R*.

Each document version carries a CRC-32 of its text and each chunk a CRC-32 of its text, term ids
and embedding; reads verify them, so a damaged page is an error, never a silently wrong citation.
Any SQLite error is reported as :class:`~rabbit_rag.errors.IndexCorruptError` (one line, naming the
file and what to do), never a traceback.

Schema versions: 1 (rabbit-rag ≤ 0.x: one row per document, text overwritten in place) is read as
is and migrated to 2 on the first write (:meth:`DocStore.migrate`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rabbit_rag.errors import IndexCorruptError, IndexLockedError
from rabbit_rag.types import Block, Chunk

if TYPE_CHECKING:
    from rabbit_rag.schemas import DocumentInfo

SCHEMA_VERSION = 2

_DOCUMENTS_V2 = """
CREATE TABLE IF NOT EXISTS documents (
    version_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT,
    content_hash TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    text TEXT NOT NULL,
    text_crc INTEGER,
    metadata TEXT NOT NULL DEFAULT '{}',
    n_chunks INTEGER NOT NULL DEFAULT 0,
    added_rev INTEGER NOT NULL,
    updated_rev INTEGER NOT NULL,
    removed_rev INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_live_id ON documents(doc_id) WHERE removed_rev IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS documents_live_uri ON documents(uri) WHERE removed_rev IS NULL;
CREATE INDEX IF NOT EXISTS documents_versions ON documents(doc_id, updated_rev);
CREATE INDEX IF NOT EXISTS documents_by_removed ON documents(removed_rev);
"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
    + _DOCUMENTS_V2
    + """
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
    removed_rev INTEGER,
    crc INTEGER,
    blocks TEXT
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_by_removed ON chunks(removed_rev);
CREATE INDEX IF NOT EXISTS chunks_by_added ON chunks(added_rev);
CREATE TABLE IF NOT EXISTS vocab (term TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE) WITHOUT ROWID;
"""
)

DOCSTORE_FILE = "docstore.sqlite3"
#: SQLite's companions of the docstore file (write-ahead log, shared memory, rollback journal).
DOCSTORE_SIDE_FILES = (f"{DOCSTORE_FILE}-wal", f"{DOCSTORE_FILE}-shm", f"{DOCSTORE_FILE}-journal")
#: How long a connection waits for another's lock before SQLite says the docstore is busy.
BUSY_TIMEOUT_MS = 30000
#: The writer connection's SQLite page cache, in KiB (memory, freed when the writer closes).
WRITER_CACHE_KIB = 64 * 1024
FILE_MODE = 0o600  # the docstore holds the documents' full text: owner only, like every index file


def doc_id_for(key: str) -> str:
    """A stable document id derived from its key (file URI or source name)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_crc(text: str) -> int:
    """CRC-32 of a document version's text (UTF-8), stored beside it and checked when it is read."""
    return zlib.crc32(text.encode("utf-8"))


def chunk_crc(text: str, terms: bytes, embedding: bytes | None) -> int:
    """CRC-32 of a chunk row's text, term ids and embedding, stored beside them and checked on reads."""
    crc = zlib.crc32(text.encode("utf-8"))
    crc = zlib.crc32(terms, crc)
    return zlib.crc32(embedding, crc) if embedding else crc


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
        """What may be shown of the document (:class:`rabbit_rag.schemas.DocumentInfo`): no file path.

        The pydantic model is imported here, not with the module: opening and searching an index needs
        no pydantic (``benchmarks/first_answer.py``)."""
        from rabbit_rag.schemas import DocumentInfo

        return DocumentInfo(
            doc_id=self.doc_id, source=self.source, title=self.title, content_hash=self.content_hash,
            size=self.size, n_chars=self.n_chars, n_chunks=self.n_chunks, metadata=self.metadata,
            created_at=self.created_at, updated_at=self.updated_at,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return self.info().model_dump()


def blocks_json(blocks: Sequence[Block], chunk_start: int) -> str | None:
    """The ``chunks.blocks`` column: ``[[start, end, kind, level, header], ...]`` with offsets relative
    to the chunk's start (the row stays valid whatever happens to the document text); None when empty.

    예: ``blocks_json([Block(10, 17, "heading", level=2)], 10)`` → ``'[[0,7,"heading",2,null]]'``
    """
    if not blocks:
        return None
    rows = [[b.start - chunk_start, b.end - chunk_start, b.kind, b.level, b.header] for b in blocks]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def blocks_from_json(value: str | None, chunk_start: int) -> tuple[Block, ...]:
    """The blocks of a ``chunks.blocks`` value, back in document offsets."""
    if not value:
        return ()
    return tuple(
        Block(chunk_start + r[0], chunk_start + r[1], r[2], level=r[3], header=r[4]) for r in json.loads(value)
    )


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
    blocks: Sequence[Block] = ()


_DOC_COLUMNS = (
    "doc_id, uri, source, title, content_hash, size, mtime_ns, length(text), n_chunks, metadata, created_at, updated_at"
)
_LIVE = "removed_rev IS NULL"


def _visible(alias: str, written: str) -> str:
    """SQL: the row (``alias.``) is visible at revision ``?`` (two parameters, both the revision)."""
    return f"{alias}{written} <= ? AND ({alias}removed_rev IS NULL OR {alias}removed_rev > ?)"


def _crc_holds(crc_of: Any, crc: int, *values: Any) -> bool:
    """Whether ``values`` still have their stored CRC; False also when a value is no longer of its type
    (bytes where text was written), which would make the CRC function raise."""
    try:
        return bool(crc_of(*values) == crc)
    except (TypeError, AttributeError, UnicodeError):
        return False


def _row_to_doc(r: Sequence[Any]) -> StoredDocument:
    return StoredDocument(
        doc_id=r[0], uri=r[1], source=r[2], title=r[3], content_hash=r[4], size=r[5], mtime_ns=r[6],
        n_chars=r[7], n_chunks=r[8], metadata=json.loads(r[9]), created_at=r[10], updated_at=r[11],
    )  # fmt: skip


def docstore_file_problem(path: Path) -> str | None:
    """What is wrong with a docstore file that ``stat`` can tell (missing, empty), or None.

    The file itself is never opened here: closing any descriptor of an SQLite file drops the POSIX
    locks every connection of this process holds on it (SQLite's documented pitfall), which would let
    a writer in another process checkpoint and remove the write-ahead log under our readers."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "the docstore file is missing"
    except OSError as e:
        return f"the docstore file cannot be read ({e.strerror or e})"
    if size == 0:
        return "the docstore file is empty (0 bytes)"
    return None


class DocStore:
    """Thin typed access to the docstore file. One connection, guarded by a lock, per instance.

    ``readonly`` (readers) opens the file read-only and runs no DDL: a reader never writes. The writer
    (and a repair under the writer lock) opens it writable; ``create=False`` then refuses a missing or
    empty file instead of silently starting an empty docstore over lost data.
    """

    def __init__(self, path: Path, readonly: bool = False, create: bool = True) -> None:
        self.path = Path(path)
        if readonly or not create or (self.path.exists() and self.path.stat().st_size):
            problem = docstore_file_problem(self.path)
            if problem is not None:
                raise self._damaged(problem)
        elif not self.path.exists():
            # owner-only before SQLite creates it (its -wal and -shm files copy these permissions)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE))
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as e:
            raise self._damaged(str(e)) from None
        try:
            with self._db() as c:
                c.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                if not readonly:
                    c.execute("PRAGMA journal_mode=WAL")
                    c.execute("PRAGMA synchronous=FULL")
                    # the writer's page cache (SQLite's default is 2 MB): the chunk and document indexes
                    # grow at random places (doc ids are hashes), and with a small cache their pages are
                    # written out and read back again and again during a large ingest (measured on 400k
                    # chunk rows in one transaction: insert + commit 44.1 s -> 41.4 s, CPU 35.3 -> 33.4 s).
                    # Durability is unchanged: every commit still reaches the disk (synchronous=FULL).
                    c.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
                tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if not tables and not readonly and create:
                    c.executescript(SCHEMA)
                    c.execute("INSERT INTO meta(key, value) VALUES('schema', ?)", (str(SCHEMA_VERSION),))
                    tables = {"meta", "documents", "chunks", "vocab"}
                if not {"meta", "documents", "chunks", "vocab"} <= tables:
                    raise self._damaged(
                        "the docstore holds no rabbit-rag tables" if not tables else "the docstore lacks some tables"
                    )
                columns = {r[1] for r in c.execute("PRAGMA table_info(documents)")}
                chunk_columns = {r[1] for r in c.execute("PRAGMA table_info(chunks)")}
                if "blocks" not in chunk_columns and not readonly:  # added after the table (issue 12)
                    c.execute("ALTER TABLE chunks ADD COLUMN blocks TEXT")
                    chunk_columns.add("blocks")
                problem = self._length_problem(c)
                if problem is not None:
                    raise self._damaged(problem)
        except BaseException:
            self._conn.close()
            raise
        #: 2: versioned documents and checksums; 1: an older docstore, read as is until the writer migrates it
        self.schema = 2 if "version_id" in columns else 1
        # an index written before chunks had a ``blocks`` column reads as chunks without blocks
        self._blocks_col = "c.blocks" if "blocks" in chunk_columns else "NULL"

    def _length_problem(self, c: sqlite3.Connection) -> str | None:
        """A file shorter than its header says (truncated), checked through SQLite (never by opening the
        file: see :func:`docstore_file_problem`). Only when there is no write-ahead log to replay: after
        a crash the log may hold pages the file has not received yet."""
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            if wal.exists() and wal.stat().st_size > 32:
                return None
            size = self.path.stat().st_size
        except OSError:
            return None
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        if size < pages * page_size:
            return f"the docstore file is truncated ({size} bytes, its header says {pages * page_size})"
        return None

    # -- errors -------------------------------------------------------------------------------------
    def _damaged(self, what: str) -> IndexCorruptError:
        return IndexCorruptError(
            f"{self.path}: {what}. The docstore is the index's source of truth and cannot be rebuilt from "
            "the other files: restore it from a backup, or delete the index folder and ingest again "
            "(`rabbit-rag check --index DIR` reports what else is wrong)"
        )

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; SQLite errors and undecodable text become one-line :mod:`rabbit_rag.errors`."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.OperationalError as e:
                msg = str(e)
                if "locked" in msg or "busy" in msg:
                    raise IndexLockedError(f"{self.path}: the docstore is busy ({msg}); retry") from None
                raise self._damaged(f"SQLite says: {msg}") from None
            except sqlite3.DatabaseError as e:
                raise self._damaged(f"SQLite says: {e}") from None
            except UnicodeDecodeError as e:
                # damaged bytes in a TEXT value, or in the schema names SQLite quotes in its error message:
                # sqlite3 decodes them strictly and raises this instead of a sqlite3 error
                raise self._damaged(f"bytes that should be text are not UTF-8 ({e.reason})") from None

    @contextlib.contextmanager
    def _stored(self) -> Iterator[None]:
        """Decoding what a row holds (JSON metadata and blocks, the inputs of a CRC): a value of the wrong
        type or shape — bytes where text belongs, JSON that does not parse — is a damaged docstore, said in
        one line, not a traceback from deep inside a reader."""
        try:
            yield
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:  # JSONDecodeError, UnicodeError
            raise self._damaged(f"a stored value has the wrong type or shape ({type(e).__name__}: {e})") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- meta ---------------------------------------------------------------------------------------
    def revision(self) -> int:
        with self._db() as c:
            row = c.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        try:
            return int(row[0]) if row else 0
        except ValueError:
            raise self._damaged(f"its revision reads {row[0]!r}") from None

    def get_meta(self, key: str) -> str | None:
        with self._db() as c:
            row = c.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Write one meta value in its own transaction (the writer, outside its document transaction)."""
        with self._db() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute(
                    "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (key, value),
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    # -- schema migration (writer only) ---------------------------------------------------------------
    def migrate(self) -> bool:
        """Bring a schema-1 docstore to schema 2 in one transaction. Returns whether anything was done.

        Schema 1 kept one row per document and overwrote its text on update; schema 2 keeps versions
        (``version_id``) and checksums. Existing rows become the current versions, unchanged, and their
        checksums are computed here (a one-time pass over the stored text)."""
        if self.schema >= SCHEMA_VERSION:
            return False
        columns = (
            "doc_id, uri, source, title, content_hash, size, mtime_ns, text, metadata, n_chunks, added_rev,"
            " updated_rev, removed_rev, created_at, updated_at"
        )
        with self._db() as c:
            c.create_function("rr_text_crc", 1, text_crc, deterministic=True)
            c.create_function("rr_chunk_crc", 3, chunk_crc, deterministic=True)
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("ALTER TABLE documents RENAME TO documents_v1")
                for statement in _DOCUMENTS_V2.split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(
                    f"INSERT INTO documents({columns}, text_crc) SELECT {columns}, rr_text_crc(text) FROM documents_v1"
                )
                c.execute("DROP TABLE documents_v1")
                c.execute("ALTER TABLE chunks ADD COLUMN crc INTEGER")
                c.execute("UPDATE chunks SET crc = rr_chunk_crc(text, terms, embedding)")
                c.execute(
                    "INSERT INTO meta(key, value) VALUES('schema', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (str(SCHEMA_VERSION),),
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        self.schema = SCHEMA_VERSION
        for p in (self.path, *(self.path.with_name(n) for n in DOCSTORE_SIDE_FILES)):
            with contextlib.suppress(OSError):  # schema 1 left it world-readable; it holds the documents' text
                if p.exists():
                    os.chmod(p, FILE_MODE)
        return True

    # -- transactions (writer only) ----------------------------------------------------------------
    def journal(self, mode: str) -> str:
        """Switch SQLite's journal to ``"wal"`` or ``"delete"`` (a rollback journal) and return the mode
        in force: the old one when another connection has the file open (SQLite needs it alone to
        switch; this never waits for it).

        A first ingest writes with the rollback journal (:class:`~rabbit_rag.index.writer.IndexWriter`):
        SQLite journals only the pages that existed before a transaction, so rows appended to a new
        file are written once, where the write-ahead log writes every page twice (into the log, then
        back into the file). Both are atomic and durable (``synchronous=FULL``)."""
        if mode not in ("wal", "delete"):
            raise ValueError(f"journal mode {mode!r} is not 'wal' or 'delete'")
        with self._db() as c:
            c.execute("PRAGMA busy_timeout=0")
            try:
                return str(c.execute(f"PRAGMA journal_mode={mode}").fetchone()[0]).lower()
            except sqlite3.OperationalError:
                return str(c.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            finally:
                c.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def begin(self) -> int:
        """Start a write transaction for the next revision and return that revision number."""
        with self._db() as c:
            c.execute("BEGIN IMMEDIATE")
            return self.revision() + 1

    def commit(self, rev: int) -> None:
        with self._db() as c:
            c.execute(
                "INSERT INTO meta(key, value) VALUES('revision', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(rev),),
            )
            c.execute("COMMIT")

    def rollback(self) -> None:
        with self._db() as c:
            if c.in_transaction:
                c.execute("ROLLBACK")

    # -- vocabulary --------------------------------------------------------------------------------
    def load_vocab(self) -> dict[str, int]:
        with self._db() as c:
            return dict(c.execute("SELECT term, id FROM vocab"))

    def vocab_below(self, n: int) -> list[tuple[str, int]]:
        """Every ``(term, id)`` with ``id < n`` (the columns of a generation's BM25 matrix)."""
        with self._db() as c:
            return c.execute("SELECT term, id FROM vocab WHERE id < ?", (int(n),)).fetchall()

    def add_terms(self, terms: Iterable[tuple[str, int]]) -> None:
        with self._db() as c:
            c.executemany("INSERT INTO vocab(term, id) VALUES(?, ?)", terms)

    def known_terms(self, terms: Sequence[str]) -> set[str]:
        """Which of ``terms`` the vocabulary holds."""
        if not terms:
            return set()
        uniq = list(dict.fromkeys(terms))
        with self._db() as c:
            rows = c.execute(f"SELECT term FROM vocab WHERE term IN ({','.join('?' * len(uniq))})", uniq)
            return {r[0] for r in rows}

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Vocabulary ids of ``terms`` (unknown terms are left out), for queries."""
        if not terms:
            return []
        uniq = list(dict.fromkeys(terms))
        with self._db() as c:
            found = dict(c.execute(f"SELECT term, id FROM vocab WHERE term IN ({','.join('?' * len(uniq))})", uniq))
        return [found[t] for t in terms if t in found]

    def lookup_terms(self, terms: Sequence[str]) -> dict[str, int]:
        """``{term: id}`` for those of ``terms`` the vocabulary holds, in one query."""
        if not terms:
            return {}
        uniq = list(dict.fromkeys(terms))
        with self._db() as c:
            return dict(c.execute(f"SELECT term, id FROM vocab WHERE term IN ({','.join('?' * len(uniq))})", uniq))

    # -- documents ---------------------------------------------------------------------------------
    def _doc_where(self, at: int | None) -> tuple[str, tuple[int, ...]]:
        """The condition for the document versions to read: live ones (``at`` None, the writer) or the
        ones visible at revision ``at`` (a reader of that generation)."""
        if at is None or self.schema < 2:
            return _LIVE, ()
        return _visible("", "updated_rev"), (at, at)

    def find_document(self, uri: str, at: int | None = None) -> StoredDocument | None:
        """The document with this URI — live, or as of revision ``at`` — if any."""
        where, params = self._doc_where(at)
        with self._db() as c:
            r = c.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE uri=? AND {where}", (uri, *params)).fetchone()
        with self._stored():
            return _row_to_doc(r) if r else None

    def get_document(self, doc_id: str, at: int | None = None) -> StoredDocument | None:
        """The document — live, or as of revision ``at`` — if any."""
        where, params = self._doc_where(at)
        with self._db() as c:
            r = c.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id=? AND {where}", (doc_id, *params)
            ).fetchone()
        with self._stored():
            return _row_to_doc(r) if r else None

    def document_text(self, doc_id: str, at: int | None = None) -> str | None:
        """The normalized text that chunk and citation offsets point into: the version visible at
        revision ``at`` (a reader's generation), or the live one. Checked against its CRC-32."""
        with self._db() as c:
            if self.schema < 2:
                # A schema-1 docstore keeps one row per document, overwritten on update: the version of
                # revision ``at`` when it is still that one, else what there is. (The same queries serve
                # a docstore the writer migrated while this reader was open.)
                r = None
                if at is not None:
                    r = c.execute(
                        f"SELECT text, NULL FROM documents WHERE doc_id=? AND {_visible('', 'updated_rev')}",
                        (doc_id, at, at),
                    ).fetchone()
                if r is None:
                    r = c.execute(
                        "SELECT text, NULL FROM documents WHERE doc_id=? ORDER BY updated_rev DESC LIMIT 1", (doc_id,)
                    ).fetchone()
            else:
                where, params = self._doc_where(at)
                r = c.execute(
                    f"SELECT text, text_crc FROM documents WHERE doc_id=? AND {where}", (doc_id, *params)
                ).fetchone()
        if r is None:
            return None
        with self._stored():
            matches = r[1] is None or text_crc(r[0]) == r[1]
        if not matches or not isinstance(r[0], str):
            raise self._damaged(f"the text of document {doc_id} does not match its checksum")
        return r[0]

    def list_documents(self, limit: int | None = None, offset: int = 0, at: int | None = None) -> list[StoredDocument]:
        where, params = self._doc_where(at)
        with self._db() as c:
            rows = c.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE {where} ORDER BY source LIMIT ? OFFSET ?",
                (*params, -1 if limit is None else limit, offset),
            ).fetchall()
        with self._stored():
            return [_row_to_doc(r) for r in rows]

    def count_documents(self, at: int | None = None) -> int:
        where, params = self._doc_where(at)
        with self._db() as c:
            return int(c.execute(f"SELECT count(*) FROM documents WHERE {where}", params).fetchone()[0])

    def iter_live_uris(self) -> Iterator[tuple[str, str]]:
        """``(doc_id, uri)`` of every live document."""
        with self._db() as c:
            rows = c.execute(f"SELECT doc_id, uri FROM documents WHERE {_LIVE}").fetchall()
        yield from rows

    def touch_document(self, doc_id: str, size: int | None, mtime_ns: int | None) -> None:
        """Record a new mtime for an unchanged file, so the next ingest can skip hashing it."""
        with self._db() as c:
            c.execute(f"UPDATE documents SET size=?, mtime_ns=? WHERE doc_id=? AND {_LIVE}", (size, mtime_ns, doc_id))

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
        """Write a new version of a document (the live one, if any, and its chunks are marked removed
        as of ``rev``) inside a savepoint; add chunks with :meth:`add_chunks`, then :meth:`end_document`
        or :meth:`cancel_document`. Returns ``(doc_id, was_update)``."""
        doc_id = doc_id_for(uri)
        ts = now_iso()
        meta = json.dumps(metadata, ensure_ascii=False)
        with self._db() as c:
            c.execute("SAVEPOINT document")
            old = c.execute(
                f"SELECT version_id, added_rev, created_at FROM documents WHERE doc_id=? AND {_LIVE}", (doc_id,)
            ).fetchone()
            if old is not None:
                # a document's chunks are live only while it has a live version (a publish refuses live
                # chunks of a missing document), so a new document has none to mark: one statement
                # less per document of a fresh ingest
                c.execute(f"UPDATE chunks SET removed_rev=? WHERE doc_id=? AND {_LIVE}", (rev, doc_id))
                c.execute("UPDATE documents SET removed_rev=? WHERE version_id=?", (rev, old[0]))
            c.execute(
                "INSERT INTO documents(doc_id, uri, source, title, content_hash, size, mtime_ns, text, text_crc,"
                " metadata, n_chunks, added_rev, updated_rev, created_at, updated_at)"
                " VALUES(?,?,?,?,?,?,?,?,?,?,0,?,?,?,?)",
                (doc_id, uri, source, title, content_hash, size, mtime_ns, text, text_crc(text), meta,
                 old[1] if old else rev, rev, old[2] if old else ts, ts),
            )  # fmt: skip
        return doc_id, old is not None

    def add_chunks(self, rev: int, doc_id: str, chunks: Sequence[ChunkRow]) -> None:
        def rows() -> Iterator[tuple[Any, ...]]:
            for ch in chunks:
                terms = np.asarray(ch.term_ids, dtype="<u4").tobytes()
                emb = None if ch.embedding is None else np.asarray(ch.embedding, dtype="<f2").tobytes()
                yield (doc_id, ch.ord, ch.start, ch.end, ch.page, ch.section, ch.text, ch.n_tokens, terms, emb, rev,
                       chunk_crc(ch.text, terms, emb), blocks_json(ch.blocks, ch.start))  # fmt: skip

        with self._db() as c:
            c.executemany(
                'INSERT INTO chunks(doc_id, ord, start, "end", page, section, text, n_tokens, terms, embedding,'
                " added_rev, crc, blocks) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows(),
            )

    def end_document(self, doc_id: str, n_chunks: int) -> None:
        with self._db() as c:
            c.execute(f"UPDATE documents SET n_chunks=? WHERE doc_id=? AND {_LIVE}", (n_chunks, doc_id))
            c.execute("RELEASE document")

    def cancel_document(self) -> None:
        """Undo everything since :meth:`begin_document` (the old version, if any, stays)."""
        with self._db() as c:
            c.execute("ROLLBACK TO document")
            c.execute("RELEASE document")

    def remove_document(self, rev: int, doc_id: str) -> bool:
        """Mark a document and its chunks removed as of ``rev``. Returns whether it was live."""
        with self._db() as c:
            cur = c.execute(f"UPDATE documents SET removed_rev=? WHERE doc_id=? AND {_LIVE}", (rev, doc_id))
            c.execute(f"UPDATE chunks SET removed_rev=? WHERE doc_id=? AND {_LIVE}", (rev, doc_id))
        return cur.rowcount > 0

    def collect_garbage(self, keep_from_rev: int) -> None:
        """Physically delete rows removed before ``keep_from_rev`` (no reader can ask for them)."""
        with self._db() as c:
            c.execute("DELETE FROM chunks WHERE removed_rev IS NOT NULL AND removed_rev < ?", (keep_from_rev,))
            c.execute("DELETE FROM documents WHERE removed_rev IS NOT NULL AND removed_rev < ?", (keep_from_rev,))

    # -- chunks ------------------------------------------------------------------------------------
    def counts(self, chunks: int | None = None, vectors: int | None = None) -> dict[str, int]:
        """Live documents, chunks, chunks with a vector, and vocabulary terms.

        ``chunks`` and ``vectors``, when the caller has just counted them (the publish scans every live
        row anyway), are taken as given: counting vectors reads every chunk row (``count(embedding)``),
        a pass over the whole docstore (4.5 GB at a million chunks)."""
        with self._db() as c:
            docs = c.execute(f"SELECT count(*) FROM documents WHERE {_LIVE}").fetchone()[0]
            if chunks is None or vectors is None:
                chunks, vectors = c.execute(f"SELECT count(*), count(embedding) FROM chunks WHERE {_LIVE}").fetchone()
            vocab = c.execute("SELECT count(*) FROM vocab").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "vectors": vectors, "vocabulary": vocab}

    def live_sources(self) -> dict[str, str]:
        """``{doc_id: source}`` of every live document, in one query."""
        with self._db() as c:
            return dict(c.execute(f"SELECT doc_id, source FROM documents WHERE {_LIVE}"))

    def iter_live_rows(
        self, with_embeddings: bool, batch: int = 20000
    ) -> Iterator[list[tuple[int, str, bytes, bytes | int | None]]]:
        """Every live chunk in chunk-id order, ``batch`` rows at a time, as ``(chunk_id, doc_id,
        term_blob, embedding)``: the float16 blob (or None) with ``with_embeddings``, else 1 or 0 for
        whether the chunk has one. One pass over the chunk rows gives a publish everything it needs;
        reading terms, a training sample and the vectors apart took three passes over the docstore."""
        emb = "embedding" if with_embeddings else "embedding IS NOT NULL"
        last = -1
        while True:
            with self._db() as c:
                rows = c.execute(
                    f"SELECT chunk_id, doc_id, terms, {emb} FROM chunks WHERE {_LIVE} AND chunk_id > ?"
                    " ORDER BY chunk_id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def iter_live_terms(self, batch: int = 20000) -> Iterator[tuple[int, str, bytes]]:
        """``(chunk_id, doc_id, term_blob)`` of every live chunk in chunk-id order, row by row."""
        for rows in self.iter_live_rows(with_embeddings=False, batch=batch):
            yield from (r[:3] for r in rows)

    def _iter_embeddings(self, where: str, params: Sequence[Any], batch: int = 20000) -> Iterator[tuple[int, bytes]]:
        last = -1
        while True:
            with self._db() as c:
                rows = c.execute(
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
        return self._iter_embeddings(_LIVE, ())

    def embeddings_added_after(self, rev: int) -> Iterator[tuple[int, bytes]]:
        """``(chunk_id, float16 blob)`` of live chunks added after revision ``rev``."""
        return self._iter_embeddings(f"{_LIVE} AND added_rev > ?", (rev,))

    def chunk_ids_removed_after(self, rev: int) -> np.ndarray:
        """Ids of chunks that were live at revision ``rev`` and have been removed since."""
        with self._db() as c:
            rows = c.execute(
                "SELECT chunk_id FROM chunks WHERE removed_rev IS NOT NULL AND removed_rev > ? AND added_rev <= ?",
                (rev, rev),
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def get_chunks(self, chunk_ids: Sequence[int], at: int | None = None) -> dict[int, Chunk]:
        """Chunks by id, with the source and title of the document version they belong to.

        ``at``: the reader's revision — only chunks visible then, joined with the document version of
        that revision (a reader of an older generation still finds its removed chunks). None: any
        chunk, with its document's newest version. Rows are checked against their CRC-32."""
        if not chunk_ids:
            return {}
        ids = [int(i) for i in chunk_ids]
        marks = ",".join("?" * len(ids))
        checked = self.schema >= 2
        cols = (
            f'c.chunk_id, c.doc_id, d.source, c.start, c."end", c.text, c.page, c.section, d.title, {self._blocks_col}'
            + (", c.crc, c.terms, c.embedding" if checked else "")
        )
        any_version = (
            f"SELECT {cols} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
            " WHERE c.chunk_id IN ({}) ORDER BY d.updated_rev"  # newest version last: it wins below
        )
        with self._db() as c:
            if at is not None:
                sql = (
                    f"SELECT {cols} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id AND "
                    f"{_visible('d.', 'updated_rev')} WHERE c.chunk_id IN ({marks}) AND {_visible('c.', 'added_rev')}"
                )
                rows = c.execute(sql, (at, at, *ids, at, at)).fetchall()
                missing = [] if checked else sorted(set(ids) - {r[0] for r in rows})
                if missing:  # schema 1: a document overwritten since ``at`` has only its newest row
                    rows += c.execute(any_version.format(",".join("?" * len(missing))), missing).fetchall()
            else:
                rows = c.execute(any_version.format(marks), ids).fetchall()
        out: dict[int, Chunk] = {}
        with self._stored():  # once around the loop: a search reads a few rows, a whole document thousands
            for r in rows:
                if checked and r[10] is not None and chunk_crc(r[5], r[11], r[12]) != r[10]:
                    raise self._damaged(f"chunk {r[0]} of document {r[1]} does not match its checksum")
                out[r[0]] = Chunk(chunk_id=r[0], doc_id=r[1], source=r[2], start=r[3], end=r[4], text=r[5],
                                  page=r[6], section=r[7], title=r[8], blocks=blocks_from_json(r[9], r[3]))  # fmt: skip
        return out

    def document_chunks(self, doc_id: str, at: int | None = None) -> list[Chunk]:
        """The chunks of one document — live, or visible at revision ``at`` — in order."""
        if at is None:
            where, params = _LIVE, ()
        else:
            where, params = _visible("", "added_rev"), (at, at)
        with self._db() as c:
            ids = [
                r[0]
                for r in c.execute(
                    f"SELECT chunk_id FROM chunks WHERE doc_id=? AND {where} ORDER BY ord", (doc_id, *params)
                )
            ]
        got = self.get_chunks(ids, at)
        return [got[i] for i in ids if i in got]

    # -- deep checks (rabbit-rag check) ---------------------------------------------------------------
    def integrity_problems(self, limit: int = 20) -> list[str]:
        """SQLite's own ``PRAGMA integrity_check`` (every page and index), as messages; empty when sound."""
        with self._db() as c:
            rows = [r[0] for r in c.execute(f"PRAGMA integrity_check({int(limit)})")]
        return [] if rows == ["ok"] else rows

    def checksum_problems(self, limit: int = 20) -> list[str]:
        """Rows whose CRC-32 does not match, and chunks whose offsets do not point at their text in
        their document version (``document_text[start:end] == chunk.text``); empty when all hold.
        Reads the whole docstore, one document at a time."""
        if self.schema < 2:
            return []
        problems: list[str] = []
        with self._db() as c:
            doc_ids = [r[0] for r in c.execute("SELECT DISTINCT doc_id FROM documents")]
        for doc_id in doc_ids:
            with self._db() as c:
                versions = c.execute(
                    "SELECT updated_rev, text, text_crc FROM documents WHERE doc_id=? ORDER BY updated_rev", (doc_id,)
                ).fetchall()
                chunks = c.execute(
                    'SELECT chunk_id, start, "end", text, terms, embedding, crc, added_rev FROM chunks WHERE doc_id=?',
                    (doc_id,),
                ).fetchall()
            for _upd, text, crc in versions:
                if crc is not None and not _crc_holds(text_crc, crc, text):
                    problems.append(f"document {doc_id}: text does not match its checksum")
            for cid, start, end, text, terms, emb, crc, added in chunks:
                if crc is not None and not _crc_holds(chunk_crc, crc, text, terms, emb):
                    problems.append(f"chunk {cid} of document {doc_id}: row does not match its checksum")
                    continue
                # the version the chunk was written with: the newest one written at or before it
                written = [v for v in versions if v[0] <= added]
                if written and written[-1][1][start:end] != text:
                    problems.append(f"chunk {cid} of document {doc_id}: offsets [{start}:{end}] do not match its text")
            if len(problems) >= limit:
                break
        return problems[:limit]
