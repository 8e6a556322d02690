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
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rabbit_rag.errors import IndexCorruptError
from rabbit_rag.index import bm25
from rabbit_rag.index.bm25 import BM25Matrix, BM25Scorer
from rabbit_rag.index.checksums import file_entries, verify_file, verify_files
from rabbit_rag.index.docstore import DocStore
from rabbit_rag.index.fsio import fsync_dir, hold_shared, load_npy, save_npy, try_exclusive, write_json_file
from rabbit_rag.index.vectors import (
    DEFAULT_VECTOR_INDEX,
    FAISS_FILE,
    RERANK_IDS_FILE,
    RERANK_VECTORS_FILE,
    RETRAIN_GROWTH,
    VectorIndex,
    resolve_kind,
)
from rabbit_rag.index.vocab import QueryVocabulary

GENERATION_FILE = "generation.json"
#: Verified when the vector index is loaded (the first dense search), not when the generation is opened:
#: the float16 re-ranking vectors of an ``ivf`` index are 2 GB per million chunks.
VECTOR_FILES = (FAISS_FILE, RERANK_IDS_FILE, RERANK_VECTORS_FILE)
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
    _vocab: QueryVocabulary | None = None
    vector_meta: dict[str, Any] | None = None
    #: the manifest's record of this generation's files (size and checksum), when it has one
    files: Mapping[str, Mapping[str, Any]] | None = None

    _hold_fd: int | None = None

    def vector_index_type(self) -> str | None:
        """``flat`` or ``ivf`` (None without vectors); generations written before it was recorded are flat."""
        if not self.has_vectors:
            return None
        return (self.vector_meta or {}).get("type", "flat")

    def query_vocabulary(
        self,
        lookup: Callable[[Sequence[str]], dict[str, int]],
        load_all: Callable[[int], Iterable[tuple[str, int]]] | None = None,
    ) -> QueryVocabulary:
        """Query terms → ids for this generation's matrix (``lookup`` asks the docstore; ``load_all``
        reads a small vocabulary whole, see :mod:`rabbit_rag.index.vocab`), cached."""
        if self._vocab is None:
            self._vocab = QueryVocabulary(lookup, n_columns=len(self.bm25.matrix.indptr) - 2, load_all=load_all)
        return self._vocab

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
        """The FAISS index (and an ``ivf`` index's re-ranking vectors), loaded and their checksums
        verified on first dense search."""
        if self._vectors is None and self.has_vectors:
            path = self.path / FAISS_FILE
            for name in VECTOR_FILES:
                entry = (self.files or {}).get(name)
                problem = verify_file(self.path / name, entry) if entry is not None else None
                if problem is not None:
                    raise IndexCorruptError(f"{self.path / name}: {problem}")
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
            problems = verify_files(path, files, skip=VECTOR_FILES)
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
                vector_meta=meta.get("vector_index"),
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


