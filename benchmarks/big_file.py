"""Peak memory and time for ingesting one large Korean text file (BM25 only).

Builds a text file of ``--mb`` megabytes from KorQuAD contexts (paragraphs separated by blank
lines), ingests it into a fresh index in a child process and prints the child's peak RSS, next to
the peak of a child that only imports rabbit-rag and loads Kiwi (the fixed cost).

    python benchmarks/big_file.py [--mb 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

CHILD = r"""
import os, resource, sys, time, json
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from rabbit_rag.text.kiwi import get_kiwi
get_kiwi().tokenize("준비")
import bm25s, numba, faiss  # the fixed cost of the search libraries
if sys.argv[1] == "baseline":
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.exit(0)
from rabbit_rag.ingest import ingest_paths

t = time.perf_counter()
r = ingest_paths([sys.argv[1]], sys.argv[2], embed_model="none", progress=False)
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "report": r.to_dict()}, ensure_ascii=False))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json (default: $RABBIT_RAG_KORQUAD, else data/)"
    )
    ap.add_argument("--mb", type=float, default=50.0)
    args = ap.parse_args()
    args.dataset = require_korquad(args.dataset)
    data = json.loads(args.dataset.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in data for p in a["paragraphs"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        target = int(args.mb * 1e6)
        with open(path, "w", encoding="utf-8") as f:
            written, i = 0, 0
            while written < target:
                para = f"{i}. {contexts[i % len(contexts)]}\n\n"
                f.write(para)
                written += len(para.encode("utf-8"))
                i += 1
        size = path.stat().st_size / 1e6
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        base = json.loads(subprocess.run([sys.executable, "-c", CHILD, "baseline"], env=env, capture_output=True,
                                         text=True, check=True).stdout)  # fmt: skip
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(Path(tmp) / "idx")], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        res = json.loads(out.stdout.strip().splitlines()[-1])
        rep = res["report"]
        print(f"file: {size:.1f} MB, {i} paragraphs")
        print(f"ingest: {res['seconds']:.1f} s ({size / res['seconds']:.2f} MB/s), {rep['chunks_added']} chunks, "
              f"added={rep['added']} failed={rep['failed']}")  # fmt: skip
        print(
            f"peak RSS: {res['peak_mb']:.0f} MB (a process that only loads Kiwi, bm25s, numba and FAISS: {base['peak_mb']:.0f} MB)"
        )
        print(f"wall with process start: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
