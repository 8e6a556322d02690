"""Generations: the derived search files of one docstore revision, published atomically.

``gen-<revision>/`` holds the BM25 matrix, the row → chunk-id map, the chunk → document map and the
FAISS index. It is written as ``.gen-<revision>.tmp``, fsynced and renamed; the manifest then points
at it and records each file's size and checksum, which opening verifies. A reader keeps the
generation it opened (and a shared lock on its ``generation.json``), so it sees the old or the new
index, never a mix, and the writer does not collect it while it is held.
"""

from __future__ import annotations

import json
import os
import shutil
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.errors import IndexCorruptError
from rabbit_rag.index.bm25 import BM25Matrix, BM25Scorer
from rabbit_rag.index.checksums import file_entries, verify_file, verify_files
from rabbit_rag.index.docstore import DocStore
from rabbit_rag.index.fsio import fsync_dir, hold_shared, load_npy, save_npy, try_exclusive, write_json_file
from rabbit_rag.index.vectors import FAISS_FILE, VectorIndex

GENERATION_FILE = "generation.json"
#: What loading a damaged file may raise (numpy: EOFError on a truncated .npy; FAISS: RuntimeError).
LOAD_ERRORS = (OSError, ValueError, EOFError, RuntimeError, KeyError, TypeError)


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
    #: the manifest's record of this generation's files (size and checksum), when it has one
    files: Mapping[str, Mapping[str, Any]] | None = None

    _hold_fd: int | None = None

    def hold(self, fd: int) -> None:
        """Keep ``fd`` (a shared lock on ``generation.json``) for as long as this object lives."""
        self._hold_fd = fd
        weakref.finalize(self, os.close, fd)

    def pin(self) -> int:
        """A descriptor that keeps holding this generation after this object is gone (``os.close`` it
        to let go): the writer keeps its folder and the docstore rows of its revision meanwhile."""
        if self._hold_fd is None:
            raise ValueError("this generation is not held")
        return os.dup(self._hold_fd)

    @property
    def vectors(self) -> VectorIndex | None:
        """The FAISS index, loaded (and its checksum verified) on first dense search."""
        if self._vectors is None and self.has_vectors:
            path = self.path / FAISS_FILE
            entry = (self.files or {}).get(FAISS_FILE)
            problem = verify_file(path, entry) if entry is not None else None
            if problem is not None:
                raise IndexCorruptError(f"{path}: {problem}")
            try:
                self._vectors = VectorIndex.load(path)
            except LOAD_ERRORS as e:
                raise IndexCorruptError(f"{path}: unreadable ({_one_line(e)})") from None
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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def load_generation(
    index_dir: Path, revision: int, bm25_params: dict[str, Any], files: Mapping[str, Mapping[str, Any]] | None = None
) -> Generation:
    """Open ``gen-<revision>/`` and hold it (a shared lock on its ``generation.json``).

    ``files`` (the manifest's record) is verified first: every file but the FAISS index, which is
    verified when it is loaded. Raises FileNotFoundError when the generation is gone or being
    collected (the caller reads the manifest again) and :class:`IndexCorruptError` naming the file
    when one is damaged."""
    path = Path(index_dir) / generation_dir_name(revision)
    fd = hold_shared(path / GENERATION_FILE)
    if fd is None:
        raise FileNotFoundError(path)  # a newer writer is collecting it
    try:
        if files is not None:
            missing = [n for n in files if not (path / n).exists()]
            if missing and not (path / GENERATION_FILE).exists():
                raise FileNotFoundError(path)
            problems = verify_files(path, files, skip=(FAISS_FILE,))
            if problems:
                raise IndexCorruptError(f"{path}: " + "; ".join(f"{n}: {p}" for n, p in problems))
        try:
            meta = json.loads(os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8"))
            chunk_ids = load_npy(path / "chunk_ids.npy")
            doc_ord = load_npy(path / "doc_ord.npy")
            matrix = BM25Matrix.load(path, n_docs=len(chunk_ids))
            gen = Generation(
                revision=revision,
                path=path,
                chunk_ids=chunk_ids,
                doc_ord=doc_ord,
                doc_ids=meta["doc_ids"],
                sources=meta["sources"],
                bm25=BM25Scorer(matrix, bm25_params),
                has_vectors=bool(meta.get("vectors")),
                files=files,
            )
        except FileNotFoundError:
            raise
        except LOAD_ERRORS as e:
            raise IndexCorruptError(f"{path}: unreadable generation files ({_one_line(e)})") from None
        if len(doc_ord) != len(chunk_ids) or len(gen.doc_ids) != len(gen.sources):
            raise IndexCorruptError(f"{path}: generation files disagree about the number of chunks")
    except BaseException:
        os.close(fd)
        raise
    gen.hold(fd)
    return gen


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
    index_dir: Path,
    store: DocStore,
    revision: int,
    previous: int | None,
    dim: int,
    n_live: int,
    previous_files: Mapping[str, Mapping[str, Any]] | None = None,
) -> VectorIndex:
    """Derive the FAISS index: update the previous generation's when it is intact (its checksum, when
    recorded, matches), else rebuild from the docstore."""
    prev_file = Path(index_dir) / generation_dir_name(previous) / FAISS_FILE if previous is not None else None
    entry = (previous_files or {}).get(FAISS_FILE)
    if prev_file is not None and prev_file.is_file() and (entry is None or verify_file(prev_file, entry) is None):
        try:
            vi = VectorIndex.load(prev_file)
            if vi.dim == dim:
                vi.remove(store.chunk_ids_removed_after(previous))
                ids, vecs = _vectors_of(store.embeddings_added_after(previous), dim)
                vi.add(ids, vecs)
                if len(vi) == n_live:
                    return vi
        except (*LOAD_ERRORS, IndexCorruptError):
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
    previous_files: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write ``gen-<revision>/`` from the docstore's live rows. The caller holds the writer lock.

    Returns counts and ``files``: each file's size and checksum, for the manifest. A generation of
    the same revision already there (a repair) is replaced whole, by rename."""
    index_dir = Path(index_dir)
    final = index_dir / generation_dir_name(revision)
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
            vi = _build_vectors(index_dir, store, revision, previous, dim, store.counts()["vectors"], previous_files)
            vi.save(tmp / FAISS_FILE)
            n_vectors = len(vi)
        write_json_file(
            tmp / GENERATION_FILE,
            {"revision": revision, "doc_ids": doc_ids, "sources": sources, "vectors": n_vectors > 0,
             "n_chunks": len(chunk_ids), "n_vectors": n_vectors},
        )  # fmt: skip
        files = file_entries(tmp)
        fsync_dir(tmp)
        if final.exists():  # a repair: move the damaged one aside; readers holding it keep their files
            old = index_dir / f".{final.name}.old.tmp"
            shutil.rmtree(old, ignore_errors=True)
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
        fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"chunks": len(chunk_ids), "vectors": n_vectors, "documents": len(doc_ids), "files": files}


def collect_generations(index_dir: Path, keep: set[int], collect: Callable[[int | None], None]) -> None:
    """Delete generation folders other than ``keep`` that no reader holds (and stale temporary ones).

    ``collect(oldest_held)`` runs while the collected generations are locked exclusively (so no
    reader can take them up in between): it deletes the docstore rows that only they needed —
    ``oldest_held`` is the oldest revision a reader still holds, or None."""
    victims: list[tuple[Path, int | None]] = []
    held: list[int] = []
    try:
        for p in Path(index_dir).iterdir():
            name = p.name
            if name.startswith("gen-") and p.is_dir():
                try:
                    rev = int(name[4:])
                except ValueError:
                    continue
                if rev in keep:
                    continue
                try:
                    fd = try_exclusive(p / GENERATION_FILE)
                except OSError:  # no generation.json: nobody can hold it
                    victims.append((p, None))
                    continue
                if fd is None:
                    held.append(rev)
                else:
                    victims.append((p, fd))
            elif name.startswith(".gen-") and name.endswith(".tmp"):
                shutil.rmtree(p, ignore_errors=True)
        collect(min(held) if held else None)
        for p, _ in victims:
            shutil.rmtree(p, ignore_errors=True)
    finally:
        for _, fd in victims:
            if fd is not None:
                os.close(fd)
