"""The write side, run on a collection's worker thread: ingesting staged uploads, removing documents.

Uploads go through the same ingest entry point as ``rabbit-rag ingest``
(:func:`rabbit_rag.ingest.ingest_files`: staged files as ``(path, label)`` pairs, the same limits,
parser isolation and type detection), and both writes end by swapping in the collection's new snapshot.

예::

    job = state.submit("헌법", "ingest", lambda job: run_ingest(job, state.collections, "헌법", files, settings))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rabbit_rag.api.collections import CollectionRegistry
from rabbit_rag.api.errors import scrub_paths
from rabbit_rag.api.jobs import Job
from rabbit_rag.api.uploads import StagedFile
from rabbit_rag.errors import IndexNotFoundError
from rabbit_rag.ingest import FileOutcome, IngestOptions, ingest_files
from rabbit_rag.settings import Settings


def run_ingest(
    job: Job, collections: CollectionRegistry, name: str, files: Sequence[StagedFile], settings: Settings
) -> dict[str, Any]:
    """The body of an upload job: ingest the staged files (one writer), swap the snapshot, report."""

    roots = (str(collections.root),)

    def outcome(o: FileOutcome) -> None:
        if o.reason:
            o.reason = scrub_paths(o.reason, roots)  # a reader's message may name a server path
        job.file_outcome(o)
        job.files_done += 1

    try:
        if not collections.exists(name):  # deleted while the job waited: do not recreate it
            raise IndexNotFoundError(f"collection {name!r} was deleted before the upload was indexed")
        report = ingest_files(
            [(f.path, f.label) for f in files],
            collections.path(name),
            options=IngestOptions.from_settings(settings),
            on_outcome=outcome,
            keep_files=True,  # until the job is done: a restart runs it again from these files
        )
    finally:
        for f in files:  # the job is over (committed, or failed for good): its staged files go
            f.path.unlink(missing_ok=True)
    collections.reload(name)
    out = report.to_dict()
    out.pop("index", None)  # a server path; the job already names its collection
    for entry in (*out["failed"], *out["skipped"]):
        entry["reason"] = scrub_paths(entry["reason"], roots)
    return out


def remove_document(collections: CollectionRegistry, name: str, doc_id: str) -> bool:
    """Remove one document (a new generation without it); whether it was there."""
    if not collections.exists(name):
        raise IndexNotFoundError(f"collection {name!r} does not exist")
    with IngestOptions.from_settings(collections.settings).writer(collections.path(name)) as writer:
        removed = writer.remove(doc_id)
    if removed:
        collections.reload(name)
    return removed
