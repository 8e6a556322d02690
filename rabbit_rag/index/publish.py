"""Publishing a generation, and repairing an index whose derived files lag or are damaged.

The docstore commit is the moment data is acknowledged; :func:`publish` then derives the search files
of that revision (``gen-<revision>/``), points the manifest at them (with each file's checksum) and
collects rows no reader can still ask for. Everything but the docstore is derived: :func:`repair`
rebuilds a missing or damaged manifest (from the copy of the index's configuration the docstore
keeps) and missing, damaged or lagging search files (no re-embedding). Both run only under the writer
lock: a reader never writes except through :func:`repair`, which takes that lock.

예::

    repair(Path("indexes/헌법"))   # True when it had to rebuild something
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rabbit_rag.errors import IndexCorruptError, IndexNotFoundError
from rabbit_rag.index.checksums import verify_files
from rabbit_rag.index.docstore import DOCSTORE_FILE, DocStore, now_iso
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.index.generation import GENERATION_FILE, build_generation, collect_generations, generation_dir_name
from rabbit_rag.index.manifest import (
    FORMAT_VERSION,
    manifest_config,
    manifest_from_config,
    package_versions,
    read_manifest,
    write_manifest,
)
from rabbit_rag.index.vectors import DEFAULT_VECTOR_INDEX
from rabbit_rag.notices import notice

CONFIG_META_KEY = "config"
#: The files every generation has (generations published before checksums were recorded are checked
#: for these only).
BASE_FILES = (GENERATION_FILE, "chunk_ids.npy", "doc_ord.npy", "bm25_data.npy", "bm25_indices.npy", "bm25_indptr.npy")


def published_revision(manifest: dict[str, Any]) -> int | None:
    """The docstore revision of the manifest's current generation (None before the first publish)."""
    return (manifest.get("generation") or {}).get("revision")


