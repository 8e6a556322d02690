"""The write side of an index: one writer at a time (an exclusive lock), used by ingest and the API.

Changes go into one docstore transaction; :meth:`IndexWriter.checkpoint` commits what is there so far
and :meth:`IndexWriter.close` commits and publishes a new generation (:mod:`rabbit_rag.index.publish`).
Leaving the ``with`` block on an exception rolls back to the last checkpoint and leaves the published
index untouched.

예::

    with IndexWriter("indexes/헌법", embed_model="none") as writer:
        doc_id, _ = writer.begin_document(uri="memo", source="메모.txt", title=None, content_hash="…", text="…")
        writer.add_chunks(doc_id, rows)
        writer.end_document(doc_id, len(rows))
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rabbit_rag.embeddings import DEFAULT_EMBED_BATCH_SIZE, Embedder, is_none_model, load_embedder
from rabbit_rag.errors import IndexCorruptError, IndexNotFoundError, InvalidInputError, ModelUnavailableError
from rabbit_rag.index.bm25 import BM25_PARAMS
from rabbit_rag.index.docstore import (
    DOCSTORE_FILE,
    DOCSTORE_SIDE_FILES,
    SCHEMA_VERSION,
    ChunkRow,
    DocStore,
    StoredDocument,
)
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.index.manifest import (
    FORMAT_VERSION,
    MANIFEST_FILE,
    check_tokenizer,
    check_write_request,
    chunking_entry,
    embedding_entry,
    new_manifest,
    read_manifest,
    write_manifest,
)
from rabbit_rag.index.publish import (
    CONFIG_META_KEY,
    generation_problems,
    publish,
    published_revision,
    restore_manifest,
    save_config,
    stale_docstore_error,
)
from rabbit_rag.index.vectors import DEFAULT_VECTOR_INDEX, VECTOR_INDEX_CHOICES
from rabbit_rag.notices import notice
from rabbit_rag.text.chunker import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_SENTENCES


class EngineMirror(Protocol):
    """A search engine the writer publishes to after the local generation (``rabbit_rag.backends``):
    ``check`` at the start (refuse early), ``sync`` at close (bring the engine to the docstore's revision;
    ``previous`` is the local generation published before this one)."""

    def check(self, index_dir: Path, manifest: dict[str, Any]) -> None: ...

    def sync(self, index_dir: Path, store: DocStore, manifest: dict[str, Any], previous: int | None) -> Any: ...


class IndexWriter:
    """The write side of an index folder (created when new or empty).

    ``embed_model``, ``chunk_tokens`` and ``chunk_overlap_sentences`` are what the caller asks for: an
    existing index refuses other values (None means "the index's own"). For a new index, None takes
    the ``default_*`` values. The embedding model is loaded here, because vectors written into the
    index must come from the index's own model; ingest embeds with :attr:`embedder`. ``vector_index``
    (``auto``, ``flat``, ``ivf``; None: the index's own, ``auto`` for a new one) is the kind of FAISS
    index generations are built with from now on (:mod:`rabbit_rag.index.vectors`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        embed_model: str | None = None,
        default_embed_model: str | None = None,
        embed_device: str | None = None,
        embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
        chunk_tokens: int | None = None,
        chunk_overlap_sentences: int | None = None,
        default_chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        default_overlap_sentences: int = DEFAULT_OVERLAP_SENTENCES,
        vector_index: str | None = None,
        mirror: EngineMirror | None = None,
    ) -> None:
        if vector_index is not None and vector_index not in VECTOR_INDEX_CHOICES:
            raise InvalidInputError(f"vector index {vector_index!r} is not one of {', '.join(VECTOR_INDEX_CHOICES)}")
        self.path = Path(path)
        self.mirror = mirror
        self._refuse_foreign_folder()  # before anything is written: a user's folder stays untouched
        self._make_folder()
        self._lock = WriterLock(self.path)
        self._lock.acquire(blocking=True)
        try:
            # Under the lock: another writer may have created the index since the check above.
            self._refuse_foreign_folder()
            self._needs_publish = False
            self.embedder: Embedder | None = None
            self.manifest, self._store = self._open_index(
                embed_model, default_embed_model, embed_device, embed_batch_size, chunk_tokens,
                chunk_overlap_sentences, default_chunk_tokens, default_overlap_sentences,
            )  # fmt: skip
            if vector_index is not None and self.manifest.get("vector_index", DEFAULT_VECTOR_INDEX) != vector_index:
                self.manifest["vector_index"] = vector_index  # the next generation is built this way
                self._needs_publish = True
                save_config(self._store, self.manifest)  # and so is one built from a restored manifest
            if mirror is not None:
                mirror.check(self.path, self.manifest)
            if published_revision(self.manifest) is None:
                # nothing is published, so nobody reads the docstore: write it with a rollback journal,
                # which writes appended rows once (WAL: twice); back to WAL before the first publish
                self._store.journal("delete")
            self.vocab = self._store.load_vocab()
            self._pending_terms: list[tuple[str, int]] = []
            self.rev = self._store.begin()
            self.changed = False
        except BaseException:
            store = self.__dict__.get("_store")
            if store is not None:
                store.close()
            self._lock.release()
            raise

    # -- setup ------------------------------------------------------------------------------------
    def _refuse_foreign_folder(self) -> None:
        """An existing folder that is neither an index nor empty is refused (nothing is written)."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise IndexNotFoundError(f"{p}: exists and is not a folder; give --index a folder path")
        if p.is_dir() and not (p / MANIFEST_FILE).exists():
            ours = {".lock", DOCSTORE_FILE, *DOCSTORE_SIDE_FILES}
            stray = [c.name for c in p.iterdir() if c.name not in ours and not _is_ours(c.name)]
            if stray:
                raise IndexNotFoundError(
                    f"{p}: not a rabbit-rag index and not empty (holds {', '.join(sorted(stray)[:3])}"
                    f"{'…' if len(stray) > 3 else ''}); nothing was written. Give --index a new or empty folder."
                )

    def _make_folder(self) -> None:
        if not self.path.is_dir():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # another writer made it first: fine, the lock decides
                self.path.mkdir(mode=0o700)

    def _open_index(
        self,
        embed_model: str | None,
        default_embed_model: str | None,
        embed_device: str | None,
        embed_batch_size: int,
        chunk_tokens: int | None,
        chunk_overlap_sentences: int | None,
        default_chunk_tokens: int,
        default_overlap_sentences: int,
    ) -> tuple[dict[str, Any], DocStore]:
        """The manifest and the writable docstore, under the lock.

        An existing index (a manifest, or a docstore that holds the index's configuration) must have
        its docstore: a missing or empty one is an error, never a fresh empty index over lost data. A
        damaged or missing manifest is rebuilt from the docstore; a schema-1 docstore is migrated."""
        manifest_ok: dict[str, Any] | None = None
        manifest_error: Exception | None = None
        if (self.path / MANIFEST_FILE).exists():
            try:
                manifest_ok = read_manifest(self.path)
            except IndexCorruptError as e:
                manifest_error = e
        docstore_path = self.path / DOCSTORE_FILE
        existing = manifest_ok is not None or manifest_error is not None
        store = DocStore(docstore_path, create=not existing)
        try:
            if not existing and store.get_meta(CONFIG_META_KEY) is not None:
                manifest_error = IndexCorruptError(f"{self.path / MANIFEST_FILE}: missing")
                existing = True
            if manifest_ok is None and manifest_error is not None:
                notice(f"{self.path}: manifest.json was missing or damaged; rebuilding it from the docstore")
                manifest_ok = restore_manifest(self.path, store, str(manifest_error).split(": ", 1)[-1])
                write_manifest(self.path, manifest_ok)
                self._needs_publish = True
            if manifest_ok is not None:
                published = published_revision(manifest_ok)
                if published is not None and store.revision() < published:
                    raise stale_docstore_error(self.path, store.revision(), published)
                if store.schema < SCHEMA_VERSION:
                    notice(
                        f"{self.path}: upgrading the index to format {FORMAT_VERSION} (document versions, checksums)"
                    )
                    store.migrate()
                    manifest_ok["format_version"] = FORMAT_VERSION
                    write_manifest(self.path, manifest_ok)
                manifest = self._existing_manifest(
                    manifest_ok, embed_model, chunk_tokens, chunk_overlap_sentences, embed_device, embed_batch_size
                )
            else:
                manifest = self._new_manifest(
                    embed_model if embed_model is not None else default_embed_model,
                    embed_device,
                    embed_batch_size,
                    chunk_tokens if chunk_tokens is not None else default_chunk_tokens,
                    chunk_overlap_sentences if chunk_overlap_sentences is not None else default_overlap_sentences,
                )
            save_config(store, manifest)
        except BaseException:
            store.close()
            raise
        return manifest, store

    def _existing_manifest(
        self,
        manifest: dict[str, Any],
        embed_model: str | None,
        chunk_tokens: int | None,
        overlap: int | None,
        embed_device: str | None,
        batch_size: int,
    ) -> dict[str, Any]:
        check_tokenizer(self.path, manifest)
        check_write_request(
            self.path, manifest, embed_model=embed_model, chunk_tokens=chunk_tokens, overlap_sentences=overlap
        )
        emb = manifest["embedding"]
        if emb.get("model"):
            try:
                self.embedder = load_embedder(emb["model"], device=embed_device, batch_size=batch_size)
            except ModelUnavailableError as e:
                raise ModelUnavailableError(
                    emb["model"],
                    f"{e.reason} — this index stores its vectors, so new chunks must be embedded with the same model",
                ) from e
        elif emb.get("reason"):
            notice(f"index is BM25-only ({emb['reason']})")
        return manifest

    def _new_manifest(
        self, requested: str | None, embed_device: str | None, batch_size: int, chunk_tokens: int, overlap: int
    ) -> dict[str, Any]:
        if is_none_model(requested):
            embedding = embedding_entry("none", None, None, None, None)
        else:
            assert requested is not None
            try:
                self.embedder = load_embedder(requested, device=embed_device, batch_size=batch_size)
                embedding = embedding_entry(requested, requested, self.embedder.dim, self.embedder.max_tokens, None)
            except ModelUnavailableError as e:
                notice(f"embedding model unavailable, building a BM25-only index: {e}")
                embedding = embedding_entry(requested, None, None, None, str(e))
        manifest = new_manifest(embedding, chunking_entry(chunk_tokens, overlap, embedding["model"]), dict(BM25_PARAMS))
        write_manifest(self.path, manifest)
        return manifest

    # -- context manager --------------------------------------------------------------------------
    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- writing ----------------------------------------------------------------------------------
    @property
    def chunk_tokens(self) -> int:
        return int(self.manifest["chunking"]["max_tokens"])

    @property
    def overlap_sentences(self) -> int:
        return int(self.manifest["chunking"]["overlap_sentences"])

    def term_ids(self, terms: Iterable[str]) -> np.ndarray:
        """Vocabulary ids for ``terms``, adding new terms to the vocabulary.

        Most terms of a large ingest are known already: those are looked up in one pass at C speed
        (``map`` over the dict), and only a chunk with a new term takes the loop that adds it. At a
        million chunks of ~64 terms the per-term loop alone cost about a minute."""
        vocab = self.vocab
        if not isinstance(terms, Sequence):
            terms = list(terms)
        try:
            return np.fromiter(map(vocab.__getitem__, terms), np.uint32, count=len(terms))
        except KeyError:
            pass  # a new term: the loop below adds it (and every other new one)
        out = []
        for t in terms:
            i = vocab.get(t)
            if i is None:
                i = vocab[t] = len(vocab)
                self._pending_terms.append((t, i))
            out.append(i)
        return np.asarray(out, dtype=np.uint32)

    def find(self, uri: str) -> StoredDocument | None:
        """The live document with this URI (its identity for incremental ingest), if any."""
        return self._store.find_document(uri)

    def document(self, doc_id: str) -> StoredDocument | None:
        return self._store.get_document(doc_id)

    def upsert(self, *, chunks: Sequence[ChunkRow], **fields: Any) -> tuple[str, bool]:
        """Insert or replace one document with all its chunks at once. Returns ``(doc_id, was_update)``.

        ``fields`` are those of :meth:`begin_document`; for documents too large to hold all chunks in
        memory, use :meth:`begin_document`, :meth:`add_chunks` and :meth:`end_document`.
        """
        doc_id, was_update = self.begin_document(**fields)
        self.add_chunks(doc_id, chunks)
        self.end_document(doc_id, len(chunks))
        return doc_id, was_update

    def begin_document(
        self,
        *,
        uri: str,
        source: str,
        title: str | None,
        content_hash: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        size: int | None = None,
        mtime_ns: int | None = None,
    ) -> tuple[str, bool]:
        """Start writing a document (replacing any older version); its chunks follow in batches
        (:meth:`add_chunks`), then :meth:`end_document` or :meth:`cancel_document`.
        Returns ``(doc_id, was_update)``."""
        self._flush_terms()
        self.changed = True
        return self._store.begin_document(
            self.rev, uri=uri, source=source, title=title, content_hash=content_hash, size=size,
            mtime_ns=mtime_ns, text=text, metadata=metadata or {},
        )  # fmt: skip

    def add_chunks(self, doc_id: str, chunks: Sequence[ChunkRow]) -> None:
        if self.embedder is not None and any(c.embedding is None for c in chunks):
            raise InvalidInputError("this index stores vectors: every chunk needs an embedding")
        self._flush_terms()
        self._store.add_chunks(self.rev, doc_id, chunks)

    def end_document(self, doc_id: str, n_chunks: int) -> None:
        self._store.end_document(doc_id, n_chunks)

    def cancel_document(self) -> None:
        """Undo the document begun last (its older version, if any, stays)."""
        self._store.cancel_document()

    def touch(self, doc_id: str, size: int | None, mtime_ns: int | None) -> None:
        """Record a new size and mtime for an unchanged file, so the next ingest need not hash it."""
        self._store.touch_document(doc_id, size, mtime_ns)

    def remove(self, doc_id: str) -> bool:
        """Remove a document (as of this revision). Returns whether it was live."""
        removed = self._store.remove_document(self.rev, doc_id)
        self.changed = self.changed or removed
        return removed

    def live_documents(self) -> list[tuple[str, str]]:
        """``(doc_id, uri)`` of every live document."""
        return list(self._store.iter_live_uris())

    def _flush_terms(self) -> None:
        if self._pending_terms:
            self._store.add_terms(self._pending_terms)
            self._pending_terms = []

    def checkpoint(self) -> None:
        """Commit what was written so far (durable, acknowledged) and keep writing."""
        if not self.changed:
            return
        self._flush_terms()
        self._store.commit(self.rev)
        self.rev = self._store.begin()

    def close(self) -> dict[str, int]:
        """Commit, publish a new generation when anything changed (or the current one is missing or
        damaged: it is rebuilt from the docstore), and release the lock."""
        try:
            self._flush_terms()
            if self.changed:
                self._store.commit(self.rev)
            else:
                self._store.rollback()
            self._store.journal("wal")  # readers of what is published read beside the next writer
            previous = published_revision(self.manifest)
            stale = self._needs_publish or previous != self._store.revision()
            if not self.changed and not stale:
                problems = generation_problems(self.path, self.manifest)
                if problems:
                    notice(f"{self.path}: damaged search files ({'; '.join(problems[:3])}); rebuilding them")
                    stale = True
            if self.changed or stale:
                publish(self.path, self._store, self.manifest)
            if self.mirror is not None:  # also catches an engine left behind by an earlier crash
                self.mirror.sync(self.path, self._store, self.manifest, previous)
            return self.manifest["counts"]
        finally:
            self._store.close()
            self._lock.release()

    def abort(self) -> None:
        """Roll back to the last checkpoint; the published generation stays as it was."""
        try:
            self._store.rollback()
            self.vocab = {}
        finally:
            self._store.close()
            self._lock.release()


def _is_ours(name: str) -> bool:
    """Generation folders and the writer's temporary files: an index whose manifest was lost (or a
    creation that was interrupted) may hold them."""
    return name.startswith(("gen-", ".gen-", f".{MANIFEST_FILE}."))
