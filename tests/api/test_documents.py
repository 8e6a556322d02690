"""Uploads, jobs, documents — and the limits: 413, 415, storage names the client cannot steer."""

from __future__ import annotations

import anyio
import pytest

from rabbit_rag.api.uploads import clean_label
from rabbit_rag.ingest.readers import detect
from tests.api.conftest import COLLECTION, assert_error, wait_job
from tests.conftest import SAMPLES

DOCS = f"/v1/collections/{COLLECTION}/documents"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 2000


def _file(name: str, data: bytes) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, data, "application/octet-stream"))


def test_create_upload_poll_list_get_delete(client, keys) -> None:
    w = keys.h("write")
    r = client.post("/v1/collections", json={"name": "법안", "embed_model": "none"}, headers=w)
    assert r.status_code == 201 and r.json()["documents"] == 0 and r.json()["embedding_model"] is None
    assert_error(client.post("/v1/collections", json={"name": "법안"}, headers=w), 409, "ConflictError")
    files = [_file(f"kobill/{p.name}", p.read_bytes()) for p in sorted((SAMPLES / "kobill").glob("*.txt"))[:3]]
    files.append(_file("빈파일.txt", b""))
    r = client.post("/v1/collections/법안/documents", files=files, headers=w)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
    job = wait_job(client, r.json()["id"], w)
    assert job["status"] == "succeeded" and job["collection"] == "법안" and job["kind"] == "ingest"
    assert job["progress"] == {"files_total": 4, "files_done": 4, "fraction": 1.0}
    statuses = {f["source"]: f["status"] for f in job["files"]}
    assert statuses == {
        "kobill/1809890.txt": "added",
        "kobill/1809891.txt": "added",
        "kobill/1809892.txt": "added",
        "빈파일.txt": "skipped",
    }
    assert job["errors"] == [] and job["result"]["added"] == 3

    listing = client.get("/v1/collections/법안/documents", headers=keys.h("read")).json()
    assert listing["total"] == 3 and [d["source"] for d in listing["documents"]] == sorted(statuses)[:3]
    doc_id = listing["documents"][0]["doc_id"]
    doc = client.get(f"/v1/collections/법안/documents/{doc_id}", headers=keys.h("read")).json()
    assert doc["source"] == "kobill/1809890.txt" and doc["text"].startswith("지방공무원법") and doc["n_chunks"] > 0
    meta = client.get(f"/v1/collections/법안/documents/{doc_id}?text=false", headers=keys.h("read")).json()
    assert "text" not in meta and meta["doc_id"] == doc_id

    # a search hit's offsets point into the document text the API returns
    hit = client.post("/v1/collections/법안/search", json={"query": "지방공무원", "top_k": 1}, headers=w).json()[
        "results"
    ][0]
    text = client.get(f"/v1/collections/법안/documents/{hit['doc_id']}", headers=w).json()["text"]
    assert text[hit["start"] : hit["end"]] == hit["text"]

    assert client.delete(f"/v1/collections/법안/documents/{doc_id}", headers=w).json() == {
        "deleted": doc_id,
        "collection": "법안",
    }
    assert_error(client.get(f"/v1/collections/법안/documents/{doc_id}", headers=w), 404, "NotFoundError")
    assert_error(client.delete(f"/v1/collections/법안/documents/{doc_id}", headers=w), 404)
    assert client.get("/v1/collections/법안", headers=w).json()["documents"] == 2
    hits = client.post("/v1/collections/법안/search", json={"query": "지방공무원법", "top_k": 10}, headers=w).json()[
        "results"
    ]
    assert doc_id not in {h["doc_id"] for h in hits}  # the open index switched to the generation without it

    assert client.delete("/v1/collections/법안", headers=keys.h("admin")).status_code == 200
    assert_error(client.get("/v1/collections/법안", headers=w), 404, "IndexNotFoundError")
    jobs = client.get("/v1/jobs?collection=법안", headers=w).json()["jobs"]
    assert [j["id"] for j in jobs] == [job["id"]]


def test_same_name_replaces_the_document(client, keys) -> None:
    w = keys.h("write")
    first = client.post(DOCS, files=[_file("메모.txt", "회의는 3시에 한다.".encode())], headers=w).json()
    assert wait_job(client, first["id"], w)["files"][0]["status"] == "added"
    second = client.post(DOCS, files=[_file("메모.txt", "회의는 4시로 미뤘다.".encode())], headers=w).json()
    outcome = wait_job(client, second["id"], w)["files"][0]
    assert outcome["status"] == "updated"
    text = client.get(f"{DOCS}/{outcome['doc_id']}", headers=w).json()["text"]
    assert text == "회의는 4시로 미뤘다."


