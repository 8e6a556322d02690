"""Reading an index folder: :class:`Index`, the one read interface every caller uses.

Retrievers, the engine, the API, evaluation and the llama-index components all go through these
operations — BM25 top-k, dense top-k, chunks by id, documents and their text, counts — so SQL and the
on-disk formats stay inside :mod:`rabbit_rag.index`. An :class:`Index` holds one generation (one
docstore revision's search files): a search during an ingest sees the old or the new index, never a mix.
:meth:`Index.refresh` switches to a newer one.

Opening never writes, except through :func:`~rabbit_rag.index.publish.repair` under the writer lock
when a crash left the search files behind the docstore.

예::

    from rabbit_rag import open_index
    index = open_index("indexes/헌법")
    for hit in index.search("대통령 임기는 몇 년이야?", k=3):
        print(hit.chunk.source, hit.chunk.start, hit.chunk.text[:40])
"""

from __future__ import annotations

import contextlib
import copy
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.embeddings import Embedder, is_none_model, load_embedder
from rabbit_rag.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidInputError,
    ModelUnavailableError,
)
from rabbit_rag.index.docstore import DOCSTORE_FILE, DocStore, StoredDocument
from rabbit_rag.index.filters import SearchFilter
from rabbit_rag.index.generation import Generation, generation_dir_name, load_generation
from rabbit_rag.index.lazy import ChunkBatch
from rabbit_rag.index.manifest import check_tokenizer, read_manifest
from rabbit_rag.index.publish import generation_files, published_revision, repair, stale_docstore_error
from rabbit_rag.notices import notice
from rabbit_rag.retrieval import make_retriever
from rabbit_rag.types import Chunk, ScoredChunk, SearchMode


