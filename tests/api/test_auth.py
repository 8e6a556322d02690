"""The auth matrix: 401 without or with a wrong key, 403 for the wrong scope or collection, admin ok."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rabbit_rag.api.auth import KeyStore, add_key, hash_key, revoke_key
from rabbit_rag.errors import InvalidInputError
from tests.api.conftest import COLLECTION, assert_error

SEARCH = f"/v1/collections/{COLLECTION}/search"
UPLOAD = f"/v1/collections/{COLLECTION}/documents"
Q = {"query": "대통령 임기는 몇 년이야?", "top_k": 1}


def _upload(client, headers):
    return client.post(
        UPLOAD, headers=headers, files=[("files", ("메모.txt", "회의는 3시에 한다.".encode(), "text/plain"))]
    )


def test_missing_or_invalid_key_is_401(client) -> None:
    e = assert_error(client.post(SEARCH, json=Q), 401, "AuthenticationError")
    assert "missing API key" in e["message"]
    r = client.post(SEARCH, json=Q, headers={"Authorization": "Bearer rr_not-a-key"})
    assert_error(r, 401, "AuthenticationError")
    assert r.headers["www-authenticate"] == "Bearer"
    assert_error(client.get("/v1/collections", headers={"X-API-Key": "wrong"}), 401)
    assert_error(client.get("/v1/jobs/" + "0" * 32), 401)


def test_read_key_can_search_but_not_upload_or_create(client, keys) -> None:
    r = client.post(SEARCH, json=Q, headers=keys.h("read"))
    assert r.status_code == 200 and "대통령의 임기는 5년" in r.json()["results"][0]["text"]
    e = assert_error(_upload(client, keys.h("read")), 403, "PermissionDeniedError")
    assert "'write'" in e["message"] and "reader" in e["message"]
    assert_error(client.post("/v1/collections", json={"name": "새것"}, headers=keys.h("read")), 403)
    assert_error(client.delete(f"/v1/collections/{COLLECTION}", headers=keys.h("read")), 403)


def test_x_api_key_header_works(client, keys) -> None:
    assert client.post(SEARCH, json=Q, headers={"X-API-Key": keys.read}).status_code == 200


def test_key_limited_to_another_collection_is_403(client, keys) -> None:
    e = assert_error(client.post(SEARCH, json=Q, headers=keys.h("other")), 403, "PermissionDeniedError")
    assert "다른팀" in e["message"]
    assert_error(_upload(client, keys.h("other")), 403)
    # it sees only its own collections in the list, and may create the one it is limited to
    assert client.get("/v1/collections", headers=keys.h("other")).json() == {"collections": []}
    assert (
        client.post(
            "/v1/collections", json={"name": "다른팀", "embed_model": "none"}, headers=keys.h("other")
        ).status_code
        == 201
    )
    names = [c["name"] for c in client.get("/v1/collections", headers=keys.h("other")).json()["collections"]]
    assert names == ["다른팀"]
    assert_error(client.post("/v1/collections", json={"name": "남의것"}, headers=keys.h("other")), 403)


def test_write_and_admin_scopes(client, keys) -> None:
    assert _upload(client, keys.h("write")).status_code == 202
    assert (
        client.post(
            "/v1/collections", json={"name": "지울것", "embed_model": "none"}, headers=keys.h("write")
        ).status_code
        == 201
    )
    assert_error(
        client.delete("/v1/collections/지울것", headers=keys.h("write")), 403
    )  # deleting a collection is admin
    assert _upload(client, keys.h("admin")).status_code == 202  # admin implies write
    assert client.post(SEARCH, json=Q, headers=keys.h("admin")).status_code == 200  # and read
    assert client.delete("/v1/collections/지울것", headers=keys.h("admin")).status_code == 200


def test_job_of_another_collection_is_403(client, keys) -> None:
    job = _upload(client, keys.h("write")).json()
    assert client.get(f"/v1/jobs/{job['id']}", headers=keys.h("read")).status_code == 200
    assert_error(client.get(f"/v1/jobs/{job['id']}", headers=keys.h("other")), 403)
    assert client.get("/v1/jobs", headers=keys.h("other")).json() == {"jobs": []}


def test_auth_disabled_is_explicit_and_loud(client_factory, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="rabbit_rag.api"):
        logging.getLogger("rabbit_rag.api").propagate = True
        try:
            c = client_factory(api_auth_disabled=True)
        finally:
            logging.getLogger("rabbit_rag.api").propagate = False
    assert "AUTHENTICATION IS DISABLED" in caplog.text
    assert c.post(SEARCH, json=Q).status_code == 200
    assert c.get("/readyz").json()["auth"] == "disabled"


def test_keys_are_never_logged(client, keys, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        client.post(SEARCH, json=Q, headers=keys.h("read"))
        client.post(SEARCH, json=Q, headers={"Authorization": "Bearer rr_secret-guess"})
        _upload(client, keys.h("read"))
    assert keys.read not in caplog.text and "rr_secret-guess" not in caplog.text


def test_keys_file_holds_only_hashes_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key = add_key(path, "bot", ["read"], ["헌법"])
    text = path.read_text()
    assert key not in text and hash_key(key) in text
    assert (path.stat().st_mode & 0o777) == 0o600
    store = KeyStore(path)
    found = store.lookup(key)
    assert found is not None and found.name == "bot" and found.collections == frozenset({"헌법"})
    assert store.lookup(key + "x") is None
    second = add_key(path, "bot2", ["write"])
    assert store.lookup(second) is not None  # the running store sees the new key without a restart
    assert revoke_key(path, "bot") and store.lookup(key) is None
    with pytest.raises(InvalidInputError, match="exists"):
        add_key(path, "bot2", ["read"])
    with pytest.raises(InvalidInputError, match="not one of"):
        add_key(path, "x", ["superuser"])


def test_keys_from_the_environment(tmp_path: Path) -> None:
    env = json.dumps([{"name": "ci", "sha256": hash_key("rr_env-key"), "scopes": ["read"]}])
    store = KeyStore(tmp_path / "none.json", env)
    assert store.lookup("rr_env-key").name == "ci"
    with pytest.raises(InvalidInputError, match="sha256"):
        KeyStore(None, json.dumps([{"name": "bad", "sha256": "rr_plaintext", "scopes": ["read"]}]))
