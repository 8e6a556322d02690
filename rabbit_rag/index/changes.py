"""What a docstore holds, and what changed in it since a revision: the rows a search engine mirrors.

:mod:`rabbit_rag.backends` publishes an index to a search engine from here (a full copy, or only what
changed since the engine's revision), so SQL stays inside :mod:`rabbit_rag.index`. Everything is read
in batches in chunk-id order: a 10 GB collection never has to fit in memory.

예::

    for row in live_chunk_rows(store, after_rev=41):
        print(row.chunk_id, row.source, row.start, row.end)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rabbit_rag.index.docstore import DocStore


@dataclass(slots=True)
class ChunkRecord:
    """One live chunk with what a search engine needs to answer without the docstore."""

    chunk_id: int
    doc_id: str
    ord: int
    start: int
    end: int
    page: int | None
    section: str | None
    text: str
    term_ids: np.ndarray
    embedding: np.ndarray | None  # float32
    source: str
    title: str | None
    #: the docstore's ``chunks.blocks`` value as stored (offsets relative to the chunk), or None
    blocks: str | None = None


@dataclass(slots=True)
class DocumentRecord:
    """One live document with its normalized text."""

    doc_id: str
    uri: str
    source: str
    title: str | None
    content_hash: str
    size: int | None
    mtime_ns: int | None
    text: str
    metadata: dict[str, Any]
    n_chunks: int
    created_at: str
    updated_at: str


def _rows(store: DocStore, sql: str, params: Sequence[Any]) -> list[Any]:
    with store._lock:  # the docstore's own connection and lock: one reader at a time per connection
        return store._conn.execute(sql, params).fetchall()


def live_chunk_rows(store: DocStore, after_rev: int | None = None, batch: int = 2000) -> Iterator[ChunkRecord]:
    """Live chunks (only those added after ``after_rev`` when given), in chunk-id order."""
    last = -1
    extra = "" if after_rev is None else " AND c.added_rev > ?"
    while True:
        params: list[Any] = [] if after_rev is None else [after_rev]
        rows = _rows(
            store,
            'SELECT c.chunk_id, c.doc_id, c.ord, c.start, c."end", c.page, c.section, c.text, c.terms, c.embedding,'
            f" d.source, d.title, {store._blocks_col} FROM chunks c"
            # documents are versioned (one row per version): a live chunk belongs to the live version
            " JOIN documents d ON d.doc_id = c.doc_id AND d.removed_rev IS NULL"
            f" WHERE c.removed_rev IS NULL{extra} AND c.chunk_id > ? ORDER BY c.chunk_id LIMIT ?",
            [*params, last, batch],
        )
        if not rows:
            return
        for r in rows:
            yield ChunkRecord(
                chunk_id=r[0], doc_id=r[1], ord=r[2], start=r[3], end=r[4], page=r[5], section=r[6], text=r[7],
                term_ids=np.frombuffer(r[8], dtype="<u4"),
                embedding=None if r[9] is None else np.frombuffer(r[9], dtype="<f2").astype(np.float32),
                source=r[10], title=r[11], blocks=r[12],
            )  # fmt: skip
        last = rows[-1][0]


def live_term_rows(
    store: DocStore, after_rev: int | None = None, batch: int = 20000
) -> Iterator[tuple[int, np.ndarray]]:
    """``(chunk_id, term ids)`` of every live chunk (only those added after ``after_rev`` when given)."""
    last = -1
    extra = "" if after_rev is None else " AND added_rev > ?"
    while True:
        params: list[Any] = [] if after_rev is None else [after_rev]
        rows = _rows(
            store,
            f"SELECT chunk_id, terms FROM chunks WHERE removed_rev IS NULL{extra} AND chunk_id > ?"
            " ORDER BY chunk_id LIMIT ?",
            [*params, last, batch],
        )
        if not rows:
            return
        for cid, blob in rows:
            yield int(cid), np.frombuffer(blob, dtype="<u4")
        last = rows[-1][0]


def removed_chunk_terms(store: DocStore, after_rev: int) -> list[tuple[int, np.ndarray]]:
    """``(chunk_id, term ids)`` of chunks that were live at ``after_rev`` and are removed now."""
    rows = _rows(
        store,
        "SELECT chunk_id, terms FROM chunks WHERE removed_rev IS NOT NULL AND removed_rev > ? AND added_rev <= ?",
        (after_rev, after_rev),
    )
    return [(int(r[0]), np.frombuffer(r[1], dtype="<u4")) for r in rows]


def _doc(r: Sequence[Any]) -> DocumentRecord:
    return DocumentRecord(
        doc_id=r[0], uri=r[1], source=r[2], title=r[3], content_hash=r[4], size=r[5], mtime_ns=r[6], text=r[7],
        metadata=json.loads(r[8]), n_chunks=r[9], created_at=r[10], updated_at=r[11],
    )  # fmt: skip


_DOC_SQL = (
    "SELECT doc_id, uri, source, title, content_hash, size, mtime_ns, text, metadata, n_chunks, created_at,"
    " updated_at FROM documents WHERE removed_rev IS NULL"
)


def live_document_rows(store: DocStore, after_rev: int | None = None, batch: int = 200) -> Iterator[DocumentRecord]:
    """Live documents (only those added or replaced after ``after_rev`` when given)."""
    last = ""
    extra = "" if after_rev is None else " AND updated_rev > ?"
    while True:
        params: list[Any] = [] if after_rev is None else [after_rev]
        rows = _rows(store, f"{_DOC_SQL}{extra} AND doc_id > ? ORDER BY doc_id LIMIT ?", [*params, last, batch])
        if not rows:
            return
        yield from (_doc(r) for r in rows)
        last = rows[-1][0]


def removed_document_ids(store: DocStore, after_rev: int) -> list[str]:
    """Documents removed after ``after_rev`` (and not live again since)."""
    # a replaced document leaves its old version removed and a new one live: it is not gone
    rows = _rows(
        store,
        "SELECT DISTINCT doc_id FROM documents d WHERE removed_rev IS NOT NULL AND removed_rev > ?"
        " AND NOT EXISTS (SELECT 1 FROM documents l WHERE l.doc_id = d.doc_id AND l.removed_rev IS NULL)",
        (after_rev,),
    )
    return [r[0] for r in rows]


def live_document_ids(store: DocStore) -> set[str]:
    return {r[0] for r in _rows(store, "SELECT doc_id FROM documents WHERE removed_rev IS NULL", ())}


def term_strings(store: DocStore, term_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Term id → term, for ``term_ids`` (every term when None)."""
    if term_ids is None:
        return {int(i): t for t, i in _rows(store, "SELECT term, id FROM vocab", ())}
    out: dict[int, str] = {}
    ids = [int(i) for i in term_ids]
    for i in range(0, len(ids), 900):
        part = ids[i : i + 900]
        for t, tid in _rows(store, f"SELECT term, id FROM vocab WHERE id IN ({','.join('?' * len(part))})", part):
            out[int(tid)] = t
    return out
