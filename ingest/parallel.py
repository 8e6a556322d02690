"""Parallel ingest: worker processes (or Ray actors) parse, analyze and embed; one writer commits.

The serial pipeline (:mod:`rabbit_rag.ingest.pipeline`) runs every step in one process. With
``workers > 1`` (``rabbit-rag ingest --workers N``) the steps split where they are independent:

- this process walks the files, skips unchanged ones (size and mtime, then the content hash — it
  reads each file's bytes, which is cheap next to parsing), and sends the bytes of the others out;
- each worker parses them (in its own isolated parse child, under the same limits), runs Kiwi
  (sentences, chunks, BM25 terms) and the embedding model, and sends back the document, its chunk
  spans and their vectors;
- this process, the single writer, assigns term ids and commits, in the order the files were given,
  so the index is the same as a serial ingest's (same chunks, same ids, same order).

``ray_address`` (``--ray ADDRESS``) runs the same worker class as Ray actors — on a cluster, or on a
local Ray instance with ``local`` — instead of local processes. Bytes travel to the workers, so they
need no shared file system. At most ``2 × workers`` files are in flight: memory stays bounded.

예::

    options = IngestOptions(workers=4)
    ingest_paths(["문서"], "indexes/문서", options=options)
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rabbit_rag.errors import DocumentError, EmptyDocumentError, InvalidInputError
from rabbit_rag.text.chunker import ChunkSpan
from rabbit_rag.types import Document

if TYPE_CHECKING:
    from tqdm import tqdm

    from rabbit_rag.ingest.options import IngestOptions
    from rabbit_rag.ingest.pipeline import OutcomeCallback, _Ingest, _Item


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker needs to rebuild the writer's pipeline: the index's chunking and embedding model,
    and the reading options."""

    chunk_tokens: int
    overlap_sentences: int
    embed_model: str | None
    options: IngestOptions
    kiwi_threads: int = 1


@dataclass(slots=True)
class WorkItem:
    """One document to process: a file's bytes and label, or a document given in memory."""

    seq: int
    source: str
    data: bytes | None = None
    document: Document | None = None


@dataclass(slots=True)
class WorkResult:
    """A worker's answer: the document, its chunk spans and their vectors — or why it was skipped/failed."""

    seq: int
    doc: Document | None = None
    spans: list[ChunkSpan] = dataclasses.field(default_factory=list)
    vectors: np.ndarray | None = None
    status: str | None = None  # "skipped" or "failed" when there is nothing to write
    reason: str | None = None


class Worker:
    """The pipeline steps one worker runs (a local process or a Ray actor): parse → Kiwi → chunk → embed."""

    def __init__(self, spec: WorkerSpec) -> None:
        from rabbit_rag.embeddings import load_embedder
        from rabbit_rag.text.chunker import KiwiChunker
        from rabbit_rag.text.kiwi import configure_kiwi

        configure_kiwi(spec.kiwi_threads)
        opts = spec.options
        self.embedder = (
            load_embedder(spec.embed_model, device=opts.embed_device, batch_size=opts.embed_batch_size)
            if spec.embed_model
            else None
        )
        self.chunker = KiwiChunker(
            spec.chunk_tokens, spec.overlap_sentences, self.embedder.count_tokens if self.embedder else None
        )
        self._parse_worker = opts.parse_worker()
        self.parse = opts.parser(self._parse_worker)

    def run(self, item: WorkItem) -> WorkResult:
        try:
            doc = item.document
            if doc is None:
                assert item.data is not None
                doc = self.parse(item.data, item.source)
            if not doc.text.strip():
                raise EmptyDocumentError(item.source, "no text after normalization")
            spans = self.chunker.chunk(doc)
            vectors = None
            if self.embedder is not None and spans:
                vectors = self.embedder.embed([doc.text[s.start : s.end] for s in spans])
            return WorkResult(item.seq, doc, spans, vectors)
        except EmptyDocumentError as e:
            return WorkResult(item.seq, status="skipped", reason=e.reason)
        except DocumentError as e:
            return WorkResult(item.seq, status="failed", reason=e.reason)

    def close(self) -> None:
        if self._parse_worker is not None:
            self._parse_worker.close()


# -- pools: local processes or Ray actors, one interface -------------------------------------------
_process_worker: Worker | None = None


def _init_process(spec: WorkerSpec) -> None:
    global _process_worker
    _process_worker = Worker(spec)


def _run_in_process(item: WorkItem) -> WorkResult:
    assert _process_worker is not None
    return _process_worker.run(item)


