"""The fault-injection scenarios of ``tests/faults/`` with larger counts: trials, survived, lost.

- kill -9 at random (seeded) points of ``rabbit-rag ingest`` and of ``ingest --sync``;
- the corruption matrix: every file of an index with vectors, five kinds of damage each;
- two writers creating one index (threads and processes);
- searches racing updates: library, CLI, API (hits and mismatches);
- the server killed while it accepts uploads, then restarted.

*Survived*: the index opened (repairing what is derived), ``check`` passed and every invariant
held. *Lost*: acknowledged data gone or wrong, or a wrong answer given with exit 0.

    python benchmarks/faults.py [--scale 1.0] [--seed 13] [--only kill9,matrix,race,update,restart]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RABBIT_RAG_EMBED_MODEL", "none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every trial and hit count")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--only", default="kill9,matrix,race,update,restart")
    args = ap.parse_args()
    only = set(args.only.split(","))
    n = lambda x: max(1, round(x * args.scale))  # noqa: E731

    from tests.faults import scenarios

    tallies = []

    def run(name: str, fn, *a, **kw) -> None:
        t = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            tally = fn(Path(tmp), *a, **kw)
        tallies.append(tally)
        print(f"{tally.line()}  [{time.perf_counter() - t:.0f} s]", flush=True)
        for f in tally.failures[:10]:
            print(f"    {f}", flush=True)

    if "kill9" in only:
        run("kill9", scenarios.kill9_ingest, n(16), args.seed)
        run("kill9-sync", scenarios.kill9_ingest, n(11), args.seed + 1, True)
    if "matrix" in only:
        with tempfile.TemporaryDirectory() as tmp:
            from rabbit_rag.ingest import ingest_documents
            from rabbit_rag.types import Document
            from tests.tiny_models import build_tiny_sentence_transformer

            model = build_tiny_sentence_transformer(Path(tmp) / "st")
            pristine = Path(tmp) / "pristine"
            docs = [Document(source=f"문서{i:02d}.txt", text=scenarios.doc_text(i, 0)) for i in range(20)]
            ingest_documents(docs, pristine, embed_model=str(model), progress=False)
            ingest_documents([Document(source="문서00.txt", text=scenarios.doc_text(0, 1))], pristine, progress=False)
            run("matrix", scenarios.corruption_matrix, pristine)
    if "race" in only:
        run("race-threads", scenarios.writer_race, n(30))
        run("race-processes", scenarios.writer_race, n(6), True)
    if "update" in only:
        run("update-library", scenarios.update_race_library, n(50_000), args.seed)
        run("update-cli", scenarios.update_race_cli, n(20_000), args.seed)
        run("update-api", _update_api, n(20_000), args.seed)
    if "restart" in only:
        run("restart", scenarios.restart_uploads, n(4), args.seed, 30)

    print("\nscenario | trials | survived | lost")
    for t in tallies:
        print(f"{t.name} | {t.trials} | {t.survived} | {t.lost}")


def _update_api(root: Path, min_hits: int, seed: int):
    import shutil

    from fastapi.testclient import TestClient

    from rabbit_rag.api.app import create_app
    from rabbit_rag.settings import Settings
    from tests.faults import scenarios

    index_root = root / "indexes"
    index_root.mkdir()
    settings = Settings(index_root=index_root, embed_model="none", api_preload=False, llm="extractive",
                        api_auth_disabled=True)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        client.post("/v1/collections", json={"name": "경합", "embed_model": "none"})
        seed_files = [
            ("files", (f"문서{i:02d}.txt", scenarios.doc_text(i, 0).encode(), "text/plain")) for i in range(30)
        ]
        job = client.post("/v1/collections/경합/documents", files=seed_files).json()["id"]
        while client.get(f"/v1/jobs/{job}").json()["status"] in ("queued", "running"):
            time.sleep(0.05)
        tally = scenarios.update_race_api(client, "경합", {}, min_hits=min_hits, seed=seed)
    shutil.rmtree(index_root, ignore_errors=True)
    return tally


if __name__ == "__main__":
    main()
