"""Opening, reading and writing an index folder.

:class:`Index` is the read side a notebook, the CLI and the API share; :class:`IndexWriter` is the
write side the ingest pipeline drives. The docstore commit is the moment data is acknowledged;
the derived generation is published right after, and rebuilt on open if a crash came between.

예::

    from rabbit_rag import open_index
    index = open_index("indexes/헌법")
    for hit in index.search("대통령 임기는 몇 년이야?", k=3):
        print(hit.chunk.source, hit.chunk.start, hit.chunk.text[:40])
"""

from __future__ import annotations

import fnmatch
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.embeddings import Embedder, is_none_model, load_embedder
from rabbit_rag.errors import (
    IndexMismatchError,
    IndexNotFoundError,
    InvalidInputError,
    ModelUnavailableError,
)
from rabbit_rag.index.bm25 import BM25_PARAMS
from rabbit_rag.index.docstore import DOCSTORE_FILE, ChunkRow, DocStore, StoredDocument, now_iso
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.index.generation import Generation, build_generation, load_generation, prune_generations
from rabbit_rag.index.manifest import (
    MANIFEST_FILE,
    check_tokenizer,
    new_manifest,
    package_versions,
    read_manifest,
    write_manifest,
)
from rabbit_rag.types import Chunk, ScoredChunk

SEARCH_MODES = ("hybrid", "bm25", "dense")


_noticed: set[str] = set()


def notice(message: str) -> None:
    """A one-line notice for people on stderr (stdout stays clean for ``--json``), once per process
    and message, so a server or a loop of searches does not repeat it on every call."""
    if message in _noticed:
        return
    _noticed.add(message)
    print(f"rabbit-rag: {message}", file=sys.stderr, flush=True)


def _publish(index_dir: Path, store: DocStore, manifest: dict[str, Any]) -> None:
    """Build the generation of the docstore's current revision and point the manifest at it."""
    revision = store.revision()
    previous = (manifest.get("generation") or {}).get("revision")
    emb = manifest["embedding"]
    build_generation(
        index_dir, store, revision, manifest["bm25"], emb.get("dim") if emb.get("model") else None, previous
    )
    manifest["generation"] = {"revision": revision}
    manifest["counts"] = store.counts()
    manifest["updated_at"] = now_iso()
    manifest["versions"] = package_versions()
    write_manifest(index_dir, manifest)
    prune_generations(index_dir, keep={revision} | ({previous} if previous is not None else set()))
    # Rows removed before the previous generation can no longer be asked for by any reader.
    if previous is not None:
        store.begin()
        store.collect_garbage(keep_from_rev=previous + 1)
        store.commit(revision)


