"""Search latency at 10k and 100k chunks: BM25 and hybrid, p50 / p95.

The corpus is synthetic but made of real Korean: the KorQuAD 1.0 dev contexts are analyzed once
with Kiwi, and each synthetic chunk is 2-4 real sentences drawn at random (their text and their BM25
terms), written through the real index writer (SQLite docstore, BM25 generation, FAISS). Dense
vectors are random unit vectors of the real KURE-v1 / BGE-m3 width (1024), and the query encoder
is a stand-in returning a random vector, so "hybrid" measures index work only (BM25 + FAISS + fusion +
fetching chunks). ``--encoder`` additionally times one query through a randomly initialised model
with the real BGE-m3 shape (568M parameters; compute does not depend on the weights), which on a CPU
dominates hybrid latency and is reported separately.

Queries are KorQuAD questions; each call includes Kiwi query analysis.

    python benchmarks/search_latency.py [--sizes 10000 100000] [--queries 300] [--encoder]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DIM = 1024


class RandomEncoder:
    """Stands in for the query encoder so that only index work is timed."""

    model_id = "benchmark/random-1024"
    dim = DIM
    max_tokens = 512

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def _unit(self, n: int) -> np.ndarray:
        v = self.rng.standard_normal((n, DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed(self, texts):
        return self._unit(len(texts))

    def embed_query(self, text):
        return self._unit(1)[0]

    def count_tokens(self, texts):
        return [len(t) for t in texts]


def sentence_pool(dataset: Path) -> list[tuple[str, list[str]]]:
    from rabbit_rag.evaluation.korquad import load_korquad
    from rabbit_rag.text.sentences import analyze_many

    docs, _ = load_korquad(dataset, "paragraph")
    pool = []
    for _, text, sents in analyze_many((None, d.text, ()) for d in docs):
        pool.extend((text[s.start : s.end], s.terms) for s in sents if s.terms)
    return pool


def build(index: Path, n_chunks: int, pool: list[tuple[str, list[str]]], seed: int = 0) -> float:
    from rabbit_rag.index import IndexWriter
    from rabbit_rag.index.docstore import ChunkRow

    rng = random.Random(seed)
    enc = RandomEncoder()
    t0 = time.perf_counter()
    with IndexWriter(index, embed_model=enc.model_id) as w:
        per_doc = 10
        for d in range(n_chunks // per_doc):
            parts, rows, pos = [], [], 0
            for i in range(per_doc):
                picked = [pool[rng.randrange(len(pool))] for _ in range(rng.randint(2, 4))]
                text = " ".join(p[0] for p in picked)
                terms = [t for p in picked for t in p[1]]
                rows.append(ChunkRow(i, pos, pos + len(text), text, len(terms), w.term_ids(terms)))
                parts.append(text)
                pos += len(text) + 1
            vecs = enc.embed([r.text for r in rows])
            for r, v in zip(rows, vecs, strict=True):
                r.embedding = v
            w.upsert(uri=f"synthetic:{d}", source=f"synthetic/{d}.txt", title=None, content_hash=str(d),
                     text="\n".join(parts), chunks=rows)  # fmt: skip
    return time.perf_counter() - t0


def percentiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def encoder_latency(queries: list[str], n: int = 20) -> tuple[float, float]:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    config = XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                              intermediate_size=4096, max_position_embeddings=8194)  # fmt: skip
    model = XLMRobertaModel(config).eval()
    n_params = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"query encoder stand-in: XLM-R / BGE-m3 shape, {n_params:.0f}M parameters, fp32, {torch.get_num_threads()} threads"
    )
    times = []
    with torch.inference_mode():
        for q in queries[: n + 2]:
            ids = torch.randint(5, 250000, (1, max(8, int(len(q) * 0.9))))  # about 0.9 tokens per character
            t = time.perf_counter()
            model(input_ids=ids)
            times.append(time.perf_counter() - t)
    return percentiles(times[2:])


def raw_faiss(index, queries: list[str]) -> tuple[float, float]:
    """The FAISS call alone (one thread), for comparison with our dense/hybrid figures."""
    import faiss

    vectors = index.generation.vectors.index  # the raw FAISS index, timed on its own
    rng = np.random.default_rng(2)
    faiss.omp_set_num_threads(1)
    lat = []
    for _ in queries:
        q = rng.standard_normal((1, DIM)).astype(np.float32)
        q /= np.linalg.norm(q)
        t = time.perf_counter()
        vectors.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
    return percentiles(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json (default: $RABBIT_RAG_KORQUAD, else data/)"
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--encoder", action="store_true", help="also time a query through a 568M-parameter encoder")
    args = ap.parse_args()
    args.dataset = require_korquad(args.dataset)

    from rabbit_rag import embeddings
    from rabbit_rag.evaluation.korquad import load_korquad
    from rabbit_rag.index import open_index

    embeddings._cache[(RandomEncoder.model_id, None)] = RandomEncoder()  # type: ignore[assignment]
    _, questions = load_korquad(args.dataset, "paragraph")
    queries = [q.question for q in random.Random(1).sample(questions, args.queries)]
    pool = sentence_pool(args.dataset)
    print(f"sentence pool: {len(pool)} KorQuAD sentences; {len(queries)} KorQuAD questions as queries\n")
    print(f"{'chunks':>8} {'build s':>8} {'mode':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            build_s = build(Path(tmp) / "idx", n, pool)
            index = open_index(Path(tmp) / "idx")
            for mode in ("bm25", "dense", "hybrid"):
                for q in queries[:5]:
                    index.search(q, k=10, mode=mode)  # warm up (numba, FAISS, caches)
                lat = []
                for q in queries:
                    t = time.perf_counter()
                    index.search(q, k=10, mode=mode)
                    lat.append((time.perf_counter() - t) * 1000)
                p50, p95 = percentiles(lat)
                print(f"{n:>8} {build_s:>8.1f} {mode:>7} {p50:>8.2f} {p95:>8.2f}", flush=True)
            p50, p95 = raw_faiss(index, queries)
            print(
                f"{n:>8} {'':>8} {'(faiss)':>7} {p50:>8.2f} {p95:>8.2f}   raw IndexFlatIP search alone, same run",
                flush=True,
            )
            index.close()
    if args.encoder:
        p50, p95 = encoder_latency(queries)
        print(f"\nquery embedding alone: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (add to hybrid/dense)")


if __name__ == "__main__":
    main()
