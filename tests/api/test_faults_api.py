"""The API under faults and for hostile callers: snapshot reads by revision, broken collections,
no server paths in responses, keys in query strings, NFC names, capped chat requests, and the job
journal that makes an accepted upload survive a restart."""

from __future__ import annotations

import logging
import shutil
import threading
import unicodedata
from pathlib import Path

from rabbit_rag.api import collections as collections_module
from rabbit_rag.api.jobs import JobManager
from rabbit_rag.api.journal import JobJournal
from rabbit_rag.api.middleware import redact_query
from rabbit_rag.api.uploads import Staging
from tests.api.conftest import COLLECTION, assert_error, wait_job

DOCS = f"/v1/collections/{COLLECTION}/documents"


def _upload(client, headers, name: str, text: str) -> dict:
    r = client.post(DOCS, files=[("files", (name, text.encode(), "text/plain"))], headers=headers)
    assert r.status_code == 202, r.text
    return wait_job(client, r.json()["id"], headers)


def test_documents_answer_for_the_revision_a_search_reported(client, keys, monkeypatch) -> None:
    w = keys.h("write")
    _upload(client, w, "판본.txt", "제1조 판본 일의 대통령 임기는 5년이다. 제2조 판본 일의 내용이다.")
    r = client.post(
        f"/v1/collections/{COLLECTION}/search",
        json={"query": "판본 대통령 임기", "top_k": 3, "source": ["판본.txt"]},
        headers=w,
    )
    found = r.json()
    rev, hit = found["revision"], found["results"][0]
    assert "판본 일" in hit["text"]
    _upload(client, w, "판본.txt", "완전히 다른 새 판본의 글이다. 대통령 임기는 7년으로 바뀌었다.")
    now = client.get(f"{DOCS}/{hit['doc_id']}", headers=w).json()
    assert now["revision"] > rev and now["text"][hit["start"] : hit["end"]] != hit["text"]
    then = client.get(f"{DOCS}/{hit['doc_id']}", params={"revision": rev}, headers=w).json()
    assert then["revision"] == rev and then["text"][hit["start"] : hit["end"]] == hit["text"]
    listed = client.get(DOCS, params={"revision": rev}, headers=w).json()
    assert listed["revision"] == rev and any(d["doc_id"] == hit["doc_id"] for d in listed["documents"])
    monkeypatch.setattr(collections_module, "SNAPSHOT_GRACE_S", 0.0)  # the replaced revisions expire
    err = assert_error(client.get(f"{DOCS}/{hit['doc_id']}", params={"revision": rev}, headers=w), 410, "GoneError")
    assert f"revision {rev}" in err["message"]
    ask = client.post(f"/v1/collections/{COLLECTION}/ask", json={"question": "대통령 임기는?"}, headers=w).json()
    assert ask["revision"] == now["revision"]


def test_a_broken_collection_is_listed_as_broken_never_a_500(client_factory, api_root, keys) -> None:
    shutil.copytree(api_root / COLLECTION, api_root / "고장")
    (api_root / "고장" / "docstore.sqlite3").write_bytes(b"")  # the truth is gone: nothing to rebuild from
    shutil.copytree(api_root / COLLECTION, api_root / "빈목록")
    (api_root / "빈목록" / "manifest.json").write_bytes(b"")  # derived: rebuilt from the docstore
    client = client_factory()
    r = client.get("/v1/collections", headers=keys.h("read"))
    assert r.status_code == 200, r.text
    by_name = {c["name"]: c for c in r.json()["collections"]}
    assert by_name[COLLECTION]["status"] == "ok" and by_name["빈목록"]["status"] == "ok"
    assert by_name["빈목록"]["documents"] == by_name[COLLECTION]["documents"] > 0
    broken = by_name["고장"]
    assert broken["status"] == "broken" and "docstore" in broken["problem"]
    assert str(api_root) not in r.text and "/tmp/" not in r.text
    err = assert_error(client.get("/v1/collections/고장", headers=keys.h("read")), 500, "IndexCorruptError")
    assert str(api_root) not in err["message"] and "고장/docstore.sqlite3" in err["message"]


