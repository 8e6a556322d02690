"""Generations: the derived search files of one docstore revision, published atomically.

``gen-<revision>/`` holds the BM25 matrix, the row → chunk-id map, the chunk → document map and the
FAISS index. It is written as ``.gen-<revision>.tmp``, fsynced and renamed; the manifest then points
at it. A reader keeps the generation it opened, so it sees the old or the new index, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.errors import IndexCorruptError
from rabbit_rag.index.bm25 import BM25Matrix, BM25Scorer
from rabbit_rag.index.docstore import DocStore
from rabbit_rag.index.fsio import fsync_dir, load_npy, save_npy, write_json_file
from rabbit_rag.index.vectors import FAISS_FILE, VectorIndex


def generation_dir_name(revision: int) -> str:
    return f"gen-{revision:08d}"


@dataclass
class Generation:
    """The loaded search structures of one revision."""

    revision: int
    path: Path
    chunk_ids: np.ndarray  # BM25 row -> chunk id (ascending)
    doc_ord: np.ndarray  # BM25 row -> position in doc_ids
    doc_ids: list[str]
    sources: list[str]
    bm25: BM25Scorer
    _vectors: VectorIndex | None = None
    has_vectors: bool = False

    @property
    def vectors(self) -> VectorIndex | None:
        """The FAISS index, loaded on first dense search."""
        if self._vectors is None and self.has_vectors:
            self._vectors = VectorIndex.load(self.path / FAISS_FILE)
        return self._vectors

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def row_mask(
        self, doc_ids: set[str] | None = None, source_match: Callable[[str], bool] | None = None
    ) -> np.ndarray:
        """1.0 for chunk rows of the matching documents, 0.0 elsewhere (a bm25s weight mask)."""
        wanted = np.array(
            [
                (doc_ids is None or d in doc_ids) and (source_match is None or source_match(s))
                for d, s in zip(self.doc_ids, self.sources, strict=True)
            ],
            dtype=bool,
        )
        if not len(wanted):
            return np.zeros(len(self.chunk_ids), np.float32)
        return wanted[self.doc_ord].astype(np.float32)


def load_generation(index_dir: Path, revision: int, bm25_params: dict[str, Any]) -> Generation:
    path = Path(index_dir) / generation_dir_name(revision)
    try:
        meta = json.loads((path / "generation.json").read_text(encoding="utf-8"))
        chunk_ids = load_npy(path / "chunk_ids.npy")
        doc_ord = load_npy(path / "doc_ord.npy")
        matrix = BM25Matrix.load(path, n_docs=len(chunk_ids))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, json.JSONDecodeError) as e:
        raise IndexCorruptError(f"{path}: unreadable generation files ({e})") from e
    return Generation(
        revision=revision,
        path=path,
        chunk_ids=chunk_ids,
        doc_ord=doc_ord,
        doc_ids=meta["doc_ids"],
        sources=meta["sources"],
        bm25=BM25Scorer(matrix, bm25_params),
        has_vectors=bool(meta.get("vectors")),
    )


def _decode_f16(blob: bytes, dim: int) -> np.ndarray:
    v = np.frombuffer(blob, dtype="<f2")
    if v.size != dim:
        raise IndexCorruptError(f"stored embedding has {v.size} values, expected {dim}")
    return v


def _vectors_of(rows: Iterable[tuple[int, bytes]], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids and float32 vectors from ``(chunk_id, float16 blob)`` rows."""
    ids: list[int] = []
    vecs: list[np.ndarray] = []
    for cid, blob in rows:
        ids.append(cid)
        vecs.append(_decode_f16(blob, dim))
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    return np.asarray(ids, np.int64), np.vstack(vecs).astype(np.float32)


def _build_vectors(
    index_dir: Path, store: DocStore, revision: int, previous: int | None, dim: int, n_live: int
) -> VectorIndex:
    """Derive the FAISS index: update the previous generation's when possible, else rebuild."""
    prev_file = Path(index_dir) / generation_dir_name(previous) / FAISS_FILE if previous is not None else None
    if prev_file is not None and prev_file.is_file():
        try:
            vi = VectorIndex.load(prev_file)
            if vi.dim == dim:
                vi.remove(store.chunk_ids_removed_after(previous))
                ids, vecs = _vectors_of(store.embeddings_added_after(previous), dim)
                vi.add(ids, vecs)
                if len(vi) == n_live:
                    return vi
        except (RuntimeError, IndexCorruptError):
            pass  # fall through to a full rebuild from the docstore
    vi = VectorIndex.empty(dim)
    ids, vecs = _vectors_of(store.live_embeddings(), dim)
    vi.add(ids, vecs)
    return vi


def build_generation(
    index_dir: Path,
    store: DocStore,
    revision: int,
    bm25_params: dict[str, Any],
    dim: int | None,
    previous: int | None,
) -> dict[str, int]:
    """Write ``gen-<revision>/`` from the docstore's live rows. The caller holds the writer lock."""
    index_dir = Path(index_dir)
    final = index_dir / generation_dir_name(revision)
    if final.exists():
        shutil.rmtree(final)
    tmp = index_dir / f".{final.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        chunk_ids: list[int] = []
        doc_pos: dict[str, int] = {}
        doc_ord: list[int] = []
        corpus: list[np.ndarray] = []
        for cid, doc_id, blob in store.iter_live_terms():
            chunk_ids.append(cid)
            doc_ord.append(doc_pos.setdefault(doc_id, len(doc_pos)))
            corpus.append(np.frombuffer(blob, dtype="<u4"))
        vocab_size = store.counts()["vocabulary"]
        BM25Matrix.build(corpus, vocab_size, bm25_params).save(tmp)
        del corpus
        save_npy(tmp / "chunk_ids.npy", np.asarray(chunk_ids, np.int64))
        save_npy(tmp / "doc_ord.npy", np.asarray(doc_ord, np.int32))
        doc_ids = list(doc_pos)
        sources = [d.source for d in (store.get_document(i) for i in doc_ids) if d is not None]
        if len(sources) != len(doc_ids):
            raise IndexCorruptError(f"{index_dir}: live chunks point at missing documents")
        n_vectors = 0
        if dim:
            vi = _build_vectors(index_dir, store, revision, previous, dim, store.counts()["vectors"])
            vi.save(tmp / FAISS_FILE)
            n_vectors = len(vi)
        write_json_file(
            tmp / "generation.json",
            {"revision": revision, "doc_ids": doc_ids, "sources": sources, "vectors": n_vectors > 0,
             "n_chunks": len(chunk_ids), "n_vectors": n_vectors},
        )  # fmt: skip
        fsync_dir(tmp)
        os.rename(tmp, final)
        fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"chunks": len(chunk_ids), "vectors": n_vectors, "documents": len(doc_ids)}


def prune_generations(index_dir: Path, keep: set[int]) -> None:
    """Delete generation folders other than ``keep`` (and stale temporary ones)."""
    for p in Path(index_dir).iterdir():
        name = p.name
        if name.startswith("gen-") and p.is_dir():
            with contextlib.suppress(ValueError):
                if int(name[4:]) not in keep:
                    shutil.rmtree(p, ignore_errors=True)
        elif name.startswith(".gen-") and name.endswith(".tmp"):
            shutil.rmtree(p, ignore_errors=True)
