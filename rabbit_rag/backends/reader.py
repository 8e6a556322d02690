"""Reading an index from a search engine: :class:`EngineIndex`, the same read interface as
:class:`~rabbit_rag.index.Index`, answered entirely by the engine.

Retrievers, the engine, citations and the API only call the read interface (``bm25_top_k``,
``embed_query`` + ``dense_top_k``, ``chunks``, ``documents``, ``document_text``, ``counts`` …), so
they run unchanged over either. Nothing here touches a local file: a replica serving searches needs
only the backend URI and the collection name — it keeps no state, and every call sees what the
writer last published. BM25 is ours: the query's Kiwi terms (with the compounds the vocabulary
knows) become ``{term id: idf}`` and the engine computes the inner product with the chunk weights
the writer stored (:mod:`rabbit_rag.backends.bm25`).

예::

    index = EngineIndex("milvus://10.0.0.5:19530", "헌법")
    index.search("대통령 임기는 몇 년이야?", k=3, mode="bm25")
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.backends.bm25 import query_weights
from rabbit_rag.backends.milvus import TEXT_PART_CHARS, MilvusCollections, quote
from rabbit_rag.backends.uri import BackendURI, parse_backend
from rabbit_rag.embeddings import Embedder, is_none_model, load_embedder
from rabbit_rag.errors import IndexMismatchError, IndexNotFoundError, InvalidInputError, ModelUnavailableError
from rabbit_rag.index.docstore import StoredDocument, blocks_from_json
from rabbit_rag.index.filters import SearchFilter
from rabbit_rag.index.manifest import check_tokenizer
from rabbit_rag.notices import notice
from rabbit_rag.retrieval import make_retriever
from rabbit_rag.text.terms import bm25_query_terms
from rabbit_rag.types import Chunk, ScoredChunk, SearchMode

CHUNK_FIELDS = [
    "chunk_id", "doc_id", "source", "start", "end", "text", "page", "section", "title", "text_in_doc", "blocks",
]  # fmt: skip
DOC_FIELDS = [
    "doc_id", "uri", "source", "title", "content_hash", "size", "mtime_ns", "n_chars", "n_chunks", "metadata",
    "created_at", "updated_at",
]  # fmt: skip
_DOC_ID = re.compile(r"^[0-9a-f]{1,64}$")


def _doc(r: dict[str, Any]) -> StoredDocument:
    return StoredDocument(
        doc_id=r["doc_id"], uri=r["uri"], source=r["source"], title=r.get("title"), content_hash=r["content_hash"],
        size=r.get("size"), mtime_ns=r.get("mtime_ns"), n_chars=int(r["n_chars"]), n_chunks=int(r["n_chunks"]),
        metadata=dict(r.get("metadata") or {}), created_at=r["created_at"], updated_at=r["updated_at"],
    )  # fmt: skip


class EngineIndex:
    """The read interface of :class:`~rabbit_rag.index.Index` over an engine collection.

    ``name`` is the collection (the writer's index folder name). ``embed_model``, when given, must be
    the collection's own model. Thread-safe; holds no state but a client and the embedding model.
    """

    def __init__(
        self,
        backend: str | BackendURI,
        name: str,
        embed_model: str | None = None,
        embed_device: str | None = None,
        token: str | None = None,
    ) -> None:
        parsed = parse_backend(backend) if isinstance(backend, str) else backend
        if parsed is None:
            raise InvalidInputError("EngineIndex needs an engine backend; open the local index with open_index")
        self.backend = parsed
        self.name = name
        self.path = Path(name)  # what messages and callers that name an index see; there is no local folder
        self.embed_device = embed_device
        self._coll = MilvusCollections(parsed, name, token)
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._embedder_error: str | None = None
        self.manifest = self._read_manifest()
        built = self.manifest["embedding"].get("model")
        if embed_model is not None and not is_none_model(embed_model) and built is not None and built != embed_model:
            raise IndexMismatchError(
                f"{self._coll.where()}: built with embedding model {built!r}, asked for {embed_model!r}; vectors "
                "of different models cannot be compared."
            )

    def _read_manifest(self) -> dict[str, Any]:
        m = self._coll.manifest()
        if m is None:
            raise IndexNotFoundError(
                f"{self._coll.where()} does not exist; create it with `rabbit-rag ingest PATH --index "
                f"{self.name} --backend {self.backend}`"
            )
        check_tokenizer(Path(f"{self.backend}#{self.name}"), m)
        return m

    # -- generations: the engine always answers with what the writer last published ---------------------
    @property
    def revision(self) -> int:
        return int(self.manifest.get("revision") or 0)

    def latest(self) -> EngineIndex:
        """This index with the newest manifest (the engine itself is always current)."""
        self.refresh()
        return self

    def refresh(self) -> bool:
        """Re-read the manifest. Returns whether the revision changed."""
        old = self.revision
        self.manifest = self._read_manifest()
        return self.revision != old

    def close(self) -> None:
        """Nothing to release: the client is shared by the process."""

    def __enter__(self) -> EngineIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- embeddings ---------------------------------------------------------------------------------
    @property
    def embed_model(self) -> str | None:
        return self.manifest["embedding"].get("model")

    @property
    def has_vectors(self) -> bool:
        return bool(
            self.embed_model and self.manifest["embedding"].get("dim") and self.manifest["counts"].get("vectors")
        )

    def embedder(self) -> Embedder | None:
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
        if self.embed_model is None:
            why = self.manifest["embedding"].get("reason") or "it was built with --embed-model none"
            return f"the index has no vectors ({why})"
        if not self.has_vectors:
            return "the index has no vectors yet"
        if self.embedder() is None:
            return self._embedder_error
        return None

    def embed_query(self, query: str) -> np.ndarray:
        reason = self.dense_unavailable_reason()
        if reason is not None:
            raise InvalidInputError(f"dense search is not possible on {self._coll.where()}: {reason}")
        embedder = self.embedder()
        assert embedder is not None
        return embedder.embed_query(query)

    # -- search -----------------------------------------------------------------------------------
    def bm25_top_k(self, query: str, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        """The ``k`` best chunks for ``query`` by our Kiwi BM25, computed by the engine (positive scores
        only, best first)."""
        self.refresh()  # the current N for the idf; one small read
        n_docs = int(self.manifest["bm25"].get("n_docs") or 0)
        if n_docs == 0 or k <= 0:
            return []
        rows: dict[str, tuple[int, int]] = {}  # term → (term id, df), one lookup for compounds and terms

        def lookup(asked: list[str]) -> set[str]:
            wanted = [t for t in dict.fromkeys(asked) if t not in rows]
            for r in self._coll.get(self._coll.terms, wanted, ["term", "tid", "df"]):
                rows[r["term"]] = (int(r["tid"]), int(r["df"]))
            return {t for t in asked if t in rows}

        terms = bm25_query_terms(query, lookup)
        if not terms:
            return []
        lookup(terms)  # only the terms the compound lookup did not already bring
        ids = [rows[t][0] for t in terms if t in rows]
        weights = query_weights(ids, {tid: df for tid, df in rows.values()}, n_docs)
        if not weights:
            return []
        expr = self._filter_expr(filters)
        if expr is None:
            return []
        hits = self._coll.search(self._coll.chunks, "bm25", weights, k, expr, CHUNK_FIELDS)
        return self._hits([h for h in hits if float(h["distance"]) > 0], "bm25")

    def dense_top_k(self, query_vector: np.ndarray, k: int, filters: SearchFilter | None = None) -> list[ScoredChunk]:
        """The ``k`` chunks whose vectors are nearest (cosine) to ``query_vector``."""
        if not self.has_vectors:
            reason = self.dense_unavailable_reason() or "the index has no vectors"
            raise InvalidInputError(f"dense search is not possible on {self._coll.where()}: {reason}")
        expr = self._filter_expr(filters)
        if expr is None or k <= 0:
            return []
        vec = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        return self._hits(self._coll.search(self._coll.chunks, "dense", vec, k, expr, CHUNK_FIELDS), "dense")

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "hybrid",
        *,
        source: str | Sequence[str] | None = None,
        doc_id: str | Sequence[str] | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = 60,
    ) -> list[ScoredChunk]:
        """Search as :meth:`rabbit_rag.index.Index.search` does (the same retrievers and fusion).

        예: ``index.search("국회의원 임기", k=3, mode="bm25", source="constitution.txt")``
        """
        retriever = make_retriever(self, mode, weights=weights, rrf_k=rrf_k)  # type: ignore[arg-type]
        return retriever.retrieve(query, k, filters=SearchFilter.of(source, doc_id))

    def _filter_expr(self, filters: SearchFilter | None) -> str | None:
        """A Milvus filter for ``filters`` ("" for none); None when nothing can match. Source patterns
        are resolved here against the documents' sources, with the same rules as the local index."""
        if filters is None:
            return ""
        allowed: set[str] | None = None
        if filters.doc_ids is not None:
            allowed = {d for d in filters.doc_ids if _DOC_ID.fullmatch(d)}
        match = filters.source_match()
        if match is not None:
            # the same rules as the local index (exact, glob, or the tail of a source path), on the sources
            ids = {r["doc_id"] for r in self._coll.scan(self._coll.docs, ["doc_id", "source"]) if match(r["source"])}
            allowed = ids if allowed is None else allowed & ids
        if allowed is None:
            return ""
        if not allowed:
            return None
        return f"doc_id in [{', '.join(quote(d) for d in sorted(allowed))}]"

    def _hits(self, rows: list[dict[str, Any]], name: str) -> list[ScoredChunk]:
        out = []
        for r in rows:
            entity = r.get("entity") or r
            chunk = self._chunk(entity)
            out.append(ScoredChunk(chunk, float(r["distance"]), {name: float(r["distance"])}))
        return out

    def _chunk(self, r: dict[str, Any]) -> Chunk:
        text = r["text"]
        if r.get("text_in_doc"):
            text = self._text_range(r["doc_id"], int(r["start"]), int(r["end"]))
        return Chunk(
            chunk_id=int(r["chunk_id"]), doc_id=r["doc_id"], source=r["source"], start=int(r["start"]),
            end=int(r["end"]), text=text, page=r.get("page"), section=r.get("section"), title=r.get("title"),
            blocks=blocks_from_json(r.get("blocks"), int(r["start"])),
        )  # fmt: skip

    def _text_range(self, doc_id: str, start: int, end: int) -> str:
        first, last = start // TEXT_PART_CHARS, max(start, end - 1) // TEXT_PART_CHARS
        ids = [f"{doc_id}:{i:06d}" for i in range(first, last + 1)]
        parts = {int(r["part"]): r["text"] for r in self._coll.get(self._coll.texts, ids, ["part", "text"])}
        joined = "".join(parts.get(i, "") for i in range(first, last + 1))
        return joined[start - first * TEXT_PART_CHARS : end - first * TEXT_PART_CHARS]

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.manifest["counts"].get("chunks", 0))

    def chunk_ids(self) -> np.ndarray:
        ids = [int(r["chunk_id"]) for r in self._coll.scan(self._coll.chunks, ["chunk_id"])]
        return np.asarray(sorted(ids), dtype=np.int64)

    def chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        """Chunks by id, in the order asked (unknown ids are left out)."""
        rows = {
            int(r["chunk_id"]): r for r in self._coll.get(self._coll.chunks, [int(i) for i in chunk_ids], CHUNK_FIELDS)
        }
        return [self._chunk(rows[int(i)]) for i in chunk_ids if int(i) in rows]

    def stored_vectors(self) -> Iterator[tuple[int, np.ndarray]]:
        if not self.has_vectors:
            return
        for r in self._coll.scan(self._coll.chunks, ["chunk_id", "dense"], batch=500):
            yield int(r["chunk_id"]), np.asarray(r["dense"], dtype=np.float32)

    def _check_revision(self, revision: int | None) -> None:
        """The engine holds the current revision only (the writer's folder keeps the older ones)."""
        if revision is not None and int(revision) != self.revision:
            raise InvalidInputError(
                f"revision {revision} is not on the engine, which holds only the current one ({self.revision})"
            )

    def documents(
        self, limit: int | None = None, offset: int = 0, *, revision: int | None = None
    ) -> list[StoredDocument]:
        """Live documents, ordered by source (the engine has no ORDER BY: sorted here)."""
        self._check_revision(revision)
        docs = sorted(
            (_doc(r) for r in self._coll.scan(self._coll.docs, DOC_FIELDS)), key=lambda d: (d.source, d.doc_id)
        )
        return docs[offset : None if limit is None else offset + limit]

    def document_count(self, *, revision: int | None = None) -> int:
        """How many live documents the engine holds."""
        self._check_revision(revision)
        return int(self.counts().get("documents", 0))

    def document(self, doc_id: str, *, revision: int | None = None) -> StoredDocument | None:
        self._check_revision(revision)
        rows = self._coll.get(self._coll.docs, [doc_id], DOC_FIELDS)
        return _doc(rows[0]) if rows else None

    def find_document(self, uri: str) -> StoredDocument | None:
        from rabbit_rag.index.docstore import doc_id_for

        doc = self.document(doc_id_for(uri))
        return doc if doc is not None and doc.uri == uri else None

    def document_text(self, doc_id: str, *, revision: int | None = None) -> str | None:
        self._check_revision(revision)
        doc = self._coll.get(self._coll.docs, [doc_id], ["n_parts"])
        if not doc:
            return None
        n = int(doc[0]["n_parts"])
        rows = self._coll.get(self._coll.texts, [f"{doc_id}:{i:06d}" for i in range(n)], ["part", "text"])
        parts = {int(r["part"]): r["text"] for r in rows}
        return "".join(parts.get(i, "") for i in range(n))

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        if not _DOC_ID.fullmatch(doc_id):
            return []
        rows = list(self._coll.scan(self._coll.chunks, [*CHUNK_FIELDS, "ord"], expr=f"doc_id == {quote(doc_id)}"))
        return [self._chunk(r) for r in sorted(rows, key=lambda r: int(r["ord"]))]

    def counts(self) -> dict[str, int]:
        self.refresh()
        return dict(self.manifest["counts"])

    def stats(self) -> dict[str, Any]:
        return {
            "path": f"{self.backend}#{self.name}",
            "revision": self.revision,
            "embedding": self.manifest["embedding"],
            "chunking": self.manifest["chunking"],
            "counts": self.manifest["counts"],
            "backend": str(self.backend),
        }