def test_upload_too_large_is_413_before_the_body_is_read(client_factory, keys) -> None:
    c = client_factory(api_max_upload_mb=1)
    w = keys.h("write")
    big = _file("큰파일.txt", "가".encode() * 600_000)  # 1.8 MB
    e = assert_error(c.post(DOCS, files=[big], headers=w), 413, "PayloadTooLargeError")
    assert "limit is 1 MB" in e["message"]

    # without Content-Length (chunked), the bytes are counted as they arrive and reading stops at the limit
    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n'
        for _ in range(40):
            yield "가".encode() * 50_000

    r = c.post(DOCS, content=chunks(), headers={**w, "Content-Type": "multipart/form-data; boundary=b"})
    assert_error(r, 413)

    # at the ASGI level: a declared 60 MB body is refused without a single receive() call
    calls = 0

    async def receive():
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": DOCS, "raw_path": DOCS.encode(), "query_string": b"", "root_path": "", "server": ("t", 80),
        "client": ("c", 1), "app": c.app,
        "headers": [(b"content-length", str(60_000_000).encode()), (b"content-type", b"multipart/form-data; boundary=b"),
                    (b"authorization", f"Bearer {keys.write}".encode())],
    }  # fmt: skip
    anyio.run(c.app, scope, receive, send)
    assert sent[0]["status"] == 413 and calls == 0


def test_json_bodies_are_limited_too(client, keys) -> None:
    r = client.post(
        f"/v1/collections/{COLLECTION}/search",
        content=b'{"query": "' + b"a" * 1_100_000 + b'"}',
        headers={**keys.h("read"), "Content-Type": "application/json"},
    )
    assert_error(r, 413)


