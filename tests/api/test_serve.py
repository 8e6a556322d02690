"""``rabbit-rag keys`` and ``rabbit-rag serve`` (a real uvicorn process on a free port)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app
from tests.conftest import ROOT

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    root = tmp_path / "indexes"
    r = runner.invoke(
        app,
        [
            "keys",
            "create",
            "봇",
            "--scopes",
            "read,write",
            "--collections",
            "헌법",
            "--index-root",
            str(root),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["key"].startswith("rr_") and out["scopes"] == ["read", "write"] and out["collections"] == ["헌법"]
    assert out["key"] not in (root / ".api-keys.json").read_text()
    listing = json.loads(runner.invoke(app, ["keys", "list", "--index-root", str(root), "--json"]).stdout)
    assert listing["keys"][0]["name"] == "봇" and "sha256" not in listing["keys"][0]
    bad = runner.invoke(app, ["keys", "create", "x", "--scopes", "root", "--index-root", str(root)])
    assert bad.exit_code == 1 and "not one of read, write, admin" in bad.output
    bad = runner.invoke(app, ["keys", "create", "y", "--collections", "../etc", "--index-root", str(root)])
    assert bad.exit_code == 1 and "not allowed" in bad.output
    assert runner.invoke(app, ["keys", "revoke", "봇", "--index-root", str(root)]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "봇", "--index-root", str(root)]).exit_code == 1


@pytest.mark.slow  # starts a real server process
def test_serve_runs_uvicorn_with_keys(tmp_path: Path) -> None:
    root = tmp_path / "empty-root"
    key = json.loads(
        runner.invoke(
            app, ["keys", "create", "writer", "--scopes", "write", "--index-root", str(root), "--json"]
        ).stdout
    )["key"]
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RABBIT_RAG_EMBED_MODEL": "none"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rabbit_rag.cli.main", "serve", "--index-root", str(root), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        assert httpx.get(f"{base}/v1/collections").status_code == 401
        h = {"Authorization": f"Bearer {key}"}
        r = httpx.post(f"{base}/v1/collections", json={"name": "헌법", "embed_model": "none"}, headers=h)
        assert r.status_code == 201, r.text
        assert httpx.get(f"{base}/v1/collections", headers=h).json()["collections"][0]["name"] == "헌법"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Uvicorn running" in out or "Application startup complete" in out, out
    assert key not in out  # keys never reach the log


def test_serve_without_keys_warns(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from rabbit_rag.api.app import create_app
    from tests.api.conftest import make_settings

    logs: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: logs.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("rabbit_rag.api")
    logger.addHandler(handler)
    try:
        with TestClient(create_app(make_settings(tmp_path / "r"))) as c:
            assert c.get("/v1/collections").status_code == 401
    finally:
        logger.removeHandler(handler)
    assert any("no API keys are configured" in m for m in logs)