class Index:
    """A readable index: documents, chunks, and BM25 / dense / hybrid search over them.

    Thread-safe for concurrent searches. Call :meth:`refresh` to pick up a newer generation
    written by an ingest (the API does this after each job).
    """

    def __init__(self, path: str | Path, embed_model: str | None = None, embed_device: str | None = None) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        check_tokenizer(self.path, self.manifest)
        emb = self.manifest["embedding"]
        if embed_model is not None and not is_none_model(embed_model):
            built = emb.get("model")
            if built is not None and built != embed_model:
                raise IndexMismatchError(
                    f"{self.path}: built with embedding model {built!r}, asked for {embed_model!r}; vectors "
                    "of different models cannot be compared. Use the index's model or ingest into a new index."
                )
        self.embed_device = embed_device
        self.store = DocStore(self.path / DOCSTORE_FILE)
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._embedder_error: str | None = None
        self.generation = self._open_generation()

    # -- generations ------------------------------------------------------------------------------
    def _open_generation(self) -> Generation | None:
        for _ in range(5):
            gen = self.manifest.get("generation")
            revision = self.store.revision()
            if gen is None or gen["revision"] != revision:
                # A crash between the docstore commit and publishing, or an ingest in progress.
                lock = WriterLock(self.path)
                if lock.acquire(blocking=False):
                    try:
                        self.manifest = read_manifest(self.path)
                        if (self.manifest.get("generation") or {}).get("revision") != self.store.revision():
                            notice(f"{self.path}: search files are older than the docstore; rebuilding them")
                            _publish(self.path, self.store, self.manifest)
                    finally:
                        lock.release()
                    gen = self.manifest.get("generation")
            if gen is None:
                return None
            try:
                return load_generation(self.path, gen["revision"], self.manifest["bm25"])
            except FileNotFoundError:
                self.manifest = read_manifest(self.path)  # pruned under us by a newer ingest: retry
        raise IndexNotFoundError(f"{self.path}: the current generation's files are missing; re-run ingest")

    def refresh(self) -> bool:
        """Switch to the newest published generation. Returns whether it changed."""
        manifest = read_manifest(self.path)
        new_rev = (manifest.get("generation") or {}).get("revision")
        old_rev = self.generation.revision if self.generation else None
        if new_rev == old_rev:
            return False
        with self._lock:
            self.manifest = manifest
            self.generation = self._open_generation()
        return True

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

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.generation) if self.generation else 0

    def documents(self, limit: int | None = None, offset: int = 0) -> list[StoredDocument]:
        return self.store.list_documents(limit, offset)

    def document(self, doc_id: str) -> StoredDocument | None:
        return self.store.get_document(doc_id)

    def document_text(self, doc_id: str) -> str | None:
        return self.store.document_text(doc_id)

    def chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        got = self.store.get_chunks(chunk_ids)
        return [got[int(i)] for i in chunk_ids if int(i) in got]

    def stats(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "revision": self.generation.revision if self.generation else 0,
            "embedding": self.manifest["embedding"],
            "chunking": self.manifest["chunking"],
            "counts": self.manifest["counts"],
        }

    # -- search -----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        mode: str = "hybrid",
        *,
        source: str | Sequence[str] | None = None,
        doc_id: str | Sequence[str] | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = 60,
    ) -> list[ScoredChunk]:
        """Search the index. ``mode`` is ``hybrid`` (default), ``bm25`` or ``dense``.

        ``source`` filters by source name (exact, or a shell pattern such as ``kobill/*`` that may
        match the tail of the source path) and
        ``doc_id`` by document id. Hybrid and dense fall back to BM25, with a notice, when the
        index has no usable vectors.

        예: ``index.search("국회의원 임기", k=3, mode="bm25", source="constitution.txt")``
        """
        from rabbit_rag.retrievers import make_retriever

        retriever = make_retriever(self, mode, weights=weights, rrf_k=rrf_k)
        return retriever.retrieve(query, k, filters=SearchFilter.of(source, doc_id))


