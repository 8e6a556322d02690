"""Stateless API replicas on one engine backend: two real ``rabbit-rag serve`` processes, each with its
own (empty) index root, share a Milvus Lite server (``milvus-lite server``: the embedded engine,
reached over gRPC exactly as a Milvus cluster). A document uploaded through one replica is searchable,
readable and citable through the other at once; writes from a replica whose folder is not the
collection's writer are refused with the writer's name."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.slow  # three real server processes (the fast loop does not even import pymilvus here)

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install -e '.[milvus]')")
pytest.importorskip("milvus_lite", reason="Milvus Lite (the embedded engine) is not installed for this platform")


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (held open together, so the kernel cannot hand one out twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(check, proc: subprocess.Popen, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except (httpx.TransportError, OSError):
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode} (its log is printed below)")
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.2)


def _log(folder: Path, name: str):
    """A server's output goes to a file: an unread pipe would fill and stall the server."""
    return (folder / f"{name}.log").open("wb")


def _tcp_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


#: generous: three servers and an engine share two cores with the rest of the suite
http = httpx.Client(timeout=120, limits=httpx.Limits(max_keepalive_connections=0))  # no reuse: uvicorn closes idle ones


def _job(base: str, job: dict) -> dict:
    deadline = time.monotonic() + 180
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
        job = http.get(f"{base}/v1/jobs/{job['id']}").json()
    return job


def test_two_replicas_share_one_engine(tmp_path: Path) -> None:
    engine_port, port_a, port_b = free_ports(3)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RABBIT_RAG_EMBED_MODEL": "none",
        "RABBIT_RAG_PARSE_ISOLATION": "0",
        "RABBIT_RAG_LLM": "extractive",
    }
    engine = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "engine"), "--host",
         "127.0.0.1", "--port", str(engine_port)],
        env=env, stdout=_log(tmp_path, "engine"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    procs = [engine]
    try:
        wait_for(lambda: _tcp_open(engine_port), engine, "milvus-lite server")
        backend = f"milvus://127.0.0.1:{engine_port}"
        bases = []
        for port, root in ((port_a, tmp_path / "a"), (port_b, tmp_path / "b")):
            p = subprocess.Popen(
                [sys.executable, "-m", "rabbit_rag.cli.main", "serve", "--no-auth", "--index-root", str(root),
                 "--port", str(port), "--backend", backend, "--log-level", "warning"],
                env=env, stdout=_log(tmp_path, root.name), stderr=subprocess.STDOUT,
            )  # fmt: skip
            procs.append(p)
            bases.append(f"http://127.0.0.1:{port}")
        for base, p in zip(bases, procs[1:], strict=True):
            wait_for(lambda base=base: http.get(f"{base}/readyz").status_code == 200, p, base)
        a, b = bases

        r = http.post(f"{a}/v1/collections", json={"name": "헌법", "embed_model": "none"})
        assert r.status_code == 201, r.text
        assert [c["name"] for c in http.get(f"{b}/v1/collections").json()["collections"]] == ["헌법"]

        text = (SAMPLES / "constitution.txt").read_bytes()
        r = http.post(f"{a}/v1/collections/헌법/documents", files={"files": ("헌법.txt", text, "text/plain")})
        assert r.status_code == 202, r.text
        assert _job(a, r.json())["status"] == "succeeded"

        # replica B has never seen the file: its answers come from the engine
        hits = http.post(
            f"{b}/v1/collections/헌법/search", json={"query": "대통령의 임기는 몇 년이야?", "mode": "bm25", "top_k": 3}
        ).json()["results"]
        assert hits and "대통령의 임기는 5년" in hits[0]["text"]
        doc = http.get(f"{b}/v1/collections/헌법/documents/{hits[0]['doc_id']}").json()
        body = doc["text"]
        assert doc["source"] == "헌법.txt"
        assert body[hits[0]["start"] : hits[0]["end"]] == hits[0]["text"]  # offsets, through the other replica
        answer = http.post(f"{b}/v1/collections/헌법/ask", json={"question": "대통령의 임기는?"}).json()
        cite = answer["citations"][0]
        assert body[cite["start"] : cite["end"]] == cite["quote"]

        # B's folder is not this collection's writer: its upload fails, naming the writer
        r = http.post(
            f"{b}/v1/collections/헌법/documents", files={"files": ("메모.txt", "회의는 3시.".encode(), "text/plain")}
        )
        job = _job(b, r.json())
        assert job["status"] == "failed" and "another index folder" in str(job), job

        # an update through A is seen by B at once
        r = http.post(
            f"{a}/v1/collections/헌법/documents",
            files={"files": ("메모.txt", "회의는 금요일 3시에 한다.".encode(), "text/plain")},
        )
        assert _job(a, r.json())["status"] == "succeeded"
        hits = http.post(f"{b}/v1/collections/헌법/search", json={"query": "회의 금요일", "mode": "bm25"}).json()
        assert hits["results"][0]["source"] == "메모.txt"

        assert http.delete(f"{a}/v1/collections/헌법").status_code == 200
        assert http.post(f"{b}/v1/collections/헌법/search", json={"query": "대통령"}).status_code == 404
    finally:
        print("exit codes before teardown:", [p.poll() for p in procs])
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in sorted(tmp_path.glob("*.log")):  # shown when the test fails
            print(f.name, f.read_text(errors="replace")[-3000:])
