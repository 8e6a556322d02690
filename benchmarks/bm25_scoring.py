"""Scoring one BM25 query: numpy beside bm25s' numba kernel, on the same matrix.

rabbit_rag/index/bm25.py scores a small matrix with numpy, so that a search on it never imports
bm25s, numba or scipy (about half a second per process), and a large one with bm25s' numba kernel.
This measures both per query once everything is loaded, side by side, which is where the threshold
(``JIT_MIN_ENTRIES``) comes from, and checks that the scores are identical.

The matrix is synthetic, with Zipf-distributed term ids (as words are), at 10k and 100k chunks of
40 terms; queries have 3-12 terms drawn the same way (so common terms with long posting lists are
queried too). numba's first call (the JIT compilation, paid once per process) is reported separately.

    python benchmarks/bm25_scoring.py [--sizes 10000 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from rabbit_rag.index import bm25
from rabbit_rag.index.bm25 import BM25_PARAMS, BM25Matrix, BM25Scorer, _bm25s_model

VOCAB = 50_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    bm25.JIT_MIN_ENTRIES = 2**62  # "ours" is the numpy scorer at every size here
    rng = np.random.default_rng(0)
    print(f"{'chunks':>9}{'numpy p50':>11}{'p95':>8}{'numba p50':>11}{'p95':>8}{'numba 1st':>11}  (ms)")
    for n in args.sizes:
        corpus = [(rng.zipf(1.2, 40).clip(1, VOCAB) - 1).astype(np.int64) for _ in range(n)]
        matrix = BM25Matrix.build(corpus, VOCAB, BM25_PARAMS)
        ours = BM25Scorer(matrix, BM25_PARAMS)
        theirs = _bm25s_model(BM25_PARAMS)
        theirs.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": n}
        theirs.nonoccurrence_array = None
        queries = [list(rng.zipf(1.2, int(rng.integers(3, 13))).clip(1, VOCAB) - 1) for _ in range(args.queries)]
        t = time.perf_counter()
        theirs.get_scores_from_ids(queries[0])
        first = (time.perf_counter() - t) * 1000
        a, b = [], []
        for q in queries:  # interleaved, so both see the same machine
            t = time.perf_counter()
            mine = ours.scores(q)
            a.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            ref = theirs.get_scores_from_ids(q)
            b.append((time.perf_counter() - t) * 1000)
            assert np.array_equal(mine, ref), "scores differ"

        def p95(xs: list[float]) -> float:
            return statistics.quantiles(xs, n=20)[-1]

        print(f"{n:>9,}{statistics.median(a):11.3f}{p95(a):8.3f}{statistics.median(b):11.3f}{p95(b):8.3f}{first:11.1f}")


if __name__ == "__main__":
    main()
