"""Liveness, readiness, metrics, OpenAPI docs and the error shape of unknown routes."""

from __future__ import annotations

import time

from tests.api.conftest import COLLECTION, assert_error


def test_healthz_and_readyz_after_preload(client_factory, keys) -> None:
    c = client_factory(api_preload=True)
    assert c.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 60
    while (r := c.get("/readyz")).status_code == 503 and time.monotonic() < deadline:
        assert r.json()["status"] == "loading"
        time.sleep(0.05)
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}  # without a key: ready or not, nothing else
    for who in ("read", "write"):
        assert c.get("/readyz", headers=keys.h(who)).json() == {"status": "ready"}
    assert c.get("/readyz", headers={"Authorization": "Bearer wrong"}).json() == {"status": "ready"}
    body = c.get("/readyz", headers=keys.h("admin")).json()
    assert body["status"] == "ready" and body["collections"] == [COLLECTION] and body["problems"] == {}
    assert c.app.state.rr.collections.is_open(COLLECTION)  # opened at start-up, not by the first search


def test_readyz_reports_a_broken_collection_to_admins_only(client_factory, api_root, keys) -> None:
    broken = api_root / "고장"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")  # and no docstore to rebuild it from
    c = client_factory(api_preload=True)
    deadline = time.monotonic() + 60
    while c.get("/readyz").status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.get("/readyz").json() == {"status": "ready"}
    body = c.get("/readyz", headers=keys.h("admin")).json()
    assert body["collections"] == [COLLECTION] and "고장" in body["problems"]
    assert str(api_root) not in str(body) and "/tmp" not in str(body)  # no server paths, even for admins


def test_metrics_count_requests_and_jobs(client, keys) -> None:
    client.post(f"/v1/collections/{COLLECTION}/search", json={"query": "임기"}, headers=keys.h("read"))
    client.post(f"/v1/collections/{COLLECTION}/search", json={"query": "임기"})
    text = client.get("/metrics").text
    assert (
        'rabbit_rag_http_requests_total{method="POST",route="/v1/collections/{name}/search",status="200"} 1.0' in text
    )
    assert 'route="/v1/collections/{name}/search",status="401"} 1.0' in text
    assert "rabbit_rag_http_request_duration_seconds_bucket" in text
    assert "rabbit_rag_jobs_active 0.0" in text


def test_openapi_has_korean_examples_and_security(client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"bearer", "apiKey"} <= set(spec["components"]["securitySchemes"])
    search = spec["paths"]["/v1/collections/{name}/search"]["post"]
    assert {"401", "403", "404", "422"} <= set(search["responses"])
    text = str(spec)
    assert "대통령 임기는 몇 년이야?" in text and "헌법" in text
    assert client.get("/docs").status_code == 200


def test_unknown_route_has_the_error_shape(client) -> None:
    assert_error(client.get("/v1/nothing-here"), 404)
    assert_error(client.put("/healthz"), 405)
