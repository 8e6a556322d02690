"""Publishing an index folder to a search engine: the writer's docstore stays the source of truth.

The writer (``rabbit-rag ingest``, an API upload) works exactly as for the local index — one SQLite
transaction per checkpoint, incremental by file hash, one writer at a time — and when it closes, after
the local generation is published, :class:`EnginePublisher` brings the engine to the same revision:
only what changed since the engine's revision (new and removed chunks, changed documents, the
document frequencies of the terms they touch), or a full copy when the engine is new, lags by more
than one publish, or the corpus' mean chunk length moved by more than
:data:`~rabbit_rag.backends.bm25.AVGDL_TOLERANCE`. The engine then holds everything a reader needs —
chunk text and offsets, document text, the vocabulary, BM25 weights, vectors — so readers (API
replicas, ``rabbit-rag search``) need no file of the writer's.

One index folder writes one engine collection: the folder's ``backend.json`` holds its writer id and
the engine's manifest records it; another folder publishing to the same collection would bring its
own term ids, so it is refused with a message naming the writer (docs/scaling.md).

예::

    with IndexWriter("indexes/헌법", mirror=EnginePublisher("milvus:///srv/engine.db")) as w:
        ...   # closes: local generation, then the engine
"""

from __future__ import annotations

import json
import socket
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.backends.bm25 import AVGDL_TOLERANCE, chunk_weights, doc_length, unique_terms
from rabbit_rag.backends.milvus import (
    EMPTY_DIMENSION,
    MAX_VARCHAR_BYTES,
    TEXT_PART_CHARS,
    BackendError,
    MilvusCollections,
    fit_bytes,
)
from rabbit_rag.backends.uri import BackendURI, parse_backend
from rabbit_rag.errors import IndexStoreError
from rabbit_rag.index.changes import (
    ChunkRecord,
    DocumentRecord,
    live_chunk_rows,
    live_document_ids,
    live_document_rows,
    live_term_rows,
    removed_chunk_terms,
    removed_document_ids,
    term_strings,
)
from rabbit_rag.index.docstore import DocStore, now_iso
from rabbit_rag.index.fsio import atomic_write_json

BACKEND_FILE = "backend.json"
ENGINE_FORMAT = 1
#: Documents written per round trip by a publish (each with its text parts).
DOCUMENT_BATCH = 256


class WriterConflictError(IndexStoreError):
    """The engine collection is published from another index folder (its term ids are that folder's)."""


def writer_id(index_dir: Path) -> str:
    """This index folder's writer id (created on first use, kept in ``backend.json``)."""
    path = Path(index_dir) / BACKEND_FILE
    if path.is_file():
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["writer_id"])
        except (OSError, ValueError, KeyError) as e:
            raise IndexStoreError(f"{path}: unreadable ({e}); it names this folder's engine writer id") from None
    wid = uuid.uuid4().hex
    atomic_write_json(path, {"writer_id": wid})
    return wid