def test_no_server_path_in_any_response(client_factory, api_root, keys) -> None:
    client = client_factory()
    a = keys.h("admin")
    (api_root / "조각").mkdir()
    (api_root / "조각" / "manifest.json").write_text("{}")
    responses = [
        client.get("/v1/collections", headers=a),
        client.get("/v1/collections/조각", headers=a),
        client.post("/v1/collections/조각/search", json={"query": "임기"}, headers=a),
        client.get("/v1/collections/없음", headers=a),
        client.get("/readyz", headers=a),
        client.post("/v1/collections", json={"name": "조각"}, headers=a),
        # the web app's routes
        client.get("/"),
        client.get("/web/없는파일.js"),
        client.get("/v1/me", headers=a),
        client.get(f"{DOCS}/0000000000000000/pages/1", headers=a),
        client.get("/v1/collections/조각/documents/0000000000000000/pages/1", headers=a),
    ]
    text_doc = client.get(DOCS, params={"limit": 1}, headers=a).json()["documents"][0]["doc_id"]
    responses.append(client.get(f"{DOCS}/{text_doc}/pages/1?start=0&end=3", headers=a))
    job = _upload(client, a, "x.exe.txt", "\x00\x01\x02 binary")
    for r in responses:
        assert str(api_root) not in r.text and str(api_root.resolve()) not in r.text, r.text
        assert "/tmp/" not in r.text, r.text
    assert "/tmp/" not in str(job)


def test_keys_in_query_strings_are_never_logged(client, keys, caplog) -> None:
    secret = keys.read
    with caplog.at_level(logging.INFO):
        r = client.get(f"/v1/collections?api_key={secret}&limit=1")
    assert r.status_code == 401  # a key in the query string is not accepted
    logger = logging.getLogger("uvicorn.access")
    record = logger.makeRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1", "GET", f"/v1/collections?api_key={secret}&x=1", "1.1", 401), None)  # fmt: skip
    for f in logger.filters:
        f.filter(record)
    assert secret not in record.getMessage() and "api_key=REDACTED" in record.getMessage()
    server_side = [rec.getMessage() for rec in caplog.records if not rec.name.startswith("httpx")]  # the test client
    assert not any(secret in m for m in server_side)
    assert redact_query(f"token={secret}&q=임기") == "token=REDACTED&q=%EC%9E%84%EA%B8%B0"
    assert redact_query("q=1") == "q=1"


def test_query_string_the_app_sees_is_redacted(client, keys) -> None:
    seen = []

    async def spy(scope, receive, send):
        seen.append(scope.get("query_string"))
        await inner(scope, receive, send)

    app = client.app
    # the middleware stack wraps the router: capture what reaches the routes
    inner = app.router
    app.router = spy  # type: ignore[assignment]
    try:
        app.middleware_stack = app.build_middleware_stack()
        client.get(f"/healthz?api_key={keys.read}")
    finally:
        app.router = inner
        app.middleware_stack = app.build_middleware_stack()
    assert seen and keys.read.encode() not in seen[0] and b"api_key=REDACTED" in seen[0]


def test_names_are_nfc_before_validation(client, keys) -> None:
    nfd = unicodedata.normalize("NFD", "새모음")
    r = client.post("/v1/collections", json={"name": nfd, "embed_model": "none"}, headers=keys.h("write"))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "새모음"
    assert client.get("/v1/collections/새모음", headers=keys.h("read")).status_code == 200
    chat = client.post(
        "/v1/chat/completions",
        json={"model": unicodedata.normalize("NFD", COLLECTION), "messages": [{"role": "user", "content": "임기는?"}]},
        headers=keys.h("read"),
    )
    assert chat.status_code == 200, chat.text


def test_chat_requests_are_capped(client, keys) -> None:
    many = [{"role": "user" if i % 2 == 0 else "assistant", "content": "가" * 7000} for i in range(9)]
    r = client.post("/v1/chat/completions", json={"model": COLLECTION, "messages": many}, headers=keys.h("read"))
    err = assert_error(r, 422)
    assert "characters" in err["message"]
    too_many = [{"role": "user", "content": "임기"}] * 65
    assert_error(client.post("/v1/chat/completions", json={"model": COLLECTION, "messages": too_many},
                             headers=keys.h("read")), 422)  # fmt: skip


def test_json_413_does_not_name_the_upload_setting(client, keys) -> None:
    r = client.post(
        f"/v1/collections/{COLLECTION}/search",
        content=b'{"query": "' + b"a" * 1_100_000 + b'"}',
        headers={**keys.h("read"), "Content-Type": "application/json"},
    )
    assert "RABBIT_RAG_API_MAX_UPLOAD_MB" not in assert_error(r, 413)["message"]


