"""Search latency, build time and memory at 100k-1M chunks, against plain bm25s in the same run.

The collection is synthetic but made of real Korean (``_synthetic.py``): chunk ``i`` is 2-4 KorQuAD
sentences drawn with a fixed seed, with their text, our BM25 terms and LSA vectors of 1024 dimensions.
It is written through the real :class:`IndexWriter` (SQLite docstore, BM25 generation, FAISS) and
searched with ``index.search``; each BM25 query includes Kiwi analysis. The query encoder stands in
with the question's precomputed vector, so "dense" and "hybrid" time index work only; ``--encoder``
times one query through a randomly initialised model of the BGE-m3 / KURE-v1 shape apart.

Every measurement runs in a child process of its own (so peak RSS is that step's, and a cold start is
cold), one after the other, over the same chunks and queries:

- ``ours``: build (time and peak RSS), open (time, RSS), the first query, then p50 / p95 of bm25,
  dense and hybrid, dense recall@10 against exact search on the same vectors, and whether every BM25
  top-10 equals full (unpruned) scoring's.
- ``before`` (``--before PATH``, a checkout of older code, e.g. ``git worktree add /tmp/before main``):
  the same steps with that code.
- ``bm25s``: plain bm25s with its numba backend, as its README shows (``BM25(backend="numba")``,
  ``index``, ``retrieve(k=10)``), over the same chunks with our BM25 terms (``bm25s/ours``) and with
  all Kiwi morphemes (``bm25s/all``); Kiwi analysis is inside each timed query.
- ``faiss``: the vector index type ours chose, built alone from the vectors in memory (the build
  time to add to bm25s' for the build comparison), and exact search for the recall ground truth.

    python benchmarks/search_latency.py [--sizes 100000 1000000] [--queries 200] [--before PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad
from _synthetic import DIM, Workload, chunk_picks, chunk_vectors

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# as rabbit_rag.index.vectors sets it, for every worker (the FAISS-alone anchor imports faiss first)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
PER_DOC = 10
K = 10


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def timed(fn, queries: list[str]) -> dict[str, tuple[float, float]]:
    """p50 / p95 in ms of ``fn(q)`` over the queries, wall-clock and CPU time of this process: on a
    machine shared with other work the wall clock mostly measures the others, the CPU time does not."""
    for q in queries[:5]:
        fn(q)  # warm up (numba, FAISS, caches)
    wall, cpu = [], []
    for q in queries:
        c = time.process_time()
        t = time.perf_counter()
        fn(q)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"wall": percentiles(wall), "cpu": percentiles(cpu)}


class WorkloadEncoder:
    """Stands in for the query encoder: the question's precomputed vector, so only index work is timed."""

    model_id = "benchmark/lsa-1024"
    dim = DIM
    max_tokens = 512

    def __init__(self, queries: list[str], vectors: np.ndarray) -> None:
        self.by_text = {q.strip(): v for q, v in zip(queries, vectors, strict=True)}  # searches strip queries

    def embed(self, texts):
        raise RuntimeError("the benchmark writes its own vectors")

    def embed_query(self, text):
        return self.by_text[text.strip()]

    def count_tokens(self, texts):
        return [len(t) for t in texts]


