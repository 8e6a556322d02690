"""``manifest.json``: what an index is, what built it, and which generation is current."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from rabbit_rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rabbit_rag.index.fsio import atomic_write_json
from rabbit_rag.text.terms import tokenizer_settings

MANIFEST_FILE = "manifest.json"
FORMAT = "rabbit-rag-index"
FORMAT_VERSION = 1


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in (
        "rabbit-rag",
        "kiwipiepy",
        "kiwipiepy_model",
        "bm25s",
        "faiss-cpu",
        "sentence-transformers",
        "numpy",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = Path(index_dir) / MANIFEST_FILE
    if not Path(index_dir).is_dir():
        raise IndexNotFoundError(
            f"{index_dir}: no such index folder; create one with `rabbit-rag ingest PATH --index {index_dir}`"
        )
    if not path.is_file():
        raise IndexNotFoundError(
            f"{index_dir}: not a rabbit-rag index (no {MANIFEST_FILE}); point --index at a folder made by "
            "`rabbit-rag ingest`, or at a new or empty folder to create one"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise IndexCorruptError(f"{path}: unreadable manifest ({e})") from e
    if manifest.get("format") != FORMAT:
        raise IndexNotFoundError(f"{path}: not a rabbit-rag manifest (format={manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{index_dir}: index format version {manifest.get('format_version')} but this rabbit-rag reads "
            f"version {FORMAT_VERSION}; rebuild the index with this version (ingest into a new folder)"
        )
    return manifest


def write_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    atomic_write_json(Path(index_dir) / MANIFEST_FILE, manifest)


def check_tokenizer(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse an index whose BM25 terms were made by another term function."""
    built = manifest.get("tokenizer", {})
    current = tokenizer_settings()
    if built != current:
        diff = {
            k: (built.get(k), current.get(k)) for k in current.keys() | built.keys() if built.get(k) != current.get(k)
        }
        raise IndexMismatchError(
            f"{index_dir}: built with tokenizer settings that differ from this installation "
            f"(index vs here: {diff}); BM25 scores would be garbage. Re-ingest into a new index folder, "
            "or install the kiwipiepy version the index was built with."
        )


def new_manifest(embedding: dict[str, Any], chunking: dict[str, Any], bm25: dict[str, Any]) -> dict[str, Any]:
    from rabbit_rag.index.docstore import now_iso

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": now_iso(),
        "updated_at": now_iso(),
        "versions": package_versions(),
        "tokenizer": tokenizer_settings(),
        "embedding": embedding,
        "chunking": chunking,
        "bm25": bm25,
        "generation": None,
        "counts": {"documents": 0, "chunks": 0, "vectors": 0, "vocabulary": 0},
    }