class SearchFilter:
    """Restricts a search to some documents: by source name (exact or glob) and/or document id."""

    def __init__(self, sources: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> None:
        self.sources = list(sources)
        self.doc_ids = set(doc_ids) if doc_ids else None

    @classmethod
    def of(cls, source: str | Sequence[str] | None, doc_id: str | Sequence[str] | None) -> SearchFilter | None:
        def as_list(v: str | Sequence[str] | None) -> list[str]:
            return [] if v is None else [v] if isinstance(v, str) else list(v)

        sources, doc_ids = as_list(source), as_list(doc_id)
        return cls(sources, doc_ids) if sources or doc_ids else None

    def source_match(self) -> Callable[[str], bool] | None:
        if not self.sources:
            return None
        pats = self.sources
        # "kobill/*" matches "samples/kobill/1.txt": a pattern may name the tail of a source path
        return lambda s: any(s == p or fnmatch.fnmatchcase(s, p) or fnmatch.fnmatchcase(s, "*/" + p) for p in pats)

    def mask(self, gen: Generation) -> np.ndarray:
        return gen.row_mask(self.doc_ids, self.source_match())


def open_index(path: str | Path, embed_model: str | None = None, embed_device: str | None = None) -> Index:
    """Open an existing index folder for reading.

    예: ``index = open_index("indexes/헌법")``
    """
    return Index(path, embed_model=embed_model, embed_device=embed_device)


class IndexWriter:
    """The write side of an index: one per index at a time (an exclusive lock), used by ingest.

    Changes go into one docstore transaction; :meth:`checkpoint` commits what is there so far and
    :meth:`close` commits and publishes a new generation. Leaving the ``with`` block on an
    exception rolls back to the last checkpoint and leaves the published index untouched.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        embed_model: str | None = None,
        default_embed_model: str | None = None,
        embed_device: str | None = None,
        embed_batch_size: int = 32,
        chunk_tokens: int | None = None,
        chunk_overlap_sentences: int | None = None,
        default_chunk_tokens: int = 256,
        default_overlap_sentences: int = 1,
    ) -> None:
        self.path = Path(path)
        self._prepare_folder()
        self._lock = WriterLock(self.path)
        self._lock.acquire(blocking=True)
        try:
            self.store = DocStore(self.path / DOCSTORE_FILE)
            self.embedder: Embedder | None = None
            self.manifest = self._resolve_manifest(
                embed_model, default_embed_model, embed_device, embed_batch_size,
                chunk_tokens, chunk_overlap_sentences, default_chunk_tokens, default_overlap_sentences,
            )  # fmt: skip
            self.vocab = self.store.load_vocab()
            self._pending_terms: list[tuple[str, int]] = []
            self.rev = self.store.begin()
            self.changed = False
        except BaseException:
            self._lock.release()
            raise

    # -- setup ------------------------------------------------------------------------------------
    def _prepare_folder(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise IndexNotFoundError(f"{p}: exists and is not a folder; give --index a folder path")
        if p.is_dir() and not (p / MANIFEST_FILE).exists():
            stray = [c.name for c in p.iterdir() if c.name not in {".lock", DOCSTORE_FILE}]
            if stray:
                raise IndexNotFoundError(
                    f"{p}: not a rabbit-rag index and not empty (holds {', '.join(sorted(stray)[:3])}"
                    f"{'…' if len(stray) > 3 else ''}); nothing was written. Give --index a new or empty folder."
                )
        p.mkdir(parents=True, exist_ok=True)

    def _resolve_manifest(
        self,
        embed_model: str | None,
        default_embed_model: str | None,
        embed_device: str | None,
        batch_size: int,
        chunk_tokens: int | None,
        overlap: int | None,
        default_chunk_tokens: int,
        default_overlap: int,
    ) -> dict[str, Any]:
        if (self.path / MANIFEST_FILE).exists():
            manifest = read_manifest(self.path)
            check_tokenizer(self.path, manifest)
            emb = manifest["embedding"]
            if embed_model is not None:
                asked_none = is_none_model(embed_model)
                built_none = emb.get("model") is None
                same = (asked_none and built_none and emb.get("requested") in (None, "none")) or embed_model in (
                    emb.get("model"),
                    emb.get("requested"),
                )
                if not same:
                    raise IndexMismatchError(
                        f"{self.path}: built with embedding model {emb.get('model') or 'none'!r}"
                        f" (requested {emb.get('requested')!r}), asked for {embed_model!r}; ingest into a new "
                        "index folder to change models, or leave --embed-model out to use the index's own"
                    )
            ch = manifest["chunking"]
            for name, asked in (("max_tokens", chunk_tokens), ("overlap_sentences", overlap)):
                if asked is not None and asked != ch[name]:
                    raise IndexMismatchError(
                        f"{self.path}: built with chunking {name}={ch[name]}, asked for {asked}; "
                        "use a new index folder to change chunking"
                    )
            if emb.get("model"):
                try:
                    self.embedder = load_embedder(emb["model"], device=embed_device, batch_size=batch_size)
                except ModelUnavailableError as e:
                    raise ModelUnavailableError(
                        emb["model"],
                        f"{e.reason} — this index stores its vectors, so new chunks must be "
                        "embedded with the same model",
                    ) from e
            elif emb.get("reason"):
                notice(f"index is BM25-only ({emb['reason']})")
            return manifest

        requested = embed_model if embed_model is not None else default_embed_model
        embedding: dict[str, Any]
        if is_none_model(requested):
            embedding = {"model": None, "requested": "none", "dim": None}
        else:
            assert requested is not None
            try:
                self.embedder = load_embedder(requested, device=embed_device, batch_size=batch_size)
                embedding = {
                    "model": requested, "requested": requested, "dim": self.embedder.dim,
                    "max_tokens": self.embedder.max_tokens, "normalized": True, "dtype": "float16",
                }  # fmt: skip
            except ModelUnavailableError as e:
                notice(f"embedding model unavailable, building a BM25-only index: {e}")
                embedding = {"model": None, "requested": requested, "dim": None, "reason": str(e)}
        chunking = {
            "max_tokens": chunk_tokens if chunk_tokens is not None else default_chunk_tokens,
            "overlap_sentences": overlap if overlap is not None else default_overlap,
            "unit": f"model:{embedding['model']}" if embedding["model"] else "kiwi-morphemes",
        }
        manifest = new_manifest(embedding, chunking, dict(BM25_PARAMS))
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
        """Vocabulary ids for ``terms``, adding new terms to the vocabulary."""
        vocab = self.vocab
        out = []
        for t in terms:
            i = vocab.get(t)
            if i is None:
                i = vocab[t] = len(vocab)
                self._pending_terms.append((t, i))
            out.append(i)
        return np.asarray(out, dtype=np.uint32)

    def find(self, uri: str) -> StoredDocument | None:
        return self.store.find_document(uri)

    def upsert(self, *, chunks: Sequence[ChunkRow], **fields: Any) -> tuple[str, bool]:
        """Insert or replace one document with all its chunks. Returns ``(doc_id, was_update)``.

        ``fields``: ``uri``, ``source``, ``title``, ``content_hash``, ``text``, ``metadata``, ``size``,
        ``mtime_ns`` (see :meth:`begin_document`).
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
        """Start writing a document (replacing any older version); its chunks follow in batches."""
        self._flush_terms()
        self.changed = True
        return self.store.begin_document(
            self.rev, uri=uri, source=source, title=title, content_hash=content_hash, size=size,
            mtime_ns=mtime_ns, text=text, metadata=metadata or {},
        )  # fmt: skip

    def add_chunks(self, doc_id: str, chunks: Sequence[ChunkRow]) -> None:
        if self.embedder is not None and any(c.embedding is None for c in chunks):
            raise InvalidInputError("this index stores vectors: every chunk needs an embedding")
        self._flush_terms()
        self.store.add_chunks(self.rev, doc_id, chunks)

    def end_document(self, doc_id: str, n_chunks: int) -> None:
        self.store.end_document(doc_id, n_chunks)

    def cancel_document(self) -> None:
        self.store.cancel_document()

    def touch(self, doc_id: str, size: int | None, mtime_ns: int | None) -> None:
        self.store.touch_document(doc_id, size, mtime_ns)

    def remove(self, doc_id: str) -> bool:
        removed = self.store.remove_document(self.rev, doc_id)
        self.changed = self.changed or removed
        return removed

    def live_documents(self) -> list[tuple[str, str]]:
        return list(self.store.iter_live_uris())

    def _flush_terms(self) -> None:
        if self._pending_terms:
            self.store.add_terms(self._pending_terms)
            self._pending_terms = []

    def checkpoint(self) -> None:
        """Commit what was written so far (durable, acknowledged) and keep writing."""
        if not self.changed:
            return
        self._flush_terms()
        self.store.commit(self.rev)
        self.rev = self.store.begin()

    def close(self) -> dict[str, int]:
        """Commit, publish a new generation when anything changed, and release the lock."""
        try:
            self._flush_terms()
            if self.changed:
                self.store.commit(self.rev)
            else:
                self.store.rollback()
            gen = self.manifest.get("generation")
            if self.changed or gen is None or gen.get("revision") != self.store.revision():
                _publish(self.path, self.store, self.manifest)
            return self.manifest["counts"]
        finally:
            self.store.close()
            self._lock.release()

    def abort(self) -> None:
        """Roll back to the last checkpoint; the published generation stays as it was."""
        try:
            self.store.rollback()
            self.vocab = {}
        finally:
            self.store.close()
            self._lock.release()
