"""``manifest.json``: what an index is, what built it, and which generation is current.

The manifest carries a checksum of its own content and, for the current generation, the size and
checksum of every file in ``gen-<revision>/`` (:mod:`rabbit_rag.index.checksums`), so a damaged file
is noticed when it is opened instead of answering wrong. What the index *is* (format, tokenizer,
embedding, chunking, BM25 parameters: :func:`manifest_config`) is also kept in the docstore, so a lost
or damaged manifest is rebuilt from it (:func:`manifest_from_config`) like any other derived file.

Format versions: 2 (this one) keeps document versions and checksums; 1 is read and migrated to 2 by
the first write (:meth:`rabbit_rag.index.docstore.DocStore.migrate`).
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from rabbit_rag.embeddings import is_none_model
from rabbit_rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rabbit_rag.index.docstore import now_iso
from rabbit_rag.index.fsio import atomic_write_json
from rabbit_rag.text.terms import tokenizer_settings

MANIFEST_FILE = "manifest.json"
FORMAT = "rabbit-rag-index"
FORMAT_VERSION = 2
#: Versions this code opens: 1 is read as is and migrated to 2 by the first write.
READABLE_FORMAT_VERSIONS = (1, 2)
#: The keys that say what an index is (kept in the docstore too, see :func:`manifest_config`).
CONFIG_KEYS = ("format", "format_version", "created_at", "tokenizer", "embedding", "chunking", "bm25", "vector_index")


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
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise IndexCorruptError(f"{path}: the manifest cannot be read ({e.strerror or e})") from None
    except ValueError as e:  # not UTF-8, not JSON
        raise IndexCorruptError(f"{path}: the manifest is damaged ({_one_line(e)})") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path}: the manifest is damaged (not a JSON object)")
    recorded = manifest.get("checksum")
    if recorded is not None and recorded != manifest_checksum(manifest):
        raise IndexCorruptError(f"{path}: the manifest is damaged (it does not match its checksum)")
    if manifest.get("format") != FORMAT:
        raise IndexNotFoundError(f"{path}: not a rabbit-rag manifest (format={manifest.get('format')!r})")
    if manifest.get("format_version") not in READABLE_FORMAT_VERSIONS:
        raise IndexMismatchError(
            f"{index_dir}: index format version {manifest.get('format_version')} but this rabbit-rag reads "
            f"versions {', '.join(map(str, READABLE_FORMAT_VERSIONS))}; upgrade rabbit-rag, or ingest into a new folder"
        )
    for key in ("embedding", "chunking", "bm25", "tokenizer"):
        if not isinstance(manifest.get(key), dict):
            raise IndexCorruptError(f"{path}: the manifest is damaged (no {key!r} entry)")
    return manifest


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:200]


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's content without its ``checksum`` key (canonical JSON)."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def write_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically, with its checksum (updated in ``manifest`` too)."""
    manifest.pop("checksum", None)
    manifest["checksum"] = manifest_checksum(manifest)
    atomic_write_json(Path(index_dir) / MANIFEST_FILE, manifest)


