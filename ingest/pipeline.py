"""Incremental ingest: files (or documents) in, an up-to-date index out.

read → normalize → Kiwi sentences → chunks → BM25 term ids → embeddings → one docstore transaction
(checkpointed every ``checkpoint_seconds``) → a new generation of search files.

Unchanged files cost a ``stat`` (same size and mtime) or a hash (same bytes) and are never re-read
or re-embedded; a changed file's chunks are replaced; ``sync=True`` removes documents whose files
are gone. A file that fails is reported with its path and reason and the rest goes on. Interrupting
an ingest rolls back to the last checkpoint; the published index stays readable throughout.

예::

    from rabbit_rag.ingest import ingest_paths
    report = ingest_paths(["samples"], "indexes/헌법", embed_model="none")
    print(report.added, report.updated, report.unchanged)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from rabbit_rag.errors import DocumentError, EmptyDocumentError, InvalidInputError
from rabbit_rag.index import IndexWriter
from rabbit_rag.index.docstore import ChunkRow
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.index.manifest import MANIFEST_FILE, read_manifest
from rabbit_rag.ingest.options import IngestOptions, Parser
from rabbit_rag.ingest.readers import read_path, supported_extensions
from rabbit_rag.ingest.readers.structure import with_structure
from rabbit_rag.text.chunker import ChunkSpan, KiwiChunker
from rabbit_rag.types import Document

Status = Literal["added", "updated", "unchanged", "removed", "skipped", "failed"]
#: Hears about each file as soon as its outcome is known (e.g. an API job's progress).
OutcomeCallback = Callable[["FileOutcome"], None]
WRITE_BATCH = 64  # chunks embedded and written together (a GPU-friendly batch, bounded memory)


@dataclass(slots=True)
class FileOutcome:
    """What happened to one file (also its JSON shape in an ingest report and an API job)."""

    source: str
    status: Status
    reason: str | None = None
    doc_id: str | None = None
    chunks: int = 0


@dataclass
class IngestReport:
    """What an ingest did. ``to_dict()`` is the ``rabbit-rag ingest --json`` shape."""

    index: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embedding_model: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    files: list[FileOutcome] = field(default_factory=list)

    def record(self, outcome: FileOutcome) -> None:
        self.files.append(outcome)
        if outcome.status in ("added", "updated", "unchanged", "removed"):
            setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        elif outcome.status == "skipped":
            self.skipped.append({"source": outcome.source, "reason": outcome.reason or ""})
        else:
            self.failed.append({"source": outcome.source, "reason": outcome.reason or ""})

    def to_dict(self, with_files: bool = False) -> dict[str, Any]:
        out = {
            "index": self.index,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
            "failed": self.failed,
            "chunks_added": self.chunks_added,
            "embedded": self.embedded,
            "embedding_model": self.embedding_model,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
        }
        if with_files:
            out["files"] = [asdict(f) for f in self.files]
        return out


@dataclass(slots=True)
class _Item:
    """One unit of work: a file to read or a document given in memory."""

    source: str
    path: Path | None = None
    document: Document | None = None
    #: A staged upload: its identity is its label (``source``), not its path, and the file is deleted
    #: once read (unless ``keep``).
    staged: bool = False
    keep: bool = False
    outcome: FileOutcome | None = None
    content_hash: str = ""
    size: int | None = None
    mtime_ns: int | None = None
    update: bool = False
    doc_id: str | None = None  # set once the document's first chunks are written
    n_chunks: int = 0


def discover(paths: Sequence[str | Path], exclude: Path | None = None) -> tuple[list[_Item], list[FileOutcome]]:
    """Files under ``paths`` with a supported extension (hidden files and folders skipped).

    A named path that does not exist or cannot be listed is an error naming it. ``source`` is the
    path relative to the named folder's parent (``samples/kobill/1.txt``), or the file name.
    """
    items: list[_Item] = []
    problems: list[FileOutcome] = []
    exts = supported_extensions()
    seen: set[Path] = set()
    excluded = exclude.resolve() if exclude else None
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            problems.append(FileOutcome(str(raw), "failed", "no such file or folder"))
            continue
        if p.is_file():
            files = [(p, p.name)]
        else:
            root = p.resolve()
            try:
                found = sorted(f for f in root.rglob("*") if not f.is_dir())
            except OSError as e:
                problems.append(FileOutcome(str(raw), "failed", f"cannot list the folder: {e.strerror or e}"))
                continue
            files = []
            for f in found:
                rel = f.relative_to(root)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if excluded is not None and (f == excluded or excluded in f.parents):
                    continue
                source = (Path(root.name) / rel).as_posix()
                if not f.is_file():
                    if f.is_symlink():
                        problems.append(FileOutcome(source, "failed", f"broken link to {os.readlink(f)}"))
                    else:
                        problems.append(FileOutcome(source, "skipped", "not a regular file"))
                    continue
                if f.suffix.lower() not in exts:
                    problems.append(FileOutcome(source, "skipped", f"unsupported type ({f.suffix or 'no extension'})"))
                    continue
                files.append((f, source))
        for f, source in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                items.append(_Item(source=source, path=f))
    return items, problems


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


class _Ingest:
    """One run of the pipeline over a writer."""

    def __init__(self, writer: IndexWriter, report: IngestReport, options: IngestOptions, parse: Parser) -> None:
        self.writer = writer
        # explicit, not a context variable: prepare() may run on a thread Kiwi pulls input from
        self.parse = parse
        self.report = report
        self.options = options
        self.embedder = writer.embedder
        self.chunker = KiwiChunker(
            writer.chunk_tokens,
            writer.overlap_sentences,
            self.embedder.count_tokens if self.embedder else None,
        )
        self.seen_uris: set[str] = set()

    def prepare(self, item: _Item) -> Document | None:
        """Read the item if it changed; None when there is nothing to index (outcome recorded)."""
        try:
            return self._prepare(item)
        except EmptyDocumentError as e:
            item.outcome = FileOutcome(item.source, "skipped", e.reason)
        except DocumentError as e:
            item.outcome = FileOutcome(item.source, "failed", e.reason)
        except OSError as e:
            item.outcome = FileOutcome(item.source, "failed", f"cannot read: {e.strerror or e}")
        finally:
            if item.staged and not item.keep and item.path is not None:
                item.path.unlink(missing_ok=True)
        return None

    def _prepare(self, item: _Item) -> Document | None:
        doc: Document | None = None
        if item.document is not None:
            doc = with_structure(item.document)  # a document made in code: its lines still show structure
            item.content_hash = _sha256(doc.text)
            uri = doc.key
        else:
            assert item.path is not None
            st = item.path.stat()
            item.size = st.st_size
            # a file is known by its path (and skipped while its size and mtime stay the same); an upload
            # by its label, and only its content can say it is unchanged
            uri = item.source if item.staged else item.path.resolve().as_posix()
            item.mtime_ns = None if item.staged else st.st_mtime_ns
        self.seen_uris.add(uri)
        stored = self.writer.find(uri)
        if (
            stored is not None
            and item.mtime_ns is not None
            and (stored.size, stored.mtime_ns) == (item.size, item.mtime_ns)
        ):
            item.outcome = FileOutcome(item.source, "unchanged", doc_id=stored.doc_id, chunks=stored.n_chunks)
            return None
        if doc is None:
            assert item.path is not None
            doc, data = read_path(item.path, item.source, self.options.max_file_bytes, self.parse)
            item.content_hash = _sha256(data)
            if item.staged:
                doc = dataclasses.replace(doc, uri=uri, metadata={**doc.metadata, "bytes": len(data)})
        if stored is not None and stored.content_hash == item.content_hash:
            if item.path is not None and not item.staged:
                self.writer.touch(stored.doc_id, item.size, item.mtime_ns)
            item.outcome = FileOutcome(item.source, "unchanged", doc_id=stored.doc_id, chunks=stored.n_chunks)
            return None
        item.update = stored is not None
        if not doc.text.strip():
            raise EmptyDocumentError(item.source, "no text after normalization")
        return doc

    def _write(self, item: _Item, doc: Document, spans: list[ChunkSpan], vectors: np.ndarray | None = None) -> None:
        """Write a batch of the current document's chunks (embedding them first, unless a parallel
        worker already did: ``vectors``)."""
        if item.doc_id is None:
            meta = dict(doc.metadata)
            if doc.pages:
                meta["pages"] = len(doc.pages)
            item.doc_id, _ = self.writer.begin_document(
                uri=doc.key, source=item.source, title=doc.title, content_hash=item.content_hash, text=doc.text,
                metadata=meta, size=item.size, mtime_ns=item.mtime_ns,
            )  # fmt: skip
        texts = [doc.text[s.start : s.end] for s in spans]
        if vectors is None and self.embedder is not None:
            vectors = self.embedder.embed(texts)
        if vectors is not None:
            self.report.embedded += len(texts)
        rows = [
            ChunkRow(
                ord=item.n_chunks + i, start=s.start, end=s.end, text=t, n_tokens=s.n_tokens,
                term_ids=self.writer.term_ids(s.terms), page=s.page, section=s.section,
                embedding=None if vectors is None else vectors[i], blocks=s.blocks,
            )
            for i, (s, t) in enumerate(zip(spans, texts, strict=True))
        ]  # fmt: skip
        self.writer.add_chunks(item.doc_id, rows)
        item.n_chunks += len(rows)
        self.report.chunks_added += len(rows)

    def _finish(self, item: _Item) -> FileOutcome:
        if item.doc_id is None:
            return FileOutcome(item.source, "skipped", "no sentences found in the text")
        self.writer.end_document(item.doc_id, item.n_chunks)
        status: Status = "updated" if item.update else "added"
        return FileOutcome(item.source, status, doc_id=item.doc_id, chunks=item.n_chunks)

    def run(self, items: Iterable[_Item], progress: tqdm | None, on_outcome: OutcomeCallback | None) -> None:
        last = time.monotonic()
        pending: list[ChunkSpan] = []
        for batch in self.chunker.chunk_stream(items, self.prepare):
            item = batch.item
            if item.outcome is None and batch.doc is not None:
                try:
                    pending.extend(batch.spans)
                    if pending and (batch.last or len(pending) >= WRITE_BATCH):
                        self._write(item, batch.doc, pending)
                        pending = []
                    if batch.last:
                        item.outcome = self._finish(item)
                except DocumentError as e:
                    if item.doc_id is not None:
                        self.writer.cancel_document()
                    item.outcome = FileOutcome(item.source, "failed", e.reason)
                    pending = []
            if not batch.last:
                continue
            pending = []
            last = self.done(item, progress, on_outcome, last)

    def done(self, item: _Item, progress: tqdm | None, on_outcome: OutcomeCallback | None, last: float) -> float:
        """Report an item's outcome and checkpoint when it is time; returns the last checkpoint's time.

        Shared by the serial loop and the parallel runner (``rabbit_rag.ingest.parallel``)."""
        assert item.outcome is not None
        self.report.record(item.outcome)
        if on_outcome is not None:
            on_outcome(item.outcome)
        if progress is not None:
            # failures are listed once, in the report; the bar only counts them
            if item.outcome.status == "failed":
                progress.set_postfix(failed=len(self.report.failed), refresh=False)
            progress.update(1)
        if time.monotonic() - last > self.options.checkpoint_seconds:
            self.writer.checkpoint()
            last = time.monotonic()
        return last

    def sync(self) -> None:
        """Remove documents whose files are gone (documents added from memory are left alone)."""
        for doc_id, uri in self.writer.live_documents():
            if uri.startswith("/") and uri not in self.seen_uris and not Path(uri).exists():
                stored = self.writer.document(doc_id)
                if self.writer.remove(doc_id):
                    self.report.record(FileOutcome(stored.source if stored else uri, "removed", doc_id=doc_id))


def _execute(
    index: str | Path,
    items: list[_Item] | Iterable[_Item],
    total: int | None,
    *,
    options: IngestOptions | None,
    embed_model: str | None,
    sync: bool,
    progress: bool | None,
    pre: Sequence[FileOutcome] = (),
    chunk_tokens: int | None = None,
    chunk_overlap_sentences: int | None = None,
    on_outcome: OutcomeCallback | None = None,
) -> IngestReport:
    options = options or IngestOptions()
    t0 = time.perf_counter()
    report = IngestReport(index=str(index))
    for outcome in pre:
        report.record(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    folder = Path(index)
    new_index = not (folder / MANIFEST_FILE).exists()
    folder_existed = folder.is_dir()
    with options.writer(
        index, embed_model=embed_model, chunk_tokens=chunk_tokens, chunk_overlap_sentences=chunk_overlap_sentences
    ) as writer:
        report.embedding_model = writer.manifest["embedding"].get("model")
        parallel = options.workers > 1 or bool(options.ray_address)
        worker = None if parallel else options.parse_worker()  # parallel workers parse in their own children
        runner = _Ingest(writer, report, options, options.parser(worker))
        bar = _progress_bar(total, progress)
        try:
            if parallel:
                from rabbit_rag.ingest.parallel import run_parallel  # the same steps, spread over processes

                run_parallel(runner, items, bar, on_outcome)
            else:
                runner.run(items, bar, on_outcome)
        finally:
            bar.close()
            if worker is not None:
                worker.close()
        if sync:
            runner.sync()
    report.counts = dict(writer.manifest["counts"])
    if new_index and not report.counts.get("documents"):
        _remove_empty_index(folder, keep_folder=folder_existed)
    report.seconds = time.perf_counter() - t0
    return report


def _progress_bar(total: int | None, progress: bool | None) -> tqdm:
    """A bar on stderr: shown when stderr is a terminal (``progress=None``), or always / never.

    Some terminals report a size of 0 × 0 (a pseudo-terminal nobody sized: ``script``, some IDE and
    container consoles). tqdm then hides its bar as "below the screen's last row" and the user sees
    nothing at all; such a terminal gets 80 × 24 instead."""
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    ncols = nrows = None
    if not disable:
        try:
            size = os.get_terminal_size(sys.stderr.fileno())
            ncols, nrows = (size.columns or 80), (size.lines or 24)
        except OSError:
            ncols, nrows = 80, 24
    return tqdm(total=total, unit="doc", desc="ingest", file=sys.stderr, disable=disable, ncols=ncols, nrows=nrows)


def _remove_empty_index(folder: Path, keep_folder: bool) -> None:
    """Remove an index this ingest created and left without documents (nothing could be ingested), so
    a typo or a folder of unreadable files leaves nothing behind. Done under the writer lock, and only
    while the index still holds no documents (another writer may have got there first)."""
    lock = WriterLock(folder)
    if not lock.acquire(blocking=False):
        return
    try:
        try:
            if read_manifest(folder)["counts"].get("documents"):
                return
        except Exception:  # unreadable: not ours to judge
            return
        for child in folder.iterdir():
            if child.name == ".lock":
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    finally:
        lock.release()
    (folder / ".lock").unlink(missing_ok=True)
    if not keep_folder:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _nothing_to_ingest(paths: Sequence[str | Path], problems: Sequence[FileOutcome]) -> InvalidInputError:
    """The error for paths that hold no file a reader takes, naming each path and why."""
    missing = [o.source for o in problems if o.reason == "no such file or folder"]
    skipped = [o for o in problems if o.status == "skipped"]
    parts = [f"{m}: no such file or folder" for m in missing]
    if skipped:
        kinds = Counter(o.reason or "" for o in skipped)
        shown = "; ".join(f"{n} × {reason}" for reason, n in kinds.most_common(3))
        parts.append(f"{len(skipped)} file(s) skipped ({shown})")
    failed = [o for o in problems if o.status == "failed" and o.source not in missing]
    parts.extend(f"{o.source}: {o.reason}" for o in failed[:3])
    if not parts:
        parts.append(f"{', '.join(str(p) for p in paths)}: no files")
    exts = ", ".join(sorted(supported_extensions()))
    return InvalidInputError(f"nothing to ingest — {'; '.join(parts)}. rabbit-rag reads {exts}; nothing was written")


def ingest_paths(
    paths: Sequence[str | Path],
    index: str | Path,
    *,
    embed_model: str | None = None,
    sync: bool = False,
    options: IngestOptions | None = None,
    progress: bool | None = None,
    chunk_tokens: int | None = None,
    chunk_overlap_sentences: int | None = None,
) -> IngestReport:
    """Ingest files and folders into the index at ``index`` (created when new).

    ``embed_model``: a sentence-transformers id or folder, ``"none"`` for BM25 only, or None for the
    index's own model (or ``options.default_embed_model`` for a new index). ``progress``: None shows
    a bar when stderr is a terminal.

    Paths that hold no file a reader takes (a typo, a folder of other files) raise
    :class:`~rabbit_rag.errors.InvalidInputError` before anything is written; a new index into which
    nothing could be ingested (every file failed or was empty) is removed again.

    예: ``ingest_paths(["samples"], "indexes/헌법", embed_model="none")``
    """
    items, problems = discover(paths, exclude=Path(index))
    syncing = sync and (Path(index) / MANIFEST_FILE).exists()  # an empty folder may mean "remove everything"
    if not items and not syncing:
        raise _nothing_to_ingest(paths, problems)
    return _execute(
        index, items, len(items), options=options, embed_model=embed_model, sync=sync, progress=progress,
        pre=problems, chunk_tokens=chunk_tokens, chunk_overlap_sentences=chunk_overlap_sentences,
    )  # fmt: skip


def ingest_files(
    files: Sequence[tuple[str | Path, str]],
    index: str | Path,
    *,
    options: IngestOptions | None = None,
    embed_model: str | None = None,
    progress: bool | None = False,
    on_outcome: OutcomeCallback | None = None,
    keep_files: bool = False,
) -> IngestReport:
    """Ingest staged files — ``(path, label)`` pairs, e.g. uploads — into the index at ``index``.

    A staged file is known by its ``label`` (its path is a server-side name): the same label with new
    content replaces the old version. Each file is deleted once read, unless ``keep_files`` (the
    caller deletes them once the ingest is committed, so an interrupted one can run again).
    ``on_outcome`` hears about each file as it is done (added, updated, unchanged, skipped or
    failed, with the reason).

    예: ``ingest_files([(Path("/tmp/up/3f1c"), "공지/정전 안내.hwp")], "indexes/공지")``
    """
    items = [_Item(source=label, path=Path(path), staged=True, keep=keep_files) for path, label in files]
    return _execute(
        index, items, len(items), options=options, embed_model=embed_model, sync=False, progress=progress,
        on_outcome=on_outcome,
    )  # fmt: skip


def ingest_documents(
    documents: Iterable[Document],
    index: str | Path,
    *,
    embed_model: str | None = None,
    options: IngestOptions | None = None,
    progress: bool | None = None,
    total: int | None = None,
    chunk_tokens: int | None = None,
    chunk_overlap_sentences: int | None = None,
) -> IngestReport:
    """Ingest in-memory documents (already normalized). A document's identity is its ``uri`` or,
    without one, its ``source``; the same identity with new text replaces the old version. A document
    without blocks gets those its lines show (a title line, list items, pipe rows, FAQ pairs:
    :func:`~rabbit_rag.ingest.readers.structure.with_structure`).

    예: ``ingest_documents([Document(source="메모.txt", text="회의는 3시에 한다.")], "indexes/메모")``
    """
    if total is None and isinstance(documents, Sequence):
        total = len(documents)
    items = (_Item(source=d.source, document=d) for d in documents)
    return _execute(
        index, items, total, options=options, embed_model=embed_model, sync=False, progress=progress,
        chunk_tokens=chunk_tokens, chunk_overlap_sentences=chunk_overlap_sentences,
    )  # fmt: skip
