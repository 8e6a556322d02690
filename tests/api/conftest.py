"""Fixtures for the API tests: an index root with a ready collection, API keys of every kind, clients."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")

from fastapi.testclient import TestClient

from rabbit_rag.api.app import create_app
from rabbit_rag.api.auth import add_key
from rabbit_rag.settings import Settings

COLLECTION = "헌법"  # holds samples/ (the constitution and ten bills), BM25 only


@dataclass
class Keys:
    read: str
    write: str
    admin: str
    other: str  # read+write, limited to another collection

    def h(self, which: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, which)}"}


@pytest.fixture
def api_root(tmp_path: Path, sample_index_ro: Path) -> Path:
    """An index root holding one collection, ``헌법`` (a copy of the sample index)."""
    root = tmp_path / "indexes"
    root.mkdir()
    shutil.copytree(sample_index_ro, root / COLLECTION)
    return root


@pytest.fixture
def keys(api_root: Path) -> Keys:
    path = api_root / ".api-keys.json"
    return Keys(
        read=add_key(path, "reader", ["read"]),
        write=add_key(path, "writer", ["read", "write"]),
        admin=add_key(path, "admin", ["admin"]),
        other=add_key(path, "other-team", ["read", "write"], ["다른팀"]),
    )


def make_settings(root: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"index_root": root, "embed_model": "none", "api_preload": False, "llm": "extractive"}
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def client_factory(api_root: Path, keys: Keys) -> Iterator[Callable[..., TestClient]]:
    """``client_factory(**settings)`` → a started TestClient over ``api_root`` (closed after the test)."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        c = TestClient(create_app(make_settings(api_root, **overrides)), raise_server_exceptions=False)
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: Callable[..., TestClient]) -> TestClient:
    return client_factory()


def wait_job(client: TestClient, job_id: str, headers: dict[str, str], timeout: float = 240.0) -> dict[str, Any]:
    """Poll ``/v1/jobs/{id}`` until the job has finished; its final JSON. The wait is long because a job starts a
    parse worker that loads Kiwi, which takes minutes on a loaded CI machine (seen: 60 s was not enough)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def assert_error(r: Any, status: int, type_: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and the one error shape."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"]
    if type_ is not None:
        assert body["error"]["type"] == type_, body
    return body["error"]