# -- workers (each runs in its own process) ---------------------------------------------------------
def work_build(work: Workload, n: int, index: Path, opts: dict) -> dict:
    from rabbit_rag import embeddings
    from rabbit_rag.index import IndexWriter
    from rabbit_rag.index.docstore import ChunkRow

    embeddings._cache[(WorkloadEncoder.model_id, None)] = WorkloadEncoder(work.queries, work.query_vectors)  # type: ignore[assignment]
    picks = chunk_picks(n, work.groups, coherent=work.coherent)
    data_s = data_cpu = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    kwargs = {"vector_index": opts["vector_index"]} if opts.get("vector_index") else {}
    with IndexWriter(index, embed_model=WorkloadEncoder.model_id, **kwargs) as w:
        for d in range(n // PER_DOC):
            t, c = time.perf_counter(), time.process_time()
            doc_picks = picks[d * PER_DOC : (d + 1) * PER_DOC]
            vecs = chunk_vectors(doc_picks, work.vectors)
            parts, rows, pos = [], [], 0
            for i, p in enumerate(doc_picks):
                text = " ".join(work.texts[j] for j in p)
                terms = [term for j in p for term in work.terms[j]]
                rows.append(ChunkRow(i, pos, pos + len(text), text, len(terms), np.zeros(0, np.uint32)))
                rows[-1].embedding = vecs[i]
                parts.append(text)
                pos += len(text) + 1
                rows[-1].term_ids = terms  # type: ignore[assignment]  # turned into ids below, timed
            data_s += time.perf_counter() - t
            data_cpu += time.process_time() - c
            for r in rows:
                r.term_ids = w.term_ids(r.term_ids)
            w.upsert(uri=f"synthetic:{d}", source=f"synthetic/{d}.txt", title=None, content_hash=str(d),
                     text="\n".join(parts), chunks=rows)  # fmt: skip
        t_close = time.perf_counter()
    total = time.perf_counter() - t0
    # CPU seconds of this process (FAISS' OpenMP threads included): on a shared machine the wall clock
    # also counts the others' work
    cpu = time.process_time() - c0 - data_cpu
    return {"build_s": total - data_s, "build_cpu_s": cpu, "publish_s": time.perf_counter() - t_close,
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def work_search(work: Workload, n: int, index_dir: Path, truth_file: Path, check_exact: bool) -> dict:
    t_start = time.perf_counter()
    from rabbit_rag import embeddings
    from rabbit_rag.index import open_index

    embeddings._cache[(WorkloadEncoder.model_id, None)] = WorkloadEncoder(work.queries, work.query_vectors)  # type: ignore[assignment]
    t = time.perf_counter()
    index = open_index(index_dir)
    out: dict = {"open_ms": (time.perf_counter() - t) * 1000, "rss_open_mb": rss_mb()}
    q0 = work.queries[0]
    t = time.perf_counter()
    index.search(q0, k=K, mode="bm25")
    out["first_bm25_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    index.search(q0, k=K, mode="dense")
    out["first_dense_ms"] = (time.perf_counter() - t) * 1000
    out["cold_total_ms"] = (time.perf_counter() - t_start) * 1000
    out["rss_first_queries_mb"] = rss_mb()
    out["vector_index"] = getattr(index.generation, "vector_index_type", lambda: "flat")()
    for mode in ("bm25", "dense", "hybrid"):
        out[mode] = timed(lambda q, mode=mode: index.search(q, k=K, mode=mode), work.queries)
    # hits read their chunk rows on first use (where the code does that): the same searches with every
    # hit's text read, as a caller that prints them does
    for mode in ("bm25", "hybrid"):
        out[f"{mode}+text"] = timed(lambda q, mode=mode: [h.chunk.text for h in index.search(q, k=K, mode=mode)], work.queries)  # fmt: skip
    # dense recall@10 against exact search over the same vectors
    truth = np.load(truth_file)
    truth_scores = np.load(truth_file.with_suffix(".scores.npy"))
    picks = chunk_picks(n, work.groups, coherent=work.coherent)
    chunk_ids = index.chunk_ids()  # ascending: chunk i of the plan is chunk_ids[i]
    hits = tied = 0
    for qv, tr, ts in zip(work.query_vectors, truth, truth_scores, strict=True):
        got = [h.chunk.chunk_id for h in index.dense_top_k(qv, K)]
        hits += len(set(got) & set(chunk_ids[tr].tolist()))
        # as ann-benchmarks counts: a result whose exact score reaches the 10th true score is a right one
        # (chunks made of the same sentences have the same vector: which of those tied ones make the
        # top 10 is arbitrary, in the exact search too)
        exact = chunk_vectors([picks[i] for i in np.searchsorted(chunk_ids, got)], work.vectors) @ qv
        tied += int(np.sum(exact >= ts[K - 1] - 1e-6))
    out["recall@10"] = hits / (K * len(work.queries))
    out["recall@10_ties"] = tied / (K * len(work.queries))
    if check_exact:
        out["bm25_exact_top10"] = exact_check(index, work.queries)
    out["rss_end_mb"] = rss_mb()
    index.close()
    return out


def exact_check(index, queries: list[str]) -> str:
    """How many BM25 top-10s equal full scoring's (every chunk scored, sorted by score then row)."""
    gen = index.generation
    same = 0
    for q in queries:
        ids = gen.query_vocabulary(index._store.lookup_terms).term_ids(q)
        rows, scores = gen.bm25.top_k(ids, K)
        full = gen.bm25.scores(ids)
        order = np.lexsort((np.arange(len(full)), -full))[:K]
        order = order[full[order] > 0]
        same += rows.tolist() == order.tolist() and np.array_equal(scores, full[order])
    return f"{same}/{len(queries)}"


def work_bm25s(work: Workload, n: int, tokens: str) -> dict:
    import bm25s

    from rabbit_rag.text.kiwi import get_kiwi
    from rabbit_rag.text.terms import bm25_query_terms

    per_sentence = work.terms if tokens == "ours" else work.morphs
    picks = chunk_picks(n, work.groups, coherent=work.coherent)
    corpus = [[t for j in p for t in per_sentence[j]] for p in picks]
    del picks
    t, c = time.perf_counter(), time.process_time()
    retriever = bm25s.BM25(backend="numba")
    retriever.index(corpus, show_progress=False)
    build_s, build_cpu_s = time.perf_counter() - t, time.process_time() - c
    del corpus
    kiwi = get_kiwi()
    vocab = retriever.vocab_dict

    def tokenize(q: str) -> list[str]:
        if tokens == "ours":
            return bm25_query_terms(q, lambda ts: {t for t in ts if t in vocab})
        return [t.form for t in kiwi.tokenize(q)]

    lat = timed(lambda q: retriever.retrieve([tokenize(q)], k=K, show_progress=False), work.queries)
    return {"build_s": build_s, "build_cpu_s": build_cpu_s, "bm25": lat, "peak_rss_mb": peak_rss_mb()}


def work_faiss(work: Workload, n: int, truth_file: Path, kind: str | None) -> dict:
    """Exact ground truth (blockwise, to bound memory) and, when ``kind`` names an approximate type,
    that index built alone from the vectors in memory."""
    import faiss

    picks = chunk_picks(n, work.groups, coherent=work.coherent)
    best_s = np.full((len(work.queries), K), -np.inf, np.float32)
    best_i = np.zeros((len(work.queries), K), np.int64)
    block = 100_000
    for start in range(0, n, block):
        xb = chunk_vectors(picks[start : start + block], work.vectors)
        s, i = faiss.knn(work.query_vectors, xb, K, metric=faiss.METRIC_INNER_PRODUCT)
        s_all = np.hstack([best_s, s])
        i_all = np.hstack([best_i, i + start])
        top = np.argsort(-s_all, axis=1, kind="stable")[:, :K]
        best_s = np.take_along_axis(s_all, top, 1)
        best_i = np.take_along_axis(i_all, top, 1)
    np.save(truth_file, best_i)
    np.save(truth_file.with_suffix(".scores.npy"), best_s)
    out: dict = {}
    if kind and kind != "flat":
        from rabbit_rag.index.vectors import VectorIndex

        # only FAISS' own work is timed: making the synthetic vectors (``chunk_vectors``) is the workload,
        # which our build's time leaves out too (about 6 s of CPU per 100k vectors here)
        vi = VectorIndex.create(kind, DIM, n)
        sample = chunk_vectors(picks[:: max(1, n // vi.train_size())], work.vectors)
        t, c = time.perf_counter(), time.process_time()
        vi.train(sample)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        del sample
        for start in range(0, n, block):
            ids = np.arange(start, min(n, start + block), dtype=np.int64)
            xb = chunk_vectors(picks[start : start + block], work.vectors)
            t, c = time.perf_counter(), time.process_time()
            vi.add(ids, xb)
            wall, cpu = wall + time.perf_counter() - t, cpu + time.process_time() - c
        out["faiss_build_s"] = wall
        out["faiss_build_cpu_s"] = cpu
        out["faiss_peak_rss_mb"] = peak_rss_mb()
    return out


def run_worker(args: argparse.Namespace) -> None:
    work = Workload.read(args.workload)
    n = args.n
    if args.worker == "build":
        out = work_build(work, n, args.index, json.loads(args.opts))
    elif args.worker == "search":
        out = work_search(work, n, args.index, args.truth, check_exact=args.check_exact)
    elif args.worker.startswith("bm25s-"):
        out = work_bm25s(work, n, args.worker.split("-", 1)[1])
    else:
        out = work_faiss(work, n, args.truth, args.kind)
    print("RESULT " + json.dumps(out))


# -- the parent: runs the workers one after the other, prints side by side -----------------------------
def child(side_root: Path | None, *argv: str) -> dict:
    env = dict(os.environ)
    if side_root is not None:  # the other checkout's rabbit_rag comes first on the path
        env["PYTHONPATH"] = str(side_root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, __file__, *argv], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"worker {argv[:2]} failed (exit {proc.returncode})")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[7:])


def run_anchors(n: int, res: dict[str, dict], base: list[str]) -> None:
    for tok in ("ours", "all"):
        res[f"bm25s/{tok}"] = child(None, "--worker", f"bm25s-{tok}", "--n", str(n), *base)
        print(f"[{n}] bm25s/{tok} done", flush=True)
    report(n, res)


def encoder_latency(queries: list[str], n: int = 20) -> tuple[float, float]:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    config = XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                              intermediate_size=4096, max_position_embeddings=8194)  # fmt: skip
    model = XLMRobertaModel(config).eval()
    times = []
    with torch.inference_mode():
        for q in queries[: n + 2]:
            ids = torch.randint(5, 250000, (1, max(8, int(len(q) * 0.9))))  # about 0.9 tokens per character
            t = time.perf_counter()
            model(input_ids=ids)
            times.append(time.perf_counter() - t)
    return percentiles(times[2:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json (default: $RABBIT_RAG_KORQUAD, else data/)")  # fmt: skip
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--before", type=Path, default=None, help="a checkout of older code to measure beside this one")
    ap.add_argument("--vector-index", default=None, help="our index's vector index setting (default: its own)")
    ap.add_argument("--no-anchor", action="store_true", help="skip plain bm25s")
    ap.add_argument("--encoder", action="store_true", help="also time a query through a 568M-parameter encoder")
    ap.add_argument("--random-chunks", action="store_true", help="chunks of sentences from anywhere, not one article")
    ap.add_argument(
        "--workload-cache", type=Path, default=None, help="keep the analyzed sentences here for the next run"
    )
    ap.add_argument("--keep", type=Path, default=None, help="build the indexes under this folder and keep them")
    # worker mode (internal)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workload", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--index", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--truth", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--kind", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--check-exact", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run_worker(args)
        return

    dataset = require_korquad(args.dataset)
    root = Path(tempfile.mkdtemp(prefix="search-latency-", dir=args.keep))
    t = time.perf_counter()
    work = Workload.cached(dataset, args.queries, args.workload_cache)
    work.coherent = not args.random_chunks
    work.save(root / "workload")
    print(f"workload: {len(work.texts)} KorQuAD sentences, {len(work.queries)} KorQuAD questions as queries "
          f"({time.perf_counter() - t:.0f} s to analyze); {os.cpu_count()} CPUs\n", flush=True)  # fmt: skip
    base = ["--workload", str(root / "workload")]
    results: dict[int, dict[str, dict]] = {}
    for n in args.sizes:
        res: dict[str, dict] = {}
        truth = root / f"truth-{n}.npy"
        sides = [("ours", None)] + ([("before", args.before.resolve())] if args.before else [])
        for name, side_root in sides:
            if name == "before" and not args.no_anchor:
                run_anchors(n, res, base)  # before the older code, whose dense search at 1M takes minutes
            idx = root / f"{name}-{n}"
            opts = json.dumps({"vector_index": args.vector_index} if name == "ours" and args.vector_index else {})
            res[name] = child(side_root, "--worker", "build", "--n", str(n), "--index", str(idx), "--opts", opts, *base)
            print(f"[{n}] {name} built in {res[name]['build_s']:.1f} s", flush=True)
            if not truth.exists():
                kind = (json.loads((idx / "manifest.json").read_text())["generation"].get("vector_index") or {}).get(
                    "type"
                )
                res["faiss"] = child(
                    None, "--worker", "faiss", "--n", str(n), "--truth", str(truth), "--kind", kind, *base
                )
            extra = ["--check-exact"] if name == "ours" else []
            res[name].update(child(side_root, "--worker", "search", "--n", str(n), "--index", str(idx), "--truth", str(truth), *extra, *base))  # fmt: skip
            print(f"[{n}] {name} searched", flush=True)
            if args.keep is None:
                subprocess.run(["rm", "-rf", str(idx)], check=False)
            if name == "ours":
                report(n, res)
        if not args.no_anchor and "bm25s/ours" not in res:
            run_anchors(n, res, base)
        results[n] = res
        report(n, res)
    if args.encoder:
        p50, p95 = encoder_latency(work.queries)
        print(
            f"\nquery embedding alone (568M-parameter XLM-R shape, CPU): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        )
    (root / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\nall figures: {root / 'results.json'}")


def report(n: int, res: dict[str, dict]) -> None:
    nan = {"wall": (float("nan"),) * 2, "cpu": (float("nan"),) * 2}
    print(f"\n== {n:,} chunks ==   latency in ms, p50 / p95: wall clock | CPU time of the searching process")
    print(f"{'':<11} {'build s':>7} {'peak MB':>7}  {'bm25':>23}  {'dense':>23}  {'hybrid':>23}  {'R@10':>5}")
    for name in ("before", "ours", "bm25s/ours", "bm25s/all"):
        r = res.get(name)
        if r is None:
            continue
        cols = []
        for mode in ("bm25", "dense", "hybrid"):
            m = r.get(mode, nan)
            cols.append(f"{m['wall'][0]:5.2f}/{m['wall'][1]:5.2f} | {m['cpu'][0]:5.2f}/{m['cpu'][1]:5.2f}")
        rec = r.get("recall@10", float("nan"))
        ties = f" ({r['recall@10_ties']:.3f} counting ties)" if "recall@10_ties" in r else ""
        print(f"{name:<11} {r['build_s']:>7.1f} {r['peak_rss_mb']:>7.0f}  {'  '.join(cols)}  {rec:>5.3f}{ties}")
    ours = res["ours"]
    for tok in ("ours", "all"):
        a = res.get(f"bm25s/{tok}")
        if a:
            ratios = ", ".join(
                f"{clock} p50 {ours['bm25'][clock][0] / a['bm25'][clock][0]:.2f}x p95 "
                f"{ours['bm25'][clock][1] / a['bm25'][clock][1]:.2f}x"
                for clock in ("wall", "cpu")
            )
            print(f"ours / bm25s/{tok} BM25 latency: {ratios}")
    if "before" in res:
        b = res["before"]
        print("ours / before: " + ", ".join(
            f"{mode} p50 {ours[mode]['cpu'][0] / b[mode]['cpu'][0]:.2f}x (CPU)" for mode in ("bm25", "dense", "hybrid")
        ) + f", build {ours['build_s'] / b['build_s']:.2f}x")  # fmt: skip
    f = res.get("faiss", {})
    a = res.get("bm25s/ours")
    if a:
        fb = f.get("faiss_build_s", 0.0)
        ref = a["build_s"] + fb
        print(f"build: ours {ours['build_s']:.1f} s vs bm25s {a['build_s']:.1f} s + FAISS {fb:.1f} s = {ref:.1f} s "
              f"-> {ours['build_s'] / ref:.2f}x" + (f" (FAISS alone: peak {f['faiss_peak_rss_mb']:.0f} MB)" if fb else ""))  # fmt: skip
        if "build_cpu_s" in ours and "build_cpu_s" in a:
            fc = f.get("faiss_build_cpu_s", 0.0)
            ref_cpu = a["build_cpu_s"] + fc
            print(f"build CPU: ours {ours['build_cpu_s']:.1f} s vs bm25s {a['build_cpu_s']:.1f} s + FAISS {fc:.1f} s = "
                  f"{ref_cpu:.1f} s -> {ours['build_cpu_s'] / ref_cpu:.2f}x")  # fmt: skip
    for name in ("before", "ours"):
        r = res.get(name)
        if r and "bm25+text" in r:
            print(f"{name}: with every hit's text read: " + ", ".join(
                f"{mode} {r[mode + '+text']['wall'][0]:.2f}/{r[mode + '+text']['wall'][1]:.2f} | "
                f"{r[mode + '+text']['cpu'][0]:.2f}/{r[mode + '+text']['cpu'][1]:.2f}" for mode in ("bm25", "hybrid")
            ))  # fmt: skip
    for name in ("before", "ours"):
        r = res.get(name)
        if r:
            print(f"{name}: vector index {r['vector_index']}; cold start: open {r['open_ms']:.0f} ms (RSS "
                  f"{r['rss_open_mb']:.0f} MB), first bm25 {r['first_bm25_ms']:.0f} ms, first dense "
                  f"{r['first_dense_ms']:.0f} ms, RSS then {r['rss_first_queries_mb']:.0f} MB, after all queries "
                  f"{r['rss_end_mb']:.0f} MB; publish {r['publish_s']:.1f} s of the build"
                  + (f"; BM25 top-10 = full scoring's: {r['bm25_exact_top10']}" if "bm25_exact_top10" in r else ""))  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