def _vector_batches(
    rows: Iterable[tuple[int, bytes]], dim: int, batch: int = 20_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunk ids and float32 vectors from ``(chunk_id, float16 blob)`` rows, ``batch`` at a time: a
    million vectors of 1024 dimensions are 4 GB as float32, so they are never all held at once."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for cid, blob in rows:
        ids.append(cid)
        blobs.append(blob)
        if len(ids) == batch:
            yield _decode_batch(ids, blobs, dim)
            ids, blobs = [], []
    if ids:
        yield _decode_batch(ids, blobs, dim)


def _decode_batch(ids: list[int], blobs: list[bytes], dim: int) -> tuple[np.ndarray, np.ndarray]:
    flat = np.frombuffer(b"".join(blobs), dtype="<f2")
    if flat.size != dim * len(ids) or any(len(b) != 2 * dim for b in blobs):
        bad = next(i for i, b in zip(ids, blobs, strict=True) if len(b) != 2 * dim)
        raise IndexCorruptError(f"stored embedding of chunk {bad} has the wrong size, expected {dim} values")
    return np.asarray(ids, np.int64), flat.reshape(len(ids), dim).astype(np.float32)


@dataclass
class _LiveRows:
    """What a publish reads of the live chunks, in chunk-id order (:func:`_read_live`)."""

    chunk_ids: np.ndarray  # int64
    doc_ord: np.ndarray  # int32: position of the chunk's document in ``doc_ids``
    doc_ids: list[str]
    terms: np.ndarray  # int64: every chunk's term ids end to end
    offsets: np.ndarray  # int64: chunk ``i`` is ``terms[offsets[i]:offsets[i + 1]]``
    n_vectors: int  # live chunks with a stored embedding


def _read_live(store: DocStore) -> _LiveRows:
    """Every live chunk's id, document and term ids in one pass over the docstore, batch by batch into
    flat arrays (no Python object per term), and how many of them have a stored vector."""
    ids_parts: list[np.ndarray] = []
    ord_parts: list[np.ndarray] = []
    term_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    doc_pos: dict[str, int] = {}
    n_vec = 0
    for batch in store.iter_live_rows(with_embeddings=False):
        ids_parts.append(np.fromiter((r[0] for r in batch), np.int64, count=len(batch)))
        ord_parts.append(
            np.fromiter((doc_pos.setdefault(r[1], len(doc_pos)) for r in batch), np.int32, count=len(batch))
        )
        blobs = [r[2] for r in batch]
        len_parts.append(np.fromiter(map(len, blobs), np.int64, count=len(blobs)) // 4)
        term_parts.append(np.frombuffer(b"".join(blobs), dtype="<u4"))
        n_vec += sum(1 for r in batch if r[3])
    lens = np.concatenate(len_parts) if len_parts else np.zeros(0, np.int64)
    offsets = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    return _LiveRows(
        chunk_ids=np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int64),
        doc_ord=np.concatenate(ord_parts) if ord_parts else np.zeros(0, np.int32),
        doc_ids=list(doc_pos),
        terms=np.concatenate(term_parts).astype(np.int64) if term_parts else np.zeros(0, np.int64),
        offsets=offsets,
        n_vectors=n_vec,
    )


def _read_live_vectors(store: DocStore, dim: int, n_vectors: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_vectors`` stored vectors of the live chunks and their chunk ids (ascending), in one pass,
    straight into one preallocated float16 array: the ``ivf`` index keeps it as its re-ranking vectors,
    so it is never copied.

    A second pass, after the BM25 matrix is built and freed: read with the terms, the vectors (2 GB at a
    million 1024-dimension chunks) were held while BM25 was built, which raised the peak memory of a 1M
    build from 3.5 to 5.5 GB."""
    vectors = np.empty((n_vectors, dim), np.float16)
    vector_ids = np.empty(n_vectors, np.int64)
    n_vec = 0
    for batch in store.iter_live_rows(with_embeddings=True):
        with_vec = [r for r in batch if r[3] is not None]
        if not with_vec:
            continue
        if len(with_vec) > n_vectors - n_vec:  # chunks added since the count: not in this revision
            raise IndexCorruptError(f"{store.path}: the live chunks changed while the generation was built")
        bad = next((r[0] for r in with_vec if len(r[3]) != 2 * dim), None)
        if bad is not None:
            raise IndexCorruptError(f"stored embedding of chunk {bad} has the wrong size, expected {dim} values")
        flat = np.frombuffer(b"".join(r[3] for r in with_vec), dtype="<f2")
        vectors[n_vec : n_vec + len(with_vec)] = flat.reshape(len(with_vec), dim)
        vector_ids[n_vec : n_vec + len(with_vec)] = [r[0] for r in with_vec]
        n_vec += len(with_vec)
    return vector_ids[:n_vec], vectors[:n_vec]


def _add_all(vi: VectorIndex, rows: Iterable[tuple[int, bytes]], dim: int) -> None:
    for ids, vecs in _vector_batches(rows, dim):
        vi.add(ids, vecs)


def _previous_vector_meta(index_dir: Path, previous: int, entry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the previous generation's ``generation.json`` records about its vectors, or ``{}`` when that
    file is damaged (its checksum ``entry`` does not match, it is not UTF-8, not JSON, not an object):
    the caller then rebuilds rather than trust it. A repair runs exactly when such files are damaged."""
    path = index_dir / generation_dir_name(previous) / GENERATION_FILE
    if entry is not None and verify_file(path, entry) is not None:
        return {}
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # ValueError: UnicodeDecodeError and json.JSONDecodeError
        return {}
    vector_meta = meta.get("vector_index") if isinstance(meta, dict) else None
    return vector_meta if isinstance(vector_meta, dict) else {}


def _build_vectors(
    index_dir: Path,
    store: DocStore,
    revision: int,
    previous: int | None,
    dim: int,
    n_live: int,
    requested: str = DEFAULT_VECTOR_INDEX,
    previous_files: Mapping[str, Mapping[str, Any]] | None = None,
    wait: Callable[[], None] = lambda: None,
) -> tuple[VectorIndex, int]:
    """Derive the FAISS index and the number of vectors it was trained on: update the previous
    generation's when it is intact (its checksums, when recorded, match) and of the kind to build now
    (and, for ``ivf``, not outgrown), else rebuild from the docstore's live vectors, read in one pass
    (:func:`_read_live_vectors`) while the BM25 matrix is built beside it. ``wait()`` returns when that
    build is done: FAISS trains and adds on every core after it."""
    kind = resolve_kind(requested, n_live)
    prev_dir = Path(index_dir) / generation_dir_name(previous) if previous is not None else None
    prev_file = prev_dir / FAISS_FILE if prev_dir is not None else None
    intact = all(
        verify_file(prev_dir / name, entry) is None
        for name in VECTOR_FILES
        if prev_dir is not None and (entry := (previous_files or {}).get(name)) is not None
    )
    if previous is not None and prev_file is not None and prev_file.is_file() and intact:
        trained_on = int(
            _previous_vector_meta(index_dir, previous, (previous_files or {}).get(GENERATION_FILE)).get("trained_on", 0)
        )
        outgrown = kind == "ivf" and n_live > RETRAIN_GROWTH * max(trained_on, 1)
        wait()
        try:
            vi = VectorIndex.load(prev_file)
            if vi.dim == dim and vi.kind == kind and not outgrown:
                vi.remove(store.chunk_ids_removed_after(previous))
                _add_all(vi, store.embeddings_added_after(previous), dim)
                if len(vi) == n_live:
                    return vi, trained_on
        except (*LOAD_ERRORS, IndexCorruptError):
            pass  # fall through to a full rebuild from the docstore
    vi = VectorIndex.create(kind, dim, n_live)
    ids, vecs = _read_live_vectors(store, dim, n_live)
    wait()
    if want := vi.train_size():
        # train on vectors spread over the whole collection, not its first documents: every chunk whose
        # id is a multiple of the step
        vi.train(vecs[ids % max(1, n_live // want) == 0].astype(np.float32))
    vi.add_sorted(ids, vecs)
    return vi, n_live


class _Beside:
    """``work()`` run on a thread of its own; :meth:`result` waits for it and raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                work()
            except BaseException as e:  # handed to the caller by result()
                self._error = e

        self._thread = threading.Thread(target=run, name="rabbit-rag-bm25", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def build_generation(
    index_dir: Path,
    store: DocStore,
    revision: int,
    bm25_params: dict[str, Any],
    dim: int | None,
    previous: int | None,
    vector_index: str = DEFAULT_VECTOR_INDEX,
    previous_files: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write ``gen-<revision>/`` from the docstore's live rows. The caller holds the writer lock.

    Returns counts, the vector index's description and ``files``: each file's size and checksum, for
    the manifest. A generation of the same revision already there (a repair) is replaced whole, by rename."""
    index_dir = Path(index_dir)
    final = index_dir / generation_dir_name(revision)
    tmp = index_dir / f".{final.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(mode=0o700)  # owner-only, like the index folder and every file in it (not the umask's 0755)
    bm25_job: _Beside | None = None
    try:
        rows = _read_live(store)
        vocab_size = store.counts(chunks=len(rows.chunk_ids), vectors=rows.n_vectors)["vocabulary"]

        def write_bm25() -> None:
            matrix = BM25Matrix.build_flat(rows.terms, rows.offsets, vocab_size, bm25_params)
            rows.terms = rows.offsets = np.zeros(0, np.int64)
            matrix.save(tmp)
            if len(matrix.data) >= bm25.JIT_MIN_ENTRIES:  # searched by numba: compile now, not at the first query
                BM25Scorer(BM25Matrix.load(tmp, n_docs=matrix.n_docs), bm25_params).warm()

        # The BM25 matrix (numba, without the GIL) is built on another core while this thread reads the
        # vectors out of SQLite: at a million chunks 10.5 s and 7.8 s, one after the other before.
        bm25_job = _Beside(write_bm25)
        chunk_ids = rows.chunk_ids
        save_npy(tmp / "chunk_ids.npy", chunk_ids)
        save_npy(tmp / "doc_ord.npy", rows.doc_ord)
        doc_ids = rows.doc_ids
        live_sources = store.live_sources()
        sources = [live_sources[d] for d in doc_ids if d in live_sources]
        if len(sources) != len(doc_ids):
            raise IndexCorruptError(f"{index_dir}: live chunks point at missing documents")
        n_vectors = 0
        vector_meta: dict[str, Any] | None = None
        if dim:
            vi, trained_on = _build_vectors(
                index_dir, store, revision, previous, dim, rows.n_vectors, vector_index, previous_files,
                wait=bm25_job.result,
            )  # fmt: skip
            vi.save(tmp / FAISS_FILE)
            n_vectors = len(vi)
            vector_meta = {**vi.describe(), "trained_on": trained_on}
        bm25_job.result()
        write_json_file(
            tmp / GENERATION_FILE,
            {"revision": revision, "doc_ids": doc_ids, "sources": sources, "vectors": n_vectors > 0,
             "n_chunks": len(chunk_ids), "n_vectors": n_vectors, "vector_index": vector_meta},
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
        if bm25_job is not None:
            bm25_job.join()  # it writes into ``tmp``: done before ``tmp`` goes
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"chunks": len(chunk_ids), "vectors": n_vectors, "documents": len(doc_ids), "vector_index": vector_meta,
            "files": files, "stored_vectors": rows.n_vectors}  # fmt: skip


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