def generation_files(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest's record of the current generation's files (size, checksum), if it has one."""
    return (manifest.get("generation") or {}).get("files")


def generation_problems(index_dir: Path, manifest: dict[str, Any]) -> list[str]:
    """What is wrong with the manifest's current generation: missing folder or files, sizes and
    checksums that do not match. Empty when it is intact (or there is none yet)."""
    revision = published_revision(manifest)
    if revision is None:
        return []
    folder = Path(index_dir) / generation_dir_name(revision)
    if not folder.is_dir():
        return [f"{folder.name}/ is missing"]
    files = generation_files(manifest)
    if files is None:
        return [f"{folder.name}/{n}: missing" for n in BASE_FILES if not (folder / n).is_file()]
    return [f"{folder.name}/{n}: {p}" for n, p in verify_files(folder, files)]


def stale_docstore_error(index_dir: Path, store_revision: int, published: int) -> IndexCorruptError:
    return IndexCorruptError(
        f"{Path(index_dir) / DOCSTORE_FILE}: the docstore is at revision {store_revision} but the search files "
        f"were built from revision {published}: the docstore is older than the index (restored from a backup, "
        "or damaged). If you restored it on purpose, `rabbit-rag check --index DIR --repair` rebuilds the "
        "search files from it; otherwise restore the newer docstore"
    )


def save_config(store: DocStore, manifest: dict[str, Any]) -> None:
    """Keep what the index is in the docstore, so a lost manifest can be rebuilt (no-op when current)."""
    config = json.dumps(manifest_config(manifest), sort_keys=True, ensure_ascii=False)
    if store.get_meta(CONFIG_META_KEY) != config:
        store.set_meta(CONFIG_META_KEY, config)


def restore_manifest(index_dir: Path, store: DocStore, why: str) -> dict[str, Any]:
    """A manifest rebuilt from the docstore's copy of the configuration (not yet written), or
    :class:`IndexCorruptError` saying why it cannot be."""
    raw = store.get_meta(CONFIG_META_KEY)
    if raw is None:
        raise IndexCorruptError(
            f"{index_dir}: {why}, and the docstore holds no copy of the index's configuration (an index "
            "last written by an older rabbit-rag): restore manifest.json from a backup, or ingest into a new folder"
        )
    try:
        config = json.loads(raw)
    except ValueError:
        raise IndexCorruptError(f"{index_dir}: {why}, and the docstore's copy of it is damaged too") from None
    return manifest_from_config(config)


def publish(index_dir: Path, store: DocStore, manifest: dict[str, Any]) -> None:
    """Build the generation of the docstore's current revision and point the manifest at it.

    The caller holds the writer lock and ``store`` is open for writing. ``manifest`` is updated in place.
    Rows removed before the previous generation (or before the oldest generation a reader still
    holds, if older) are collected, with the generation folders nobody holds.
    """
    revision = store.revision()
    previous = published_revision(manifest)
    emb = manifest["embedding"]
    stats = build_generation(
        index_dir, store, revision, manifest["bm25"], emb.get("dim") if emb.get("model") else None, previous,
        vector_index=manifest.get("vector_index", DEFAULT_VECTOR_INDEX), previous_files=generation_files(manifest),
    )  # fmt: skip
    manifest["generation"] = {"revision": revision, "vector_index": stats["vector_index"], "files": stats["files"]}
    # the generation's scan counted the live chunks and vectors: not again (a pass over every chunk row)
    manifest["counts"] = store.counts(chunks=stats["chunks"], vectors=stats["stored_vectors"])
    manifest["updated_at"] = now_iso()
    manifest["versions"] = package_versions()
    if store.schema >= 2:
        manifest["format_version"] = FORMAT_VERSION
    write_manifest(index_dir, manifest)

    def collect(oldest_held: int | None) -> None:
        if previous is None or previous >= revision:
            return
        horizon = previous if oldest_held is None else min(previous, oldest_held)
        store.begin()
        store.collect_garbage(keep_from_rev=horizon + 1)
        store.commit(revision)

    collect_generations(index_dir, {revision} | ({previous} if previous is not None else set()), collect)


def repair(index_dir: Path, *, verify: bool = True, force: bool = False, blocking: bool = False) -> bool:
    """Rebuild what is derived when it is missing, damaged or behind the docstore. Returns whether
    anything was rebuilt.

    - a missing or damaged ``manifest.json`` is rebuilt from the docstore's copy of the configuration;
    - search files are published again when the manifest lags the docstore (a crash between commit and
      publish) or, with ``verify``, when the current generation's files are missing or do not match
      their checksums;
    - a docstore *older* than the published generation is an error, unless ``force`` (the user restored
      it on purpose: ``rabbit-rag check --repair``).

    Takes the writer lock without waiting (unless ``blocking``): when a writer holds it, that writer
    publishes itself and nothing is done here. A damaged docstore raises :class:`IndexCorruptError`.
    """
    index_dir = Path(index_dir)
    if not (index_dir / DOCSTORE_FILE).exists():
        return False
    lock = WriterLock(index_dir)
    try:
        if not lock.acquire(blocking=blocking):
            return False
    except OSError:  # a read-only folder: nothing can be repaired here
        return False
    try:
        store = DocStore(index_dir / DOCSTORE_FILE, create=False)
        try:
            return _repair_locked(index_dir, store, verify=verify, force=force)
        finally:
            store.close()
    finally:
        lock.release()


def _repair_locked(index_dir: Path, store: DocStore, *, verify: bool, force: bool) -> bool:
    reason = None
    try:
        manifest = read_manifest(index_dir)
    except (IndexCorruptError, IndexNotFoundError) as e:
        manifest = restore_manifest(index_dir, store, str(e).split(": ", 1)[-1])
        reason = "manifest.json was missing or damaged"
    published = published_revision(manifest)
    revision = store.revision()
    if reason is None and published is not None and revision < published:
        if not force:
            raise stale_docstore_error(index_dir, revision, published)
        reason = f"the docstore (revision {revision}) is older than the search files (revision {published})"
    if reason is None and published != revision:
        reason = "the search files are older than the docstore"
    if reason is None and verify:
        problems = generation_problems(index_dir, manifest)
        if problems:
            reason = "damaged search files (" + "; ".join(problems[:3]) + ")"
    if reason is None:
        return False
    notice(f"{index_dir}: {reason}; rebuilding the derived files from the docstore")
    if published is not None and revision < published:
        manifest["generation"] = None  # nothing of the newer generation can be reused
    publish(index_dir, store, manifest)
    return True