class ProcessPool:
    """``n`` local worker processes (spawned: Kiwi's and torch's threads do not survive a fork)."""

    def __init__(self, spec: WorkerSpec, n: int) -> None:
        self._ex = ProcessPoolExecutor(
            max_workers=n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_process, initargs=(spec,)
        )
        self.broken = False

    def submit(self, item: WorkItem) -> Future[WorkResult]:
        try:
            return self._ex.submit(_run_in_process, item)
        except BrokenProcessPool:
            self.broken = True
            raise

    def result(self, handle: Future[WorkResult]) -> WorkResult:
        try:
            return handle.result()
        except BrokenProcessPool:
            self.broken = True
            raise

    def pids(self) -> set[int]:
        """The worker processes' ids (those started so far)."""
        return {p.pid for p in (self._ex._processes or {}).values() if p.pid is not None}

    def close(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)


class SharedProcessPool:
    """The process's local worker pool, started once and kept for the next ingest with the same
    settings (``serve`` ingests every upload; a script may ingest several folders).

    Why: a worker's start-up — a spawned interpreter importing rabbit_rag, Kiwi's model, its parse
    child — costs about 2.8 CPU-seconds, as much as Kiwi needs for about 0.25 MB of text
    (benchmarks/parallel_ingest.py), so starting N workers for every ingest made small ingests slower
    with workers than without. An ingest with other settings (chunking, model, limits, N) replaces the
    pool; a broken pool (a worker killed) is replaced; the pool ends with the process (or
    :func:`shutdown_shared_pool`)."""

    _lock = threading.Lock()
    _key: str | None = None
    _pool: ProcessPool | None = None
    _users = 0

    @classmethod
    def acquire(cls, spec: WorkerSpec, n: int) -> ProcessPool:
        """The shared pool for these settings; while another ingest uses a pool with other settings,
        a private one (closed by :meth:`release`)."""
        key = repr((spec, n))
        with cls._lock:
            if cls._pool is not None and cls._users == 0 and (cls._key != key or cls._pool.broken):
                cls._pool.close()
                cls._pool = None
            if cls._pool is None:
                cls._pool, cls._key = ProcessPool(spec, n), key
            if cls._key == key and not cls._pool.broken:
                cls._users += 1
                return cls._pool
        return ProcessPool(spec, n)

    @classmethod
    def release(cls, pool: ProcessPool) -> None:
        with cls._lock:
            if pool is cls._pool:
                cls._users -= 1
                if pool.broken and cls._users == 0:
                    pool.close()
                    cls._pool, cls._key = None, None
                return
        pool.close()

    @classmethod
    def shutdown(cls) -> None:
        with cls._lock:
            if cls._pool is not None:
                cls._pool.close()
            cls._pool, cls._key, cls._users = None, None, 0


def shutdown_shared_pool() -> None:
    """Stop the process's shared worker processes (they also end with the process)."""
    SharedProcessPool.shutdown()


atexit.register(shutdown_shared_pool)


class RayPool:
    """``n`` Ray actors running :class:`Worker` on the cluster at ``address`` (``local``: a new local Ray)."""

    def __init__(self, spec: WorkerSpec, n: int, address: str) -> None:
        try:
            import ray
        except ImportError as e:
            raise InvalidInputError(
                f"--ray {address}: Ray is not installed ({e}); install the extra: pip install -e '.[ray]'"
            ) from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
            if address == "local":
                kwargs["num_cpus"] = max(n, os.cpu_count() or 1)
                kwargs["include_dashboard"] = False
            else:
                kwargs["address"] = address
            # the workers import rabbit_rag from the same installation (a cluster installs it on every node)
            ray.init(**kwargs)
            self._started = True
        actor = ray.remote(num_cpus=1)(Worker)
        self._actors = [actor.remote(spec) for _ in range(n)]
        self._next = 0

    def submit(self, item: WorkItem) -> Any:
        actor = self._actors[self._next % len(self._actors)]
        self._next += 1
        return actor.run.remote(item)

    def result(self, handle: Any) -> WorkResult:
        return self._ray.get(handle)

    def close(self) -> None:
        for a in self._actors:
            with contextlib.suppress(Exception):
                self._ray.get(a.close.remote())
            with contextlib.suppress(Exception):
                self._ray.kill(a)
        if self._started:
            self._ray.shutdown()


def make_pool(spec: WorkerSpec, workers: int, ray_address: str | None) -> ProcessPool | RayPool:
    """Ray actors for this ingest, or the process's shared local pool (:class:`SharedProcessPool`)."""
    return RayPool(spec, workers, ray_address) if ray_address else SharedProcessPool.acquire(spec, workers)


