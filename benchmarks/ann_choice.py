"""Which FAISS index for a large collection: build time, memory, recall@10 against exact search, latency.

Vectors are the LSA vectors of synthetic chunks made of KorQuAD sentences (see ``_synthetic.py``);
queries are KorQuAD questions' vectors. Recall@10 is measured against ``IndexFlatIP`` on the same
vectors; latency is one query at a time on one thread, as the index searches, in CPU time (on a
shared machine wall-clock time mostly measures the other processes).

    python benchmarks/ann_choice.py [--size 200000] [--queries 200] [--dataset PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad
from _synthetic import DIM, Workload, chunk_picks, chunk_vectors


def timed_search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, float, float]:
    import faiss

    faiss.omp_set_num_threads(1)
    ids = np.zeros((len(queries), k), np.int64)
    lat = []
    for i, q in enumerate(queries):
        t = time.process_time()  # CPU time: on a shared machine wall time mostly measures the others
        _, found = index.search(q.reshape(1, -1), k)
        lat.append((time.process_time() - t) * 1000)
        ids[i] = found[0]
    lat.sort()
    return ids, statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None)
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--only", nargs="*", default=None, help="index names to try (default: all)")
    ap.add_argument("--workload", type=Path, default=None, help="keep the analyzed sentences here for the next run")
    ap.add_argument("--random-chunks", action="store_true", help="chunks of sentences from anywhere (hardest case)")
    args = ap.parse_args()
    work = Workload.cached(require_korquad(args.dataset), args.queries, args.workload)
    xb = chunk_vectors(chunk_picks(args.size, work.groups, coherent=not args.random_chunks), work.vectors)
    xq = work.query_vectors
    threads = faiss.omp_get_max_threads()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(xb)
    truth, p50, _ = timed_search(flat, xq, 10)
    print(f"{args.size} vectors of {DIM} dims; {len(xq)} queries; exact IndexFlatIP p50 {p50:.2f} ms\n")
    print(f"{'index':<28} {'build s':>8} {'MB/1M':>7} {'param':>10} {'R@10':>6} {'p50 ms':>7} {'p95 ms':>7}")
    nlist = max(256, int(4 * np.sqrt(args.size)) // 256 * 256)
    candidates = {
        "HNSW32,Flat": (lambda: faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT), "efSearch", [32, 64, 128]),
        "HNSW32,SQ8": (
            lambda: faiss.IndexHNSWSQ(DIM, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT),
            "efSearch",
            [32, 64, 128],
        ),
        f"IVF{nlist},SQ8": (
            lambda: faiss.index_factory(DIM, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT),
            "nprobe",
            [8, 16, 32, 64],
        ),
        f"IVF{nlist},Flat": (
            lambda: faiss.index_factory(DIM, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT),
            "nprobe",
            [8, 16, 32, 64],
        ),
    }
    for name, (make, param, values) in candidates.items():
        if args.only and name not in args.only:
            continue
        faiss.omp_set_num_threads(threads)
        index = make()
        t = time.perf_counter()
        if not index.is_trained:
            sample = xb[np.random.default_rng(0).choice(len(xb), min(len(xb), nlist * 64), replace=False)]
            index.train(sample)
        index.add(xb)
        build = time.perf_counter() - t
        mb = len(faiss.serialize_index(index)) / len(xb) * 1e6 / 2**20
        for v in values:
            if param == "efSearch":
                index.hnsw.efSearch = v
            else:
                index.nprobe = v
            found, p50, p95 = timed_search(index, xq, 10)
            print(
                f"{name:<28} {build:>8.1f} {mb:>7.0f} {param + '=' + str(v):>10} {recall(found, truth):>6.3f} "
                f"{p50:>7.2f} {p95:>7.2f}",
                flush=True,
            )
        del index


if __name__ == "__main__":
    main()
