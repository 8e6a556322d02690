"""Milvus against Qdrant for the engine backend, on the same chunks, side by side.

Both engines get the same rows: KorQuAD 1.0 dev contexts cut into sentences, and windows of two and
three sentences (``--chunks`` of them, 20,000 by default; the paragraph is the chunk's ``doc_id``),
each with

- our Kiwi BM25 as a sparse vector: the stored ``tf / (tf + k1 (1 - b + b dl/avgdl))`` per term, the
  query sending ``idf`` per term (:mod:`rabbit_rag.backends.bm25`, what the Milvus backend stores);
- a dense vector: LSA (tf-idf over the same Kiwi terms, truncated SVD to ``--dim``, unit length) — a
  stand-in for an embedding model, enough to exercise the dense side (no model download);
- ``doc_id`` and ``source`` as filterable metadata.

Measured, per engine, in one run:

- load: inserting every row (batches of 256) until searchable (Milvus: plus the flush that seals and
  indexes; Qdrant: ``wait=True``);
- sparse top-10 agreement with our local BM25 (``rabbit_rag.index.bm25.BM25Scorer``, the local
  index's scorer, over the same Kiwi term ids): the share of queries whose top-10 chunk ids are the
  same set, and the mean overlap;
- dense recall@10 against exact inner-product search (numpy);
- filtered search: BM25 restricted to 50 random paragraphs (``doc_id in [...]``), agreement with the
  local scorer under the same filter, every hit inside the filter;
- hybrid: the engine's own RRF (k=60) over sparse and dense top-60, agreement with our fusion
  (``HybridRetriever``: Σ 1/(60 + rank)) over the exact lists;
- upsert 1,000 rows and delete 1,000 rows (seconds), then sparse agreement against the local scorer
  with those rows masked out;
- query latency p50 for sparse, dense, filtered sparse and hybrid (``--queries`` KorQuAD questions).

What this measures and what it does not: both run embedded in this process. Milvus Lite is the Milvus
engine (segments, the sparse inverted index, FLAT dense search) in a local library; Qdrant's local mode
(``QdrantClient(path=...)``) is a pure-Python reimplementation that scans every point (numpy) and keeps
the points pickled in SQLite — the Qdrant server (Rust, HNSW, sparse inverted index) is not measured
here, so Qdrant's latencies and load time say nothing about the server; the agreement figures and the
capability list do carry over, since both are the same API and scoring rules.

    python benchmarks/engine_choice.py [--chunks 20000] [--queries 200] [--dim 128]

Needs ``pip install -e ".[milvus,bench]"`` (``bench``: qdrant-client, Apache-2.0, used by this
benchmark only; rabbit-rag does not depend on Qdrant).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BATCH = 256
DEPTH = 10
RRF_K = 60
CAND = 60


def build_chunks(path: Path, n: int) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """(chunk doc ids, sources, Kiwi terms per chunk, questions) from KorQuAD dev: every sentence, then
    every window of two, then of three sentences, until ``n`` chunks."""
    from rabbit_rag.evaluation.korquad import load_korquad
    from rabbit_rag.text.terms import bm25_tokenize

    docs, questions = load_korquad(path, "paragraph")
    split = [[s for s in re.split(r"(?<=[.?!])\s+", d.text) if s.strip()] for d in docs]
    windows = [
        (d_i, i, width)
        for width in (1, 2, 3)
        for d_i, sents in enumerate(split)
        for i in range(max(1, len(sents) - width + 1))
    ][:n]
    sentence_terms: dict[tuple[int, int], list[str]] = {}  # Kiwi once per sentence
    doc_ids, sources, terms = [], [], []
    for d_i, i, width in windows:
        ts: list[str] = []
        for j in range(i, min(i + width, len(split[d_i]))):
            if (d_i, j) not in sentence_terms:
                sentence_terms[(d_i, j)] = bm25_tokenize(split[d_i][j])
            ts.extend(sentence_terms[(d_i, j)])
        doc_ids.append(f"p{d_i:04d}")
        sources.append(docs[d_i].source)
        terms.append(ts)
    return doc_ids, sources, terms, [q.question for q in questions]


def agreement(got: Sequence[Sequence[int]], want: Sequence[Sequence[int]]) -> tuple[float, float]:
    """(share of queries with the same top-k set, mean overlap |got ∩ want| / |want|)."""
    same = [set(g) == set(w) for g, w in zip(got, want, strict=True)]
    overlap = [len(set(g) & set(w)) / len(w) if w else float(not g) for g, w in zip(got, want, strict=True)]
    return sum(same) / len(same), sum(overlap) / len(overlap)


def p50(fn: Callable[[int], Any], n: int) -> tuple[float, list[Any]]:
    times, out = [], []
    for i in range(n):
        t = time.perf_counter()
        out.append(fn(i))
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out


class Milvus:
    name = "Milvus Lite"

    def __init__(self, folder: Path, dim: int) -> None:
        from pymilvus import DataType, MilvusClient

        self.c = MilvusClient(str(folder / "milvus.db"))
        s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=64)
        s.add_field("source", DataType.VARCHAR, max_length=1024)
        s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        ip = self.c.prepare_index_params()
        ip.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP", params={"drop_ratio_build": 0})
        ip.add_index("dense", index_type="FLAT", metric_type="IP")
        ip.add_index("doc_id", index_type="INVERTED")
        self.c.create_collection("c", schema=s, index_params=ip, consistency_level="Strong")

    def load(self, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), BATCH):
            self.c.upsert("c", [self._row(r) for r in rows[i : i + BATCH]])
        self.c.flush("c")  # seal, then wait until the indexes cover every row
        while any(self.c.describe_index("c", f).get("pending_index_rows", 0) for f in ("bm25", "dense")):
            time.sleep(0.1)

    @staticmethod
    def _row(r: dict[str, Any]) -> dict[str, Any]:
        return {**r, "dense": r["dense"].tolist()}

    def delete(self, ids: list[int]) -> None:
        self.c.delete("c", ids=ids)

    def _ids(self, res: Any) -> list[int]:
        return [int(h["id"]) for h in res[0]]

    def sparse(self, q: dict[int, float], doc_ids: list[str] | None = None) -> list[int]:
        expr = "" if doc_ids is None else "doc_id in [" + ", ".join(f'"{d}"' for d in doc_ids) + "]"
        res = self.c.search("c", data=[q], anns_field="bm25", limit=DEPTH, filter=expr,
                            search_params={"metric_type": "IP", "params": {}})  # fmt: skip
        return self._ids(res)

    def dense(self, v: np.ndarray) -> list[int]:
        res = self.c.search(
            "c", data=[v.tolist()], anns_field="dense", limit=DEPTH, search_params={"metric_type": "IP"}
        )
        return self._ids(res)

    def hybrid(self, q: dict[int, float], v: np.ndarray) -> list[int]:
        from pymilvus import AnnSearchRequest, RRFRanker

        reqs = [
            AnnSearchRequest(data=[q], anns_field="bm25", param={"metric_type": "IP"}, limit=CAND),
            AnnSearchRequest(data=[v.tolist()], anns_field="dense", param={"metric_type": "IP"}, limit=CAND),
        ]
        return self._ids(self.c.hybrid_search("c", reqs, ranker=RRFRanker(RRF_K), limit=DEPTH))


class Qdrant:
    name = "Qdrant local mode"

    def __init__(self, folder: Path, dim: int) -> None:
        from qdrant_client import QdrantClient, models

        self.m = models
        self.c = QdrantClient(path=str(folder / "qdrant"))
        self.c.create_collection(
            "c",
            vectors_config={"dense": models.VectorParams(size=dim, distance=models.Distance.DOT)},
            sparse_vectors_config={"bm25": models.SparseVectorParams()},
        )

    def _sv(self, q: dict[int, float]) -> Any:
        return self.m.SparseVector(indices=list(q), values=list(q.values()))

    def load(self, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), BATCH):
            pts = [
                self.m.PointStruct(
                    id=r["id"],
                    vector={"dense": r["dense"].tolist(), "bm25": self._sv(r["bm25"])},
                    payload={"doc_id": r["doc_id"], "source": r["source"]},
                )
                for r in rows[i : i + BATCH]
            ]
            self.c.upsert("c", points=pts, wait=True)

    def delete(self, ids: list[int]) -> None:
        self.c.delete("c", points_selector=self.m.PointIdsList(points=ids), wait=True)

    @staticmethod
    def _ids(res: Any) -> list[int]:
        return [int(p.id) for p in res.points]

    def sparse(self, q: dict[int, float], doc_ids: list[str] | None = None) -> list[int]:
        flt = None
        if doc_ids is not None:
            flt = self.m.Filter(must=[self.m.FieldCondition(key="doc_id", match=self.m.MatchAny(any=doc_ids))])
        return self._ids(self.c.query_points("c", query=self._sv(q), using="bm25", limit=DEPTH, query_filter=flt))

    def dense(self, v: np.ndarray) -> list[int]:
        return self._ids(self.c.query_points("c", query=v.tolist(), using="dense", limit=DEPTH))

    def hybrid(self, q: dict[int, float], v: np.ndarray) -> list[int]:
        m = self.m
        pre = [
            m.Prefetch(query=self._sv(q), using="bm25", limit=CAND),
            m.Prefetch(query=v.tolist(), using="dense", limit=CAND),
        ]
        return self._ids(self.c.query_points("c", prefetch=pre, query=m.RrfQuery(rrf=m.Rrf(k=RRF_K)), limit=DEPTH))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json")
    ap.add_argument("--chunks", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--engines", nargs="+", default=["milvus", "qdrant"])
    args = ap.parse_args()
    path = require_korquad(args.dataset)

    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from rabbit_rag.backends.bm25 import chunk_weights, doc_length, query_weights
    from rabbit_rag.index.bm25 import BM25_PARAMS, BM25Matrix, BM25Scorer
    from rabbit_rag.text.terms import bm25_query_terms

    t = time.perf_counter()
    doc_ids, sources, terms, questions = build_chunks(path, args.chunks)
    vocab: dict[str, int] = {}
    term_ids = [np.array([vocab.setdefault(x, len(vocab)) for x in ts], np.int64) for ts in terms]
    n = len(term_ids)
    avgdl = sum(doc_length(a) for a in term_ids) / n
    weights = [chunk_weights(a, avgdl, BM25_PARAMS) or {2**32 - 2: 1.0} for a in term_ids]
    df = np.zeros(len(vocab), np.int64)
    for a in term_ids:
        df[np.unique(a)] += 1
    scorer = BM25Scorer(BM25Matrix.build(term_ids, len(vocab), BM25_PARAMS))
    tfidf = TfidfVectorizer(analyzer=lambda x: x, min_df=2).fit_transform(terms)
    dense = TruncatedSVD(args.dim, random_state=0).fit_transform(tfidf).astype(np.float32)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-9)
    rows = [
        {"id": i, "doc_id": doc_ids[i], "source": sources[i], "bm25": weights[i], "dense": dense[i]} for i in range(n)
    ]
    rng = random.Random(0)
    qs = rng.sample(questions, min(args.queries, len(questions)))
    q_ids = [
        [vocab[x] for x in bm25_query_terms(q, lambda ts: {x for x in ts if x in vocab}) if x in vocab] for q in qs
    ]
    q_sparse = [query_weights(ids, {i: int(df[i]) for i in ids}, n) or {0: 1e-9} for ids in q_ids]
    q_dense = dense[rng.sample(range(n), len(qs))]  # a chunk's own vector as the query: exact top-1 known
    paragraphs = sorted(set(doc_ids))
    filters = [rng.sample(paragraphs, 50) for _ in qs]
    doc_arr = np.array(doc_ids)

    def ref_sparse(i: int, mask: np.ndarray | None = None) -> list[int]:
        return [int(x) for x in scorer.top_k(q_ids[i], DEPTH, mask)[0]]

    def ref_dense(i: int, k: int = DEPTH) -> list[int]:
        s = dense @ q_dense[i]
        return [int(x) for x in np.lexsort((np.arange(n), -s))[:k]]

    def ref_hybrid(i: int) -> list[int]:
        fused: dict[int, float] = {}
        for lst in ([int(x) for x in scorer.top_k(q_ids[i], CAND)[0]], ref_dense(i, CAND)):
            for rank, cid in enumerate(lst):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        return sorted(fused, key=lambda c: (-fused[c], c))[:DEPTH]

    want_sparse = [ref_sparse(i) for i in range(len(qs))]
    want_filtered = [ref_sparse(i, np.isin(doc_arr, filters[i]).astype(np.float32)) for i in range(len(qs))]
    want_dense = [ref_dense(i) for i in range(len(qs))]
    want_hybrid = [ref_hybrid(i) for i in range(len(qs))]
    gone = rng.sample(range(n), 1000)
    mask = np.ones(n, np.float32)
    mask[gone] = 0
    want_after = [ref_sparse(i, mask) for i in range(len(qs))]
    print(
        f"{n} chunks from {len(paragraphs)} paragraphs, vocabulary {len(vocab)}, {len(qs)} queries, dense dim "
        f"{args.dim}; prepared in {time.perf_counter() - t:.1f} s",
        flush=True,
    )

    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="engine-choice-") as tmp:
        for key in args.engines:
            (Path(tmp) / key).mkdir()
            eng = (Milvus if key == "milvus" else Qdrant)(Path(tmp) / key, args.dim)
            r: dict[str, str] = {}
            t = time.perf_counter()
            eng.load(rows)
            r["load (s)"] = f"{time.perf_counter() - t:.1f}"
            ms, got = p50(lambda i, e=eng: e.sparse(q_sparse[i]), len(qs))
            same, ov = agreement(got, want_sparse)
            r["sparse top-10 = local BM25 (queries / mean overlap)"] = f"{same:.3f} / {ov:.4f}"
            r["sparse p50 (ms)"] = f"{ms:.1f}"
            ms, got = p50(lambda i, e=eng: e.dense(q_dense[i]), len(qs))
            r["dense recall@10 vs exact"] = f"{agreement(got, want_dense)[1]:.4f}"
            r["dense p50 (ms)"] = f"{ms:.1f}"
            ms, got = p50(lambda i, e=eng: e.sparse(q_sparse[i], filters[i]), len(qs))
            inside = all(doc_ids[c] in set(filters[i]) for i, g in enumerate(got) for c in g)
            same, ov = agreement(got, want_filtered)
            r["filtered sparse = local (queries / overlap), hits inside"] = f"{same:.3f} / {ov:.4f}, {inside}"
            r["filtered p50 (ms)"] = f"{ms:.1f}"
            ms, got = p50(lambda i, e=eng: e.hybrid(q_sparse[i], q_dense[i]), len(qs))
            same, ov = agreement(got, want_hybrid)
            r["engine RRF = our RRF (queries / overlap)"] = f"{same:.3f} / {ov:.4f}"
            r["hybrid p50 (ms)"] = f"{ms:.1f}"
            t = time.perf_counter()
            eng.load(rows[:1000])  # upsert of existing ids
            r["upsert 1,000 (s)"] = f"{time.perf_counter() - t:.2f}"
            t = time.perf_counter()
            eng.delete(gone)
            r["delete 1,000 (s)"] = f"{time.perf_counter() - t:.2f}"
            got = [eng.sparse(q_sparse[i]) for i in range(len(qs))]
            same, ov = agreement(got, want_after)
            r["sparse after upsert+delete = local"] = f"{same:.3f} / {ov:.4f}"
            results[eng.name] = r
            print(eng.name, r, flush=True)

    names = list(results)
    print("\n| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for metric in results[names[0]]:
        print(f"| {metric} | " + " | ".join(results[e][metric] for e in names) + " |")


if __name__ == "__main__":
    main()
