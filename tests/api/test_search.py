"""Search through the API, and searches during an ingest: the old or the new generation, never a mix."""

from __future__ import annotations

from tests.api.conftest import COLLECTION, assert_error, wait_job
from tests.conftest import SAMPLES

SEARCH = f"/v1/collections/{COLLECTION}/search"


def test_search_shape_and_filters(client, keys) -> None:
    r = client.post(SEARCH, json={"query": "대통령 임기는 몇 년이야?", "top_k": 3}, headers=keys.h("read"))
    assert r.status_code == 200
    body = r.json()
    assert body["collection"] == COLLECTION and body["mode"] == "hybrid" and len(body["results"]) == 3
    assert body["retrieval"] == "bm25" and "no vectors" in body["note"]  # the sample collection is BM25-only
    first = body["results"][0]
    assert set(first) == {"rank", "score", "chunk_id", "doc_id", "source", "page", "start", "end", "text"}
    assert first["rank"] == 1 and "대통령의 임기는 5년" in first["text"]

    only_bills = client.post(
        SEARCH, json={"query": "공무원", "top_k": 5, "mode": "bm25", "source": ["kobill/*"]}, headers=keys.h("read")
    )
    assert only_bills.status_code == 200 and only_bills.json()["results"]
    assert all(h["source"].startswith("samples/kobill/") for h in only_bills.json()["results"])
    by_doc = client.post(SEARCH, json={"query": "임기", "doc_id": [first["doc_id"]]}, headers=keys.h("read")).json()[
        "results"
    ]
    assert by_doc and {h["doc_id"] for h in by_doc} == {first["doc_id"]}


def test_search_errors(client, keys) -> None:
    h = keys.h("read")
    # dense search on a collection without vectors is an error that says why, never BM25 in disguise
    dense = assert_error(client.post(SEARCH, json={"query": "임기", "mode": "dense"}, headers=h), 422)
    assert "no vectors" in dense["message"] and "bm25" in dense["message"]
    hybrid = client.post(SEARCH, json={"query": "임기", "mode": "hybrid"}, headers=h).json()
    assert hybrid["mode"] == "hybrid" and hybrid["retrieval"] == "bm25" and "no vectors" in hybrid["note"]
    e = assert_error(client.post(SEARCH, json={"query": "임기", "top_k": 101}, headers=h), 422, "ValidationError")
    assert e["details"][0]["loc"] == "body.top_k"
    assert_error(client.post(SEARCH, json={"query": "   "}, headers=h), 422)
    assert_error(client.post(SEARCH, json={"query": "가" * 2001}, headers=h), 422)
    assert_error(client.post(SEARCH, json={"query": "임기", "extra": 1}, headers=h), 422)
    # JSON numbers only: "3" and true are not a top_k, 3.0 is (JSON Schema's integer)
    assert_error(client.post(SEARCH, json={"query": "임기", "top_k": "3"}, headers=h), 422)
    assert_error(client.post(SEARCH, json={"query": "임기", "top_k": True}, headers=h), 422)
    assert len(client.post(SEARCH, json={"query": "임기", "top_k": 3.0}, headers=h).json()["results"]) == 3
    assert_error(
        client.post(f"/v1/collections/{COLLECTION}/ask", json={"question": "임기", "stream": 0}, headers=h), 422
    )
    assert_error(client.post(SEARCH, content=b"{not json", headers={**h, "Content-Type": "application/json"}), 422)
    assert_error(
        client.post("/v1/collections/없는것/search", json={"query": "임기"}, headers=h), 404, "IndexNotFoundError"
    )


def test_searches_during_an_ingest_see_the_old_or_the_new_index(client, keys) -> None:
    """While a job ingests, every search answers from one whole generation: its results equal either
    the results before the job or those after it (BM25 scores depend on corpus statistics, so a
    mix of generations would show as a third ranking or other scores)."""
    w = keys.h("write")
    query = {"query": "대통령의 임기와 국회의원 선거", "top_k": 8, "mode": "bm25"}

    def ranking() -> list[tuple[int, float]]:
        r = client.post(SEARCH, json=query, headers=w)
        assert r.status_code == 200, r.text
        return [(h["chunk_id"], h["score"]) for h in r.json()["results"]]

    old = ranking()
    files = [
        ("files", (f"사본/{p.relative_to(SAMPLES)}", p.read_bytes(), "text/plain"))
        for p in sorted(SAMPLES.rglob("*.txt"))
    ]
    files += [
        (
            "files",
            (
                f"추가/{i}.txt",
                f"제{i}조 대통령의 임기는 {i}년으로 한다. 국회의원 선거는 {i}월에 한다.".encode(),
                "text/plain",
            ),
        )
        for i in range(30)
    ]
    job_id = client.post(f"/v1/collections/{COLLECTION}/documents", files=files, headers=w).json()["id"]
    during: list[list[tuple[int, float]]] = []
    while client.get(f"/v1/jobs/{job_id}", headers=w).json()["status"] in ("queued", "running"):
        during.append(ranking())
    job = wait_job(client, job_id, w)
    assert job["status"] == "succeeded" and job["result"]["added"] == 41, job
    new = ranking()
    assert new != old
    assert len(during) >= 3, "the ingest finished before searches could overlap it"
    assert all(r in (old, new) for r in during), [r for r in during if r not in (old, new)][:1]


def test_a_generation_published_by_another_process_is_picked_up(client, keys, api_root, tmp_path) -> None:
    from rabbit_rag.ingest import ingest_paths

    q = {"query": "코알라 펭귄", "top_k": 3, "mode": "bm25"}
    assert client.post(SEARCH, json=q, headers=keys.h("read")).json()["results"] == []
    note = tmp_path / "메모.txt"
    note.write_text("코알라와 펭귄은 동물원의 인기 동물이다.", encoding="utf-8")
    ingest_paths([note], api_root / COLLECTION, progress=False)  # what `rabbit-rag ingest` does, outside the API
    hits = client.post(SEARCH, json=q, headers=keys.h("read")).json()["results"]
    assert hits and hits[0]["source"] == "메모.txt"