def test_executables_are_415_whatever_their_name(client, keys) -> None:
    w = keys.h("write")
    for name, data in (
        ("보고서.pdf", ELF),
        ("보고서.txt", ELF),
        ("setup.txt", PE),
        ("사진.md", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
    ):
        e = assert_error(client.post(DOCS, files=[_file(name, data)], headers=w), 415, "UnsupportedFormatError")
        assert name in e["message"]
    # one bad file refuses the whole request: nothing is staged or queued
    r = client.post(DOCS, files=[_file("좋은.txt", "좋은 문서".encode()), _file("나쁜.pdf", ELF)], headers=w)
    assert_error(r, 415)
    assert client.get("/v1/jobs", headers=w).json()["jobs"] == []
    assert list((client.app.state.rr.staging.dir).iterdir()) == []


def test_not_multipart_is_415_and_no_files_is_422(client, keys) -> None:
    w = keys.h("write")
    assert_error(client.post(DOCS, json={"files": []}, headers=w), 415, "UnsupportedMediaTypeError")
    assert_error(
        client.post(DOCS, data={"note": "x"}, files=[("other", ("a.txt", b"x", "text/plain"))], headers=w), 422
    )


def test_client_file_names_are_only_labels(client, keys, api_root) -> None:
    w = keys.h("write")
    before = sorted(p.relative_to(api_root.parent) for p in api_root.parent.rglob("*"))
    evil = ["../../x.txt", "/etc/passwd.txt", "..\\..\\win.txt", "a/../../b.txt"]
    r = client.post(DOCS, files=[_file(n, f"{n} 내용입니다.".encode()) for n in evil], headers=w)
    job = wait_job(client, r.json()["id"], w)
    assert job["status"] == "succeeded"
    assert sorted(f["source"] for f in job["files"]) == sorted(["x.txt", "etc/passwd.txt", "win.txt", "a/b.txt"])
    after = sorted(p.relative_to(api_root.parent) for p in api_root.parent.rglob("*"))
    new = [p for p in after if p not in before]
    # everything new is inside the collection's own index folder (its new generation), or the job's
    # record in the journal; staging is empty again
    journal = ("indexes", ".jobs", f"{job['id']}.json")
    assert new and all(p.parts[:2] == ("indexes", COLLECTION) or p.parts == journal for p in new), new
    assert not (api_root.parent / "x.txt").exists() and not (api_root / "x.txt").exists()
    assert list(client.app.state.rr.staging.dir.iterdir()) == []


def test_labels_and_type_checks() -> None:
    assert clean_label("../../x.txt") == "x.txt"
    assert clean_label("kobill/1809890.txt") == "kobill/1809890.txt"
    assert clean_label("") == "upload.txt" and clean_label("../..") == "upload.txt"
    assert clean_label("한글\x00이름.txt") == "한글이름.txt"
    assert clean_label("e\u0301.txt") == "\u00e9.txt"  # NFC
    assert detect("a.txt", "대한민국".encode()).name == "text"
    assert detect("a.md", b"# title").name == "markdown"


def test_unreadable_file_is_a_per_file_error(client, keys) -> None:
    w = keys.h("write")
    bad = bytes(range(1, 32)) * 100  # control characters only: no text encoding fits, and no magic bytes either
    r = client.post(DOCS, files=[_file("깨진.txt", bad), _file("좋은.txt", "좋은 문서입니다.".encode())], headers=w)
    assert r.status_code == 202
    job = wait_job(client, r.json()["id"], w)
    assert job["status"] == "succeeded"
    outcome = {f["source"]: f for f in job["files"]}
    assert outcome["좋은.txt"]["status"] == "added"
    assert outcome["깨진.txt"]["status"] == "failed" and "encoding" in outcome["깨진.txt"]["reason"]
    assert job["errors"] == [{"source": "깨진.txt", "reason": outcome["깨진.txt"]["reason"]}]
    assert job["result"]["failed"] == job["errors"]


def test_bad_names_and_ids_are_422(client, keys) -> None:
    w = keys.h("admin")
    for name in ("a b", "x" * 65, "점.점", "..", "a%2Fb"):
        r = client.post("/v1/collections", json={"name": name}, headers=w)
        assert_error(r, 422)
    assert_error(client.get(f"{DOCS}/bad..id", headers=w), 422)
    assert_error(client.get("/v1/jobs/not-a-job", headers=w), 422)
    assert_error(client.get("/v1/jobs/" + "a" * 32, headers=w), 404, "NotFoundError")
    assert_error(
        client.post("/v1/collections", json={"name": "모델", "embed_model": "/etc/some-model"}, headers=w),
        422,
        "ValidationError",
    )


def test_pdf_and_docx_uploads_go_through_the_readers(client, keys) -> None:
    docgen = pytest.importorskip("tests.ingest.docgen")
    try:
        pdf = docgen.korean_pdf([["제1조 회의는 매주 월요일에 연다."], ["제2조 회의록은 총무가 쓴다."]])
        docx = docgen.korean_docx("회의록")
    except ImportError as e:  # reportlab / python-docx are test extras
        pytest.skip(str(e))
    w = keys.h("write")
    r = client.post(DOCS, files=[_file("규칙.pdf", pdf), _file("회의록.docx", docx)], headers=w)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"], w)
    assert job["status"] == "succeeded" and {f["status"] for f in job["files"]} == {"added"}, job
    hit = client.post(
        f"/v1/collections/{COLLECTION}/search",
        json={"query": "회의록은 누가 쓰나", "top_k": 1, "source": ["규칙.pdf"]},
        headers=w,
    ).json()["results"][0]
    assert hit["source"] == "규칙.pdf" and hit["page"] == 2


def test_a_zip_that_is_not_a_document_is_415(client, keys) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload.bin", b"\x00" * 100)
    e = assert_error(client.post(DOCS, files=[_file("보고서.docx", buf.getvalue())], headers=keys.h("write")), 415)
    assert "ZIP" in e["message"]


def test_deleting_a_busy_collection_is_409(client, keys) -> None:
    import threading

    release = threading.Event()
    state = client.app.state.rr
    job = state.submit(COLLECTION, "test", lambda job: release.wait(10) and None)
    try:
        e = assert_error(client.delete(f"/v1/collections/{COLLECTION}", headers=keys.h("admin")), 409, "ConflictError")
        assert "job" in e["message"]
        assert client.get(f"/v1/collections/{COLLECTION}", headers=keys.h("read")).json()["jobs_active"] == 1
    finally:
        release.set()
    assert wait_job(client, job.id, keys.h("read"))["status"] == "succeeded"
    assert client.delete(f"/v1/collections/{COLLECTION}", headers=keys.h("admin")).status_code == 200


def test_decomposed_hangul_names_are_the_same_collection(client, keys) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", COLLECTION)
    assert nfd != COLLECTION
    r = client.get(f"/v1/collections/{nfd}", headers=keys.h("read"))
    assert r.status_code == 200 and r.json()["name"] == COLLECTION