# -- the writer's side ------------------------------------------------------------------------------
def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _dispatch(ing: _Ingest, item: _Item, seq: int) -> WorkItem | None:
    """What the serial ``prepare`` does before parsing: known-unchanged files end here (outcome set);
    the others become a :class:`WorkItem` with their bytes."""
    from rabbit_rag.ingest.pipeline import FileOutcome

    try:
        if item.document is not None:
            doc = item.document
            item.content_hash = _sha256(doc.text)
            uri = doc.key
            ing.seen_uris.add(uri)
            stored = ing.writer.find(uri)
            if stored is not None and stored.content_hash == item.content_hash:
                item.outcome = FileOutcome(item.source, "unchanged", doc_id=stored.doc_id, chunks=stored.n_chunks)
                return None
            item.update = stored is not None
            return WorkItem(seq, item.source, document=doc)
        assert item.path is not None
        st = item.path.stat()
        item.size = st.st_size
        uri = item.source if item.staged else item.path.resolve().as_posix()
        item.mtime_ns = None if item.staged else st.st_mtime_ns
        ing.seen_uris.add(uri)
        stored = ing.writer.find(uri)
        if (
            stored is not None
            and item.mtime_ns is not None
            and (stored.size, stored.mtime_ns) == (item.size, item.mtime_ns)
        ):
            item.outcome = FileOutcome(item.source, "unchanged", doc_id=stored.doc_id, chunks=stored.n_chunks)
            return None
        limit = ing.options.max_file_bytes
        if limit is not None and st.st_size > limit:
            raise DocumentError(
                item.source,
                f"the file is {st.st_size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB "
                "(raise it with RABBIT_RAG_MAX_FILE_MB)",
            )
        try:
            data = item.path.read_bytes()
        except PermissionError as e:
            raise DocumentError(item.source, f"cannot read the file: permission denied ({item.path})") from e
        item.content_hash = _sha256(data)
        if stored is not None and stored.content_hash == item.content_hash:
            if not item.staged:
                ing.writer.touch(stored.doc_id, item.size, item.mtime_ns)
            item.outcome = FileOutcome(item.source, "unchanged", doc_id=stored.doc_id, chunks=stored.n_chunks)
            return None
        item.update = stored is not None
        return WorkItem(seq, item.source, data=data)
    except DocumentError as e:
        item.outcome = FileOutcome(item.source, "failed", e.reason)
    except OSError as e:
        item.outcome = FileOutcome(item.source, "failed", f"cannot read: {e.strerror or e}")
    finally:
        if item.staged and item.path is not None:
            item.path.unlink(missing_ok=True)
    return None


def _apply(ing: _Ingest, item: _Item, res: WorkResult) -> None:
    """Write one worker result through the single writer (in WRITE_BATCH slices, as the serial path)."""
    from rabbit_rag.ingest.pipeline import WRITE_BATCH, FileOutcome

    if res.doc is None:
        item.outcome = FileOutcome(item.source, res.status or "failed", res.reason)  # type: ignore[arg-type]
        return
    doc = res.doc
    if item.path is not None:
        uri = item.source if item.staged else item.path.resolve().as_posix()
        meta = {**doc.metadata, "bytes": item.size} if item.staged else doc.metadata
        doc = dataclasses.replace(doc, source=item.source, uri=uri, metadata=meta)
    if not res.spans:
        item.outcome = FileOutcome(item.source, "skipped", "no sentences found in the text")
        return
    try:
        for i in range(0, len(res.spans), WRITE_BATCH):
            vecs = None if res.vectors is None else res.vectors[i : i + WRITE_BATCH]
            ing._write(item, doc, res.spans[i : i + WRITE_BATCH], vecs)
        item.outcome = ing._finish(item)
    except DocumentError as e:
        if item.doc_id is not None:
            ing.writer.cancel_document()
        item.outcome = FileOutcome(item.source, "failed", e.reason)


def run_parallel(
    ing: _Ingest, items: Iterable[_Item], progress: tqdm | None, on_outcome: OutcomeCallback | None
) -> None:
    """Run the ingest ``ing`` with ``ing.options.workers`` workers (local processes or Ray actors)."""
    from rabbit_rag.text.kiwi import kiwi_workers

    opts = ing.options
    n = max(1, opts.workers)
    spec = WorkerSpec(
        chunk_tokens=ing.writer.chunk_tokens,
        overlap_sentences=ing.writer.overlap_sentences,
        embed_model=ing.writer.manifest["embedding"].get("model") if ing.embedder is not None else None,
        options=opts,
        kiwi_threads=max(1, kiwi_workers() // n) if not opts.ray_address else 1,
    )
    pool = make_pool(spec, n, opts.ray_address)
    window: deque[tuple[_Item, Any]] = deque()
    last = time.monotonic()

    def finish() -> None:
        nonlocal last
        item, handle = window.popleft()
        if handle is not None:
            _apply(ing, item, pool.result(handle))
        last = ing.done(item, progress, on_outcome, last)

    try:
        for seq, item in enumerate(items):
            work = _dispatch(ing, item, seq)
            window.append((item, pool.submit(work) if work is not None else None))
            while len(window) > 2 * n:
                finish()
        while window:
            finish()
    finally:
        if isinstance(pool, RayPool):
            pool.close()
        else:
            for _item, handle in window:  # stopped part-way (an error): cancel what is still queued
                if handle is not None:
                    handle.cancel()
            SharedProcessPool.release(pool)


__all__ = [
    "ProcessPool", "RayPool", "SharedProcessPool", "Worker", "WorkerSpec", "run_parallel", "shutdown_shared_pool",
]  # fmt: skip