class Index:
    """A readable index: documents, chunks, and BM25 / dense search over one generation.

    Thread-safe for concurrent searches. ``embed_model``, when given, must be the index's own model
    (an error otherwise: vectors of different models cannot be compared). Everything it answers —
    hits, chunks, documents and their text — is as of its generation's revision, so
    ``index.document_text(hit.chunk.doc_id)[hit.chunk.start:hit.chunk.end] == hit.chunk.text`` holds
    even while another process updates that document.
    """

    def __init__(self, path: str | Path, embed_model: str | None = None, embed_device: str | None = None) -> None:
        self.path = Path(path)
        self.manifest = self._read_manifest()
        check_tokenizer(self.path, self.manifest)
        built = self.manifest["embedding"].get("model")
        if embed_model is not None and not is_none_model(embed_model) and built is not None and built != embed_model:
            raise IndexMismatchError(
                f"{self.path}: built with embedding model {built!r}, asked for {embed_model!r}; vectors "
                "of different models cannot be compared. Use the index's model or ingest into a new index."
            )
        self.embed_device = embed_device
        self._store = DocStore(self.path / DOCSTORE_FILE, readonly=True)
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._embedder_error: str | None = None
        self._pending: weakref.WeakSet[ChunkBatch] = weakref.WeakSet()  # hits whose rows are not read yet
        try:
            self.generation = self._open_generation()
        except BaseException:
            self._store.close()
            raise

    # -- generations ------------------------------------------------------------------------------
    def _read_manifest(self) -> dict[str, Any]:
        """The manifest; a missing or damaged one is rebuilt from the docstore first (under the
        writer lock), when the docstore is there to rebuild it from."""
        try:
            return read_manifest(self.path)
        except (IndexCorruptError, IndexNotFoundError):
            if not (self.path / DOCSTORE_FILE).is_file() or not repair(self.path, verify=False):
                raise
            return read_manifest(self.path)

    def _open_generation(self) -> Generation | None:
        repaired = False
        for _ in range(5):
            published = published_revision(self.manifest)
            store_revision = self._store.revision()
            if published is not None and store_revision < published:
                raise stale_docstore_error(self.path, store_revision, published)
            if published != store_revision:
                # A crash between the docstore commit and publishing (repaired here), or an ingest in
                # progress (its writer holds the lock and publishes when done: keep the published one).
                repair(self.path, verify=False)
                self.manifest = read_manifest(self.path)
            revision = published_revision(self.manifest)
            if revision is None:
                return None
            try:
                return load_generation(self.path, revision, self.manifest["bm25"], generation_files(self.manifest))
            except FileNotFoundError:
                fresh = read_manifest(self.path)
                if published_revision(fresh) != revision:  # pruned under us by a newer ingest: retry
                    self.manifest = fresh
                    continue
                problem = f"{generation_dir_name(revision)}/ is missing"
            except IndexCorruptError as e:
                problem = str(e)
            # the current generation is missing or damaged: rebuild it from the docstore (once)
            if repaired or not repair(self.path):
                raise IndexCorruptError(
                    f"{self.path}: the search files cannot be used ({problem}) and could not be rebuilt now "
                    "(another process is writing the index, or the folder is read-only); retry when the "
                    "writer is done, or run `rabbit-rag check --index DIR --repair`"
                )
            repaired = True
            self.manifest = read_manifest(self.path)
        raise IndexCorruptError(f"{self.path}: the current generation keeps changing or vanishing; retry")

    @property
    def revision(self) -> int:
        """The docstore revision of the generation this index searches (0 before the first publish)."""
        return self.generation.revision if self.generation else 0

    def latest(self) -> Index:
        """A snapshot of the newest published generation: this index when nothing newer was published,
        else a new :class:`Index` sharing this one's docstore connection and embedding model (cheap:
        nothing is reopened or reloaded). This index keeps its own generation, so a search already
        running on it finishes on the index it started on.

        예: ``index = index.latest()``
        """
        manifest = self._read_manifest()
        if published_revision(manifest) == (self.generation.revision if self.generation else None):
            return self
        snap = copy.copy(self)
        snap._lock = threading.Lock()
        snap.manifest = manifest
        snap.generation = snap._open_generation()
        return snap

    def refresh(self) -> bool:
        """Switch this index to the newest published generation. Returns whether it changed.

        A hybrid search that runs while another thread refreshes may take its BM25 and dense halves
        from two generations; where that matters (a server), swap in :meth:`latest` instead."""
        manifest = self._read_manifest()
        old_rev = self.generation.revision if self.generation else None
        if published_revision(manifest) == old_rev:
            return False
        with self._lock:
            self.manifest = manifest
            self.generation = self._open_generation()
        return True

    def close(self) -> None:
        """Release the docstore connection and the generation (the index cannot be read afterwards).
        Hits whose chunk rows were not read yet are read first, so they stay usable."""
        for batch in list(self._pending):
            with contextlib.suppress(IndexCorruptError):
                batch.load()
        self._store.close()
        self.generation = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- embeddings ---------------------------------------------------------------------------------
    @property
    def embed_model(self) -> str | None:
        """The model the vectors were made with, or None for a BM25-only index."""
        return self.manifest["embedding"].get("model")

    @property
    def has_vectors(self) -> bool:
        return bool(self.generation is not None and self.generation.has_vectors and self.embed_model)

    def embedder(self) -> Embedder | None:
        """The index's embedding model, loaded on first use; None (with a notice) if it cannot load."""
        model = self.embed_model
        if model is None:
            return None
        if self._embedder is None and self._embedder_error is None:
            try:
                self._embedder = load_embedder(model, device=self.embed_device)
            except ModelUnavailableError as e:
                self._embedder_error = str(e)
                notice(f"dense search unavailable: {e}")
        return self._embedder

    @property
    def bm25_only_by_choice(self) -> bool:
        """Whether the index was built without vectors on purpose (``--embed-model none``), not because
        its model failed to load."""
        emb = self.manifest["embedding"]
        return emb.get("model") is None and not emb.get("reason") and emb.get("requested") in (None, "none")

    def dense_unavailable_reason(self) -> str | None:
        """Why dense search cannot run here, or None when it can."""
        if self.embed_model is None:
            emb = self.manifest["embedding"]
            why = emb.get("reason") or "it was built with --embed-model none"
            return f"the index has no vectors ({why})"
        if not self.has_vectors:
            return "the index has no vectors yet"
        if self.embedder() is None:
            return self._embedder_error
        return None

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector from the index's own model; :class:`InvalidInputError` when dense search
        is not possible here (the message says why)."""
        reason = self.dense_unavailable_reason()
        if reason is not None:
            raise InvalidInputError(f"dense search is not possible on {self.path}: {reason}")
        embedder = self.embedder()
        assert embedder is not None
        return embedder.embed_query(query)

    # -- search -----------------------------------------------------------------------------------
    def bm25_top_k(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        """The ``k`` best chunks for ``query`` by Kiwi BM25 (only positive scores), best first.

        The query's nouns written together count as the compound the index knows (국회의원, not
        국회 + 의원); words the index never saw match nothing.
        """
        gen = self.generation
        if gen is None or not len(gen):
            return []
        term_ids = gen.query_vocabulary(self._store.lookup_terms, self._store.vocab_below).term_ids(query)
        mask = self._mask(gen, filters)
        rows, scores = gen.bm25.top_k(term_ids, k, weight_mask=mask)
        return self._hits(gen.chunk_ids[rows], scores, "bm25", gen)

    def dense_top_k(self, query_vector: np.ndarray, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        """The ``k`` chunks whose vectors are nearest (cosine) to ``query_vector`` (see :meth:`embed_query`)."""
        gen = self.generation
        vectors = self._vectors(gen)
        if gen is None or vectors is None:
            reason = self.dense_unavailable_reason() or "the index has no vectors"
            raise InvalidInputError(f"dense search is not possible on {self.path}: {reason}")
        allowed = gen.chunk_ids[self._mask(gen, filters) > 0] if filters else None
        ids, scores = vectors.search(query_vector, k, allowed_ids=allowed)
        return self._hits(ids, scores, "dense", gen)

    def _vectors(self, gen: Generation | None) -> Any:
        """The generation's FAISS index. A damaged file (it is checked when loaded) is rebuilt from the
        docstore under the writer lock, and this generation's vectors are then loaded from the rebuilt
        file (same revision, same content)."""
        if gen is None:
            return None
        try:
            return gen.vectors
        except IndexCorruptError as e:
            if not repair(self.path):
                raise IndexCorruptError(
                    f"{e}; it could not be rebuilt now (another process is writing the index, or the folder is "
                    "read-only): retry when the writer is done, or run `rabbit-rag check --index DIR --repair`"
                ) from None
            fresh = read_manifest(self.path)
            if published_revision(fresh) == gen.revision:
                gen.files = generation_files(fresh)
            return gen.vectors

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode | None = None,
        *,
        source: str | Sequence[str] | None = None,
        doc_id: str | Sequence[str] | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = 60,
    ) -> list[ScoredChunk]:
        """Search the index. ``mode`` is ``hybrid`` (the default), ``bm25`` or ``dense``.

        ``source`` filters by source name (exact, or a shell pattern such as ``kobill/*`` that may
        match the tail of the source path) and ``doc_id`` by document id. Hybrid is BM25 alone when
        the index has no usable vectors (with a notice unless the index was built BM25-only on
        purpose and no mode was asked for); ``dense`` is then an error.

        예: ``index.search("국회의원 임기", k=3, mode="bm25", source="constitution.txt")``
        """
        retriever = make_retriever(self, mode, weights=weights, rrf_k=rrf_k)
        return retriever.retrieve(query, k, filters=SearchFilter.of(source, doc_id))

    @staticmethod
    def _mask(gen: Generation, filters: SearchFilter | None) -> np.ndarray | None:
        return gen.row_mask(filters.doc_ids, filters.source_match()) if filters else None

    def _hits(self, ids: np.ndarray, scores: np.ndarray, name: str, gen: Generation) -> list[ScoredChunk]:
        """Hits whose chunks are read from the docstore on first use, all of one search in one query
        (:mod:`rabbit_rag.index.lazy`): a fusion that keeps 10 of 80 candidates reads 10 rows."""
        if not len(ids):
            return []
        revision, store = gen.revision, self._store
        batch = ChunkBatch(lambda wanted: store.get_chunks(wanted, at=revision), gen, str(self.path))
        self._pending.add(batch)
        return [ScoredChunk(batch.chunk(i), s, {name: s}) for i, s in zip(ids.tolist(), scores.tolist(), strict=True)]

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.generation) if self.generation else 0

    def chunk_ids(self) -> np.ndarray:
        """Ids of every chunk of this generation, ascending."""
        return self.generation.chunk_ids if self.generation else np.zeros(0, np.int64)

    def chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        """Chunks of this generation by id, in the order asked (other ids are left out)."""
        got = self._store.get_chunks(chunk_ids, at=self.revision)
        return [got[int(i)] for i in chunk_ids if int(i) in got]

    def stored_vectors(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(chunk_id, float32 vector)`` of every live chunk, as stored (no re-embedding); nothing for a
        BM25-only index."""
        dim = self.manifest["embedding"].get("dim")
        if not dim or not self.embed_model:
            return
        for cid, blob in self._store.live_embeddings():
            yield int(cid), np.frombuffer(blob, dtype="<f2").astype(np.float32)

    # Document reads answer for this generation's revision. ``revision`` asks for another one that this
    # process still holds (a pinned older generation, e.g. the API's ``?revision=``): rows of revisions
    # nobody holds are collected.
    def _at(self, revision: int | None) -> int:
        return self.revision if revision is None else int(revision)

    def documents(
        self, limit: int | None = None, offset: int = 0, *, revision: int | None = None
    ) -> list[StoredDocument]:
        """The documents of this generation, ordered by source."""
        return self._store.list_documents(limit, offset, at=self._at(revision))

    def document_count(self, *, revision: int | None = None) -> int:
        """How many documents this generation has."""
        return self._store.count_documents(at=self._at(revision))

    def document(self, doc_id: str, *, revision: int | None = None) -> StoredDocument | None:
        """One document as this generation has it (None when it has no such document)."""
        return self._store.get_document(doc_id, at=self._at(revision))

    def find_document(self, uri: str) -> StoredDocument | None:
        """The document whose identity (file URI, or source for in-memory documents) is ``uri``, as
        this generation has it."""
        return self._store.find_document(uri, at=self.revision)

    def document_text(self, doc_id: str, *, revision: int | None = None) -> str | None:
        """The normalized text that this generation's chunk and citation offsets point into (the
        version it was built from, even when the document has been updated since).

        예: ``index.document_text(hit.chunk.doc_id)[hit.chunk.start:hit.chunk.end] == hit.chunk.text``
        """
        return self._store.document_text(doc_id, at=self._at(revision))

    def document_chunks(self, doc_id: str, *, revision: int | None = None) -> list[Chunk]:
        """The chunks of one document in this generation, in order."""
        return self._store.document_chunks(doc_id, at=self._at(revision))

    def counts(self) -> dict[str, int]:
        """Live documents, chunks, vectors and vocabulary size, as the docstore has them now."""
        return self._store.counts()

    def stats(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "revision": self.revision,
            "embedding": self.manifest["embedding"],
            "chunking": self.manifest["chunking"],
            "counts": self.manifest["counts"],
        }


def open_index(path: str | Path, embed_model: str | None = None, embed_device: str | None = None) -> Index:
    """Open an existing index folder for reading.

    예: ``index = open_index("indexes/헌법")``
    """
    return Index(path, embed_model=embed_model, embed_device=embed_device)