# -- the job journal ------------------------------------------------------------------------------------
def test_accepted_jobs_resume_or_fail_with_a_reason_after_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "root"
    staging = Staging(root)
    kept = staging.new_path()
    kept.write_bytes(b"data")
    stray = staging.new_path()
    stray.write_bytes(b"never accepted")
    release = threading.Event()
    first = JobManager(journal=JobJournal(root))
    ran = first.submit("헌법", "ingest", lambda job: release.wait(30) and None,
                       payload={"staged": [{"label": "a.txt", "path": kept.name, "size": 4, "reader": "text"}]})  # fmt: skip
    waiting = first.submit("헌법", "ingest", lambda job: None, payload={"staged": []})
    lost = first.submit("다른", "ingest", lambda job: None,
                        payload={"staged": [{"label": "b.txt", "path": "gone", "size": 1, "reader": "text"}]})  # fmt: skip
    done = first.submit("완료", "ingest", lambda job: {"added": 1})
    while {r["id"] for r in JobJournal(root).load()[1]} != {done.id, lost.id}:
        pass  # until both finished jobs are recorded as finished
    # "crash": a new manager reads the journal while the first one's job still runs
    second = JobManager(journal=JobJournal(root))
    resumed: list[str] = []

    def resume(job):
        staged = [staging.file(r) for r in job.payload.get("staged", ())]
        if any(not f.path.is_file() for f in staged):
            return "the staged upload is gone; upload again"
        resumed.append(job.id)
        return lambda j: {"resumed": j.resumed}

    pending = second.restore(resume)
    assert {j.id for j in pending} == {ran.id, waiting.id}
    assert second.get(done.id).status == "succeeded" and second.get(done.id).result == {"added": 1}
    assert sorted(resumed) == sorted([ran.id, waiting.id])  # in the order they were accepted
    for jid in resumed:
        while second.get(jid).status != "succeeded":
            pass
        assert second.get(jid).result == {"resumed": 1} and second.get(jid).view().resumed == 1
    release.set()
    first.close()
    # a job whose staged file is gone is reported failed with the reason
    # (the victim is held until the end: a job that finished here would record "succeeded" over the
    # "queued" record below, as it did under load)
    third = JobManager(journal=JobJournal(root))
    hold = threading.Event()
    victim = third.submit("헌법", "ingest", lambda job: hold.wait(30) and None,
                          payload={"staged": [{"label": "c.txt", "path": "missing", "size": 1, "reader": "text"}]})  # fmt: skip
    third.journal.save({**victim.record(), "status": "queued"})  # as if it had not started when the server died
    fourth = JobManager(journal=JobJournal(root))
    fourth.restore(resume)
    failed = fourth.get(victim.id)
    hold.set()
    third.close()
    assert failed.status == "failed" and "upload again" in failed.error["message"]
    assert staging.clean({kept.name}) == 1 and kept.exists() and not stray.exists()


def test_a_job_is_finished_on_disk_before_anyone_sees_it_finished(tmp_path: Path) -> None:
    """A client that reads ``succeeded`` or ``failed`` finds the same after a restart: the journal
    records the outcome while the job still reads ``running`` in memory."""
    seen: dict[str, str] = {}

    class Spy(JobJournal):
        def save(self, record: dict) -> None:
            super().save(record)
            if record["status"] in ("succeeded", "failed"):
                seen[record["id"]] = manager.get(record["id"]).status

    manager = JobManager(journal=Spy(tmp_path / "root"))
    ok = manager.submit("헌법", "ingest", lambda job: {"added": 1})
    bad = manager.submit("헌법", "ingest", lambda job: 1 / 0)
    while bad.status != "failed":
        pass
    manager.close()
    assert seen == {ok.id: "running", bad.id: "running"}
    assert manager.get(ok.id).status == "succeeded" and manager.get(bad.id).error["type"] == "InternalError"


def test_a_job_cancelled_by_shutdown_stays_queued_on_disk_and_is_counted_finished(tmp_path: Path) -> None:
    finished: list[str] = []
    release = threading.Event()
    manager = JobManager(journal=JobJournal(tmp_path / "root"), on_finish=lambda job: finished.append(job.status))
    manager.submit("헌법", "ingest", lambda job: release.wait(30) and None)
    queued = manager.submit("헌법", "ingest", lambda job: None)
    closing = threading.Thread(target=manager.close)
    closing.start()
    while not manager._closed:
        pass
    release.set()
    closing.join(30)
    assert manager.get(queued.id).status == "cancelled"
    assert sorted(finished) == ["cancelled", "succeeded"]  # the metrics' active count goes back to 0
    pending, _ = JobJournal(tmp_path / "root").load()
    assert [r["id"] for r in pending] == [queued.id]  # the next start runs it
