"""The Milvus collections behind one rabbit-rag collection, and the client that reaches them.

One rabbit-rag collection (an index folder's name, e.g. ``헌법``) is five Milvus collections with a
common prefix (:func:`collection_prefix`):

- ``<p>__chunks``: one row per live chunk — offsets, text, page, section, document id and source, the
  Kiwi BM25 weights as a sparse vector (:mod:`rabbit_rag.backends.bm25`) and, when the index has an
  embedding model, the dense vector;
- ``<p>__docs``: one row per live document (what :class:`~rabbit_rag.index.docstore.StoredDocument`
  holds) and ``<p>__texts``: the document's normalized text in parts (a Milvus string holds at most
  64 KiB) — the text that chunk and citation offsets point into;
- ``<p>__terms``: the vocabulary, term → (our term id, document frequency), for queries;
- ``<p>__meta``: the manifest (embedding model, chunking, tokenizer, BM25 statistics, revision, the
  writer's identity).

Milvus wants a vector field in every collection; the docs, texts, terms and meta collections carry a
two-dimensional zero vector ``_v`` that nothing searches. Collections are created with Strong
consistency, so a search right after a publish sees it on every replica.

Milvus Lite (``milvus:///path/engine.db``) runs in the process that opens it and locks its folder;
several processes share one engine through ``milvus-lite server --data-dir DIR --port 19530`` and
``milvus://127.0.0.1:19530``, exactly as they would share a Milvus cluster.

예::

    store = MilvusCollections(parse_backend("milvus:///tmp/engine.db"), "헌법")
    store.manifest()["revision"]
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rabbit_rag.backends.uri import BackendURI
from rabbit_rag.errors import IndexLockedError, RabbitRagError

#: Longest string Milvus keeps in a VARCHAR field, in UTF-8 bytes.
MAX_VARCHAR_BYTES = 65535
#: Document text is stored in parts of this many characters (at most 4 UTF-8 bytes each).
TEXT_PART_CHARS = 16000
#: Rows per insert/upsert call (well under gRPC's message limit even with 64 KiB texts).
WRITE_BATCH_ROWS = 256
WRITE_BATCH_BYTES = 16 * 1024 * 1024
#: A sparse vector needs one non-zero weight: a chunk without terms gets this dimension, which no
#: query ever asks for (our term ids are far below it). bm25s does the same with a sentinel column.
EMPTY_DIMENSION = 2**32 - 2
_SAFE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_clients: dict[tuple[str, str | None], Any] = {}
_clients_lock = threading.Lock()
#: (engine, Milvus collection) pairs this process has seen loaded (see :meth:`MilvusCollections.ensure_loaded`)
_loaded: set[tuple[str, str]] = set()


class BackendError(RabbitRagError):
    """The search engine could not be reached or refused an operation (the message says which)."""

    http_status = 503


def collection_prefix(name: str) -> str:
    """Milvus collection names allow ``[A-Za-z0-9_]`` only: ASCII names keep their spelling, others
    (Hangul, ``-``) are spelled in hexadecimal UTF-8, so no two names share a prefix.

    예: ``collection_prefix("헌법")`` → ``'rr_xed9c8cebb295'``; ``collection_prefix("kobill")`` → ``'rr_kobill'``
    """
    return f"rr_{name}" if _SAFE.fullmatch(name) and not name.startswith("x") else "rr_x" + name.encode().hex()


def name_of_prefix(prefix: str) -> str | None:
    """The rabbit-rag collection name a prefix spells (the inverse of :func:`collection_prefix`)."""
    if not prefix.startswith("rr_"):
        return None
    body = prefix[3:]
    if body.startswith("x"):
        try:
            return bytes.fromhex(body[1:]).decode("utf-8")
        except ValueError:
            return None
    return body


def fit_bytes(text: str, limit: int = MAX_VARCHAR_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def quote(value: str) -> str:
    """A Milvus filter-expression string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quiet_embedded_server() -> None:
    """Milvus Lite serves gRPC from a thread of this process: keep its server-side chatter (methods
    it does not implement, which pymilvus then does without, and keep-alive notices) off our stderr,
    where the CLI's own messages go. Real errors still reach us as exceptions from the client."""
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # read once, when grpc's C core starts
    for name in ("grpc._server", "pymilvus.client.iterator.query_iterator", "pymilvus.decorators"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def client_for(backend: BackendURI, token: str | None = None) -> Any:
    """The process's client for ``backend`` (one per target: Milvus Lite serves a folder to one process)."""
    key = (backend.target, token)
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            return client
        if backend.local:
            _quiet_embedded_server()
            # as the index folder is: Milvus Lite refuses a path whose folder does not exist yet
            try:
                Path(backend.target).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise BackendError(f"backend {backend}: cannot create its folder ({e})") from None
        try:
            from pymilvus import MilvusClient
        except ImportError as e:  # pragma: no cover - depends on the install
            raise BackendError(
                f"backend {backend}: pymilvus is not installed ({e}); install the extra: pip install -e '.[milvus]'"
            ) from None
        try:
            client = MilvusClient(uri=backend.target, token=token or "")
        except Exception as e:
            text = str(e)
            if "lock" in text.lower() or "DataDirLocked" in type(e).__name__:
                raise IndexLockedError(
                    f"backend {backend}: another process holds this Milvus Lite folder. Milvus Lite serves one "
                    "process; for several, run `milvus-lite server --data-dir "
                    f"{backend.target} --port 19530` and use --backend milvus://127.0.0.1:19530"
                ) from None
            raise BackendError(f"backend {backend}: cannot connect ({type(e).__name__}: {text})") from None
        _clients[key] = client
        return client


class MilvusCollections:
    """The five Milvus collections of one rabbit-rag collection ``name`` on ``backend``."""

    def __init__(self, backend: BackendURI, name: str, token: str | None = None) -> None:
        self.backend = backend
        self.name = name
        self.prefix = collection_prefix(name)
        self.chunks = f"{self.prefix}__chunks"
        self.docs = f"{self.prefix}__docs"
        self.texts = f"{self.prefix}__texts"
        self.terms = f"{self.prefix}__terms"
        self.meta = f"{self.prefix}__meta"
        # collections keyed by strings, and their key field (see :meth:`get`)
        self._string_keys = {self.docs: "doc_id", self.texts: "part_id", self.terms: "term", self.meta: "key"}
        self._token = token
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client_for(self.backend, self._token)
        return self._client

    def where(self) -> str:
        """How messages name this collection: ``milvus://host:19530 collection 헌법``."""
        return f"{self.backend} collection {self.name!r}"

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RabbitRagError:
            raise
        except Exception as e:
            raise BackendError(f"{self.where()}: {what} failed ({type(e).__name__}: {e})") from None

    # -- manifest ---------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.manifest() is not None

    def manifest(self) -> dict[str, Any] | None:
        """The collection's manifest, or None when the collection does not exist (yet)."""
        if not self._call("listing collections", self.client.has_collection, self.meta):
            return None
        self.ensure_loaded()
        rows = self._call("reading the manifest", self.client.get, self.meta, ids=["manifest"], output_fields=["value"])
        if not rows:
            return None
        value = rows[0]["value"]
        return json.loads(value) if isinstance(value, str) else dict(value)

    def ensure_loaded(self) -> None:
        """Load this collection's Milvus collections into the engine's memory where they are not.

        A collection is loaded when it is created, but an engine that restarts — Milvus Lite opened by
        a new process (``rabbit-rag ingest --backend milvus:///x.db``, then ``rabbit-rag search`` with
        the same URI), or a restarted server — holds them released, and every read fails with "call
        load() before search/get/query". Checked once per process and collection."""
        for name in (self.chunks, self.docs, self.texts, self.terms, self.meta):
            key = (self.backend.target, name)
            if key in _loaded:
                continue
            if not self._call("listing collections", self.client.has_collection, name):
                continue
            state = self._call(f"reading the load state of {name}", self.client.get_load_state, name)
            if "NotLoad" in str(state.get("state")):
                self._call(f"loading {name}", self.client.load_collection, name)
            _loaded.add(key)

    def flush(self) -> None:
        """Seal what was just written, so the engine indexes it (the writer's last step of a publish).

        Rows still in Milvus' growing segments are searched without the sparse index: measured on
        Milvus Lite with the 964 KorQuAD paragraphs, a BM25 search took about 1.1 s before the flush
        and about 10 ms after it (docs/scaling.md)."""
        for name in (self.chunks, self.docs, self.texts, self.terms):
            if self._call("listing collections", self.client.has_collection, name):
                self._call(f"flushing {name}", self.client.flush, name)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self._call(
            "writing the manifest",
            self.client.upsert,
            self.meta,
            [{"key": "manifest", "value": manifest, "_v": [0.0, 0.0]}],
        )

    # -- schema -----------------------------------------------------------------------------------
    def create(self, dim: int | None) -> None:
        """Create the collections that do not exist (``dim``: the dense vectors' size, None for BM25 only)."""
        from pymilvus import DataType, MilvusClient

        c = self.client
        if not self._call("listing collections", c.has_collection, self.chunks):
            s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            s.add_field("chunk_id", DataType.INT64, is_primary=True)
            s.add_field("doc_id", DataType.VARCHAR, max_length=64)
            s.add_field("ord", DataType.INT64)
            s.add_field("start", DataType.INT64)
            s.add_field("end", DataType.INT64)
            s.add_field("page", DataType.INT64, nullable=True)
            s.add_field("section", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES, nullable=True)
            s.add_field("source", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
            s.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES, nullable=True)
            s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES)
            #: the chunk's text did not fit a VARCHAR: read it from the document text instead
            s.add_field("text_in_doc", DataType.BOOL)
            #: the chunk's blocks (list items, table rows, headings) as the docstore keeps them: JSON with
            #: offsets relative to the chunk (rabbit_rag.index.docstore.blocks_json)
            s.add_field("blocks", DataType.VARCHAR, max_length=MAX_VARCHAR_BYTES, nullable=True)
            s.add_field("dl", DataType.INT64)
            s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            ip = c.prepare_index_params()
            ip.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP", params={"drop_ratio_build": 0})
            ip.add_index("doc_id", index_type="INVERTED")
            if dim:
                s.add_field("dense", DataType.FLOAT_VECTOR, dim=int(dim))
                # exact inner product, as the local FAISS IndexFlatIP; a cluster may choose HNSW here
                ip.add_index("dense", index_type="FLAT", metric_type="IP")
            self._create_collection("creating the chunks collection", self.chunks, s, ip)
        simple = {
            self.docs: [
                ("doc_id", DataType.VARCHAR, {"is_primary": True, "max_length": 64}),
                ("uri", DataType.VARCHAR, {"max_length": MAX_VARCHAR_BYTES}),
                ("source", DataType.VARCHAR, {"max_length": MAX_VARCHAR_BYTES}),
                ("title", DataType.VARCHAR, {"max_length": MAX_VARCHAR_BYTES, "nullable": True}),
                ("content_hash", DataType.VARCHAR, {"max_length": 128}),
                ("size", DataType.INT64, {"nullable": True}),
                ("mtime_ns", DataType.INT64, {"nullable": True}),
                ("n_chars", DataType.INT64, {}),
                ("n_chunks", DataType.INT64, {}),
                ("n_parts", DataType.INT64, {}),
                ("metadata", DataType.JSON, {}),
                ("created_at", DataType.VARCHAR, {"max_length": 64}),
                ("updated_at", DataType.VARCHAR, {"max_length": 64}),
            ],
            self.texts: [
                ("part_id", DataType.VARCHAR, {"is_primary": True, "max_length": 96}),
                ("doc_id", DataType.VARCHAR, {"max_length": 64}),
                ("part", DataType.INT64, {}),
                ("text", DataType.VARCHAR, {"max_length": MAX_VARCHAR_BYTES}),
            ],
            self.terms: [
                ("term", DataType.VARCHAR, {"is_primary": True, "max_length": MAX_VARCHAR_BYTES}),
                ("tid", DataType.INT64, {}),
                ("df", DataType.INT64, {}),
            ],
            self.meta: [
                ("key", DataType.VARCHAR, {"is_primary": True, "max_length": 64}),
                ("value", DataType.JSON, {}),
            ],
        }
        for name, fields in simple.items():
            if self._call("listing collections", c.has_collection, name):
                continue
            s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            for field, dtype, kw in fields:
                s.add_field(field, dtype, **kw)
            s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
            ip = c.prepare_index_params()
            ip.add_index("_v", index_type="FLAT", metric_type="L2")
            if name in (self.texts,):
                ip.add_index("doc_id", index_type="INVERTED")
            self._create_collection(f"creating {name}", name, s, ip)

    def _create_collection(self, what: str, name: str, schema: Any, index_params: Any) -> None:
        """Create an empty collection, its indexes, and load it.

        ``create_collection(..., index_params=)`` waits for every index to be *built*, polling each one
        every 0.5 s: 3.5 s for a new rabbit-rag collection's seven indexes, although an empty collection
        has nothing to build. The index definitions are created here without that wait (``sync=False``:
        the server has recorded the index when the call returns) and the load, which needs them, follows."""
        c = self.client
        self._call(what, c.create_collection, name, schema=schema, consistency_level="Strong")
        self._call(what, c.create_index, name, index_params, sync=False)
        self._call(what, c.load_collection, name)
        _loaded.add((self.backend.target, name))

    def drop(self) -> None:
        """Drop every collection of this rabbit-rag collection (the manifest last)."""
        for name in (self.chunks, self.docs, self.texts, self.terms, self.meta):
            _loaded.discard((self.backend.target, name))
            if self._call("listing collections", self.client.has_collection, name):
                self._call(f"dropping {name}", self.client.drop_collection, name)

    # -- rows -------------------------------------------------------------------------------------
    def upsert(self, collection: str, rows: Iterable[dict[str, Any]]) -> int:
        """Upsert rows in batches bounded by count and size. Returns how many."""
        n = 0
        batch: list[dict[str, Any]] = []
        size = 0
        for row in rows:
            if collection != self.chunks and "_v" not in row:
                row["_v"] = [0.0, 0.0]
            batch.append(row)
            size += sum(len(v) * 3 for v in row.values() if isinstance(v, str))
            if len(batch) >= WRITE_BATCH_ROWS or size >= WRITE_BATCH_BYTES:
                self._call(f"writing {collection}", self.client.upsert, collection, batch)
                n += len(batch)
                batch, size = [], 0
        if batch:
            self._call(f"writing {collection}", self.client.upsert, collection, batch)
            n += len(batch)
        return n

    def delete(self, collection: str, ids: Sequence[Any]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 4096):
            self._call(f"deleting from {collection}", self.client.delete, collection, ids=ids[i : i + 4096])

    def get(self, collection: str, ids: Sequence[Any], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Rows by primary key. String keys go through our own ``in [...]`` expression: pymilvus'
        ``get`` quotes them with single quotes it does not escape, so a term holding ``'`` (a query
        such as ``'#'은 무엇``) made the whole lookup a syntax error."""
        ids = list(ids)
        if not ids:
            return []
        out: list[dict[str, Any]] = []
        pk = self._string_keys.get(collection)
        for i in range(0, len(ids), 4096):
            batch = ids[i : i + 4096]
            if pk is not None:
                expr = f"{pk} in [{', '.join(quote(str(x)) for x in batch)}]"
                out.extend(self.query(collection, expr, list(dict.fromkeys([pk, *fields]))))
                continue
            out.extend(
                self._call(
                    f"reading {collection}", self.client.get, collection, ids=batch, output_fields=list(fields),
                )
            )  # fmt: skip
        return out

    def query(
        self, collection: str, expr: str, fields: Sequence[str], limit: int | None = None
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"filter": expr, "output_fields": list(fields)}
        if limit is not None:
            kwargs["limit"] = limit
        return list(self._call(f"querying {collection}", self.client.query, collection, **kwargs))

    def scan(
        self, collection: str, fields: Sequence[str], expr: str = "", batch: int = 2000
    ) -> Iterator[dict[str, Any]]:
        """Every row matching ``expr`` (all rows by default), in batches."""
        it = self._call(
            f"reading {collection}", self.client.query_iterator, collection, batch_size=batch, filter=expr,
            output_fields=list(fields),
        )  # fmt: skip
        try:
            while True:
                rows = self._call(f"reading {collection}", it.next)
                if not rows:
                    return
                yield from rows
        finally:
            it.close()

    def count(self, collection: str) -> int:
        rows = self.query(collection, "", ["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def search(
        self, collection: str, field: str, vector: Any, k: int, expr: str, fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The ``k`` rows nearest ``vector`` in ``field`` (inner product), best first."""
        res = self._call(
            f"searching {collection}", self.client.search, collection, data=[vector], anns_field=field, limit=k,
            filter=expr, output_fields=list(fields), search_params={"metric_type": "IP", "params": {}},
        )  # fmt: skip
        return list(res[0]) if res else []


def list_collection_names(backend: BackendURI, token: str | None = None) -> list[str]:
    """The rabbit-rag collections that exist on ``backend`` (those with a manifest), sorted."""
    client = client_for(backend, token)
    try:
        names = client.list_collections()
    except Exception as e:
        raise BackendError(f"{backend}: listing collections failed ({type(e).__name__}: {e})") from None
    out = []
    for n in names:
        if n.endswith("__meta"):
            name = name_of_prefix(n[: -len("__meta")])
            if name is not None and MilvusCollections(backend, name, token).exists():
                out.append(name)
    return sorted(out)