def manifest_config(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the index is — format, tokenizer, embedding, chunking, BM25, the vector index asked for —
    without what changes with each publish (generation, counts, versions). The writer keeps a copy in
    the docstore, so a manifest rebuilt from it builds the next generation the same way."""
    return {k: manifest[k] for k in CONFIG_KEYS if k in manifest}


def manifest_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """A manifest rebuilt from :func:`manifest_config` (no generation yet: publishing sets it)."""
    manifest = {**config, "format_version": FORMAT_VERSION}
    manifest.update(
        updated_at=now_iso(),
        versions=package_versions(),
        generation=None,
        counts={"documents": 0, "chunks": 0, "vectors": 0, "vocabulary": 0},
    )
    return manifest


def check_tokenizer(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse an index whose BM25 terms were made by another term function."""
    built = manifest.get("tokenizer", {})
    current = tokenizer_settings()
    if "kiwi_options" not in built and {**built, "kiwi_options": current.get("kiwi_options")} == current:
        # Built before the shared Kiwi left out its typo and multi-word dictionaries (text/kiwi.py): the
        # same term function otherwise, and nearly the same terms (KorQuAD BM25 recall within 0.002).
        # Refusing would make every existing index unreadable after an upgrade; say it once instead.
        from rabbit_rag.notices import notice

        notice(
            f"{index_dir}: built with Kiwi's typo and multi-word dictionaries, which rabbit-rag now leaves "
            "out; it is searched as it is, and re-ingesting it into a new folder makes its terms match exactly"
        )
        return
    if built != current:
        diff = {
            k: (built.get(k), current.get(k)) for k in current.keys() | built.keys() if built.get(k) != current.get(k)
        }
        other_kiwi = f", or install kiwipiepy {built['kiwi']}.x" if set(diff) == {"kiwi"} and built.get("kiwi") else ""
        raise IndexMismatchError(
            f"{index_dir}: built with tokenizer settings that differ from this installation "
            f"(index vs here: {diff}); BM25 scores would be garbage. Re-ingest the documents into a new "
            f"index folder{other_kiwi}."
        )


def check_write_request(
    index_dir: Path,
    manifest: dict[str, Any],
    *,
    embed_model: str | None,
    chunk_tokens: int | None,
    overlap_sentences: int | None,
) -> None:
    """Refuse to add to an index with an embedding model or chunking other than its own (None: "the
    index's own"). Vectors of different models cannot be compared, and chunks of different sizes would
    make one collection answer unevenly."""
    emb = manifest["embedding"]
    if embed_model is not None:
        asked_none = is_none_model(embed_model)
        built_none = emb.get("model") is None
        same = (asked_none and built_none and emb.get("requested") in (None, "none")) or embed_model in (
            emb.get("model"),
            emb.get("requested"),
        )
        if not same:
            raise IndexMismatchError(
                f"{index_dir}: built with embedding model {emb.get('model') or 'none'!r}"
                f" (requested {emb.get('requested')!r}), asked for {embed_model!r}; ingest into a new "
                "index folder to change models, or leave --embed-model out to use the index's own"
            )
    ch = manifest["chunking"]
    for name, asked in (("max_tokens", chunk_tokens), ("overlap_sentences", overlap_sentences)):
        if asked is not None and asked != ch[name]:
            raise IndexMismatchError(
                f"{index_dir}: built with chunking {name}={ch[name]}, asked for {asked}; "
                "use a new index folder to change chunking"
            )


def embedding_entry(
    requested: str, model: str | None, dim: int | None, max_tokens: int | None, reason: str | None
) -> dict[str, Any]:
    """The manifest's ``embedding``: the model whose vectors the index stores (None: BM25 only), what was
    asked for and, when a model was asked for but could not load, why."""
    if model is None:
        entry: dict[str, Any] = {"model": None, "requested": requested, "dim": None}
        if reason:
            entry["reason"] = reason
        return entry
    return {"model": model, "requested": requested, "dim": dim, "max_tokens": max_tokens, "normalized": True,
            "dtype": "float16"}  # fmt: skip


def chunking_entry(chunk_tokens: int, overlap_sentences: int, model: str | None) -> dict[str, Any]:
    """The manifest's ``chunking`` (``max_tokens`` is the on-disk name of the chunk budget)."""
    return {
        "max_tokens": chunk_tokens,
        "overlap_sentences": overlap_sentences,
        "unit": f"model:{model}" if model else "kiwi-morphemes",
    }


def new_manifest(
    embedding: dict[str, Any], chunking: dict[str, Any], bm25: dict[str, Any], vector_index: str = "auto"
) -> dict[str, Any]:
    """A new index's manifest. ``vector_index`` is the kind of FAISS index asked for (``auto``, ``flat``,
    ``ivf``); the kind each generation was built with is recorded under ``generation.vector_index``."""
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
        "vector_index": vector_index,
        "generation": None,
        "counts": {"documents": 0, "chunks": 0, "vectors": 0, "vocabulary": 0},
    }
