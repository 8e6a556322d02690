"""Retrieval hits stored between evaluation runs, so that tuning the answerer does not retrieve again.

``rabbit-rag eval answers --hits-cache PATH`` keeps, per question, the chunk ids and scores the
retriever returned. A later run over the same index answers from them: the answerer sees exactly the
same sources (the chunks are read back from the index by id), and only the answering is timed again.

The cache is **keyed**, and a key that does not match is never used silently: the dataset file's
SHA-256, a fingerprint of the index (every chunk's id, document, offsets and text, and the manifest's
tokenizer, chunking, BM25 and embedding settings), the retriever's name, ``k``, the fusion weights,
and a hash of the retrieval code (``rabbit_rag/retrieval``, ``rabbit_rag/index`` and the text
modules that tokenize queries and documents — not the answerer's, which is what one tunes). When the
key differs the run says so on stderr, names the part that changed, retrieves again and rewrites the
file.

예::

    rabbit-rag eval answers --dataset korquad:KorQuAD_v1.0_dev.json --llm extractive --embed-model none \\
        --sample 1000 --seed 1 --hits-cache /tmp/korquad-hits.json --json
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.types import ScoredChunk

#: Bumped when the file's layout changes; an older file is then stale, not misread.
CACHE_FORMAT = 1

#: The modules whose change can change what a query retrieves (the answerer's own modules are not here:
#: changing them is what the cache is for).
RETRIEVAL_CODE = (
    "rabbit_rag.retrieval",
    "rabbit_rag.index",
    "rabbit_rag.ingest",
    "rabbit_rag.text.kiwi",
    "rabbit_rag.text.terms",
    "rabbit_rag.text.normalize",
    "rabbit_rag.text.spacing",
    "rabbit_rag.text.chunker",
    "rabbit_rag.text.sentences",
    "rabbit_rag.conversation",
    "rabbit_rag.evaluation.korquad",
)


def retrieval_code_hash(modules: tuple[str, ...] = RETRIEVAL_CODE) -> str:
    """SHA-256 over the source files of ``modules`` (a package: all its ``.py`` files), in order."""
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise InvalidInputError(f"hits cache: module {name} not found")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
        for f in files:
            h.update(f"{name}:{f.relative_to(origin.parent)}".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def index_fingerprint(index: Any) -> str:
    """SHA-256 over every chunk of ``index`` (id, document, offsets, text) and its build settings.

    A rebuilt index with the same chunks and settings has the same fingerprint; any other chunking,
    tokenizer or BM25 setting, or other documents, give another one."""
    if not hasattr(index, "chunk_ids") or not hasattr(index, "chunks"):
        raise InvalidInputError("--hits-cache needs a local index (the backend's collections cannot be fingerprinted)")
    h = hashlib.sha256()
    manifest = getattr(index, "manifest", {}) or {}
    config = {k: manifest.get(k) for k in ("tokenizer", "chunking", "bm25", "embedding")}
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    ids = [int(i) for i in index.chunk_ids()]
    for c in index.chunks(ids):
        h.update(f"{c.chunk_id}\x1f{c.doc_id}\x1f{c.start}\x1f{c.end}\x1f".encode())
        h.update(c.text.encode())
        h.update(b"\x1e")
    return h.hexdigest()


def cache_key(dataset: Path, index: Any, retriever: str, k: int, fusion: dict[str, Any]) -> dict[str, Any]:
    """What the stored hits depend on; the cache is used only when every field matches."""
    return {
        "format": CACHE_FORMAT,
        "dataset": file_sha256(dataset),
        "index": index_fingerprint(index),
        "retriever": retriever,
        "k": k,
        "fusion": fusion,
        "code": retrieval_code_hash(),
    }


class HitsCache:
    """The hits stored in ``path`` for ``key``; an absent, unreadable or differently keyed file starts
    empty and :attr:`stale` says why (``None`` when the file was absent or matched)."""

    def __init__(self, path: str | Path, key: dict[str, Any]) -> None:
        self.path = Path(path)
        self.key = key
        self.hits: dict[str, list[list[Any]]] = {}
        self.stale: str | None = None
        self.reused = 0
        self.retrieved = 0
        self._dirty = False
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            stored_key, hits = data["key"], data["hits"]
            if not isinstance(hits, dict):
                raise ValueError("hits is not an object")
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.stale = f"{self.path}: not a hits cache ({e})"
            self._dirty = True
            return
        changed = sorted(f for f in key if stored_key.get(f) != key[f])
        if changed:
            self.stale = f"{self.path} was made for another {', '.join(changed)}"
            self._dirty = True
            return
        self.hits = hits

    def wrap(self, retriever: Any, read_chunks: Callable[[list[int]], list[Any]]) -> CachingRetriever:
        """``retriever`` answering from this cache first; ``read_chunks`` reads chunks by id."""
        return CachingRetriever(retriever, self, read_chunks)

    def save(self) -> None:
        """Write the file (atomically) when something was added or the old one was stale."""
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".hits-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"key": self.key, "hits": self.hits}, f, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False

    def summary(self) -> dict[str, Any]:
        """The ``hits_cache`` field of the evaluation's JSON."""
        return {"path": str(self.path), "reused": self.reused, "retrieved": self.retrieved, "stale": self.stale}


class CachingRetriever:
    """A retriever that answers a query it has seen (same ``k``, no filters) from the cache."""

    def __init__(self, inner: Any, cache: HitsCache, read_chunks: Callable[[list[int]], list[Any]]) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache = cache
        self._read_chunks = read_chunks

    def retrieve(self, query: str, k: int, filters: Any = None) -> list[ScoredChunk]:
        stored = self.cache.hits.get(query) if filters is None and k == self.cache.key["k"] else None
        if stored is not None:
            chunks = {c.chunk_id: c for c in self._read_chunks([int(row[0]) for row in stored])}
            if len(chunks) == len({int(row[0]) for row in stored}):
                self.cache.reused += 1
                return [ScoredChunk(chunks[int(cid)], float(score), dict(scores)) for cid, score, scores in stored]
        hits = self.inner.retrieve(query, k, filters)
        if filters is None and k == self.cache.key["k"]:
            self.cache.hits[query] = [[h.chunk.chunk_id, h.score, dict(h.scores)] for h in hits]
            self.cache.retrieved += 1
            self.cache._dirty = True
        return hits
