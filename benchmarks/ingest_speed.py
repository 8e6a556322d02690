"""Ingest speed: raw Kiwi tokenization vs our whole BM25-only ingest, side by side.

Text: the 964 KorQuAD 1.0 dev contexts (1.23 MB UTF-8). Each round runs, in turn:

- raw Kiwi, one call per context on one thread (``kiwi.tokenize(c)``), the DESIGN.md anchor;
- raw Kiwi, batched (``kiwi.tokenize(contexts)``: Kiwi's worker threads), what our ingest uses;
- our ingest (``ingest_documents(..., embed_model="none")`` into a fresh folder): normalization,
  Kiwi sentences and terms, chunking, SQLite commit, BM25 build, publishing the generation.

Medians over the rounds, MB/s of UTF-8 input, and the ratio ours / raw (target >= 0.7 against the
same parallelism).

    python benchmarks/ingest_speed.py [--rounds 3] [--dataset data/KorQuAD_v1.0_dev.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json (default: $RABBIT_RAG_KORQUAD, else data/)"
    )
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    args.dataset = require_korquad(args.dataset)

    from rabbit_rag.evaluation.korquad import load_korquad
    from rabbit_rag.ingest import ingest_documents
    from rabbit_rag.text.kiwi import get_kiwi, kiwi_workers
    from rabbit_rag.types import Document

    docs, _ = load_korquad(args.dataset, "paragraph")
    contexts = [d.text for d in docs]
    mb = sum(len(c.encode("utf-8")) for c in contexts) / 1e6
    kiwi = get_kiwi()
    with tempfile.TemporaryDirectory() as tmp:  # warm up: Kiwi, numba, bm25s imports
        ingest_documents(
            [Document(source="w", text="준비 운동 문장이다.")], Path(tmp) / "w", embed_model="none", progress=False
        )
    kiwi.tokenize(contexts[0])

    times: dict[str, list[float]] = {"kiwi_single": [], "kiwi_batch": [], "ours": []}
    for r in range(args.rounds):
        t = time.perf_counter()
        for c in contexts:
            kiwi.tokenize(c)
        times["kiwi_single"].append(time.perf_counter() - t)

        t = time.perf_counter()
        for _ in kiwi.tokenize(contexts):
            pass
        times["kiwi_batch"].append(time.perf_counter() - t)

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            report = ingest_documents(docs, Path(tmp) / f"idx{r}", embed_model="none", progress=False)
            times["ours"].append(time.perf_counter() - t)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"\ntext: {len(contexts)} contexts, {mb:.2f} MB; {report.chunks_added} chunks; Kiwi workers: {kiwi_workers()}; cores: {os.cpu_count()}"
    )
    print(f"{'':24}{'median s':>10}{'MB/s':>8}")
    for k, label in (
        ("kiwi_single", "raw Kiwi, one thread"),
        ("kiwi_batch", "raw Kiwi, batched"),
        ("ours", "our BM25-only ingest"),
    ):
        print(f"{label:24}{med[k]:>10.2f}{mb / med[k]:>8.3f}")
    print(f"\nours / raw Kiwi batched:    {med['kiwi_batch'] / med['ours']:.2f}x  (target >= 0.70)")
    print(f"ours / raw Kiwi one thread: {med['kiwi_single'] / med['ours']:.2f}x")


if __name__ == "__main__":
    main()
