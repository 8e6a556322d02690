"""Load on the HTTP API: search latency under concurrent clients, and time to the first streamed event of ``ask``.

Starts ``rabbit-rag serve`` as a separate process on a free port over a fresh index root, creates a
collection and uploads ``samples/`` (or ``--paths``) through the API (with curl-equivalent multipart
requests), waits for the job, then:

1. ``search``: ``--clients`` concurrent httpx async clients post Korean questions for ``--seconds``;
   prints requests, errors, throughput and latency p50 / p95 / p99 (client-side, full round trip).
2. ``ask`` with ``"stream": true`` and the extractive generator (``RABBIT_RAG_LLM=extractive``):
   ``--asks`` sequential streamed requests; prints time to the first SSE event, to the first
   ``token`` event and to ``done`` (p50 / p95). Skipped when the server has no ask endpoint.

Client and server share the machine: on a 2-core box the figures include that contention.

    python benchmarks/api_load.py [--clients 8] [--seconds 60] [--asks 50] [--paths samples]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

QUESTIONS = [
    "대통령 임기는 몇 년이야?",
    "국회의원의 임기는?",
    "헌법재판소 재판관은 몇 명인가?",
    "대법원장의 임기와 중임 여부",
    "국회의 정기회는 언제 열리나?",
    "감사원장은 누가 임명하나?",
    "지방공무원법 개정안의 주요 내용",
    "대통령의 긴급명령 요건",
    "국민의 기본권 제한은 어떻게 하나?",
    "선거관리위원회 위원의 임기",
    "예산안은 언제까지 제출해야 하나?",
    "헌법 개정은 누가 제안하나?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _summary(name: str, ms: list[float]) -> str:
    return (
        f"{name}: n={len(ms)}  p50 {_pct(ms, 0.50):.1f} ms  p95 {_pct(ms, 0.95):.1f} ms  "
        f"p99 {_pct(ms, 0.99):.1f} ms  mean {statistics.fmean(ms):.1f} ms"
        if ms
        else f"{name}: no samples"
    )


def start_server(root: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RABBIT_RAG_EMBED_MODEL": os.environ.get("RABBIT_RAG_EMBED_MODEL", "none"),
        "RABBIT_RAG_LLM": os.environ.get("RABBIT_RAG_LLM", "extractive"),
        "HF_HUB_OFFLINE": "1",
    }
    cmd = [sys.executable, "-m", "rabbit_rag.cli.main", "serve", "--index-root", str(root), "--port", str(port)]
    return subprocess.Popen([*cmd, "--log-level", "warning"], env=env, stderr=subprocess.PIPE, text=True)


def wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 120) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server not ready")


def load_collection(base: str, headers: dict[str, str], name: str, paths: list[Path]) -> dict:
    r = httpx.post(f"{base}/v1/collections", json={"name": name, "embed_model": "none"}, headers=headers)
    r.raise_for_status()
    files = []
    for p in paths:
        found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix != ".md") if p.is_dir() else [p]
        files += [
            ("files", (f.relative_to(p.parent).as_posix(), f.read_bytes(), "application/octet-stream")) for f in found
        ]
    t0 = time.perf_counter()
    r = httpx.post(f"{base}/v1/collections/{name}/documents", files=files, headers=headers, timeout=600)
    r.raise_for_status()
    job_id = r.json()["id"]
    while True:
        job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    if job["status"] != "succeeded":
        raise SystemExit(f"upload job failed: {job}")
    job["wall_s"] = time.perf_counter() - t0
    return job


async def search_load(base: str, headers: dict[str, str], name: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            n = i
            while time.perf_counter() < stop:
                q = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/v1/collections/{name}/search", json={"query": q, "top_k": 5})
                    ok = r.status_code == 200 and r.json()["results"]
                    if not ok:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as e:
                    errors.append(repr(e))
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "errors": errors, "wall": wall}


def ask_stream_timing(base: str, headers: dict[str, str], name: str, n: int) -> dict | None:
    spec = httpx.get(f"{base}/openapi.json").json()
    if "/v1/collections/{name}/ask" not in spec["paths"]:
        return None
    first_event, first_token, done, errors = [], [], [], []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for i in range(n):
            body = {"question": QUESTIONS[i % len(QUESTIONS)], "stream": True}
            t0 = time.perf_counter()
            seen_event = seen_token = False
            event = None
            with client.stream("POST", f"/v1/collections/{name}/ask", json=body) as r:
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.read()[:200]!r}")
                    continue
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                        if not seen_event:
                            first_event.append((time.perf_counter() - t0) * 1000)
                            seen_event = True
                        if event == "token" and not seen_token:
                            first_token.append((time.perf_counter() - t0) * 1000)
                            seen_token = True
                        if event == "error":
                            errors.append("error event")
                    elif line.startswith("data:") and event == "done":
                        done.append((time.perf_counter() - t0) * 1000)
                        json.loads(line[5:])
    return {"first_event": first_event, "first_token": first_token, "done": done, "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--asks", type=int, default=50)
    ap.add_argument("--paths", nargs="+", type=Path, default=[ROOT / "samples"])
    args = ap.parse_args()

    from rabbit_rag.api.auth import add_key

    with tempfile.TemporaryDirectory(prefix="rr-api-load-") as tmp:
        root = Path(tmp) / "indexes"
        key = add_key(root / ".api-keys.json", "bench", ["write"])
        headers = {"Authorization": f"Bearer {key}"}
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(root, port)
        try:
            ready = wait_ready(base, proc)
            job = load_collection(base, headers, "bench", args.paths)
            counts = job["result"]["counts"]
            print(f"machine: {os.cpu_count()} CPU cores shared by the server process and the load clients")
            print(f"server ready in {ready:.1f} s; uploaded {job['result']['added']} files "
                  f"({counts['chunks']} chunks, BM25 only) in {job['wall_s']:.1f} s")  # fmt: skip

            res = asyncio.run(search_load(base, headers, "bench", args.clients, args.seconds))
            lat = res["latencies"]
            print(f"\nsearch: {args.clients} concurrent clients for {args.seconds:.0f} s, top_k=5")
            print(f"  requests {len(lat)}  errors {len(res['errors'])}  throughput {len(lat) / res['wall']:.1f} req/s")
            print("  " + _summary("latency", lat))
            for e in res["errors"][:3]:
                print(f"  error: {e}")

            ask = ask_stream_timing(base, headers, "bench", args.asks)
            if ask is None:
                print("\nask: this server has no /v1/collections/{name}/ask endpoint; skipped")
            else:
                print(f"\nask (stream, extractive generator, sequential, one client): {args.asks} requests, "
                      f"errors {len(ask['errors'])}")  # fmt: skip
                print("  " + _summary("first SSE event", ask["first_event"]))
                print("  " + _summary("first token event", ask["first_token"]))
                print("  " + _summary("done event", ask["done"]))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
