"""Publishing a generation, and repairing an index whose search files lag its docstore.

The docstore commit is the moment data is acknowledged; :func:`publish` then derives the search files
of that revision (``gen-<revision>/``), points the manifest at them and collects rows no reader can
still ask for. A crash between the commit and the publish leaves the manifest one revision behind;
:func:`repair` notices and publishes again from the docstore (no re-embedding). Both run only under
the writer lock: a reader never writes except through :func:`repair`, which takes that lock.

예::

    repair(Path("indexes/헌법"))   # True when it had to rebuild the search files
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rabbit_rag.index.docstore import DOCSTORE_FILE, DocStore, now_iso
from rabbit_rag.index.fsio import WriterLock
from rabbit_rag.index.generation import build_generation, prune_generations
from rabbit_rag.index.manifest import package_versions, read_manifest, write_manifest
from rabbit_rag.notices import notice


def published_revision(manifest: dict[str, Any]) -> int | None:
    """The docstore revision of the manifest's current generation (None before the first publish)."""
    return (manifest.get("generation") or {}).get("revision")


def publish(index_dir: Path, store: DocStore, manifest: dict[str, Any]) -> None:
    """Build the generation of the docstore's current revision and point the manifest at it.

    The caller holds the writer lock and ``store`` is open for writing. ``manifest`` is updated in place.
    """
    revision = store.revision()
    previous = published_revision(manifest)
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


def repair(index_dir: Path) -> bool:
    """Publish the docstore's revision when the manifest lags it (a crash between commit and publish).

    Takes the writer lock without waiting: when a writer holds it, that writer will publish itself and
    nothing is done here. Returns whether search files were rebuilt.
    """
    lock = WriterLock(index_dir)
    if not lock.acquire(blocking=False):
        return False
    try:
        manifest = read_manifest(index_dir)
        store = DocStore(Path(index_dir) / DOCSTORE_FILE)
        try:
            if published_revision(manifest) == store.revision():
                return False
            notice(f"{index_dir}: search files are older than the docstore; rebuilding them")
            publish(index_dir, store, manifest)
            return True
        finally:
            store.close()
    finally:
        lock.release()