class EnginePublisher:
    """Keeps an engine collection at the writer's docstore revision (see the module docstring).

    ``name`` is the collection's name, by default the index folder's name.
    """

    def __init__(
        self,
        backend: str | BackendURI,
        token: str | None = None,
        name: str | None = None,
        avgdl_tolerance: float = AVGDL_TOLERANCE,
    ) -> None:
        parsed = parse_backend(backend) if isinstance(backend, str) else backend
        if parsed is None:
            raise ValueError("EnginePublisher needs an engine backend, not the local index")
        self.backend = parsed
        self.token = token
        self.name = name
        self.avgdl_tolerance = avgdl_tolerance
        self.last_sync: dict[str, Any] = {}

    def collections(self, index_dir: Path) -> MilvusCollections:
        return MilvusCollections(self.backend, self.name or Path(index_dir).name, self.token)

    # -- the writer's two calls -------------------------------------------------------------------
    def check(self, index_dir: Path, manifest: dict[str, Any]) -> None:
        """At the writer's start: refuse early when another folder writes this engine collection."""
        coll = self.collections(index_dir)
        em = coll.manifest()
        wid = writer_id(index_dir)
        if em is not None and em.get("writer", {}).get("id") != wid:
            w = em.get("writer", {})
            raise WriterConflictError(
                f"{coll.where()} is published from another index folder ({w.get('path')} on {w.get('host')}); "
                f"{index_dir} cannot write it: its term ids would not match. Send writes to that writer "
                "(docs/scaling.md), or drop the engine collection to start it again from this folder."
            )
        if em is not None and em.get("tokenizer") != manifest.get("tokenizer"):
            raise WriterConflictError(f"{coll.where()}: built with other tokenizer settings than {index_dir}")

    def sync(self, index_dir: Path, store: DocStore, manifest: dict[str, Any], previous: int | None) -> dict[str, Any]:
        """Bring the engine to the docstore's revision. ``previous`` is the local generation published
        before this one: the docstore still holds every row removed after it, so the engine can be
        updated incrementally when it is at least that recent. Returns what was done."""
        index_dir = Path(index_dir)
        coll = self.collections(index_dir)
        em = coll.manifest()
        target = store.revision()
        if em is not None and em.get("revision") == target and em.get("format") == ENGINE_FORMAT:
            self.last_sync = {"mode": "none", "revision": target}
            return self.last_sync
        emb = manifest["embedding"]
        dim = emb.get("dim") if emb.get("model") else None
        coll.create(dim)
        params = manifest["bm25"]
        engine_rev = em.get("revision") if em is not None and em.get("format") == ENGINE_FORMAT else None
        done: dict[str, Any] | None = None
        if engine_rev is not None and previous is not None and previous <= engine_rev < target:
            done = self._incremental(coll, store, em, params, engine_rev, dim)
        if done is None:
            done = self._full(coll, store, params, dim, resync=em is not None)
        stats = done.pop("stats")
        coll.flush()  # sealed and indexed before readers see the new revision
        coll.write_manifest(
            {
                "format": ENGINE_FORMAT,
                "name": coll.name,
                "revision": target,
                "embedding": emb,
                "chunking": manifest["chunking"],
                "tokenizer": manifest.get("tokenizer"),
                "bm25": {"params": params, **stats},
                "counts": store.counts(),
                "writer": {"id": writer_id(index_dir), "host": socket.gethostname(), "path": str(index_dir.resolve())},
                "updated_at": now_iso(),
                "versions": manifest.get("versions"),
            }
        )
        self.last_sync = {**done, "revision": target}
        return self.last_sync

    # -- full and incremental copies --------------------------------------------------------------
    def _full(
        self, coll: MilvusCollections, store: DocStore, params: dict[str, Any], dim: int | None, resync: bool
    ) -> dict[str, Any]:
        vocab = store.counts()["vocabulary"]
        df = np.zeros(vocab + 1, np.int64)
        n_docs = 0
        total_dl = 0
        live_ids: set[int] = set()
        for cid, terms in live_term_rows(store):
            n_docs += 1
            total_dl += doc_length(terms)
            if len(terms):
                u = unique_terms(terms)
                df[u[u < len(df)]] += 1
            if resync:
                live_ids.add(cid)
        avgdl = total_dl / n_docs if n_docs else 1.0
        written = coll.upsert(coll.chunks, (self._chunk_row(r, avgdl, params, dim) for r in live_chunk_rows(store)))
        if resync:
            stale = [
                int(r["chunk_id"]) for r in coll.scan(coll.chunks, ["chunk_id"]) if int(r["chunk_id"]) not in live_ids
            ]
            coll.delete(coll.chunks, stale)
        docs = self._write_documents(coll, live_document_rows(store))
        if resync:
            live_docs = live_document_ids(store)
            gone = [r["doc_id"] for r in coll.scan(coll.docs, ["doc_id"]) if r["doc_id"] not in live_docs]
            self._delete_documents(coll, gone)
        terms = term_strings(store)
        coll.upsert(coll.terms, ({"term": fit_bytes(t), "tid": i, "df": int(df[i])} for i, t in terms.items()))
        return {
            "mode": "full",
            "chunks_written": written,
            "documents_written": docs,
            "stats": {"n_docs": n_docs, "total_dl": total_dl, "avgdl_ref": avgdl},
        }

    def _incremental(
        self,
        coll: MilvusCollections,
        store: DocStore,
        em: dict[str, Any],
        params: dict[str, Any],
        engine_rev: int,
        dim: int | None,
    ) -> dict[str, Any] | None:
        old = em["bm25"]
        removed = removed_chunk_terms(store, engine_rev)
        delta: Counter[int] = Counter()
        n_docs, total_dl = int(old["n_docs"]), int(old["total_dl"])
        for _cid, terms in removed:
            n_docs -= 1
            total_dl -= doc_length(terms)
            for t in unique_terms(terms):
                delta[int(t)] -= 1
        for _cid, terms in live_term_rows(store, after_rev=engine_rev):
            n_docs += 1
            total_dl += doc_length(terms)
            for t in unique_terms(terms):
                delta[int(t)] += 1
        avgdl_ref = float(old["avgdl_ref"])
        avgdl = total_dl / n_docs if n_docs else 1.0
        if n_docs and abs(avgdl / avgdl_ref - 1.0) > self.avgdl_tolerance:
            return None  # every stored weight is off by more than allowed: rewrite them all
        written = coll.upsert(
            coll.chunks, (self._chunk_row(r, avgdl_ref, params, dim) for r in live_chunk_rows(store, engine_rev))
        )
        coll.delete(coll.chunks, [cid for cid, _ in removed])
        docs = self._write_documents(coll, live_document_rows(store, engine_rev))
        self._delete_documents(coll, removed_document_ids(store, engine_rev))
        touched = [t for t, d in delta.items() if d]
        names = term_strings(store, touched)
        current = {int(r["tid"]): int(r["df"]) for r in coll.get(coll.terms, list(names.values()), ["tid", "df"])}
        coll.upsert(
            coll.terms,
            ({"term": fit_bytes(names[t]), "tid": t, "df": max(0, current.get(t, 0) + delta[t])} for t in names),
        )
        return {
            "mode": "incremental",
            "chunks_written": written,
            "chunks_removed": len(removed),
            "documents_written": docs,
            "stats": {"n_docs": n_docs, "total_dl": total_dl, "avgdl_ref": avgdl_ref},
        }

    # -- rows -------------------------------------------------------------------------------------
    @staticmethod
    def _chunk_row(r: ChunkRecord, avgdl: float, params: dict[str, Any], dim: int | None) -> dict[str, Any]:
        fits = len(r.text.encode("utf-8")) <= MAX_VARCHAR_BYTES
        row: dict[str, Any] = {
            "chunk_id": r.chunk_id,
            "doc_id": r.doc_id,
            "ord": r.ord,
            "start": r.start,
            "end": r.end,
            "page": r.page,
            "section": None if r.section is None else fit_bytes(r.section),
            "source": fit_bytes(r.source),
            "title": None if r.title is None else fit_bytes(r.title),
            "text": r.text if fits else "",
            "text_in_doc": not fits,
            "blocks": _fitting_blocks(r),
            "dl": doc_length(r.term_ids),
            "bm25": chunk_weights(r.term_ids, avgdl, params) or {EMPTY_DIMENSION: 1.0},
        }
        if dim:
            if r.embedding is None:
                raise IndexStoreError(f"chunk {r.chunk_id} of {r.source} has no embedding in an index with vectors")
            row["dense"] = r.embedding.tolist()
        return row

    @staticmethod
    def _write_documents(coll: MilvusCollections, docs: Iterable[DocumentRecord]) -> int:
        """Upsert documents and their text parts, :data:`DOCUMENT_BATCH` documents per round trip
        (one call per document made the full copy of 964 KorQuAD paragraphs spend 22 s in 2,900 calls)."""
        n = 0
        batch: list[DocumentRecord] = []
        for d in docs:
            batch.append(d)
            if len(batch) >= DOCUMENT_BATCH:
                n += EnginePublisher._write_document_batch(coll, batch)
                batch = []
        if batch:
            n += EnginePublisher._write_document_batch(coll, batch)
        return n

    @staticmethod
    def _write_document_batch(coll: MilvusCollections, docs: list[DocumentRecord]) -> int:
        before = {r["doc_id"]: int(r["n_parts"]) for r in coll.get(coll.docs, [d.doc_id for d in docs], ["n_parts"])}
        text_rows: list[dict[str, Any]] = []
        doc_rows: list[dict[str, Any]] = []
        stale: list[str] = []
        for d in docs:
            parts = [d.text[i : i + TEXT_PART_CHARS] for i in range(0, len(d.text), TEXT_PART_CHARS)] or [""]
            text_rows.extend(
                {"part_id": f"{d.doc_id}:{i:06d}", "doc_id": d.doc_id, "part": i, "text": p}
                for i, p in enumerate(parts)
            )
            stale.extend(f"{d.doc_id}:{i:06d}" for i in range(len(parts), before.get(d.doc_id, 0)))
            doc_rows.append(
                {
                    "doc_id": d.doc_id, "uri": fit_bytes(d.uri), "source": fit_bytes(d.source),
                    "title": None if d.title is None else fit_bytes(d.title), "content_hash": d.content_hash,
                    "size": d.size, "mtime_ns": d.mtime_ns, "n_chars": len(d.text), "n_chunks": d.n_chunks,
                    "n_parts": len(parts), "metadata": d.metadata, "created_at": d.created_at,
                    "updated_at": d.updated_at,
                }
            )  # fmt: skip
        coll.upsert(coll.texts, text_rows)
        if stale:
            coll.delete(coll.texts, stale)
        coll.upsert(coll.docs, doc_rows)
        return len(docs)

    @staticmethod
    def _delete_documents(coll: MilvusCollections, doc_ids: list[str]) -> None:
        if not doc_ids:
            return
        rows = coll.get(coll.docs, doc_ids, ["doc_id", "n_parts"])
        coll.delete(coll.docs, doc_ids)
        parts = [f"{r['doc_id']}:{i:06d}" for r in rows for i in range(int(r["n_parts"]))]
        coll.delete(coll.texts, parts)


def _fitting_blocks(r: ChunkRecord) -> str | None:
    """The chunk's blocks JSON for the engine's VARCHAR field.

    A chunk is at most a few hundred tokens, so its blocks fit by far; should one not fit, the writer
    stops with the chunk named rather than publish a chunk whose blocks are silently gone."""
    if r.blocks is not None and len(r.blocks.encode("utf-8")) > MAX_VARCHAR_BYTES:
        raise BackendError(
            f"chunk {r.chunk_id} of {r.source}: its block list ({len(r.blocks)} characters) does not fit "
            f"a Milvus string of {MAX_VARCHAR_BYTES} bytes"
        )
    return r.blocks
