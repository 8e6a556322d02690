"""The approximate (IVF) vector index: exact neighbours on a small set, recorded in the manifest, and
kept up to date incrementally (adds, replacements, removals, retraining when outgrown)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rabbit_rag import embeddings
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.index import IndexWriter, open_index
from rabbit_rag.index import vectors as vectors_mod
from rabbit_rag.index.docstore import ChunkRow
from rabbit_rag.index.vectors import VectorIndex, ivf_lists, resolve_kind

DIM = 128


TOPICS = np.random.default_rng(42).standard_normal((100, DIM))


def clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit vectors around 100 topics (the same for every call: documents and questions share them), as
    embeddings of texts on a few subjects are."""
    v = TOPICS[rng.integers(0, len(TOPICS), n)] + 0.35 * rng.standard_normal((n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def exact(vectors: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    s = vectors @ q
    order = np.lexsort((ids, -s))[:k]
    return ids[order].tolist()


def same_neighbours(got: list[int], vectors: np.ndarray, ids: np.ndarray, q: np.ndarray) -> bool:
    """``got`` are the exact nearest neighbours: the same chunks, or chunks of the same similarity where
    two lie within float rounding of each other (the order of such near-ties is FAISS' own)."""
    want = exact(vectors, ids, q, len(got))
    if got == want:
        return True
    score = dict(zip(ids.tolist(), (vectors @ q).tolist(), strict=True))
    return np.allclose(sorted((score[i] for i in got), reverse=True), [score[i] for i in want], atol=1e-6)


def test_approximate_search_returns_the_exact_neighbours() -> None:
    rng = np.random.default_rng(0)
    xb = clustered(rng, 4000)
    ids = np.arange(10, 4010, dtype=np.int64)
    vi = VectorIndex.create("ivf", DIM, len(xb))
    assert vi.kind == "ivf" and not vi.is_trained
    vi.train(xb[:: max(1, len(xb) // vi.train_size())])
    vi.add(ids, xb)
    assert len(vi) == 4000 and vi.describe()["nlist"] == ivf_lists(4000)
    for q in clustered(rng, 50):
        got, scores = vi.search(q, 10)
        assert same_neighbours(got.tolist(), xb, ids, q)
        assert np.all(np.diff(scores) <= 1e-6)  # best first


def test_filtered_search_probes_enough_lists() -> None:
    rng = np.random.default_rng(1)
    xb = clustered(rng, 4000)
    ids = np.arange(4000, dtype=np.int64)
    vi = VectorIndex.create("ivf", DIM, len(xb))
    vi.train(xb)
    vi.add(ids, xb)
    allowed = ids[rng.random(4000) < 0.02]  # a filter to 2% of the collection
    for q in clustered(rng, 20):
        got, _ = vi.search(q, 5, allowed_ids=allowed)
        assert same_neighbours(got.tolist(), xb[allowed], allowed, q)


def test_resolve_kind() -> None:
    assert resolve_kind("auto", vectors_mod.APPROXIMATE_FROM - 1) == "flat"
    assert resolve_kind("auto", vectors_mod.APPROXIMATE_FROM) == "ivf"
    assert resolve_kind("flat", 10**7) == "flat"
    assert resolve_kind("ivf", 10) == "flat"  # nothing to learn lists from
    with pytest.raises(ValueError, match="hnsw"):
        resolve_kind("hnsw", 10)


class FixedEncoder:
    """An embedding model whose vectors the test chooses (chunk rows carry them)."""

    model_id = "test/fixed-128"
    dim = DIM
    max_tokens = 512

    def embed(self, texts):
        raise AssertionError("the test writes its own vectors")

    def embed_query(self, text):
        raise AssertionError("the test searches by vector")

    def count_tokens(self, texts):
        return [len(t) for t in texts]


@pytest.fixture
def fixed_model(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(embeddings._cache, (FixedEncoder.model_id, None), FixedEncoder())
    return FixedEncoder.model_id


def write_docs(writer: IndexWriter, vectors: np.ndarray, first_doc: int, per_doc: int = 20) -> None:
    for d in range(len(vectors) // per_doc):
        rows = []
        for i in range(per_doc):
            text = f"문서 {first_doc + d} 조각 {i}"
            rows.append(ChunkRow(i, 0, len(text), text, 2, writer.term_ids(["문서", str(first_doc + d)])))
            rows[-1].embedding = vectors[d * per_doc + i]
        writer.upsert(uri=f"doc:{first_doc + d}", source=f"{first_doc + d}.txt", title=None,
                      content_hash=str(first_doc + d), text=" ".join(r.text for r in rows), chunks=rows)  # fmt: skip


def stored(index) -> tuple[np.ndarray, np.ndarray]:
    pairs = list(index.stored_vectors())
    return np.array([c for c, _ in pairs]), np.vstack([v for _, v in pairs])


@pytest.mark.slow  # trains IVF lists three times (~10 CPU-seconds)
def test_manifest_records_the_index_type_and_incremental_updates_work(tmp_path: Path, fixed_model: str) -> None:
    rng = np.random.default_rng(2)
    path = tmp_path / "idx"
    with IndexWriter(path, embed_model=fixed_model, vector_index="ivf") as w:
        write_docs(w, clustered(rng, 2000), first_doc=0)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == "ivf"
    nlist = ivf_lists(2000)
    assert manifest["generation"]["vector_index"] == {
        "type": "ivf", "nlist": nlist, "nprobe": vectors_mod.ivf_probes(nlist),
        "codes": f"PQ{DIM // 8}x4fs", "rerank": "float16", "trained_on": 2000,
    }  # fmt: skip
    assert {"vectors.faiss", "vectors_ids.npy", "vectors_f16.npy"} <= {
        p.name for p in (path / f"gen-{manifest['generation']['revision']:08d}").iterdir()
    }
    first_nlist = manifest["generation"]["vector_index"]["nlist"]

    # replace one document, remove another, add new ones: derived from the previous generation
    with IndexWriter(path, embed_model=fixed_model) as w:
        write_docs(w, clustered(rng, 20), first_doc=3)  # doc 3 gets new vectors
        assert w.remove(w.find("doc:5").doc_id)
        write_docs(w, clustered(rng, 400), first_doc=1000)
    index = open_index(path)
    gen_meta = index.manifest["generation"]["vector_index"]
    assert gen_meta["type"] == "ivf" and gen_meta["trained_on"] == 2000 and gen_meta["nlist"] == first_nlist
    ids, xb = stored(index)
    assert len(ids) == 2000 - 20 + 400 == len(index.generation.vectors)
    for q in clustered(rng, 30):
        got = [h.chunk.chunk_id for h in index.dense_top_k(q, 10)]
        assert same_neighbours(got, xb, ids, q)
    live = set(ids.tolist())
    for q in clustered(rng, 30):
        assert {h.chunk.chunk_id for h in index.dense_top_k(q, 50)} <= live  # nothing replaced or removed
    index.close()

    # grown past RETRAIN_GROWTH times the training size: the lists are learnt again
    with IndexWriter(path, embed_model=fixed_model) as w:
        write_docs(w, clustered(rng, 8000), first_doc=2000)
    index = open_index(path)
    gen_meta = index.manifest["generation"]["vector_index"]
    assert gen_meta["trained_on"] == 2380 + 8000 and gen_meta["nlist"] == ivf_lists(10380)
    ids, xb = stored(index)
    q = clustered(rng, 1)[0]
    assert same_neighbours([h.chunk.chunk_id for h in index.dense_top_k(q, 10)], xb, ids, q)
    index.close()

    # asking for flat switches the next generation to exact search, and the manifest says so
    with IndexWriter(path, embed_model=fixed_model, vector_index="flat"):
        pass
    index = open_index(path)
    assert index.manifest["vector_index"] == "flat"
    assert index.manifest["generation"]["vector_index"]["type"] == "flat"
    assert index.generation.vector_index_type() == "flat"
    index.close()


@pytest.mark.parametrize("first", [None, "auto"])
def test_a_manifest_rebuilt_from_the_docstore_keeps_the_vector_index_setting(
    tmp_path: Path, fixed_model: str, first: str | None
) -> None:
    path = tmp_path / "idx"
    if first is None:  # asked for when the index was created
        with IndexWriter(path, embed_model=fixed_model, vector_index="ivf") as w:
            write_docs(w, clustered(np.random.default_rng(4), 1200), first_doc=0)
    else:  # changed on an existing index
        with IndexWriter(path, embed_model=fixed_model) as w:
            write_docs(w, clustered(np.random.default_rng(4), 1200), first_doc=0)
        assert (
            json.loads((path / "manifest.json").read_text(encoding="utf-8"))["generation"]["vector_index"]["type"]
            == "flat"
        )
        with IndexWriter(path, embed_model=fixed_model, vector_index="ivf"):
            pass
    (path / "manifest.json").unlink()
    with IndexWriter(path, embed_model=fixed_model) as w:  # rebuilds the manifest from the docstore
        write_docs(w, clustered(np.random.default_rng(5), 20), first_doc=100)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == "ivf"
    assert manifest["generation"]["vector_index"]["type"] == "ivf"  # not back to auto (flat below 50k)
    (path / "manifest.json").unlink()
    index = open_index(path)  # a reader repairs it the same way
    assert index.manifest["vector_index"] == "ivf" and index.generation.vector_index_type() == "ivf"
    index.close()


def test_auto_stays_exact_for_small_indexes(tmp_path: Path, fixed_model: str) -> None:
    with IndexWriter(tmp_path / "idx", embed_model=fixed_model) as w:
        write_docs(w, clustered(np.random.default_rng(3), 100), first_doc=0)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vector_index"] == "auto"
    assert manifest["generation"]["vector_index"]["type"] == "flat"


def test_unknown_vector_index_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="auto, flat, ivf"):
        IndexWriter(tmp_path / "idx", embed_model="none", vector_index="hnsw")
    assert not (tmp_path / "idx").exists()


def test_faiss_threads_wait_passively_unless_the_user_says_otherwise() -> None:
    import os
    import subprocess
    import sys

    code = "import os, rabbit_rag.index, faiss; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "ACTIVE"


def test_probes_are_a_quarter_of_the_lists_up_to_an_eighth_of_large_indexes() -> None:
    # 100k vectors: 512 lists, a quarter needed for recall 0.98; 1M: 2048 lists, 256 as good as 512
    assert [vectors_mod.ivf_probes(n) for n in (1, 4, 64, 512, 1024, 2048, 4096, 8192)] == [
        1, 1, 16, 128, 256, 256, 512, 1024,
    ]  # fmt: skip
    assert ivf_lists(100_000) == 512 and ivf_lists(1_000_000) == 2048
    vi = VectorIndex.create("ivf", DIM, 1_000_000)
    assert vi.nprobe == 256 and vi.describe()["nprobe"] == 256


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_vector_files_are_owner_only_and_read_back(tmp_path: Path, kind: str) -> None:
    """``vectors.faiss`` is created 0600 like every other index file (it was written with the umask)."""
    import os

    rng = np.random.default_rng(7)
    vecs = clustered(rng, 1200)
    ids = np.arange(10, 10 + len(vecs), dtype=np.int64)
    vi = VectorIndex.create(kind, DIM, len(vecs))
    vi.train(vecs)
    vi.add(ids, vecs)
    old = os.umask(0o022)  # what a default shell gives: files 0644 unless we say otherwise
    try:
        vi.save(tmp_path / "vectors.faiss")
    finally:
        os.umask(old)
    files = sorted(tmp_path.iterdir())
    assert [p.name for p in files] == (
        ["vectors.faiss"] if kind == "flat" else ["vectors.faiss", "vectors_f16.npy", "vectors_ids.npy"]
    )
    for p in files:
        assert p.stat().st_mode & 0o777 == 0o600, p
    back = VectorIndex.load(tmp_path / "vectors.faiss")
    assert back.kind == kind and len(back) == len(vecs)
    for q in vecs[:5]:
        assert back.search(q, 5)[0].tolist() == vi.search(q, 5)[0].tolist()


def test_generation_files_with_vectors_are_owner_only(tmp_path: Path, fixed_model: str) -> None:
    import os

    path = tmp_path / "idx"
    old = os.umask(0o022)
    try:
        with IndexWriter(path, embed_model=fixed_model) as w:
            write_docs(w, clustered(np.random.default_rng(3), 40), first_doc=0)
    finally:
        os.umask(old)
    gen = next(p for p in path.iterdir() if p.name.startswith("gen-"))
    assert gen.stat().st_mode & 0o777 == 0o700, oct(gen.stat().st_mode)  # the folder too, not the umask's 0755
    assert "vectors.faiss" in {p.name for p in gen.iterdir()}
    for p in gen.iterdir():
        assert p.stat().st_mode & 0o077 == 0, p
