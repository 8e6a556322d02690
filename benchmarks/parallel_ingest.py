"""Parallel ingest: MB/s with 1, 2, … worker processes against the serial pipeline, side by side.

Text: the 964 KorQuAD 1.0 dev contexts (1.23 MB UTF-8) written as ``.txt`` files of ``--per-file``
contexts each, ingested BM25-only (``embed_model="none"``) into a fresh folder by
``ingest_paths(..., options=IngestOptions(workers=N))`` — the code path of ``rabbit-rag ingest
--workers N``: this process walks, hashes and sends bytes out, the workers parse, run Kiwi and chunk,
and this process, the single writer, assigns term ids, commits and publishes.

Per run it prints the wall time, MB/s, the writer's own CPU time (this process's) and the CPU time of
every process under it (workers, their parse children, the serial pipeline's parse child), read from
``/proc``. The writer is the part that does not parallelize, so ``MB / writer CPU s`` bounds what any
number of workers can reach through one writer; ``MB / all CPU s`` is the throughput per core (the
model in docs/scaling.md). The workers are started once per process and reused by later ingests
(``rabbit_rag.ingest.parallel.SharedProcessPool``): their start-up is measured apart, in the warm-up,
and the rounds measure the steady state. Medians over rounds, the configurations interleaved in each
round (a busy machine drifts).

    python benchmarks/parallel_ingest.py [--workers 1 2] [--rounds 3] [--per-file 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _ticks(pid: int) -> tuple[float, list[int]]:
    """CPU seconds of ``pid`` so far, and its children's ids (Linux /proc)."""
    hz = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0, []
    return (int(fields[11]) + int(fields[12])) / hz, [int(k) for k in kids]


def descendants_cpu() -> float:
    """CPU seconds of every live process under this one, plus the children already reaped."""
    total, todo = 0.0, _ticks(os.getpid())[1]
    while todo:
        cpu, kids = _ticks(todo.pop())
        total += cpu
        todo.extend(kids)
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json (default: $RABBIT_RAG_KORQUAD, else data/)"
    )
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-file", type=int, default=10, help="contexts per file")
    args = ap.parse_args()
    args.dataset = require_korquad(args.dataset)

    from rabbit_rag.evaluation.korquad import load_korquad
    from rabbit_rag.ingest import IngestOptions, ingest_paths

    docs, _ = load_korquad(args.dataset, "paragraph")
    contexts = [d.text for d in docs]
    with tempfile.TemporaryDirectory(prefix="parallel-ingest-") as tmp_s:
        tmp = Path(tmp_s)
        corpus = tmp / "corpus"
        corpus.mkdir()
        for i in range(0, len(contexts), args.per_file):
            (corpus / f"{i // args.per_file:04d}.txt").write_text("\n\n".join(contexts[i : i + args.per_file]))
        mb = sum(f.stat().st_size for f in corpus.iterdir()) / 1e6
        n_files = len(list(corpus.iterdir()))
        configs = ["serial"] + [f"workers={w}" for w in args.workers]
        # warm up: imports, Kiwi's model, numba's cache; then each worker count's start-up, measured
        ingest_paths([corpus / "0000.txt"], tmp / "warm", embed_model="none", progress=False)
        for w in args.workers:
            if w > 1:
                t, cpu = time.perf_counter(), descendants_cpu()
                ingest_paths([corpus / "0000.txt"], tmp / f"warm{w}", embed_model="none",
                             options=IngestOptions(workers=w), progress=False)  # fmt: skip
                print(f"start-up of {w} workers (+ one 13 KB file): {time.perf_counter() - t:.1f} s wall, "
                      f"{descendants_cpu() - cpu:.1f} CPU s in the workers", flush=True)  # fmt: skip

        wall: dict[str, list[float]] = {c: [] for c in configs}
        writer_cpu: dict[str, list[float]] = {c: [] for c in configs}
        all_cpu: dict[str, list[float]] = {c: [] for c in configs}
        chunks: dict[str, int] = {}
        for r in range(args.rounds):
            for c in configs:
                opts = IngestOptions() if c == "serial" else IngestOptions(workers=int(c.split("=")[1]))
                out = tmp / f"idx-{r}-{c.replace('=', '')}"
                cpu, kids = time.process_time(), descendants_cpu()
                t = time.perf_counter()
                report = ingest_paths([corpus], out, embed_model="none", options=opts, progress=False)
                wall[c].append(time.perf_counter() - t)
                writer_cpu[c].append(time.process_time() - cpu)
                all_cpu[c].append(writer_cpu[c][-1] + descendants_cpu() - kids)
                chunks[c] = report.chunks_added
            print(f"round {r + 1}: " + ", ".join(f"{c} {wall[c][-1]:.1f}s" for c in configs), flush=True)

    print(f"\ntext: {len(contexts)} contexts in {n_files} files, {mb:.2f} MB; cores: {os.cpu_count()}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(
        f"{'':14}{'chunks':>8}{'median s':>10}{'MB/s':>8}{'writer CPU s':>14}{'writer bound MB/s':>19}"
        f"{'all CPU s':>11}{'CPU s/MB':>10}{'MB/CPU s':>10}"
    )
    med = {c: statistics.median(wall[c]) for c in configs}
    for c in configs:
        wc = statistics.median(writer_cpu[c])
        ac = statistics.median(all_cpu[c])
        bound = f"{mb / wc:>19.2f}" if c != "serial" else f"{'(all steps)':>19}"
        print(
            f"{c:14}{chunks[c]:>8}{med[c]:>10.2f}{mb / med[c]:>8.3f}{wc:>14.2f}{bound}"
            f"{ac:>11.2f}{ac / mb:>10.2f}{mb / ac:>10.3f}"
        )
    for w in args.workers:
        print(f"workers={w} / serial: {med['serial'] / med[f'workers={w}']:.2f}x")
    if len(args.workers) > 1:
        a, b = args.workers[0], args.workers[-1]
        print(f"workers={b} / workers={a}: {med[f'workers={a}'] / med[f'workers={b}']:.2f}x")
    if len(set(chunks.values())) != 1:
        raise SystemExit(f"the configurations made different chunk counts: {chunks}")


if __name__ == "__main__":
    main()
