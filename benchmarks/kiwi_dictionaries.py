"""Kiwi with and without its typo and multi-word dictionaries: load time, memory and BM25 recall.

rabbit-rag's shared Kiwi leaves both dictionaries out (``KIWI_OPTIONS`` in ``rabbit_rag/text/kiwi.py``)
because loading them is most of a first search's time. A third set also leaves out the default
dictionary (proper nouns from Wikipedia and Namuwiki): the one Kiwi option left that makes its load
cheaper than a bare ``Kiwi()`` constructor (``benchmarks/first_answer.py``), measured here for what
it costs in recall; rabbit-rag keeps that dictionary. This measures what that choice costs in
retrieval, side by side in one run: for each option set, in a fresh process each (the Kiwi is
process-wide), a KorQuAD 1.0 dev BM25 evaluation (``evaluate_retrieval``, BM25 only, a temporary index
built with those options) and, separately, the Kiwi load until it can analyze (constructor plus first
``tokenize``; median of ``--rounds`` fresh processes, interleaved) with its peak memory.

    python benchmarks/kiwi_dictionaries.py [--dataset PATH] [--unit paragraph|article] [--limit N] [--rounds 5]

The dev set comes from ``--dataset``, ``$RABBIT_RAG_KORQUAD`` or ``data/`` (see ``benchmarks/_data.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

OPTION_SETS: dict[str, dict[str, bool]] = {
    "without (ours)": {"load_typo_dict": False, "load_multi_dict": False},
    "Kiwi() defaults": {"load_typo_dict": True, "load_multi_dict": True},
    "no default dict": {"load_typo_dict": False, "load_multi_dict": False, "load_default_dict": False},
}

LOAD = """
import json, resource, sys, time
t = time.perf_counter()
from kiwipiepy import Kiwi
Kiwi(**json.loads(sys.argv[1])).tokenize("대통령")
wall = time.perf_counter() - t
print(json.dumps([wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))
"""

EVAL = """
import json, sys
from rabbit_rag.text import kiwi
kiwi.KIWI_OPTIONS.clear()
kiwi.KIWI_OPTIONS.update(json.loads(sys.argv[1]))
from rabbit_rag.evaluation.korquad import evaluate_retrieval
limit = int(sys.argv[4]) if sys.argv[4] != "0" else None
r = evaluate_retrieval(sys.argv[2], unit=sys.argv[3], embed_model="none", mode="bm25", limit=limit, progress=False)
print(json.dumps(r))
"""


def run_json(code: str, *args: str) -> object:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=None, help="KorQuAD_v1.0_dev.json")
    ap.add_argument("--unit", choices=["paragraph", "article"], default="paragraph")
    ap.add_argument("--limit", type=int, default=0, help="first N questions only (0: all)")
    ap.add_argument("--rounds", type=int, default=5, help="fresh processes per Kiwi load measurement")
    args = ap.parse_args()
    dataset = require_korquad(args.dataset)

    loads: dict[str, list[tuple[float, float]]] = {name: [] for name in OPTION_SETS}
    for _ in range(args.rounds):
        for name, opts in OPTION_SETS.items():
            loads[name].append(run_json(LOAD, json.dumps(opts)))  # type: ignore[arg-type]
    print(f"Kiwi load until it analyzes, median of {args.rounds} fresh processes (cpu {os.cpu_count()}):")
    for name, rows in loads.items():
        wall = statistics.median(w for w, _ in rows)
        mb = statistics.median(m for _, m in rows)
        print(f"  {name:18} {wall:6.2f} s  peak {mb:5.0f} MB")

    print(f"\nBM25 on KorQuAD 1.0 dev ({args.unit} unit), same questions, one fresh process per option set:")
    print(f"  {'':18}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR@10':>8}{'questions':>11}{'chunks':>8}")
    for name, opts in OPTION_SETS.items():
        r = run_json(EVAL, json.dumps(opts), str(dataset), args.unit, str(args.limit))
        assert isinstance(r, dict)
        print(
            f"  {name:18}{r['recall@1']:8.4f}{r['recall@5']:8.4f}{r['recall@10']:8.4f}{r['mrr@10']:8.4f}"
            f"{r['n_questions']:>11,}{r['n_chunks']:>8,}"
        )


if __name__ == "__main__":
    main()
