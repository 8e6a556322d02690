"""The write side, run on a collection's worker thread: ingesting staged uploads, removing documents.

Both go through the library's one writer (``rabbit_rag.ingest.pipeline.ingest_documents`` / ``IndexWriter``),
and both end by swapping the collection's open snapshot to the new generation.

예::

    job = state.submit("헌법", "ingest", lambda job: run_ingest(job, state.collections, "헌법", files, settings))
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rabbit_rag.api.collections import CollectionRegistry
from rabbit_rag.api.jobs import Job
from rabbit_rag.api.uploads import StagedFile
from rabbit_rag.ingest.pipeline import ingest_documents
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.isolation import ParseWorker
from rabbit_rag.ingest.readers.limits import MB, ReadLimits

from rabbit_rag.errors import DocumentError, EmptyDocumentError, IndexNotFoundError
from rabbit_rag.index.store import IndexWriter
from rabbit_rag.settings import Settings
from rabbit_rag.types import Document


def _documents(
    job: Job, files: Sequence[StagedFile], parse: Callable[[bytes, str], Document], max_bytes: int
) -> Iterator[Document]:
    """Parse the staged files one by one for the pipeline; unreadable ones become per-file errors."""
    for f in files:
        try:
            if f.size > max_bytes:
                raise DocumentError(
                    f.label,
                    f"the file is {f.size / MB:.1f} MB; the limit is {max_bytes / MB:.0f} MB (RABBIT_RAG_MAX_FILE_MB)",
                )
            doc = parse(f.path.read_bytes(), f.label)
            yield dataclasses.replace(doc, source=f.label, metadata={**doc.metadata, "bytes": f.size})
        except EmptyDocumentError as e:
            job.file_outcome(f.label, "skipped", e.reason)
        except DocumentError as e:
            job.file_outcome(f.label, "failed", e.reason)
        except OSError as e:
            job.file_outcome(f.label, "failed", f"cannot read the staged upload: {e.strerror or e}")
        finally:
            f.path.unlink(missing_ok=True)
            job.files_done += 1


def run_ingest(
    job: Job, collections: CollectionRegistry, name: str, files: Sequence[StagedFile], settings: Settings
) -> dict[str, Any]:
    """The body of an upload job: parse, ingest (one writer), swap the snapshot, report."""
    try:
        if not collections.exists(name):  # deleted while the job waited: do not recreate it
            raise IndexNotFoundError(f"collection {name!r} was deleted before the upload was indexed")
        path = collections.path(name)
        # the same limits and isolation as `rabbit-rag ingest`: a hostile file is killed with its parser
        limits = ReadLimits(max_unpacked_bytes=int(settings.max_unpacked_mb * MB), timeout_s=settings.parse_timeout_s)
        worker = ParseWorker(limits, settings.parse_memory_mb or None) if settings.parse_isolation else None
        parse = worker.read if worker else functools.partial(read_bytes, limits=limits)
        try:
            docs = _documents(job, files, parse, int(settings.max_file_mb * MB))
            report = ingest_documents(docs, path, settings=settings, progress=False, total=len(files))
        finally:
            if worker is not None:
                worker.close()
    finally:
        for f in files:
            f.path.unlink(missing_ok=True)
    collections.reload(name)
    for outcome in report.files:
        job.file_outcome(outcome.source, outcome.status, outcome.reason, doc_id=outcome.doc_id, chunks=outcome.chunks)
    out = report.to_dict()
    out.pop("index", None)  # a server path; the job already names its collection
    # files that never reached the pipeline (unreadable uploads) count too
    for status in ("failed", "skipped"):
        out[status] = [{"source": f["source"], "reason": f["reason"] or ""} for f in job.files if f["status"] == status]
    return out


def remove_document(collections: CollectionRegistry, name: str, doc_id: str) -> bool:
    """Remove one document (a new generation without it); whether it was there."""
    if not collections.exists(name):
        raise IndexNotFoundError(f"collection {name!r} does not exist")
    with IndexWriter(collections.path(name)) as writer:
        removed = writer.remove(doc_id)
    if removed:
        collections.reload(name)
    return removed
