"""What verifying checksums costs: opening an index and loading its vectors, with and without.

Builds a synthetic index (real KorQuAD sentences and their Kiwi terms, random 1024-wide unit vectors:
see ``search_latency.py``) at each size, then measures side by side in one run, interleaved, the
median of ``--repeat`` rounds of:

- ``open``: ``open_index`` up to a searchable BM25 generation (manifest checksum, every generation
  file but the FAISS index verified, arrays loaded) — with verification and with it switched off;
- ``vectors``: loading the FAISS index on the first dense search — with and without its checksum;
- ``search``: a BM25 top-10 including the chunk rows' CRC-32 checks — with and without them;
- the raw speed of candidate digests over the same generation files (xxh3-128, the one recorded;
  SHA-256, BLAKE2b-128 and CRC-32 from the standard library).

    python benchmarks/integrity.py [--sizes 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import require_korquad

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _digests() -> dict[str, Callable[[bytes], object]]:
    import xxhash

    return {
        "xxh3-128": lambda b: xxhash.xxh3_128(b).digest(),
        "sha256": lambda b: hashlib.sha256(b).digest(),
        "blake2b-128": lambda b: hashlib.blake2b(b, digest_size=16).digest(),
        "crc32 (zlib)": zlib.crc32,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None, help="KorQuAD_v1.0_dev.json")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    args.dataset = require_korquad(args.dataset)

    import search_latency as sl

    from rabbit_rag import embeddings

    embeddings._cache[(sl.RandomEncoder.model_id, None)] = sl.RandomEncoder()  # type: ignore[assignment]
    pool = sl.sentence_pool(args.dataset)
    queries = [f"{pool[i][0][:30]}" for i in random.Random(1).sample(range(len(pool)), 50)]
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "idx"
            build_s = sl.build(path, n, pool)
            measure(path, n, build_s, queries, args.repeat)


def measure(path: Path, n: int, build_s: float, queries: list[str], repeat: int) -> None:
    from rabbit_rag.index import open_index, reader

    real_files = reader.generation_files
    gen = next(p for p in path.iterdir() if p.name.startswith("gen-"))
    sizes = {p.name: p.stat().st_size for p in gen.iterdir()}
    total_mb = sum(sizes.values()) / 1e6
    faiss_mb = sizes.get("vectors.faiss", 0) / 1e6
    print(f"\n{n} chunks: built in {build_s:.0f} s; generation {total_mb:.0f} MB ({faiss_mb:.0f} MB FAISS)")
    open_index(path).close()  # page cache warm for both variants

    def open_checked() -> None:
        open_index(path).close()

    def open_unchecked() -> None:
        reader.generation_files = lambda manifest: None  # type: ignore[assignment]
        try:
            open_index(path).close()
        finally:
            reader.generation_files = real_files

    idx = open_index(path)
    files = idx.generation.files

    def vectors(checked: bool) -> Callable[[], None]:
        def run() -> None:
            idx.generation._vectors = None
            idx.generation.files = files if checked else None
            assert idx.generation.vectors is not None

        return run

    def search() -> None:
        for q in queries:
            idx.search(q, k=10, mode="bm25")

    def search_unchecked() -> None:
        store = idx._store
        store.schema = 1  # the reader then skips the CRC columns: no checks
        try:
            search()
        finally:
            store.schema = 2

    search()  # warm up numba and Kiwi
    rows = [
        ("open (BM25 ready)", open_checked, open_unchecked),
        ("vectors (first dense search)", vectors(True), vectors(False)),
        (f"{len(queries)} BM25 searches", search, search_unchecked),
    ]
    print(f"{'':<30} {'verified ms':>12} {'unverified ms':>14} {'cost ms':>9} {'ratio':>7}")
    for name, with_fn, without_fn in rows:
        a = _median_ms(with_fn, repeat)
        b = _median_ms(without_fn, repeat)
        print(f"{name:<30} {a:>12.1f} {b:>14.1f} {a - b:>9.1f} {a / b:>7.2f}")
    idx.close()

    # the verification alone, timed directly (a difference of two large noisy timings is not)
    from rabbit_rag.index.checksums import verify_files

    bm25_ms = _median_ms(lambda: verify_files(gen, files, skip=("vectors.faiss",)), repeat)
    faiss_ms = _median_ms(lambda: verify_files(gen, {"vectors.faiss": files["vectors.faiss"]}), repeat)
    print(f"verification alone: on open {bm25_ms:.1f} ms ({(total_mb - faiss_mb):.0f} MB), "
          f"vectors.faiss {faiss_ms:.1f} ms ({faiss_mb:.0f} MB)")  # fmt: skip

    data = b"".join(p.read_bytes() for p in sorted(gen.iterdir()))
    print(f"\ndigest of all {len(data) / 1e6:.0f} MB of generation files (median of {repeat}):")
    for name, fn in _digests().items():
        ms = _median_ms(lambda fn=fn: fn(data), repeat)
        print(f"  {name:<14} {ms:>8.1f} ms  {len(data) / 1e6 / (ms / 1000):>8.0f} MB/s")


if __name__ == "__main__":
    main()
