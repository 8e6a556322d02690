"""``POST /v1/collections/{name}/ask``: JSON and Server-Sent Events, errors, and disconnects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from rabbit_rag.api.app import create_app
from rabbit_rag.errors import GeneratorError
from rabbit_rag.generators.base import Draft
from tests.api.conftest import COLLECTION, assert_error, make_settings
from tests.api.live import live_server

ASK = f"/v1/collections/{COLLECTION}/ask"
QUESTION = "대통령 임기는 몇 년이야?"


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """``[(event, data), ...]`` from a text/event-stream body."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_ask_json_cites_the_exact_sentence(client, keys) -> None:
    r = client.post(ASK, json={"question": QUESTION}, headers=keys.h("read"))
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["collection"] == COLLECTION and a["question"] == QUESTION and a["generator"] == "extractive"
    assert "[1]" in a["answer"] and a["citations"] and a["sources"]
    c = a["citations"][0]
    assert "대통령의 임기는 5년" in c["quote"]
    text = client.get(f"/v1/collections/{COLLECTION}/documents/{c['doc_id']}", headers=keys.h("read")).json()["text"]
    assert text[c["start"] : c["end"]] == c["quote"]
    assert a["sources"][c["n"] - 1]["chunk_id"] == c["chunk_id"]
    assert a["not_found"] is False and a["span"]["text"] == "5년" and a["timings"]["total_ms"] > 0


def test_ask_stream_token_citations_done(client, keys) -> None:
    with client.stream("POST", ASK, json={"question": QUESTION, "stream": True}, headers=keys.h("read")) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = [e for e, _ in events]
    n_tokens = names.count("token")
    assert n_tokens >= 1 and names == ["token"] * n_tokens + ["citations", "done"], names
    streamed = "".join(d["text"] for e, d in events if e == "token")
    citations = events[-2][1]["citations"]
    assert any("대통령의 임기는 5년" in c["quote"] for c in citations)
    done = events[-1][1]
    assert done["answer"] == streamed.strip() and done["citations"] == citations
    c = citations[0]
    text = client.get(f"/v1/collections/{COLLECTION}/documents/{c['doc_id']}", headers=keys.h("read")).json()["text"]
    assert text[c["start"] : c["end"]] == c["quote"]


def test_ask_errors_are_json_before_the_stream(client, keys) -> None:
    h = keys.h("read")
    assert_error(client.post(ASK, json={"question": QUESTION}), 401)
    assert_error(client.post(ASK, json={"question": QUESTION}, headers=keys.h("other")), 403)
    assert_error(client.post(ASK, json={"question": "  ", "stream": True}, headers=h), 422)
    assert_error(client.post(ASK, json={"question": "가" * 2001, "stream": True}, headers=h), 422)
    assert_error(client.post(ASK, json={"question": QUESTION, "top_k": 0}, headers=h), 422)
    assert_error(client.post("/v1/collections/없는것/ask", json={"question": QUESTION}, headers=h), 404)
    # a question of control characters only passes the schema but not the engine: still a JSON 422
    assert_error(
        client.post(ASK, json={"question": "\u0001\u0002", "stream": True}, headers=h), 422, "InvalidInputError"
    )


class ScriptedGenerator:
    """A generator that streams ``n`` tokens, ``delay`` seconds apart, optionally failing after ``fail_after``;
    it records how many tokens it produced and whether it was closed."""

    name = "scripted"

    def __init__(self, n: int = 5, delay: float = 0.0, fail_after: int | None = None) -> None:
        self.n, self.delay, self.fail_after = n, delay, fail_after
        self.produced = 0
        self.closed = threading.Event()

    def draft(self, question: str, sources: Sequence[Any], history: Sequence[Any] = ()) -> Draft:
        def pieces() -> Iterator[str]:
            try:
                for i in range(self.n):
                    if self.fail_after is not None and i == self.fail_after:
                        raise GeneratorError("the language-model server went away (connection reset)")
                    time.sleep(self.delay)
                    self.produced += 1
                    yield "대통령의 임기는 5년 [1]. " if i == 0 else "그리고 "
            finally:
                self.closed.set()

        return Draft(sources=list(sources), pieces=pieces())


def test_a_failure_mid_stream_is_an_error_event(client, keys) -> None:
    client.app.state.rr.answers.override = ScriptedGenerator(n=5, fail_after=2)
    with client.stream("POST", ASK, json={"question": QUESTION, "stream": True}, headers=keys.h("read")) as r:
        events = parse_sse(r.read().decode())
    assert [e for e, _ in events] == ["token", "token", "error"]
    assert events[-1][1] == {
        "error": {"type": "GeneratorError", "message": "the language-model server went away (connection reset)"}
    }


def test_a_client_that_disconnects_stops_the_generation(api_root, keys) -> None:
    app = create_app(make_settings(api_root))
    gen = ScriptedGenerator(n=200, delay=0.05)  # 10 s if nobody stopped it
    with live_server(app) as base:
        app.state.rr.answers.override = gen
        t0 = time.monotonic()
        with (
            httpx.Client(base_url=base, headers=keys.h("read"), timeout=30) as http,
            http.stream("POST", ASK, json={"question": QUESTION, "stream": True}) as r,
        ):
            for line in r.iter_lines():
                if line.startswith("event: token"):
                    break  # leave after the first token: the connection closes
        assert gen.closed.wait(5), "the generation was not stopped"
        assert gen.produced < 40 and time.monotonic() - t0 < 5
        metrics = httpx.get(f"{base}/metrics").text
    assert "rabbit_rag_stream_disconnects_total 1.0" in metrics


@pytest.mark.parametrize("stream", [False, True])
def test_ask_during_preload_is_served(client_factory, keys, stream: bool) -> None:
    c = client_factory(api_preload=True)
    r = c.post(ASK, json={"question": QUESTION, "stream": stream}, headers=keys.h("read"))
    assert r.status_code == 200
