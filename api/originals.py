"""The original bytes of PDF documents, for page images: kept for uploads, found by path for the CLI.

The index keeps only normalized text, but a page image needs the PDF itself. Where it comes from:

- **API uploads**: the ingest job keeps a copy of each uploaded PDF that reached the index, at
  ``<collection>/originals/<doc_id>.<hash>.pdf`` where ``<hash>`` starts the document's
  ``content_hash`` in the index. Naming the copy by the indexed version means a page image is
  never drawn from another version than the text it highlights (an upload of a new version writes
  a new name, then the older copies of the document are removed). Deleting the document deletes
  its copies; deleting the collection deletes the folder with everything in it.
- **CLI ingests** (``rabbit-rag ingest``): the document's ``uri`` is the absolute path of the file,
  and its ``content_hash`` is the SHA-256 of the file's bytes; the file is used when it is still
  there with the same bytes (checked once per size and modification time).

예::

    path = find_original(collection_path, index.document(doc_id))   # None: no PDF to draw from
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rabbit_rag.api.collections import CollectionRegistry
from rabbit_rag.api.jobs import Job
from rabbit_rag.api.uploads import StagedFile
from rabbit_rag.api.writes import remove_document, run_ingest
from rabbit_rag.index.docstore import StoredDocument
from rabbit_rag.settings import Settings

ORIGINALS_DIR = "originals"
KEPT_SUFFIX = ".keep"
KEPT_READERS = frozenset({"pdf"})  # the formats page images are drawn for
_HASH_CHARS = 16


def original_path(collection_path: Path, doc_id: str, content_hash: str) -> Path:
    """Where an uploaded PDF of this document version is kept."""
    return collection_path / ORIGINALS_DIR / f"{doc_id}.{content_hash[:_HASH_CHARS]}.pdf"


def drop_originals(collection_path: Path, doc_id: str, keep: Path | None = None) -> int:
    """Remove the kept copies of ``doc_id`` (but ``keep``); how many were removed."""
    folder = collection_path / ORIGINALS_DIR
    n = 0
    if folder.is_dir():
        for p in folder.glob(f"{doc_id}.*.pdf"):
            if p != keep:
                p.unlink(missing_ok=True)
                n += 1
    return n


def _keep_staged(files: Sequence[StagedFile]) -> dict[str, Path]:
    """A second name for each staged PDF (a hard link: no copy) that outlives the job's own cleanup;
    by label (a later file of the same name in one upload replaces an earlier one, as in the index)."""
    kept: dict[str, Path] = {}
    for f in files:
        if f.reader not in KEPT_READERS:
            continue
        dest = f.path.with_name(f.path.name + KEPT_SUFFIX)
        try:
            os.link(f.path, dest)
        except OSError:  # a file system without hard links
            shutil.copyfile(f.path, dest)
        old = kept.pop(f.label, None)
        if old is not None:
            old.unlink(missing_ok=True)
        kept[f.label] = dest
    return kept


def ingest_keeping_originals(
    job: Job, collections: CollectionRegistry, name: str, files: Sequence[StagedFile], settings: Settings
) -> dict[str, Any]:
    """:func:`api.writes.run_ingest`, then the uploaded PDFs that are in the index are kept as
    ``originals/<doc_id>.<hash>.pdf`` (the rest of the kept bytes are removed)."""
    kept = _keep_staged(files)
    try:
        out = run_ingest(job, collections, name, files, settings)
        if kept:
            index = collections.get(name)
            folder = collections.path(name)
            for outcome in job.files:
                src = kept.pop(outcome.source, None)
                doc_id = outcome.doc_id
                if src is None or not doc_id or outcome.status not in ("added", "updated", "unchanged"):
                    if src is not None:
                        src.unlink(missing_ok=True)
                    continue
                doc = index.document(doc_id)
                if doc is None:
                    src.unlink(missing_ok=True)
                    continue
                dest = original_path(folder, doc_id, doc.content_hash)
                dest.parent.mkdir(exist_ok=True)
                os.replace(src, dest)
                drop_originals(folder, doc_id, keep=dest)
        return out
    finally:
        for p in kept.values():
            p.unlink(missing_ok=True)


def remove_document_and_originals(collections: CollectionRegistry, name: str, doc_id: str) -> bool:
    """:func:`api.writes.remove_document`, and the document's kept PDF copies with it."""
    removed = remove_document(collections, name, doc_id)
    if collections.exists(name):
        drop_originals(collections.path(name), doc_id)
    return removed


class SourceFiles:
    """Finds the PDF a document was indexed from; remembers verified CLI files by (size, mtime)."""

    def __init__(self) -> None:
        self._verified: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def find(self, collection_path: Path, doc: StoredDocument) -> tuple[Path | None, str]:
        """The PDF for ``doc`` and, when there is none, the reason in words."""
        kept = original_path(collection_path, doc.doc_id, doc.content_hash)
        if kept.is_file():
            return kept, ""
        uri = doc.uri
        if not uri.startswith("/"):
            return None, (
                "the original PDF of this document is not kept (it was uploaded before page images existed); "
                "upload the file again to see its pages"
            )
        path = Path(uri)
        try:
            st = path.stat()
        except OSError:
            return None, f"the file the document was indexed from is no longer there ({path.name})"
        stamp = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            digest = self._verified.get(stamp)
        if digest is None:
            h = hashlib.sha256()
            with contextlib.suppress(OSError), path.open("rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
            digest = h.hexdigest()
            with self._lock:
                if len(self._verified) > 10_000:
                    self._verified.clear()
                self._verified[stamp] = digest
        if digest != doc.content_hash:
            return None, (
                f"the file the document was indexed from ({path.name}) has changed since; "
                "ingest it again to see its pages"
            )
        return path, ""
